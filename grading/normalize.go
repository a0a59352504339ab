package grading

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// errStrip marks the places where the Hendrycks strip_string raises in Python
// (an assertion or an index error); NormalizeAnswer then falls back to the
// answer as it was before stripping, as the original does.
var errStrip = errors.New("strip failed")

var enclosingTextRe = regexp.MustCompile(`^\\text\{(.+?)\}$`)

// NormalizeAnswer is the Hendrycks MATH normalisation (the cookbook's
// normalize_answer): it removes an enclosing \text{}, then strips
// line breaks, \!, \left/\right, degree marks, \$, units written as
// "\text{ unit}", \%, spaces; turns tfrac/dfrac into frac, fixes \frac12 and
// \sqrt2 into their braced forms, "a/b" of two integers into \frac{a}{b},
// ".5" into "0.5" and "0.5" into \frac{1}{2}; drops a short "k=" prefix.
// Where the Python original raises inside the stripping, the answer is
// returned with only the outer whitespace and \text{} removed, as there.
func NormalizeAnswer(answer string) string {
	answer = strings.TrimSpace(answer)
	if m := enclosingTextRe.FindStringSubmatch(answer); m != nil {
		answer = strings.TrimSpace(m[1])
	}
	s, err := stripString(answer)
	if err != nil {
		return answer
	}
	return s
}

func stripString(s string) (string, error) {
	s = strings.ReplaceAll(s, "\n", "")
	s = strings.ReplaceAll(s, `\!`, "")
	s = strings.ReplaceAll(s, `\\`, `\`)
	s = strings.ReplaceAll(s, "tfrac", "frac")
	s = strings.ReplaceAll(s, "dfrac", "frac")
	s = strings.ReplaceAll(s, `\left`, "")
	s = strings.ReplaceAll(s, `\right`, "")
	s = strings.ReplaceAll(s, `^{\circ}`, "")
	s = strings.ReplaceAll(s, `^\circ`, "")
	s = strings.ReplaceAll(s, `\$`, "")
	s, err := removeRightUnits(s)
	if err != nil {
		return "", err
	}
	s = strings.ReplaceAll(s, `\%`, "")
	s = strings.ReplaceAll(s, " .", " 0.")
	s = strings.ReplaceAll(s, "{.", "{0.")
	if s == "" {
		return s, nil
	}
	if s[0] == '.' {
		s = "0" + s
	}
	// "k = 3" -> "3" when the left side is at most two characters.
	if parts := strings.Split(s, "="); len(parts) == 2 && utf8.RuneCountInString(parts[0]) <= 2 {
		s = parts[1]
	}
	s = fixSqrt(s)
	s = strings.ReplaceAll(s, " ", "")
	s, err = fixFracs(s)
	if err != nil {
		return "", err
	}
	if s == "0.5" {
		s = `\frac{1}{2}`
	}
	return fixASlashB(s)
}

// removeRightUnits drops "\text{ unit}" at the end; the original asserts that
// the marker occurs once.
func removeRightUnits(s string) (string, error) {
	if !strings.Contains(s, `\text{ `) {
		return s, nil
	}
	parts := strings.Split(s, `\text{ `)
	if len(parts) != 2 {
		return "", errStrip
	}
	return parts[0], nil
}

// fixSqrt turns \sqrt3 into \sqrt{3} (one character).
func fixSqrt(s string) string {
	if !strings.Contains(s, `\sqrt`) {
		return s
	}
	splits := strings.Split(s, `\sqrt`)
	var b strings.Builder
	b.WriteString(splits[0])
	for _, sp := range splits[1:] {
		if sp == "" || sp[0] != '{' {
			first, rest := "", ""
			if sp != "" {
				_, n := utf8.DecodeRuneInString(sp)
				first, rest = sp[:n], sp[n:]
			}
			b.WriteString(`\sqrt{` + first + "}" + rest)
		} else {
			b.WriteString(`\sqrt` + sp)
		}
	}
	return b.String()
}

// fixFracs turns \frac12 into \frac{1}{2} and \frac1{72} into \frac{1}{72}.
func fixFracs(s string) (string, error) {
	substrs := strings.Split(s, `\frac`)
	var b strings.Builder
	b.WriteString(substrs[0])
	for _, sub := range substrs[1:] {
		b.WriteString(`\frac`)
		r := []rune(sub)
		if len(r) == 0 {
			return "", errStrip // IndexError in the original
		}
		if r[0] == '{' {
			b.WriteString(sub)
			continue
		}
		if len(r) < 2 {
			return s, nil // the original returns its input unchanged
		}
		a, c := string(r[0]), string(r[1])
		post := string(r[2:])
		if c != "{" {
			b.WriteString("{" + a + "}{" + c + "}" + post)
		} else {
			b.WriteString("{" + a + "}" + c + post)
		}
	}
	return b.String(), nil
}

// fixASlashB turns "3/4" into \frac{3}{4} when both sides are integers
// written canonically.
func fixASlashB(s string) (string, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 2 {
		return s, nil
	}
	a, ok1 := pyInt(parts[0])
	if !ok1 {
		return s, nil
	}
	c, ok2 := pyInt(parts[1])
	if !ok2 {
		return s, nil
	}
	if s != a.String()+"/"+c.String() {
		return "", errStrip // AssertionError in the original
	}
	return `\frac{` + a.String() + "}{" + c.String() + "}", nil
}
