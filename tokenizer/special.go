package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's "added_tokens".
type addedToken struct {
	ID         int
	Content    string
	Special    bool
	LStrip     bool
	RStrip     bool
	SingleWord bool
	Normalized bool
}

// specialMatcher finds added tokens in text, leftmost-longest like the
// Aho-Corasick automaton (MatchKind::LeftmostLongest) HF tokenizers uses.
type specialMatcher struct {
	tokens []addedToken
	// byFirst[b] lists indexes into tokens whose content starts with byte
	// b, longest first.
	byFirst [256][]int32
	any     bool
}

func newSpecialMatcher(m map[string]int) *specialMatcher {
	toks := make([]addedToken, 0, len(m))
	for s, id := range m {
		toks = append(toks, addedToken{ID: id, Content: s, Special: true})
	}
	sort.Slice(toks, func(i, j int) bool { return toks[i].ID < toks[j].ID })
	return newAddedMatcher(toks)
}

func newAddedMatcher(toks []addedToken) *specialMatcher {
	sm := &specialMatcher{tokens: toks}
	for i, t := range toks {
		if t.Content == "" {
			continue
		}
		b := t.Content[0]
		sm.byFirst[b] = append(sm.byFirst[b], int32(i))
		sm.any = true
	}
	for b := range sm.byFirst {
		l := sm.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(toks[l[i]].Content) > len(toks[l[j]].Content) })
	}
	return sm
}

// match returns the index of the longest token starting at text[i:], or -1.
func (sm *specialMatcher) match(text string, i int) int {
	for _, k := range sm.byFirst[text[i]] {
		c := sm.tokens[k].Content
		if len(text)-i >= len(c) && text[i:i+len(c)] == c {
			return int(k)
		}
	}
	return -1
}

// split calls fn for every piece of text in order: plain segments with
// special = -1 and matched tokens with special = their id. Whitespace
// around tokens with lstrip/rstrip is absorbed into the token; tokens with
// single_word only match at word boundaries.
func (sm *specialMatcher) split(text string, fn func(seg string, special int)) {
	if sm == nil || !sm.any {
		if text != "" {
			fn(text, -1)
		}
		return
	}
	last := 0 // end of the previous match
	for i := 0; i < len(text); {
		k := -1
		if len(sm.byFirst[text[i]]) > 0 {
			k = sm.match(text, i)
		}
		if k < 0 {
			i++
			continue
		}
		t := &sm.tokens[k]
		start, stop := i, i+len(t.Content)
		if t.SingleWord && !isWordBoundary(text, start, stop) {
			// Like the Aho-Corasick iterator, resume after the rejected match.
			i = stop
			continue
		}
		if t.LStrip {
			for start > last {
				r, size := utf8.DecodeLastRuneInString(text[last:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= size
			}
		}
		if t.RStrip {
			for stop < len(text) {
				r, size := utf8.DecodeRuneInString(text[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += size
			}
		}
		if start > last {
			fn(text[last:start], -1)
		}
		fn(text[start:stop], t.ID)
		last, i = stop, stop
	}
	if last < len(text) {
		fn(text[last:], -1)
	}
}

// isWordBoundary implements single_word: the match must not be preceded or
// followed by a word character.
func isWordBoundary(text string, start, stop int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:start])
		if isWordChar(r) {
			return false
		}
	}
	if stop < len(text) {
		r, _ := utf8.DecodeRuneInString(text[stop:])
		if isWordChar(r) {
			return false
		}
	}
	return true
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}
