package renderers

import (
	"fmt"
	"sort"
	"strings"
)

// Closest returns up to n candidates nearest to name by edit distance
// (case-insensitive, with a bonus for substrings), nearest first.
func Closest(name string, candidates []string, n int) []string {
	type sc struct {
		s string
		d int
	}
	ln := strings.ToLower(name)
	var all []sc
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(ln, lc)
		if ln != "" && (strings.Contains(lc, ln) || strings.Contains(ln, lc)) {
			d = min(d, abs(len(lc)-len(ln))/2)
		}
		all = append(all, sc{c, d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	limit := max(3, len(name)/2)
	var out []string
	for _, s := range all {
		if len(out) == n || s.d > limit {
			break
		}
		out = append(out, s.s)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
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

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
