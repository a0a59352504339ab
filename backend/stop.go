package backend

import (
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

// stopHit reports whether a completion must stop after its last token: the
// token is one of stopTokens, or the decoded completion now contains one of
// stopStrings. The stop token or the tokens that spell the stop string stay
// in the completion (renderers' parse_response expects them).
func stopHit(tok tokenizer.Tokenizer, gen []int32, stopTokens []int32, stopStrings []string) bool {
	if len(gen) == 0 {
		return false
	}
	last := gen[len(gen)-1]
	for _, t := range stopTokens {
		if t == last {
			return true
		}
	}
	if len(stopStrings) == 0 || tok == nil {
		return false
	}
	// Decode only a tail long enough to hold the longest stop string (every
	// token decodes to at least one byte) plus the tokens it could straddle.
	maxLen := 0
	for _, s := range stopStrings {
		maxLen = max(maxLen, len(s))
	}
	from := max(0, len(gen)-maxLen-4)
	ids := make([]int, len(gen)-from)
	for i, t := range gen[from:] {
		ids[i] = int(t)
	}
	// A match anywhere in the tail is new: an earlier one would already have
	// stopped generation.
	text := tok.Decode(ids)
	for _, s := range stopStrings {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
