#!/usr/bin/env python3
"""Run the Python tinker-cookbook's OWN renderers (the authority tkx ports)
over test conversations and record token ids, weights and parse results in
cookbook_fixtures.jsonl.gz; renderers/cookbook_test.go checks the Go renderers
against them, for every renderer name.

The cookbook needs tinker, torch, PIL and transformers, none of which is
installed here (nor needed for rendering): tiny stand-ins are put in
sys.modules. The tokenizer is a stand-in too, identical to the Go test's
specialByteTok: every family's special strings are single tokens (ids 1000+i
in the order of SPECIALS), every other byte is its own id. Real-tokenizer
parity is covered separately by the chat-template fixtures.

Usage (a checkout of thinking-machines-lab/tinker-cookbook; HEAD 9dfcc3a2
was used for the committed file):

    COOKBOOK=/path/to/tinker-cookbook python3 renderers/testdata/gen_cookbook_fixtures.py
"""
import gzip
import json
import os
import sys
import types
import warnings

warnings.simplefilter("ignore")
import logging  # noqa: E402

logging.disable(logging.WARNING)
HERE = os.path.dirname(os.path.abspath(__file__))
COOKBOOK = os.environ.get("COOKBOOK")
if not COOKBOOK:
    sys.exit("set COOKBOOK to a tinker-cookbook checkout")
sys.path.insert(0, COOKBOOK)

# ---- stand-ins ----------------------------------------------------------


class T(list):
    """Enough of torch.Tensor for the renderers: a list of floats."""

    def __getitem__(self, k):
        r = list.__getitem__(self, k)
        return T(r) if isinstance(k, slice) else r

    def tolist(self):
        return list(self)


torch = types.ModuleType("torch")
torch.Tensor = T
torch.tensor = lambda xs, **kw: T(float(x) for x in xs)
torch.zeros = lambda n, **kw: T([0.0] * n)
torch.full = lambda shape, v, **kw: T([float(v)] * shape[0])
torch.cat = lambda ts, **kw: T(x for t in ts for x in t)
torch.int64 = "int64"
sys.modules["torch"] = torch


class EncodedTextChunk:
    type = "encoded_text"

    def __init__(self, tokens):
        self.tokens = list(tokens)

    @property
    def length(self):
        return len(self.tokens)


class ImageChunk:
    type = "image"

    def __init__(self, data=b"", format="jpeg", expected_tokens=0):
        self.data, self.format, self.expected_tokens = data, format, expected_tokens

    @property
    def length(self):
        return self.expected_tokens


class ModelInput:
    def __init__(self, chunks):
        self.chunks = list(chunks)

    def to_ints(self):
        out = []
        for c in self.chunks:
            if not isinstance(c, EncodedTextChunk):
                raise ValueError("image chunk")
            out += c.tokens
        return out

    @property
    def length(self):
        return sum(c.length for c in self.chunks)


tinker = types.ModuleType("tinker")
tinker.types = types.SimpleNamespace(EncodedTextChunk=EncodedTextChunk, ImageChunk=ImageChunk,
                                     ModelInputChunk=object, ModelInput=ModelInput)
tinker.EncodedTextChunk, tinker.ImageChunk, tinker.ModelInput = EncodedTextChunk, ImageChunk, ModelInput
tinker.ModelInputChunk = object
sys.modules["tinker"] = tinker
sys.modules["tinker.types"] = tinker.types
pil = types.ModuleType("PIL")
pil_image = types.ModuleType("PIL.Image")
pil_image.Image = type("Image", (), {})
pil.Image = pil_image
sys.modules["PIL"], sys.modules["PIL.Image"] = pil, pil_image
tr = types.ModuleType("transformers")
tr.__version__ = "4.57.0"
sys.modules["transformers"] = tr

DS = "\uff5c"


def ds(n):
    return "<" + DS + n + DS + ">"


