package host

import (
	"fmt"

	"github.com/tkx-dev/tkx/spell"
)

// Nearest returns the candidate closest to name, or "" when none is close
// enough to be a plausible typo.
func Nearest(name string, candidates []string) string {
	if c := spell.Closest(name, candidates, 1); len(c) > 0 {
		return c[0]
	}
	return ""
}

// DidYouMean returns ` (did you mean "x"?)` for the nearest candidate, or "".
func DidYouMean(name string, candidates []string) string {
	if n := Nearest(name, candidates); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}
