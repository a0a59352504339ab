package tokenizer

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestFastScanners checks the hand-written scanners against regexp2 (which
// matches the Rust library, see TestGoldRust) on the corpus and on random
// strings over an alphabet of every character class the patterns tell
// apart.
func TestFastScanners(t *testing.T) {
	texts, err := corpusOnce()
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []string{
		" ", " ", " ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b", "\u001c", "\u200b",
		"a", "b", "Z", "Q", "é", "É", "ß", "ǅ", "ʰ", "中", "字", "カ", "ー", "\u0301", "\u0308", "\u093f", "\u0915",
		"'", "'s", "'S", "'ll", "'LL", "'Re", "'ve", "'d", "'m", "'t", "'ſ", "'K", "ſ", "K",
		"0", "7", "١", "½", "²", "Ⅻ", "〇",
		".", ",", "!", "?", "-", "_", "/", "\\", "(", ")", "\"", "#", "€", "😀", "^", "`", "~", "$", "+", "<", "\x00", "\u00ad", "\ue000", "ab", "Cd", "\u200d", "\ufe0f", "\xff", "\xe4\xb8",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := rng.IntN(30); n >= 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, pattern := range []string{qwenPattern, llamaPattern, o200kPattern, deepseekDigits, deepseekCJK, deepseekMain} {
		re, err := newRegexFinder(pattern)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		fast := fastScanner(pattern)
		if fast == nil {
			f := fastFinder(pattern)
			fast = func(s string, emit func(string)) {
				last := 0
				f.find(s, func(start, end int) {
					if start != last {
						emit("GAP:" + s[last:start])
					}
					emit(s[start:end])
					last = end
				})
				if last != len(s) {
					emit("GAP:" + s[last:])
				}
			}
		}
		for _, s := range texts {
			var want, got []string
			last := 0
			re.find(s, func(start, end int) {
				if start != last {
					want = append(want, "GAP:"+s[last:start])
				}
				want = append(want, s[start:end])
				last = end
			})
			if last != len(s) {
				want = append(want, "GAP:"+s[last:])
			}
			fast(s, func(w string) { got = append(got, w) })
			if !reflect.DeepEqual(got, want) {
				bad++
				if bad <= 5 {
					t.Errorf("pattern %.30q… on %q:\n got  %q\n want %q", pattern, s, got, want)
				}
			}
		}
		if bad > 0 {
			t.Errorf("pattern %.30q…: %d of %d texts differ", pattern, bad, len(texts))
		}
	}
}
