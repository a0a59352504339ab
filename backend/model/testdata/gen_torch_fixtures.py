#!/usr/bin/python3
"""Golden fixtures for backend/model from an independent PyTorch implementation.

Run once with Debian's torch (not needed by CI; the output is committed):

    apt-get install -y --no-install-recommends python3-torch python3-numpy
    /usr/bin/python3 backend/model/testdata/gen_torch_fixtures.py > backend/model/testdata/torch_fixtures.json

It builds the tkx decoder (token embedding, RMSNorm, rotary positions in the
HF rotate_half convention, causal multi-head attention, SwiGLU MLP, tied or
untied unembedding, optional LoRA W + (alpha/r)·B·A) in float64 with fixed
random weights, and records for each case: the weights, the data, the logits
of every position, the summed weighted cross-entropy loss, the gradients of
the trainable tensors, and the trainable tensors after two AdamW steps
(torch.optim.AdamW + clip_grad_norm_) together with the losses of both steps.
"""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def micro_config(tied):
    return dict(name="test/micro", vocab_size=13, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=12, max_position_embeddings=16, tie_word_embeddings=tied, rope_theta=10000.0,
                rms_norm_eps=1e-5, eos_token_id=12)


LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def shapes(cfg):
    d, h, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    out = {"model.embed_tokens.weight": (V, d), "model.norm.weight": (d,)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out[p + "input_layernorm.weight"] = (d,)
        out[p + "post_attention_layernorm.weight"] = (d,)
        for name in LINEARS:
            o, n = {"mlp.gate_proj": (h, d), "mlp.up_proj": (h, d), "mlp.down_proj": (d, h)}.get(name, (d, d))
            out[p + name + ".weight"] = (o, n)
    if not cfg["tie_word_embeddings"]:
        out["lm_head.weight"] = (V, d)
    return out


def rms_norm(x, g, eps):
    return g * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rope(x, theta):
    # x: (T, H, hd)
    T, H, hd = x.shape
    half = hd // 2
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    inv = theta ** (-2 * torch.arange(half, dtype=torch.float64) / hd)
    ang = pos * inv[None, :]
    cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def forward(cfg, W, lora, tokens):
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = d // H
    eps = cfg["rms_norm_eps"]

    def lin(name, x):
        w = W[name + ".weight"]
        if lora is not None and name + ".lora_A.weight" in W:
            w = w + lora["scale"] * W[name + ".lora_B.weight"] @ W[name + ".lora_A.weight"]
        return x @ w.T

    T = len(tokens)
    x = W["model.embed_tokens.weight"][torch.tensor(tokens)]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        n1 = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = rope(lin(p + "self_attn.q_proj", n1).view(T, H, hd), cfg["rope_theta"])
        k = rope(lin(p + "self_attn.k_proj", n1).view(T, H, hd), cfg["rope_theta"])
        v = lin(p + "self_attn.v_proj", n1).view(T, H, hd)
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd)
        s = s.masked_fill(mask[None], float("-inf"))
        a = torch.einsum("hts,shd->thd", torch.softmax(s, -1), v).reshape(T, d)
        x = x + lin(p + "self_attn.o_proj", a)
        n2 = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        h = torch.nn.functional.silu(lin(p + "mlp.gate_proj", n2)) * lin(p + "mlp.up_proj", n2)
        x = x + lin(p + "mlp.down_proj", h)
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = "model.embed_tokens" if cfg["tie_word_embeddings"] else "lm_head"
    if lora is not None and "lm_head.lora_A.weight" in W:
        w = W[head + ".weight"] + lora["scale"] * W["lm_head.lora_B.weight"] @ W["lm_head.lora_A.weight"]
        return x @ w.T
    return x @ W[head + ".weight"].T


def loss_fn(cfg, W, lora, data):
    total = 0
    logits_all = []
    for dm in data:
        logits = forward(cfg, W, lora, dm["tokens"])
        lp = torch.log_softmax(logits, -1)
        tgt = torch.tensor(dm["target_tokens"])
        w = torch.tensor(dm["weights"])
        total = total - (w * lp[torch.arange(len(tgt)), tgt]).sum()
        logits_all.append(logits)
    return total, logits_all


