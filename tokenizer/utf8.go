package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// lossyUTF8 converts bytes to a string the way Rust's
// String::from_utf8_lossy does (and therefore the way Hugging Face
// tokenizers decode byte-level tokens): every maximal prefix of an
// ill-formed sequence ("maximal subpart", Unicode §3.9) becomes one U+FFFD.
// Go's utf8.DecodeRune would instead emit one U+FFFD per byte for a
// truncated multi-byte sequence.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			sb.Write(b[:size])
			b = b[size:]
			continue
		}
		sb.WriteRune(utf8.RuneError)
		b = b[invalidPrefixLen(b):]
	}
	return sb.String()
}

// invalidPrefixLen returns the length of the maximal subpart of an
// ill-formed sequence at the start of b (at least 1): the longest prefix
// that could begin a well-formed sequence.
func invalidPrefixLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for i := 0; i < need && n < len(b); i++ {
		x := b[n]
		if i == 0 {
			if x < lo || x > hi {
				return n
			}
		} else if x < 0x80 || x > 0xBF {
			return n
		}
		n++
	}
	return n
}

// incompleteUTF8Tail reports whether b ends with a truncated (but so far
// valid) multi-byte UTF-8 sequence, i.e. whether more bytes could still
// turn its end into a valid character.
func incompleteUTF8Tail(b []byte) bool {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return false
		}
		if c >= 0xC0 {
			// Lead byte i bytes from the end: incomplete if it wants more
			// than i bytes and the part we have is a valid prefix.
			tail := b[len(b)-i:]
			if invalidPrefixLen(tail) != len(tail) {
				return false
			}
			want := 0
			switch {
			case c >= 0xC2 && c <= 0xDF:
				want = 2
			case c >= 0xE0 && c <= 0xEF:
				want = 3
			case c >= 0xF0 && c <= 0xF4:
				want = 4
			}
			return want > i
		}
	}
	return false
}
