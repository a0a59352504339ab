package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/tokenizer/tokenizertest"
)

func renderRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runRender(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const renderConvs = `{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}

[{"role":"user","content":"Q"},{"role":"assistant","content":"A"},{"role":"user","content":"Q2"},{"role":"assistant","content":"A2"}]
`

func TestRenderJSON(t *testing.T) {
	code, out, errs := renderRun(t, renderConvs, "--model", "tkx/local-tiny", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 objects, got %q", out)
	}
	var obj struct {
		Tokens  []int     `json:"tokens"`
		Weights []float32 `json:"weights"`
		Text    string    `json:"text"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Text != "User: Hi\n\nAssistant: Hello\n\nUser:" || len(obj.Tokens) != len(obj.Weights) || len(obj.Tokens) != len(obj.Text) {
		t.Fatalf("%+v", obj)
	}
	var trained []byte
	for i, w := range obj.Weights {
		if w == 1 {
			trained = append(trained, byte(obj.Tokens[i]))
		}
	}
	if string(trained) != " Hello\n\nUser:" {
		t.Fatalf("trained %q", trained)
	}
	// all_assistant_messages trains both answers of the second conversation
	_, out, _ = renderRun(t, renderConvs, "--model", "tkx/local-tiny", "--json", "--train-on-what", "all_assistant_messages")
	json.Unmarshal([]byte(strings.Split(out, "\n")[1]), &obj)
	n := 0
	for _, w := range obj.Weights {
		n += int(w)
	}
	if n != len(" A\n\n")+len(" A2\n\nUser:") {
		t.Fatalf("trained %d tokens", n)
	}
}

func TestRenderGenerationPromptAndText(t *testing.T) {
	code, out, errs := renderRun(t, renderConvs, "--model", "tkx/local-base", "--json", "--generation-prompt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "weights") || !strings.Contains(out, `"text":"User: Hi\n\nAssistant: Hello\n\nAssistant:"`) {
		t.Fatalf("%s", out)
	}
	code, out, _ = renderRun(t, renderConvs, "--model", "tkx/local-base", "--color", "never")
	if code != 0 || !strings.Contains(out, "=== conversation 1: ") || !strings.Contains(out, `trained: " A2\n\nUser:"`) || !strings.Contains(out, "weights: [0,") {
		t.Fatalf("%s", out)
	}
	_, out, _ = renderRun(t, renderConvs, "--model", "tkx/local-base", "--color", "always")
	if !strings.Contains(out, "\x1b[30;42m Hello\n\nUser:\x1b[0m") {
		t.Fatalf("no highlighted trained span in %q", out)
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{renderConvs, []string{"--model", "tkx/local-base", "--renderer", "role_colonn"}, 1, []string{`unknown renderer "role_colonn"`, "role_colon"}},
		{renderConvs, []string{"--model", "tkx/local-bse"}, 1, []string{"tkx/local-base"}},
		{renderConvs, []string{"--renderer", "qwen3"}, 2, []string{"--model"}},
		{renderConvs, []string{"--model", "tkx/local-base", "--train-on-what", "everything"}, 2, []string{"all_tokens"}},
		{renderConvs, []string{"--model", "tkx/local-base", "--renderer", "gpt_oss_medium_reasoning", "--date", "2025-13-01"}, 2, []string{`--date: want YYYY-MM-DD, got "2025-13-01"`}},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\"b\"}]}\n",
			[]string{"--model", "tkx/local-base"}, 1, []string{"stdin:2: conversation 1", "message 1", `"tool"`}},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{x\"}}]}]}\n",
			[]string{"--tokenizer", filepath.Join("..", "..", "testdata", "tokenizers", "tiny", "tokenizer.json"), "--renderer", "deepseekv3"}, 1, []string{"conversation 0", "message 1", "arguments are not JSON"}},
		{"{\"messages\": [}\n", []string{"--model", "tkx/local-base"}, 1, []string{"stdin:1: conversation 0: not JSON"}},
		{"", []string{"--model", "tkx/local-base"}, 1, []string{"no conversations"}},
	} {
		code, _, errs := renderRun(t, tc.stdin, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errs, w)
			}
		}
	}
}

// With the real Qwen3 tokenizer (scripts/test-setup.sh), --renderer jinja
// and --renderer qwen3 agree on a generation prompt.
func TestRenderJinjaMatchesQwen3(t *testing.T) {
	p := tokenizertest.Require(t, "qwen3", "tokenizer.json")
	in := `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"2+2?"}]}` + "\n"
	_, a, errs := renderRun(t, in, "--tokenizer", p, "--renderer", "qwen3", "--json", "--generation-prompt")
	_, b, errs2 := renderRun(t, in, "--tokenizer", p, "--renderer", "jinja", "--json", "--generation-prompt")
	if a == "" || a != b {
		t.Fatalf("qwen3 and jinja differ:\n%s%s\n%s%s", a, errs, b, errs2)
	}
}
