package tokenizer

import "strings"

// DecodeStream decodes ids one at a time for streaming output. Text is
// released only when it is complete: bytes of a UTF-8 character split
// across tokens are withheld until the character is whole, so no chunk
// ends in a spurious U+FFFD. The concatenation of all chunks plus Flush
// equals Decode of all ids (for byte-level tokenizers; otherwise the
// transformers clean-up of spaces, if any, is not applied).
type DecodeStream struct {
	tok Tokenizer
	// Byte path (tokenizers exposing TokenBytes).
	bytesOf func(int) ([]byte, bool)
	pending []byte
	// Generic path, as HF's DecodeStream: decode a window of ids and
	// release the text beyond the previous decode when it does not end
	// in U+FFFD.
	ids         []int
	prefix      string
	prefixIndex int
}

type tokenByter interface {
	TokenBytes(id int) ([]byte, bool)
}

type rawDecoder interface {
	DecodeRaw(ids []int) string
}

// NewDecodeStream starts a stream over t.
func NewDecodeStream(t Tokenizer) *DecodeStream {
	d := &DecodeStream{tok: t}
	if tb, ok := t.(tokenByter); ok {
		if h, isHF := t.(*HF); !isHF || h.byteLevelDecode {
			d.bytesOf = tb.TokenBytes
		}
	}
	return d
}

// Step adds one id and returns the text it completes ("" if withheld).
func (d *DecodeStream) Step(id int) string {
	if d.bytesOf != nil {
		b, ok := d.bytesOf(id)
		if !ok {
			return ""
		}
		d.pending = append(d.pending, b...)
		cut := len(d.pending)
		if incompleteUTF8Tail(d.pending) {
			cut = len(d.pending) - tailStart(d.pending)
		}
		if cut == 0 {
			return ""
		}
		out := lossyUTF8(d.pending[:cut])
		d.pending = append(d.pending[:0], d.pending[cut:]...)
		return out
	}
	d.ids = append(d.ids, id)
	s := d.decode(d.ids)
	if len(s) > len(d.prefix) && !strings.HasSuffix(s, "\uFFFD") && strings.HasPrefix(s, d.prefix) {
		out := s[len(d.prefix):]
		newPrefixIndex := len(d.ids) - d.prefixIndex
		d.ids = append(d.ids[:0], d.ids[d.prefixIndex:]...)
		d.prefix = d.decode(d.ids)
		d.prefixIndex = newPrefixIndex
		return out
	}
	return ""
}

func (d *DecodeStream) decode(ids []int) string {
	if r, ok := d.tok.(rawDecoder); ok {
		return r.DecodeRaw(ids)
	}
	return d.tok.Decode(ids)
}

// Flush returns the withheld text (an incomplete character at the end
// becomes U+FFFD, as in Decode) and resets the stream.
func (d *DecodeStream) Flush() string {
	var out string
	if d.bytesOf != nil {
		out = lossyUTF8(d.pending)
		d.pending = d.pending[:0]
		return out
	}
	if s := d.decode(d.ids); len(s) > len(d.prefix) && strings.HasPrefix(s, d.prefix) {
		out = s[len(d.prefix):]
	}
	d.ids, d.prefix, d.prefixIndex = nil, "", 0
	return out
}

// tailStart returns how many bytes at the end of b form an incomplete
// UTF-8 sequence (b must end in one).
func tailStart(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if b[len(b)-i] >= 0xC0 {
			return i
		}
	}
	return 0
}
