package tokenizer

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites text before pre-tokenization (HF "normalizer").
type normalizer interface {
	normalize(s string) string
}

type unicodeNorm struct{ form norm.Form }

func (u unicodeNorm) normalize(s string) string {
	if u.form.IsNormalString(s) {
		return s
	}
	return u.form.String(s)
}

type lowercaseNorm struct{}

func (lowercaseNorm) normalize(s string) string { return strings.ToLower(s) }

type seqNorm []normalizer

func (q seqNorm) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// replaceNorm replaces a literal string or a regex (HF "Replace").
type replaceNorm struct {
	lit     string
	re      *regexFinder
	content string
}

func (r replaceNorm) normalize(s string) string {
	if r.re == nil {
		return strings.ReplaceAll(s, r.lit, r.content)
	}
	var b strings.Builder
	last := 0
	r.re.find(s, func(start, end int) {
		b.WriteString(s[last:start])
		b.WriteString(r.content)
		last = end
	})
	b.WriteString(s[last:])
	return b.String()
}

type prependNorm struct{ prefix string }

func (p prependNorm) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

type stripNorm struct{ left, right bool }

func (st stripNorm) normalize(s string) string {
	if st.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if st.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}
