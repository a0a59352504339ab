package tokenizer

import (
	"fmt"
	"strings"
)

// Local byte tokenizer ids (fixed by the team's design; the local backend's
// checkpoints depend on them).
const (
	LocalByteEndOfText = 256 // "<|endoftext|>", EOS
	LocalByteIMStart   = 257 // "<|im_start|>"
	LocalByteIMEnd     = 258 // "<|im_end|>"
	LocalBytePad       = 259 // "<|pad|>"
	LocalByteVocabSize = 288 // ids 260..287 are reserved and never produced
)

var localByteSpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"}

// LocalByte is the byte-level tokenizer of the local models ("tkx/local-base",
// "tkx/local-tiny"): ids 0..255 are raw bytes, 256..259 are special tokens.
type LocalByte struct {
	specials *specialMatcher
}

// NewLocalByte returns the local byte tokenizer.
func NewLocalByte() *LocalByte {
	m := map[string]int{}
	for i, s := range localByteSpecials {
		m[s] = 256 + i
	}
	return &LocalByte{specials: newSpecialMatcher(m)}
}

// Encode maps every byte of text to its id; special-token strings are
// matched first. addSpecialTokens has no effect (no BOS/EOS template).
func (t *LocalByte) Encode(text string, addSpecialTokens bool) []int {
	ids := make([]int, 0, len(text))
	t.specials.split(text, func(seg string, special int) {
		if special >= 0 {
			ids = append(ids, special)
			return
		}
		for i := 0; i < len(seg); i++ {
			ids = append(ids, int(seg[i]))
		}
	})
	return ids
}

// Decode concatenates the bytes (special tokens as their strings) and
// converts them to text like HF does: ill-formed UTF-8 becomes U+FFFD.
// Reserved ids (260..287) and out-of-range ids decode to nothing.
func (t *LocalByte) Decode(ids []int) string {
	buf := make([]byte, 0, len(ids))
	for _, id := range ids {
		switch {
		case id >= 0 && id < 256:
			buf = append(buf, byte(id))
		case id >= 256 && id < 256+len(localByteSpecials):
			buf = append(buf, localByteSpecials[id-256]...)
		}
	}
	return lossyUTF8(buf)
}

// TokenToID looks up a special token, or a single byte written as its
// GPT-2 byte-level character (as IDToToken returns it).
func (t *LocalByte) TokenToID(token string) (int, bool) {
	for i, s := range localByteSpecials {
		if s == token {
			return 256 + i, true
		}
	}
	r := []rune(token)
	if len(r) == 1 {
		if b, ok := unicodeToByte(r[0]); ok {
			return int(b), true
		}
	}
	return 0, false
}

// IDToToken returns the GPT-2 byte-level character for byte ids (so that
// every byte is printable, as in HF vocabularies) and the string of a
// special token.
func (t *LocalByte) IDToToken(id int) (string, bool) {
	switch {
	case id >= 0 && id < 256:
		return string(byteToUnicode[id]), true
	case id >= 256 && id < 256+len(localByteSpecials):
		return localByteSpecials[id-256], true
	}
	return "", false
}

// TokenBytes returns the raw bytes a token id stands for.
func (t *LocalByte) TokenBytes(id int) ([]byte, bool) {
	switch {
	case id >= 0 && id < 256:
		return []byte{byte(id)}, true
	case id >= 256 && id < 256+len(localByteSpecials):
		return []byte(localByteSpecials[id-256]), true
	}
	return nil, false
}

// IsSpecial reports whether id is a special token.
func (t *LocalByte) IsSpecial(id int) bool {
	return id >= 256 && id < LocalByteVocabSize
}

func (t *LocalByte) VocabSize() int { return LocalByteVocabSize }
func (t *LocalByte) BOS() int       { return -1 }
func (t *LocalByte) EOS() int       { return LocalByteEndOfText }
func (t *LocalByte) Name() string   { return "tkx/local-byte" }

// SpecialTokens lists the special tokens, in id order.
func (t *LocalByte) SpecialTokens() []string { return append([]string(nil), localByteSpecials...) }

func (t *LocalByte) String() string {
	return fmt.Sprintf("LocalByte(vocab=%d, specials=%s)", LocalByteVocabSize, strings.Join(localByteSpecials, ","))
}