# Same list, same order as renderers/testtok_test.go allSpecials.
SPECIALS = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
    "<tool_response>", "</tool_response>", "<|vision_start|>", "<|vision_end|>",
    "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>",
    "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>",
    "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_end|>",
    "<|tool_call_argument_begin|>", "<|media_begin|>", "<|media_content|>", "<|media_end|>",
    ds("begin▁of▁sentence"), ds("end▁of▁sentence"), ds("User"), ds("Assistant"),
    ds("tool▁calls▁begin"), ds("tool▁calls▁end"), ds("tool▁call▁begin"), ds("tool▁call▁end"),
    ds("tool▁sep"), ds("tool▁output▁begin"), ds("tool▁output▁end"),
]
BY_LEN = sorted(SPECIALS, key=len, reverse=True)


class StubTokenizer:
    name_or_path = "test/special-bytes"
    bos_token = None
    eos_token = "<|endoftext|>"

    def __init__(self):
        self.ids = {s: 1000 + i for i, s in enumerate(SPECIALS)}
        self.eos_token_id = self.ids["<|endoftext|>"]

    def encode(self, text, add_special_tokens=True, split_special_tokens=False):
        out, b, i = [], text.encode("utf-8"), 0
        while i < len(b):
            if b[i:i + 1] == b"<":
                for s in BY_LEN:
                    sb = s.encode("utf-8")
                    if b[i:i + len(sb)] == sb:
                        out.append(self.ids[s])
                        i += len(sb)
                        break
                else:
                    out.append(b[i])
                    i += 1
            else:
                out.append(b[i])
                i += 1
        return out

    def decode(self, ids):
        b = bytearray()
        for t in ids:
            if t < 256:
                b.append(t)
            elif 1000 <= t < 1000 + len(SPECIALS):
                b += SPECIALS[t - 1000].encode("utf-8")
        return b.decode("utf-8", errors="replace")

    def convert_tokens_to_ids(self, s):
        return self.ids[s]


from tinker_cookbook import renderers  # noqa: E402
from tinker_cookbook.renderers import TrainOnWhat  # noqa: E402
from tinker_cookbook.renderers.base import ToolCall  # noqa: E402

# ---- conversations ------------------------------------------------------


