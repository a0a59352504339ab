package tokenizer

// GPT-2's bytes_to_unicode: every byte maps to a printable rune so that
// byte-level vocabularies can be stored as text. Printable Latin-1 bytes map
// to themselves, the rest to U+0100 onwards in byte order.
var (
	byteToUnicode      [256]rune
	unicodeToByteTable = map[rune]byte{}
	// byteToUnicodeStr[b] is string(byteToUnicode[b]), precomputed.
	byteToUnicodeStr [256]string
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToUnicode[b] = rune(b)
		} else {
			byteToUnicode[b] = rune(256 + n)
			n++
		}
	}
	for b, r := range byteToUnicode {
		unicodeToByteTable[r] = byte(b)
		byteToUnicodeStr[b] = string(r)
	}
}

func unicodeToByte(r rune) (byte, bool) {
	if r < 0x100 {
		// Fast path: most printable bytes map to themselves.
		if b := byte(r); byteToUnicode[b] == r {
			return b, true
		}
		return 0, false
	}
	b, ok := unicodeToByteTable[r]
	return b, ok
}

// byteLevelDecodeToken appends the raw bytes of a byte-level token string:
// every rune through the inverse table, or, if any rune is not a byte-level
// character (an added token such as "<｜begin▁of▁sentence｜>"), the token's
// own UTF-8 bytes — exactly as HF's ByteLevel decoder does.
func byteLevelDecodeToken(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		b, ok := unicodeToByte(r)
		if !ok {
			return append(dst[:start], tok...)
		}
		dst = append(dst, b)
	}
	return dst
}

// byteLevelEncode maps raw bytes to their byte-level string.
func byteLevelEncode(s string) string {
	buf := make([]byte, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		buf = append(buf, byteToUnicodeStr[s[i]]...)
	}
	return string(buf)
}
