package renderers

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// cookbook_fixtures.jsonl.gz holds what the Python cookbook's own renderers
// produce (gen_cookbook_fixtures.py, run over the cookbook source with the
// same byte+specials test tokenizer): prompts, supervised examples for six
// TrainOnWhat values, split examples, parse results, tool prefixes and stop
// sequences, for every renderer name.

type cbExample struct {
	Tokens  []int  `json:"tokens"`
	Weights string `json:"weights"`
	Error   string `json:"error"`
}

type cbRecord struct {
	Renderer      string               `json:"renderer"`
	Case          string               `json:"case"`
	Messages      []json.RawMessage    `json:"messages"`
	Prompt        []int                `json:"prompt"`
	PromptPrefill []int                `json:"prompt_prefill"`
	PromptError   string               `json:"prompt_error"`
	Supervised    map[string]cbExample `json:"supervised"`
	Examples      []cbExample          `json:"examples"`
	ExamplesError string               `json:"examples_error"`
	Parse         *struct {
		Response    []int           `json:"response"`
		Message     json.RawMessage `json:"message"`
		Termination string          `json:"termination"`
		Error       string          `json:"error"`
	} `json:"parse"`
	Tools       []json.RawMessage `json:"tools"`
	Prefix      []json.RawMessage `json:"prefix"`
	PrefixError string            `json:"prefix_error"`
	Stop        []any             `json:"stop"`
}

