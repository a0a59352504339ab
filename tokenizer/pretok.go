package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// A preTokenizer splits a (normalized) piece of text into words; emit is
// called for every non-empty word, in order. Words are substrings of s
// where possible (no copies).
type preTokenizer interface {
	split(s string, emit func(string))
}

// seqPre applies pre-tokenizers in turn (HF "Sequence").
type seqPre []preTokenizer

func (q seqPre) split(s string, emit func(string)) { q.run(0, s, emit) }

func (q seqPre) run(i int, s string, emit func(string)) {
	if i == len(q) {
		emit(s)
		return
	}
	q[i].split(s, func(p string) { q.run(i+1, p, emit) })
}

// splitBehavior is HF's SplitDelimiterBehavior.
type splitBehavior int

const (
	behRemoved splitBehavior = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

func parseBehavior(s string) (splitBehavior, bool) {
	switch s {
	case "Removed":
		return behRemoved, true
	case "Isolated":
		return behIsolated, true
	case "MergedWithPrevious":
		return behMergedWithPrevious, true
	case "MergedWithNext":
		return behMergedWithNext, true
	case "Contiguous":
		return behContiguous, true
	}
	return 0, false
}

// finder yields the non-overlapping matches of a pattern in s as byte
// offsets, in order.
type finder interface {
	find(s string, fn func(start, end int))
}

// splitPre is HF's "Split" pre-tokenizer (and the splitting core of Digits).
type splitPre struct {
	f        finder
	behavior splitBehavior
	invert   bool
	// partition is set for patterns whose matches are known to cover the
	// whole input with behavior Isolated (the Qwen/Llama/o200k patterns):
	// then every match is a word and gaps need no handling.
	partition func(s string, emit func(string))
}

func (p *splitPre) split(s string, emit func(string)) {
	if s == "" {
		return
	}
	if p.partition != nil {
		p.partition(s, emit)
		return
	}
	if p.behavior == behIsolated && !p.invert {
		last := 0
		p.f.find(s, func(start, end int) {
			if start > last {
				emit(s[last:start])
			}
			emit(s[start:end])
			last = end
		})
		if last < len(s) {
			emit(s[last:])
		}
		return
	}
	// Build the (piece, isMatch) sequence, then apply the behavior.
	type piece struct {
		start, end int
		match      bool
	}
	var pieces []piece
	last := 0
	p.f.find(s, func(start, end int) {
		if start > last {
			pieces = append(pieces, piece{last, start, false})
		}
		pieces = append(pieces, piece{start, end, true})
		last = end
	})
	if last < len(s) {
		pieces = append(pieces, piece{last, len(s), false})
	}
	if p.invert {
		for i := range pieces {
			pieces[i].match = !pieces[i].match
		}
	}
	switch p.behavior {
	case behIsolated:
		for _, pc := range pieces {
			emit(s[pc.start:pc.end])
		}
	case behRemoved:
		for _, pc := range pieces {
			if !pc.match {
				emit(s[pc.start:pc.end])
			}
		}
	case behMergedWithPrevious:
		start := -1
		for i, pc := range pieces {
			if start < 0 {
				start = pc.start
			}
			// Flush when the next piece is not a match (it starts a new word).
			if i+1 == len(pieces) || !pieces[i+1].match {
				emit(s[start:pc.end])
				start = -1
			}
		}
	case behMergedWithNext:
		start := -1
		for _, pc := range pieces {
			if start < 0 {
				start = pc.start
			}
			if !pc.match {
				emit(s[start:pc.end])
				start = -1
			}
		}
		if start >= 0 {
			emit(s[start:])
		}
	case behContiguous:
		start := -1
		for i, pc := range pieces {
			if start < 0 {
				start = pc.start
			}
			if !pc.match || i+1 == len(pieces) || !pieces[i+1].match {
				emit(s[start:pc.end])
				start = -1
			}
		}
	}
}

// regexFinder runs a regexp2 (Oniguruma-like, with look-ahead) pattern.
type regexFinder struct{ re *regexp2.Regexp }

func newRegexFinder(pattern string) (*regexFinder, error) {
	re, err := regexp2.Compile(pattern, regexp2.Unicode)
	if err != nil {
		return nil, err
	}
	return &regexFinder{re}, nil
}

func (r *regexFinder) find(s string, fn func(start, end int)) {
	runes := []rune(s)
	// byteOff[i] is the byte offset of runes[i] (ASCII: the identity).
	var byteOff []int
	if len(runes) != len(s) {
		byteOff = make([]int, len(runes)+1)
		off := 0
		for i, rn := range runes {
			byteOff[i] = off
			if rn == utf8.RuneError {
				// Invalid bytes decode to U+FFFD one byte at a time.
				_, size := utf8.DecodeRuneInString(s[off:])
				off += size
			} else {
				off += utf8.RuneLen(rn)
			}
		}
		byteOff[len(runes)] = off
	}
	m, err := r.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Length > 0 {
			start, end := m.Index, m.Index+m.Length
			if byteOff != nil {
				start, end = byteOff[start], byteOff[end]
			}
			fn(start, end)
		}
		m, err = r.re.FindNextMatch(m)
	}
}

// literalFinder matches a plain string (Split with {"String": ...}).
type literalFinder struct{ lit string }

func (l literalFinder) find(s string, fn func(start, end int)) {
	if l.lit == "" {
		return
	}
	off := 0
	for {
		i := strings.Index(s[off:], l.lit)
		if i < 0 {
			return
		}
		fn(off+i, off+i+len(l.lit))
		off += i + len(l.lit)
	}
}

// digitFinder matches ASCII digits: one at a time (individual) or runs.
type digitFinder struct{ individual bool }

func (d digitFinder) find(s string, fn func(start, end int)) {
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i + 1
		if !d.individual {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
		}
		fn(i, j)
		i = j
	}
}

// funcFinder matches maximal runs of runes accepted by pred (or, with
// single, every such rune alone).
type funcFinder struct {
	pred   func(rune) bool
	single bool
}

func (f funcFinder) find(s string, fn func(start, end int)) {
	start := -1
	for i, r := range s {
		if f.pred(r) {
			if f.single {
				fn(i, i+utf8.RuneLen(r))
				continue
			}
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			fn(start, i)
			start = -1
		}
	}
	if start >= 0 {
		fn(start, len(s))
	}
}

// byteLevelPre is HF's ByteLevel pre-tokenizer. The byte-to-unicode mapping
// itself is implicit: the BPE model works on raw bytes. Only the optional
// GPT-2 regex and add_prefix_space split or change text.
type byteLevelPre struct {
	addPrefixSpace bool
	regex          *splitPre // nil unless use_regex
}

// gpt2Pattern is the pattern of HF's ByteLevel pre-tokenizer (use_regex).
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

func (b *byteLevelPre) split(s string, emit func(string)) {
	if b.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if b.regex != nil {
		b.regex.split(s, emit)
		return
	}
	emit(s)
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func isSpaceRune(r rune) bool { return unicode.IsSpace(r) }
