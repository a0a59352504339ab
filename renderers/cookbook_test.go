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

type cbParse struct {
	Response    []int           `json:"response"`
	Message     json.RawMessage `json:"message"`
	Termination string          `json:"termination"`
	Error       string          `json:"error"`
}

type cbStream struct {
	Response []int           `json:"response"`
	Deltas   [][]any         `json:"deltas"`
	Message  json.RawMessage `json:"message"`
}

type cbRecord struct {
	Renderer        string               `json:"renderer"`
	Case            string               `json:"case"`
	Messages        []json.RawMessage    `json:"messages"`
	Prompt          []int                `json:"prompt"`
	PromptPrefill   []int                `json:"prompt_prefill"`
	PromptError     string               `json:"prompt_error"`
	Supervised      map[string]cbExample `json:"supervised"`
	Examples        []cbExample          `json:"examples"`
	ExamplesError   string               `json:"examples_error"`
	Parse           *cbParse             `json:"parse"`
	ParseTruncated  *cbParse             `json:"parse_truncated"`
	ParseDoubled    *cbParse             `json:"parse_doubled"`
	Stream          *cbStream            `json:"stream"`
	StreamTruncated *cbStream            `json:"stream_truncated"`
	HasExtension    *bool                `json:"has_extension_property"`
	Disables        *bool                `json:"disables_thinking"`
	Tools           []json.RawMessage    `json:"tools"`
	Prefix          []json.RawMessage    `json:"prefix"`
	PrefixError     string               `json:"prefix_error"`
	Stop            []any                `json:"stop"`
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
		checkParse := func(label string, p *cbParse) {
			if p == nil {
				return
			}
			m, term, err := r.ParseResponse(p.Response)
			if p.Error != "" {
				check(name, err != nil, "%s: %s: want an error like %q, got %s", at, label, p.Error, canonMessage(m))
				return
			}
			got, want := canonMessage(m), canonJSON(p.Message)
			check(name, err == nil && got == want && string(term) == p.Termination,
				"%s: %s %q\n got: %s %s %v\nwant: %s %s", at, label, tok.Decode(p.Response), got, term, err, want, p.Termination)
		}
		if strings.HasPrefix(rec.Case, "bad_response_") {
			checkParse("parse", rec.Parse)
			continue
		}
		switch rec.Case {
		case "properties":
			check(name, r.HasExtensionProperty() == *rec.HasExtension && r.DisablesThinking() == *rec.Disables,
				"has_extension_property %v disables_thinking %v, want %v %v", r.HasExtensionProperty(), r.DisablesThinking(), *rec.HasExtension, *rec.Disables)
			continue
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
		// parse_response of what sampling would have returned, truncated, doubled
		checkParse("parse", rec.Parse)
		checkParse("parse truncated", rec.ParseTruncated)
		checkParse("parse doubled", rec.ParseDoubled)
		for _, st := range []*cbStream{rec.Stream, rec.StreamTruncated} {
			if st == nil {
				continue
			}
			var got [][]any
			final, _, err := ParseResponseStreaming(r, st.Response, func(d Delta) {
				switch d.Kind {
				case DeltaHeader:
					got = append(got, []any{"header", d.Role, float64(0)})
				case DeltaText:
					got = append(got, []any{"text", d.Text, float64(d.ContentIndex)})
				case DeltaThinking:
					got = append(got, []any{"thinking", d.Text, float64(d.ContentIndex)})
				}
			})
			check(name, err == nil && fmt.Sprint(got) == fmt.Sprint(st.Deltas) && canonMessage(final) == canonJSON(st.Message),
				"%s: streaming %q\n got: %v %s %v\nwant: %v %s", at, tok.Decode(st.Response), got, canonMessage(final), err, st.Deltas, canonJSON(st.Message))
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

// The cookbook generator covers every registered renderer.
func TestCookbookFixturesCoverAllRenderers(t *testing.T) {
	data, err := os.ReadFile("testdata/renderer_names.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if !slices.Equal(names, Names()) {
		t.Fatalf("renderer_names.json %v\n!= Names() %v", names, Names())
	}
	seen := map[string]bool{}
	for _, r := range loadCookbookFixtures(t) {
		seen[r.Renderer] = true
	}
	for _, n := range Names() {
		if !seen[n] {
			t.Errorf("no cookbook fixtures for %s", n)
		}
	}
}
