package grading

import (
	"math"
	"math/big"
	"regexp"
	"strings"
)

// This file holds small helpers that reproduce the Python number parsing the
// cookbook's grader relies on (float(), int(), round()), so that the string
// pipeline makes the same decisions as the Python original.

var (
	pyFloatRe = regexp.MustCompile(`^[+-]?(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$`)
	pyIntRe   = regexp.MustCompile(`^[+-]?[0-9](?:_?[0-9])*$`)
)

// pyFloat parses s the way Python's float() does: surrounding whitespace is
// ignored, underscores may separate digits, and inf/infinity/nan are accepted
// in any case. ok is false where Python raises ValueError.
func pyFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	if !pyFloatRe.MatchString(s) {
		return 0, false
	}
	f, _, err := big.ParseFloat(strings.ReplaceAll(s, "_", ""), 10, 53, big.ToNearestEven)
	if err != nil {
		// big.ParseFloat fails only on overflow of the exponent; Python
		// gives inf or 0 there.
		if strings.Contains(strings.ToLower(s), "e-") {
			return 0, true
		}
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	v, _ := f.Float64()
	return v, true
}

// pyIsInt is the cookbook's _is_int: |x - round(x)| <= 1e-7, false for inf
// and nan (where Python's round raises).
func pyIsInt(x float64) bool {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return false
	}
	return math.Abs(x-math.RoundToEven(x)) <= 1e-7
}

// floatIntString formats the integer part of a finite float exactly, as
// Python's str(int(x)) does (so 1e30 prints all its digits).
func floatIntString(x float64) string {
	bf := new(big.Float).SetFloat64(math.Trunc(x))
	bi, _ := bf.Int(nil)
	return bi.String()
}

// pyInt parses s as Python's int() does for base 10 (sign, underscores between
// digits, surrounding whitespace).
func pyInt(s string) (*big.Int, bool) {
	s = strings.TrimSpace(s)
	if !pyIntRe.MatchString(s) {
		return nil, false
	}
	v, ok := new(big.Int).SetString(strings.ReplaceAll(strings.TrimPrefix(s, "+"), "_", ""), 10)
	return v, ok
}
