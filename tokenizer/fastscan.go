package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Hand-written equivalents of the split patterns of the target models.
// regexp2 (a backtracking engine over []rune) is the slowest part of
// encoding; these scanners return exactly the same matches (checked
// against regexp2 by TestFastScanners on the corpus and random strings,
// and against the Rust library by the gold tests). Each pattern's matches
// cover the whole input, so a scanner is a partition into words.

const (
	// Qwen2/Qwen3 (single digits) and Llama 3 (up to 3 digits).
	qwenPattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llamaPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// o200k (gpt-oss).
	o200kPattern = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// fastScanner returns a hand-written partition function for a known split
// pattern, or nil (then regexp2 is used).
func fastScanner(pattern string) func(s string, emit func(string)) {
	switch pattern {
	case qwenPattern:
		return clScanner{maxDigits: 1}.partition
	case llamaPattern:
		return clScanner{maxDigits: 3}.partition
	case o200kPattern:
		return o200kScanner{}.partition
	}
	return nil
}

// Character classes.
const (
	cLetter = 1 << iota // \p{L}
	cNumber             // \p{N}
	cSpace              // \s (unicode.IsSpace, as regexp2 and Oniguruma)
	cLu                 // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] ("upper" side of o200k)
	cLl                 // [\p{Ll}\p{Lm}\p{Lo}\p{M}] ("lower" side of o200k)
	cMark               // \p{M}
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		asciiClass[c] = classOfSlow(rune(c))
	}
}

func classOfSlow(r rune) uint8 {
	var k uint8
	if unicode.IsLetter(r) {
		k |= cLetter
	}
	if unicode.IsNumber(r) {
		k |= cNumber
	}
	if unicode.IsSpace(r) {
		k |= cSpace
	}
	mark := unicode.IsMark(r)
	if mark {
		k |= cMark
	}
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo) || mark {
		k |= cLu
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo) || mark {
		k |= cLl
	}
	return k
}

// runeClass decodes the rune at s[i:] and returns its class and width.
// Invalid UTF-8 bytes count as U+FFFD (a symbol), one byte wide, as
// regexp2 sees them after []rune conversion.
func runeClass(s string, i int) (rune, uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return r, classOfSlow(r), w
}

// contraction returns the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i:]
// (s[i] must be an apostrophe), or 0.
func contraction(s string, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// runWhile returns the end of the run of runes from i whose class has any
// of the bits in mask.
func runWhile(s string, i int, mask uint8) int {
	for i < len(s) {
		_, k, w := runeClass(s, i)
		if k&mask == 0 {
			return i
		}
		i += w
	}
	return i
}

// others returns the end of the run of [^\s\p{L}\p{N}] from i.
func others(s string, i int) int {
	for i < len(s) {
		_, k, w := runeClass(s, i)
		if k&(cLetter|cNumber|cSpace) != 0 {
			return i
		}
		i += w
	}
	return i
}

func crlfRun(s string, i int, slash bool) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')) {
		i++
	}
	return i
}

