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
	// A byte trie of the token contents: root[b] is the node after byte b
	// (0: none); nodes[0] is unused.
	root  [256]int32
	nodes []trieNode
	any   bool
}

type trieNode struct {
	tok   int32 // index into tokens ending here, or -1
	edges []trieEdge
}

type trieEdge struct {
	b    byte
	node int32
}

func (sm *specialMatcher) child(n int32, b byte) int32 {
	for _, e := range sm.nodes[n].edges {
		if e.b == b {
			return e.node
		}
	}
	return 0
}

func (sm *specialMatcher) insert(content string, tok int32) {
	n := sm.root[content[0]]
	if n == 0 {
		sm.nodes = append(sm.nodes, trieNode{tok: -1})
		n = int32(len(sm.nodes) - 1)
		sm.root[content[0]] = n
	}
	for i := 1; i < len(content); i++ {
		c := sm.child(n, content[i])
		if c == 0 {
			sm.nodes = append(sm.nodes, trieNode{tok: -1})
			c = int32(len(sm.nodes) - 1)
			sm.nodes[n].edges = append(sm.nodes[n].edges, trieEdge{content[i], c})
		}
		n = c
	}
	if sm.nodes[n].tok < 0 { // the first of duplicate contents wins
		sm.nodes[n].tok = tok
	}
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
	sm := &specialMatcher{tokens: toks, nodes: make([]trieNode, 1, 64)}
	for i, t := range toks {
		if t.Content == "" {
			continue
		}
		sm.insert(t.Content, int32(i))
		sm.any = true
	}
	return sm
}

// match returns the index of the longest token starting at text[i:], or -1.
func (sm *specialMatcher) match(text string, i int) int {
	n := sm.root[text[i]]
	best := -1
	for j := i + 1; n != 0; j++ {
		if t := sm.nodes[n].tok; t >= 0 {
			best = int(t)
		}
		if j == len(text) {
			break
		}
		n = sm.child(n, text[j])
	}
	return best
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
		if sm.root[text[i]] != 0 {
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
