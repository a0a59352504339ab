package backend

import (
	"testing"

	"github.com/tkx-dev/tkx/tokenizer"
)

func TestStopHit(t *testing.T) {
	tok := tokenizer.NewLocalByte()
	gen := func(s string) []int32 {
		ids := tok.Encode(s, false)
		out := make([]int32, len(ids))
		for i, v := range ids {
			out[i] = int32(v)
		}
		return out
	}
	cases := []struct {
		text    string
		tokens  []int32
		strings []string
		want    bool
	}{
		{"hello\n\nUser:", nil, []string{"\n\nUser:"}, true},
		{"hello\n\nUser", nil, []string{"\n\nUser:"}, false},
		{"a<|im_end|>", nil, []string{"<|im_end|>"}, true}, // a special token decodes to its text
		{"a<|im_end|>", []int32{258}, nil, true},
		{"abc", []int32{258}, nil, false},
		{"x" + string(make([]byte, 300)) + "END", nil, []string{"END"}, true}, // long completions: only the tail is decoded
		{"", nil, []string{"x"}, false},
	}
	for _, c := range cases {
		if got := stopHit(tok, gen(c.text), c.tokens, c.strings); got != c.want {
			t.Errorf("stopHit(%q, %v, %q) = %v, want %v", c.text, c.tokens, c.strings, got, c.want)
		}
	}
}