// whitespace handles the last three alternatives, shared by all patterns:
// \s*[\r\n]+ | \s+(?!\S) | \s+ at i (a whitespace rune).
func whitespace(s string, i int) int {
	end := i
	lastNL := -1
	runes := 0
	lastStart := i
	for end < len(s) {
		r, k, w := runeClass(s, end)
		if k&cSpace == 0 {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = end
		}
		lastStart = end
		end += w
		runes++
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	if end == len(s) || runes == 1 {
		return end
	}
	return lastStart // leave the last space to prefix the next word
}

// clScanner scans the Qwen/Llama 3 pattern (cl100k-like).
type clScanner struct{ maxDigits int }

func (sc clScanner) partition(s string, emit func(string)) {
	for i := 0; i < len(s); {
		n := sc.next(s, i)
		emit(s[i:n])
		i = n
	}
}

func (sc clScanner) next(s string, i int) int {
	r, k, w := runeClass(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r == '\'' {
		if n := contraction(s, i); n > 0 {
			return i + n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if k&cLetter != 0 {
		return runWhile(s, i, cLetter)
	}
	if r != '\r' && r != '\n' && k&cNumber == 0 && i+w < len(s) {
		if _, k2, _ := runeClass(s, i+w); k2&cLetter != 0 {
			return runWhile(s, i+w, cLetter)
		}
	}
	// \p{N}{1,maxDigits}
	if k&cNumber != 0 {
		j := i + w
		for d := 1; d < sc.maxDigits && j < len(s); d++ {
			_, k2, w2 := runeClass(s, j)
			if k2&cNumber == 0 {
				break
			}
			j += w2
		}
		return j
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	if r == ' ' && i+1 < len(s) {
		if _, k2, _ := runeClass(s, i+1); k2&(cLetter|cNumber|cSpace) == 0 {
			return crlfRun(s, others(s, i+1), false)
		}
	}
	if k&(cSpace) == 0 {
		return crlfRun(s, others(s, i), false)
	}
	return whitespace(s, i)
}

// o200kScanner scans gpt-oss's o200k pattern.
type o200kScanner struct{}

func (sc o200kScanner) partition(s string, emit func(string)) {
	for i := 0; i < len(s); {
		n := sc.next(s, i)
		emit(s[i:n])
		i = n
	}
}

// isPrefix reports [^\r\n\p{L}\p{N}].
func isPrefix(r rune, k uint8) bool {
	return r != '\r' && r != '\n' && k&(cLetter|cNumber) == 0
}

func withContraction(s string, e int) int {
	if e < len(s) && s[e] == '\'' {
		return e + contraction(s, e)
	}
	return e
}

// a1 matches [U]*[Lw]+ at p: the longest U-run whose next rune is Lw,
// backtracking to the last Lw rune inside the run.
func a1(s string, p int) (int, bool) {
	q := p
	lastLw := -1
	for q < len(s) {
		_, k, w := runeClass(s, q)
		if k&cLu == 0 {
			break
		}
		if k&cLl != 0 {
			lastLw = q + w
		}
		q += w
	}
	if q < len(s) {
		if _, k, _ := runeClass(s, q); k&cLl != 0 {
			return withContraction(s, runWhile(s, q, cLl)), true
		}
	}
	if lastLw >= 0 {
		return withContraction(s, lastLw), true
	}
	return 0, false
}

// a2 matches [U]+[Lw]* at p.
func a2(s string, p int) (int, bool) {
	if p >= len(s) {
		return 0, false
	}
	if _, k, _ := runeClass(s, p); k&cLu == 0 {
		return 0, false
	}
	return withContraction(s, runWhile(s, runWhile(s, p, cLu), cLl)), true
}

func (sc o200kScanner) next(s string, i int) int {
	r, k, w := runeClass(s, i)
	pre := isPrefix(r, k)
	for _, alt := range [2]func(string, int) (int, bool){a1, a2} {
		if pre {
			if e, ok := alt(s, i+w); ok {
				return e
			}
		}
		if e, ok := alt(s, i); ok {
			return e
		}
	}
	if k&cNumber != 0 {
		j := i + w
		for d := 1; d < 3 && j < len(s); d++ {
			_, k2, w2 := runeClass(s, j)
			if k2&cNumber == 0 {
				break
			}
			j += w2
		}
		return j
	}
	if r == ' ' && i+1 < len(s) {
		if _, k2, _ := runeClass(s, i+1); k2&(cLetter|cNumber|cSpace) == 0 {
			return crlfRun(s, others(s, i+1), true)
		}
	}
	if k&cSpace == 0 {
		return crlfRun(s, others(s, i), true)
	}
	return whitespace(s, i)
}

// DeepSeek-V3 chains three Split pre-tokenizers; their matches leave gaps,
// so they are finders (used with the Split behaviors), not partitions.
const (
	deepseekDigits = `\p{N}{1,3}`
	deepseekCJK    = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
	deepseekMain   = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
)

// fastFinder returns a hand-written finder for a known pattern, or nil.
func fastFinder(pattern string) finder {
	switch pattern {
	case deepseekDigits:
		return digits13Finder{}
	case deepseekCJK:
		return funcFinder{pred: func(r rune) bool {
			return (r >= 0x4e00 && r <= 0x9fa5) || (r >= 0x3040 && r <= 0x309f) || (r >= 0x30a0 && r <= 0x30ff)
		}}
	case deepseekMain:
		return deepseekFinder{}
	}
	return nil
}

// digits13Finder matches \p{N}{1,3}.
type digits13Finder struct{}

func (digits13Finder) find(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		_, k, w := runeClass(s, i)
		if k&cNumber == 0 {
			i += w
			continue
		}
		j := i + w
		for d := 1; d < 3 && j < len(s); d++ {
			_, k2, w2 := runeClass(s, j)
			if k2&cNumber == 0 {
				break
			}
			j += w2
		}
		fn(i, j)
		i = j
	}
}

// deepseekFinder matches deepseekMain.
type deepseekFinder struct{}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && c > ' ' && c != 0x7f && !(c >= '0' && c <= '9') && !(c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// dsClass returns whether r is \p{P} or \p{S}, and whether it is
// [\p{L}\p{M}].
func dsClass(r rune, k uint8) (ps, lm bool) {
	if r < utf8.RuneSelf {
		return isASCIIPunct(byte(r)), k&cLetter != 0
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r), k&(cLetter|cMark) != 0
}

func dsRun(s string, i int, wantPS bool) int {
	for i < len(s) {
		r, k, w := runeClass(s, i)
		ps, lm := dsClass(r, k)
		if (wantPS && !ps) || (!wantPS && !lm) {
			return i
		}
		i += w
	}
	return i
}

func (deepseekFinder) find(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		r, k, w := runeClass(s, i)
		ps, lm := dsClass(r, k)
		end := -1
		switch {
		case r < utf8.RuneSelf && isASCIIPunct(byte(r)) && i+1 < len(s) && isASCIILetter(s[i+1]):
			end = i + 1
			for end < len(s) && isASCIILetter(s[end]) {
				end++
			}
		case r != '\r' && r != '\n' && k&cLetter == 0 && !ps && i+w < len(s) && func() bool {
			r2, k2, _ := runeClass(s, i+w)
			_, lm2 := dsClass(r2, k2)
			return lm2
		}():
			end = dsRun(s, i+w, false)
		case lm:
			end = dsRun(s, i, false)
		case r == ' ' && i+1 < len(s) && func() bool {
			r2, k2, _ := runeClass(s, i+1)
			ps2, _ := dsClass(r2, k2)
			return ps2
		}():
			end = crlfRun(s, dsRun(s, i+1, true), false)
		case ps:
			end = crlfRun(s, dsRun(s, i, true), false)
		case k&cSpace != 0:
			end = whitespace(s, i)
		}
		if end < 0 {
			i += w
			continue
		}
		fn(i, end)
		i = end
	}
}
