package renderers

import (
	"fmt"
	"strings"

	"github.com/tkx-dev/tkx/spell"
)

// Closest returns up to n candidates nearest to name, nearest first.
func Closest(name string, candidates []string, n int) []string {
	return spell.Closest(name, candidates, n)
}

func didYouMean(name string, candidates []string) string {
	c := Closest(name, candidates, 3)
	if len(c) == 0 {
		return ""
	}
	q := make([]string, len(c))
	for i, s := range c {
		q[i] = fmt.Sprintf("%q", s)
	}
	return " (did you mean " + strings.Join(q, " or ") + "?)"
}
