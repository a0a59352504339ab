// Package spell finds the known names closest to a mistyped one, for the
// "did you mean" hints of every error that names an unknown thing (config
// keys, commands, renderers, models, modules).
package spell

import (
	"sort"
	"strings"
)

// Distance is the Levenshtein distance between a and b, over runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// score is how far a candidate is from name: case-insensitive edit
// distance, lowered when one contains the other, or when name matches the
// part after "org/" of a candidate (model names given without their org).
func score(name, candidate string) int {
	ln, lc := strings.ToLower(name), strings.ToLower(candidate)
	d := Distance(ln, lc)
	if ln != "" && (strings.Contains(lc, ln) || strings.Contains(ln, lc)) {
		d = min(d, abs(len(lc)-len(ln))/2)
	}
	if _, after, ok := strings.Cut(lc, "/"); ok && !strings.Contains(ln, "/") {
		d = min(d, Distance(ln, after))
	}
	return d
}

// Closest returns up to n candidates near enough to name to be plausible
// typos, nearest first (ties keep the candidates' order).
func Closest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	all := make([]scored, len(candidates))
	for i, c := range candidates {
		all[i] = scored{c, score(name, c)}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	limit := max(3, len([]rune(name))/2)
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
