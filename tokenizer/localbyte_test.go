package tokenizer

import (
	"reflect"
	"testing"
)

func TestLocalByteEncode(t *testing.T) {
	tk := NewLocalByte()
	var _ Tokenizer = tk
	got := tk.Encode("<|im_start|>hi é<|im_end|><|endoftext|><|pad|><|im_start", true)
	want := []int{257, 'h', 'i', ' ', 0xC3, 0xA9, 258, 256, 259}
	for _, b := range []byte("<|im_start") {
		want = append(want, int(b))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	if tk.VocabSize() != 288 || tk.EOS() != 256 || tk.BOS() != -1 {
		t.Fatalf("VocabSize/EOS/BOS = %d/%d/%d", tk.VocabSize(), tk.EOS(), tk.BOS())
	}
	for id, s := range map[int]string{256: "<|endoftext|>", 257: "<|im_start|>", 258: "<|im_end|>", 259: "<|pad|>"} {
		if got, ok := tk.TokenToID(s); !ok || got != id {
			t.Errorf("TokenToID(%q) = %d, %v", s, got, ok)
		}
		if got, ok := tk.IDToToken(id); !ok || got != s {
			t.Errorf("IDToToken(%d) = %q, %v", id, got, ok)
		}
	}
	for id := 0; id < 256; id++ {
		s, ok := tk.IDToToken(id)
		if !ok {
			t.Fatalf("IDToToken(%d) missing", id)
		}
		if back, ok := tk.TokenToID(s); !ok || back != id {
			t.Fatalf("byte %d: token %q maps back to %d", id, s, back)
		}
	}
	if _, ok := tk.IDToToken(260); ok {
		t.Errorf("reserved id 260 has a token")
	}
}

func TestLocalByteDecode(t *testing.T) {
	tk := NewLocalByte()
	text := "héllo 世界 🙂 <|im_end|>"
	if got := tk.Decode(tk.Encode(text, false)); got != text {
		t.Fatalf("round trip = %q", got)
	}
	cases := []struct {
		ids  []int
		want string
	}{
		{[]int{0xE4, 0xB8}, "\uFFFD"},                   // truncated 3-byte sequence: one U+FFFD (Rust from_utf8_lossy)
		{[]int{0xE4, 0xB8, 'a'}, "\uFFFDa"},             // truncated then ASCII
		{[]int{0xFF, 0xFE}, "\uFFFD\uFFFD"},             // two invalid bytes
		{[]int{0xED, 0xA0, 0x80}, "\uFFFD\uFFFD\uFFFD"}, // surrogate: each byte separate
		{[]int{0xF0, 0x9F, 0x99}, "\uFFFD"},             // truncated emoji
		{[]int{'a', 270, 258}, "a<|im_end|>"},           // reserved ids decode to nothing
	}
	for _, c := range cases {
		if got := tk.Decode(c.ids); got != c.want {
			t.Errorf("Decode(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
}