def tc(name, args, id=None):
    return {"id": id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def think(t, text):
    return [{"type": "thinking", "thinking": t}, {"type": "text", "text": text}]


TOOL = {"name": "get_weather", "description": "Get the weather",
        "parameters": {"type": "object", "properties": {
            "location": {"type": "string", "description": "City"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer", "minimum": 1, "default": 1}}, "required": ["location"]}}

CONVS = {
    "basic": [{"role": "user", "content": "Hello, how are you?"},
              {"role": "assistant", "content": "I'm fine, thank you!"}],
    "system_multi": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                     {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "6"}],
    "unicode": [{"role": "user", "content": "Ça va ? 漢字 🚀"}, {"role": "assistant", "content": "Très bien ✓ 😊"}],
    "whitespace": [{"role": "user", "content": "  padded  \n"}, {"role": "assistant", "content": "\n\nanswer \n"}],
    "empty": [{"role": "user", "content": "Say nothing."}, {"role": "assistant", "content": ""},
              {"role": "user", "content": "Now hi."}, {"role": "assistant", "content": "hi"}],
    "thinking": [{"role": "user", "content": "What is 2+2?"},
                 {"role": "assistant", "content": think("First reasoning.", "4")},
                 {"role": "user", "content": "And 3+3?"},
                 {"role": "assistant", "content": think("\nSecond reasoning.\n", "\n\n6")}],
    "tools": [{"role": "user", "content": "Weather in NYC and Paris?"},
              {"role": "assistant", "content": "Checking.",
               "tool_calls": [tc("get_weather", {"location": "NYC", "days": 2}, "functions.get_weather:0"),
                              tc("get_weather", {"location": "Paris", "opts": {"x": [1, 2.5]}}, "functions.get_weather:1")]},
              {"role": "tool", "content": "NYC: 20C", "tool_call_id": "functions.get_weather:0", "name": "get_weather"},
              {"role": "tool", "content": "Paris: 18C", "tool_call_id": "functions.get_weather:1", "name": "get_weather"},
              {"role": "assistant", "content": "NYC 20C, Paris 18C."}],
    "thinking_tools": [{"role": "user", "content": "Weather in Oslo?"},
                       {"role": "assistant", "content": think("Need the API.", ""),
                        "tool_calls": [tc("get_weather", {"location": "Oslo"}, "functions.get_weather:0")]},
                       {"role": "tool", "content": "cold", "tool_call_id": "functions.get_weather:0", "name": "get_weather"},
                       {"role": "assistant", "content": think("It said cold.", "It is cold.")}],
}
TEXT_ONLY = {"basic", "system_multi", "unicode", "whitespace", "empty"}
NO_TOOLS = {"role_colon", "llama3"}
TOWS = ["last_assistant_message", "last_assistant_turn", "all_assistant_messages", "all_messages",
        "all_tokens", "all_user_and_system_messages"]


def to_msg(m):
    m = dict(m)
    if "tool_calls" in m:
        m["tool_calls"] = [ToolCall(id=t["id"], function=ToolCall.FunctionBody(**t["function"])) for t in m["tool_calls"]]
    return m


def wstr(w):
    """Weights are 0/1: stored as a string of digits to keep the file small."""
    assert all(float(x) in (0.0, 1.0) for x in w)
    return "".join("1" if float(x) else "0" for x in w)


def msg_json(m):
    out = {"role": m["role"]}
    c = m["content"]
    out["content"] = c if isinstance(c, str) else [dict(p) for p in c]
    if m.get("tool_calls"):
        out["tool_calls"] = [{"id": t.id, "name": t.function.name, "arguments": t.function.arguments} for t in m["tool_calls"]]
    if m.get("unparsed_tool_calls"):
        out["unparsed_tool_calls"] = [{"raw_text": t.raw_text, "error": t.error} for t in m["unparsed_tool_calls"]]
    return out


BAD_RESPONSES = [
    ("json_tool_call", '<tool_call>\n{"name": "f", "arguments": {bad}}\n</tool_call>'),
    ("unterminated_tool_call", 'Let me call.<tool_call>\n{"name": "f", "arguments": {}}'),
    ("xml_tool_call", "<tool_call>\n<function=f>\n<parameter=x>\n1\n</parameter>\nstray\n</function>\n</tool_call>"),
    ("kimi_tool_call", "<think>r</think>ok<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{oops}<|tool_call_end|><|tool_calls_section_end|>"),
    ("deepseek_tool_call", "ok" + ds("tool▁calls▁begin") + ds("tool▁call▁begin") + "f" + ds("tool▁sep") + "{nope" + ds("tool▁call▁end") + ds("tool▁calls▁end")),
    ("harmony", "<|channel|>analysis<|message|>think<|end|><|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json<|message|>{bad"),
    ("think_only", "<think>\nonly thinking\n</think>\n\n"),
]


def parse(r, resp):
    try:
        m, term = r.parse_response(resp)
        return {"response": resp, "message": msg_json(m), "termination": str(term)}
    except Exception as e:  # noqa: BLE001
        return {"response": resp, "error": f"{type(e).__name__}: {e}"}


def stream(r, resp):
    from tinker_cookbook.renderers.base import (
        StreamingMessageHeader, StreamingTextDelta, StreamingThinkingDelta)
    deltas = []
    final = None
    for d in r.parse_response_streaming(resp):
        if isinstance(d, StreamingMessageHeader):
            deltas.append(["header", d.role, 0])
        elif isinstance(d, StreamingTextDelta):
            deltas.append(["text", d.text, d.content_index])
        elif isinstance(d, StreamingThinkingDelta):
            deltas.append(["thinking", d.thinking, d.content_index])
        else:
            final = msg_json(d)
    return {"response": resp, "deltas": deltas, "message": final}


def main():
    tok = StubTokenizer()
    names = [n for n in sorted(json.load(open(os.path.join(HERE, "renderer_names.json"))))]
    out = []
    for name in names:
        r = renderers.get_renderer(name, tok)
        if hasattr(r, "current_date"):
            r.current_date = "2025-01-15"
        for cname, conv in CONVS.items():
            if name in NO_TOOLS and cname not in TEXT_ONLY:
                continue
            msgs = [to_msg(m) for m in conv]
            rec = {"renderer": name, "case": cname, "messages": conv}
            try:
                rec["prompt"] = r.build_generation_prompt(msgs[:-1]).to_ints()
                rec["prompt_prefill"] = r.build_generation_prompt(msgs[:-1], prefill="Sure").to_ints()
            except Exception as e:  # noqa: BLE001
                rec["prompt_error"] = f"{type(e).__name__}: {e}"
            sup = {}
            for tow in TOWS:
                try:
                    mi, w = r.build_supervised_example(msgs, train_on_what=TrainOnWhat(tow))
                    sup[tow] = {"tokens": mi.to_ints(), "weights": wstr(w)}
                except Exception as e:  # noqa: BLE001
                    sup[tow] = {"error": f"{type(e).__name__}: {e}"}
            rec["supervised"] = sup
            try:
                exs = r.build_supervised_examples(msgs, train_on_what=TrainOnWhat.ALL_ASSISTANT_MESSAGES)
                rec["examples"] = [{"tokens": mi.to_ints(), "weights": wstr(w)} for mi, w in exs]
            except Exception as e:  # noqa: BLE001
                rec["examples_error"] = f"{type(e).__name__}: {e}"
            if "prompt" in rec and "tokens" in sup["last_assistant_message"]:
                full = sup["last_assistant_message"]["tokens"]
                p = rec["prompt"]
                resp = full[len(p):] if full[:len(p)] == p else None
                if resp is not None:
                    rec["parse"] = parse(r, resp)
                    # truncated (no stop signal) and doubled (two stop signals)
                    rec["parse_truncated"] = parse(r, resp[:-1])
                    rec["parse_doubled"] = parse(r, resp + resp)
                    if r.supports_streaming:
                        rec["stream"] = stream(r, resp)
                        rec["stream_truncated"] = stream(r, resp[:-1])
            out.append(rec)
        try:
            pre = r.create_conversation_prefix_with_tools([TOOL], "Be nice.")
            out.append({"renderer": name, "case": "tool_prefix", "tools": [TOOL],
                        "prefix": [msg_json(m) for m in pre]})
        except Exception as e:  # noqa: BLE001
            out.append({"renderer": name, "case": "tool_prefix", "tools": [TOOL], "prefix_error": f"{type(e).__name__}: {e}"})
        out.append({"renderer": name, "case": "properties", "has_extension_property": r.has_extension_property,
                    "disables_thinking": r.disables_thinking})
        for label, text in BAD_RESPONSES:
            try:
                end = r.get_stop_sequences()[0]
                resp = tok.encode(text) + ([end] if isinstance(end, int) else tok.encode(end))
            except Exception:  # noqa: BLE001
                continue
            out.append({"renderer": name, "case": "bad_response_" + label, "parse": parse(r, resp)})
        try:
            out.append({"renderer": name, "case": "stop", "stop": r.get_stop_sequences()})
        except Exception as e:  # noqa: BLE001
            pass
    dst = os.path.join(HERE, "cookbook_fixtures.jsonl.gz")
    with gzip.open(dst, "wt", compresslevel=9) as f:
        for o in out:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} records for {len(names)} renderers to {dst}")


if __name__ == "__main__":
    main()
