package grading

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Errors returned by the extractors.
var (
	ErrNoBoxed        = errors.New("no \\boxed{} answer found")
	ErrUnmatchedBrace = errors.New("unmatched } before the answer")
	ErrNoGSM8KAnswer  = errors.New("no GSM8K final answer (#### line) found")
)

var boxedBareRe = regexp.MustCompile(`\\(?:boxed|fbox)\s+([a-zA-Z0-9]+)`)

// ExtractBoxed returns the content of the last \boxed{...} (or \fbox{...})
// in text, with nested braces kept. "Last" is by closing brace, as in the
// cookbook (issue #895: the last box is the answer, not the first). Without a
// braced box it accepts "\boxed 42" (letters and digits). A "}" with no
// opening brace before it is an error (ErrUnmatchedBrace), as in the
// cookbook, so a malformed response fails the format check.
func ExtractBoxed(text string) (string, error) {
	var stack []int
	found := false
	var last string
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '{':
			stack = append(stack, i)
		case '}':
			if len(stack) == 0 {
				return "", ErrUnmatchedBrace
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			prefix := text[:open]
			if strings.HasSuffix(prefix, `\boxed`) || strings.HasSuffix(prefix, `\fbox`) {
				found = true
				last = text[open+1 : i]
			}
		}
	}
	if found {
		return last, nil
	}
	if m := boxedBareRe.FindAllStringSubmatch(text, 1); m != nil {
		return m[0][1], nil
	}
	return "", ErrNoBoxed
}

// CheckFormat reports whether a response carries a well-formed boxed answer
// (the cookbook's MathEnv.check_format).
func CheckFormat(response string) bool {
	_, err := ExtractBoxed(response)
	return err == nil
}

var gsm8kAnyRe = regexp.MustCompile(`####\s*(.+)`)

// ExtractGSM8KFinalAnswer returns the final answer of a GSM8K solution: the
// text after "####" on the last line that starts with it (an optional ":"
// after the marker is dropped, and commas are removed: "#### 1,234" gives
// "1234"). Failing that, the text after the last "####" anywhere.
func ExtractGSM8KFinalAnswer(text string) (string, error) {
	lines := splitLines(text)
	for i := len(lines) - 1; i >= 0; i-- {
		s := strings.TrimSpace(lines[i])
		if strings.HasPrefix(s, "####") {
			content := strings.TrimSpace(s[4:])
			if strings.HasPrefix(content, ":") {
				content = strings.TrimSpace(content[1:])
			}
			return strings.TrimSpace(strings.ReplaceAll(content, ",", "")), nil
		}
	}
	if m := gsm8kAnyRe.FindAllStringSubmatch(text, -1); m != nil {
		return strings.TrimSpace(m[len(m)-1][1]), nil
	}
	return "", ErrNoGSM8KAnswer
}

// splitLines splits on the line boundaries Python's str.splitlines uses for
// ASCII text (\n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029).
func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			out = append(out, s[start:i])
			i += n
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			start = i
			continue
		}
		i += n
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