def make_case(name, tied, lora_rank, seed, adam):
    g = torch.Generator().manual_seed(seed)
    cfg = micro_config(tied)
    W = {}
    for k, shp in shapes(cfg).items():
        if k.endswith("layernorm.weight") or k == "model.norm.weight":
            W[k] = 1 + 0.3 * torch.randn(shp, generator=g)
        else:
            W[k] = 0.4 * torch.randn(shp, generator=g)
    lora = None
    trainable = sorted(W.keys())
    if lora_rank:
        alpha = 6.0
        lora = {"rank": lora_rank, "alpha": alpha, "scale": alpha / lora_rank}
        trainable = []
        mods = [f"model.layers.{i}.{m}" for i in range(cfg["num_hidden_layers"]) for m in LINEARS] + ["lm_head"]
        for m in mods:
            if m == "lm_head":
                din, dout = cfg["hidden_size"], cfg["vocab_size"]
            else:
                dout, din = W[m + ".weight"].shape
            W[m + ".lora_A.weight"] = 0.3 * torch.randn((lora_rank, din), generator=g)
            W[m + ".lora_B.weight"] = 0.3 * torch.randn((dout, lora_rank), generator=g)
            trainable += [m + ".lora_A.weight", m + ".lora_B.weight"]
        trainable.sort()
    V = cfg["vocab_size"]
    data_steps = []
    for step in range(2):
        data = []
        for L in (6, 9):
            data.append({
                "tokens": torch.randint(0, V, (L,), generator=g).tolist(),
                "target_tokens": torch.randint(0, V, (L,), generator=g).tolist(),
                "weights": (torch.rand(L, generator=g) * 1.5 - 0.25).tolist(),
            })
        data_steps.append(data)
    init = {k: v.clone() for k, v in W.items()}
    params = {k: W[k].clone().requires_grad_(True) for k in trainable}
    Wp = dict(W)
    Wp.update(params)
    loss, logits = loss_fn(cfg, Wp, lora, data_steps[0])
    loss.backward()
    grads = {k: params[k].grad.clone() for k in trainable}
    first = {"loss": loss.item(), "logits": [l.tolist() for l in logits]}

    opt = torch.optim.AdamW([params[k] for k in trainable], lr=adam["learning_rate"],
                            betas=(adam["beta1"], adam["beta2"]), eps=adam["eps"], weight_decay=adam["weight_decay"])
    losses = []
    for step in range(2):
        opt.zero_grad()
        loss, _ = loss_fn(cfg, Wp, lora, data_steps[step])
        loss.backward()
        if adam["grad_clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_([params[k] for k in trainable], adam["grad_clip_norm"])
        opt.step()
        losses.append(loss.item())
    after = {k: params[k].detach().tolist() for k in trainable}
    return {
        "name": name, "config": cfg, "lora": lora, "adam": adam,
        "weights": {k: v.flatten().tolist() for k, v in init.items()},
        "data": data_steps,
        "logits": first["logits"], "loss": first["loss"],
        "grads": {k: v.flatten().tolist() for k, v in grads.items()},
        "step_losses": losses,
        "after_two_steps": {k: torch.tensor(v).flatten().tolist() for k, v in after.items()},
        "torch_version": torch.__version__,
    }


def main():
    adam1 = dict(learning_rate=0.01, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip_norm=0.0)
    adam2 = dict(learning_rate=0.02, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.0, grad_clip_norm=0.5)
    cases = [
        make_case("full_tied", True, 0, 1, adam1),
        make_case("full_untied_clip", False, 0, 2, adam2),
        make_case("lora_untied", False, 3, 3, adam1),
        make_case("lora_tied_clip", True, 2, 4, adam2),
    ]
    json.dump({"cases": cases}, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