func loadCookbookFixtures(t *testing.T) []cbRecord {
	f, err := os.Open("testdata/cookbook_fixtures.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []cbRecord
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r cbRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func wstr(w []float32) string {
	var b strings.Builder
	for _, x := range w {
		switch x {
		case 0:
			b.WriteByte('0')
		case 1:
			b.WriteByte('1')
		default:
			fmt.Fprintf(&b, "(%g)", x)
		}
	}
	return b.String()
}

// canonMessage is the fixture's message form: tool calls flattened.
func canonMessage(m Message) string {
	o := NewObject()
	o.Set("role", m.Role)
	if m.IsList() {
		arr := []any{}
		for _, p := range m.Parts {
			po := NewObject()
			po.Set("type", p.Type)
			switch p.Type {
			case PartText:
				po.Set("text", p.Text)
			case PartThinking:
				po.Set("thinking", p.Thinking)
			}
			arr = append(arr, po)
		}
		o.Set("content", arr)
	} else {
		o.Set("content", m.Content)
	}
	if len(m.ToolCalls) > 0 {
		arr := []any{}
		for _, tc := range m.ToolCalls {
			to := NewObject()
			if tc.ID == "" {
				to.Set("id", nil)
			} else {
				to.Set("id", tc.ID)
			}
			to.Set("name", tc.Name)
			to.Set("arguments", tc.Arguments)
			arr = append(arr, to)
		}
		o.Set("tool_calls", arr)
	}
	if len(m.UnparsedToolCalls) > 0 {
		arr := []any{}
		for _, u := range m.UnparsedToolCalls {
			uo := NewObject()
			uo.Set("raw_text", u.RawText)
			uo.Set("error", u.Error)
			arr = append(arr, uo)
		}
		o.Set("unparsed_tool_calls", arr)
	}
	return DumpJSON(o, DumpOptions{ItemSep: ",", KeySep: ":", SortKeys: true})
}

func canonJSON(raw json.RawMessage) string {
	v, err := ParseJSON(string(raw))
	if err != nil {
		return "invalid: " + err.Error()
	}
	return DumpJSON(v, DumpOptions{ItemSep: ",", KeySep: ":", SortKeys: true})
}

// TestCookbookParity: token ids, weights, parses and tool prefixes equal
// the Python cookbook's, per renderer.
func TestCookbookParity(t *testing.T) {
	tok := newSpecialByteTok()
	type tally struct{ checks, ok int }
	counts := map[string]*tally{}
	check := func(name string, ok bool, format string, a ...any) {
		c := counts[name]
		if c == nil {
			c = &tally{}
			counts[name] = c
		}
		c.checks++
		if ok {
			c.ok++
		} else {
			t.Errorf(name+": "+format, a...)
		}
	}
	for _, rec := range loadCookbookFixtures(t) {
		r, err := GetWithOptions(rec.Renderer, tok, Options{CurrentDate: "2025-01-15"})
		if err != nil {
			t.Fatal(err)
		}
		name := rec.Renderer
		at := rec.Renderer + "/" + rec.Case
		switch rec.Case {
		case "stop":
			ss, err := r.StopSequences()
			var got []any
			for _, id := range ss.Tokens {
				got = append(got, float64(id))
			}
			for _, s := range ss.Strings {
				got = append(got, s)
			}
			check(name, err == nil && fmt.Sprint(got) == fmt.Sprint(rec.Stop), "%s: stop %v, want %v (%v)", at, got, rec.Stop, err)
			continue
		case "tool_prefix":
			var tools []ToolSpec
			for _, raw := range rec.Tools {
				ts, _ := ParseToolSpec(string(raw))
				tools = append(tools, ts)
			}
			msgs, err := r.ConversationPrefixWithTools(tools, "Be nice.")
			if rec.PrefixError != "" {
				check(name, err != nil, "%s: want an error like %q", at, rec.PrefixError)
				continue
			}
			if err != nil || len(msgs) != len(rec.Prefix) {
				check(name, false, "%s: %d messages (%v), want %d", at, len(msgs), err, len(rec.Prefix))
				continue
			}
			for i := range msgs {
				got, want := canonMessage(msgs[i]), canonJSON(rec.Prefix[i])
				check(name, got == want, "%s: prefix[%d]\n got: %s\nwant: %s", at, i, got, want)
			}
			continue
		}
		var msgs []Message
		for _, raw := range rec.Messages {
			m, err := MessageFromJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		// generation prompt (+ a caller prefill)
		p, err := r.BuildGenerationPrompt(msgs[:len(msgs)-1], "assistant", "")
		if rec.PromptError != "" {
			check(name, err != nil, "%s: prompt: want an error like %q", at, rec.PromptError)
		} else if err != nil {
			check(name, false, "%s: prompt: %v", at, err)
		} else {
			ids, _ := p.Ints()
			check(name, slices.Equal(ids, rec.Prompt), "%s: prompt\n got: %q\nwant: %q", at, tok.Decode(ids), tok.Decode(rec.Prompt))
			pp, _ := r.BuildGenerationPrompt(msgs[:len(msgs)-1], "assistant", "Sure")
			ids, _ = pp.Ints()
			check(name, slices.Equal(ids, rec.PromptPrefill), "%s: prompt with prefill\n got: %q\nwant: %q", at, tok.Decode(ids), tok.Decode(rec.PromptPrefill))
		}
		// supervised examples for every TrainOnWhat
		tows := make([]string, 0, len(rec.Supervised))
		for k := range rec.Supervised {
			tows = append(tows, k)
		}
		sort.Strings(tows)
		for _, tw := range tows {
			want := rec.Supervised[tw]
			mi, w, err := r.BuildSupervisedExample(msgs, TrainOnWhat(tw))
			if want.Error != "" {
				check(name, err != nil, "%s/%s: want an error like %q", at, tw, want.Error)
				continue
			}
			if err != nil {
				check(name, false, "%s/%s: %v", at, tw, err)
				continue
			}
			ids, _ := mi.Ints()
			check(name, slices.Equal(ids, want.Tokens), "%s/%s: tokens\n got: %q\nwant: %q", at, tw, tok.Decode(ids), tok.Decode(want.Tokens))
			check(name, wstr(w) == want.Weights, "%s/%s: weights\n got: %s\nwant: %s\ntext: %q", at, tw, wstr(w), want.Weights, tok.Decode(ids))
		}
		// split examples
		exs, err := r.BuildSupervisedExamples(msgs, AllAssistantMessages)
		if rec.ExamplesError != "" {
			check(name, err != nil, "%s: examples: want an error like %q", at, rec.ExamplesError)
		} else if err != nil || len(exs) != len(rec.Examples) {
			check(name, false, "%s: %d examples (%v), want %d", at, len(exs), err, len(rec.Examples))
		} else {
			for i, ex := range exs {
				ids, _ := ex.Input.Ints()
				check(name, slices.Equal(ids, rec.Examples[i].Tokens) && wstr(ex.Weights) == rec.Examples[i].Weights,
					"%s: example %d differs\n got: %q %s\nwant: %q %s", at, i, tok.Decode(ids), wstr(ex.Weights), tok.Decode(rec.Examples[i].Tokens), rec.Examples[i].Weights)
			}
		}
		// parse_response of what sampling would have returned
		if rec.Parse != nil {
			m, term, err := r.ParseResponse(rec.Parse.Response)
			if rec.Parse.Error != "" {
				check(name, err != nil, "%s: parse: want an error like %q", at, rec.Parse.Error)
			} else {
				got, want := canonMessage(m), canonJSON(rec.Parse.Message)
				check(name, err == nil && got == want && string(term) == rec.Parse.Termination,
					"%s: parse %q\n got: %s %s %v\nwant: %s %s", at, tok.Decode(rec.Parse.Response), got, term, err, want, rec.Parse.Termination)
			}
		}
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %s\n", "renderer", "checks equal to the Python cookbook")
	for _, n := range names {
		fmt.Fprintf(&b, "%-36s %d/%d\n", n, counts[n].ok, counts[n].checks)
	}
	t.Logf("cookbook parity per renderer:\n%s", b.String())
}
