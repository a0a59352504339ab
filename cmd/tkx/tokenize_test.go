package main

import (
	"strings"
	"testing"
)

func tokenize(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := runTokenize(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenizeCommand(t *testing.T) {
	code, out, errs := tokenize(t, "hi<|im_end|>", "--model", "tkx/local-base")
	if code != exitOK || out != "104 105 258\n" {
		t.Fatalf("exit %d out %q err %q", code, out, errs)
	}
	code, out, _ = tokenize(t, "hi hi<|end|>", "--tokenizer", "../../testdata/tokenizers/tiny/tokenizer.json", "--json")
	if code != exitOK || out != `{"ids":[2,4,5]}`+"\n" {
		t.Fatalf("exit %d out %q", code, out)
	}
	code, out, _ = tokenize(t, "", "--tokenizer", "../../testdata/tokenizers/tiny", "--json")
	if code != exitOK || out != `{"ids":[]}`+"\n" {
		t.Fatalf("empty input: exit %d out %q", code, out)
	}
	for _, in := range []string{`{"ids":[2,4,5]}`, "[2, 4, 5]", "2 4,5\n"} {
		code, out, errs = tokenize(t, in, "--tokenizer", "../../testdata/tokenizers/tiny/tokenizer.json", "--decode")
		if code != exitOK || out != "hi hi<|end|>" {
			t.Fatalf("decode %q: exit %d out %q err %q", in, code, out, errs)
		}
	}
	code, out, _ = tokenize(t, "104 105", "--model", "tkx/local-tiny", "--decode", "--json")
	if code != exitOK || out != `{"text":"hi"}`+"\n" {
		t.Fatalf("decode json: %q", out)
	}
}

func TestTokenizeErrors(t *testing.T) {
	cases := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"x", nil, exitUsage, "exactly one of --tokenizer PATH or --model NAME"},
		{"x", []string{"--model", "a", "--tokenizer", "b"}, exitUsage, "exactly one"},
		{"x", []string{"--modle", "a"}, exitUsage, "flag provided but not defined: -modle"},
		{"ok\n\xff", []string{"--model", "tkx/local-base"}, exitFailure, "invalid UTF-8 at byte 3 (line 2, column 1)"},
		{"x", []string{"--model", "tkx/local-bsae"}, exitFailure, "closest known: tkx/local-base"},
		{"x", []string{"--tokenizer", "/nonexistent/tokenizer.json"}, exitFailure, "no such file"},
		{"1 x", []string{"--model", "tkx/local-base", "--decode"}, exitFailure, `item 1: "x" is not an integer`},
		{"[1, 300]", []string{"--model", "tkx/local-base", "--decode"}, exitFailure, "ids[1] = 300 is not a token id (vocabulary size 288)"},
	}
	for _, c := range cases {
		code, _, errs := tokenize(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}
