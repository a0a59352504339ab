// Package stargrading is the `grading` Starlark module: math answer
// extraction and grading (package grading) for reward functions.
package stargrading

import (
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/grading"
	"github.com/tkx-dev/tkx/host"
)

// Grader is the grader behind the module (its counters are what
// grading.stats() reports). Safe for concurrent use by many threads.
var Grader = grading.NewGrader()

// Module is the grading module.
var Module = &host.Module{
	Name: "grading",
	Doc: `Math answer grading, as the cookbook's math_grading.py: extract the last
\boxed{} answer (or a GSM8K "#### 42" answer), normalise it (Hendrycks
MATH rules), and compare it with a reference: string equality after
normalisation, tuples and intervals element-wise, exact rationals, and an
expression evaluator (numeric at random points) for equivalence, guarded
like the cookbook's should_allow_eval and bounded by a time limit. Nothing
here fails on a malformed answer: it scores False, and stats() counts it.`,
	Funcs: []host.Func{
		{Name: "extract_boxed", Impl: extractBoxed, Doc: `extract_boxed(text) -> str or None

The content of the last \boxed{...} (or \fbox{...}) in text, nested braces
kept; "\boxed 5" is accepted too. None when there is no box, or when a "}"
has no matching "{" (the cookbook raises there).`},
		{Name: "check_format", Impl: checkFormat, Doc: `check_format(text) -> bool

True when text carries a well-formed boxed answer (MathEnv.check_format).`},
		{Name: "extract_gsm8k_answer", Impl: extractGSM8K, Doc: `extract_gsm8k_answer(text) -> str or None

The final answer of a GSM8K solution: the text after "####" on the last line
starting with it, commas removed ("#### 1,234" -> "1234"); else after the
last "####" anywhere; None when there is none.`},
		{Name: "normalize_answer", Impl: normalizeAnswer, Doc: `normalize_answer(answer) -> str

The Hendrycks MATH normalisation: \text{} unwrapped, \left/\right, \!,
degrees, \$, \%, spaces and "\text{ unit}" removed, dfrac/tfrac -> frac,
\frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}, "3/4" -> \frac{3}{4},
"0.5" -> \frac{1}{2}, a short "k=" prefix dropped.`},
		{Name: "latex_to_text", Impl: latexToText, Doc: `latex_to_text(s) -> str

Plain text for the LaTeX answers use: \frac{a}{b} -> a/b, \sqrt{x} -> sqrt(x),
\text{..} -> its content, \left( -> (, \cdot and \times -> *, \pi -> pi,
\infty -> inf, braces dropped.`},
		{Name: "grade_answer", Impl: gradeAnswer, Doc: `grade_answer(given, truth, timeout=1.0) -> bool

Whether the answer given (already extracted, e.g. by extract_boxed) is
correct for the reference truth. timeout is in seconds; a time-out or an
answer that cannot be read scores False.`},
		{Name: "grade", Impl: gradeFull, Doc: `grade(given, truth, timeout=1.0) -> struct

Like grade_answer, with the details: struct(correct=bool, reason=str,
unparsed=bool, detail=str). reason is one of string_match,
normalized_match, equal, not_equal, fraction, integer_mismatch,
shape_mismatch, guard_rejected, unparseable, undecided, timeout, empty,
too_long.`},
		{Name: "check_answer", Impl: checkAnswer, Doc: `check_answer(response, answer, timeout=1.0) -> bool

MathEnv.check_answer: extracts the last boxed answer of response and grades
it against answer; False when response has no boxed answer.`},
		{Name: "stats", Impl: stats, Doc: `stats() -> dict

Counters of every grading call made through this module since the process
started: calls, correct, unparseable, guard_rejected, timeouts, undecided.`},
	},
}

func strArg(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, name string) (string, error) {
	var s string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, name, &s); err != nil {
		return "", err
	}
	return s, nil
}

func orNone(s string, err error) starlark.Value {
	if err != nil {
		return starlark.None
	}
	return starlark.String(s)
}

func extractBoxed(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strArg(fn, args, kwargs, "text")
	if err != nil {
		return nil, err
	}
	return orNone(grading.ExtractBoxed(s)), nil
}

func checkFormat(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strArg(fn, args, kwargs, "text")
	if err != nil {
		return nil, err
	}
	return starlark.Bool(grading.CheckFormat(s)), nil
}

func extractGSM8K(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strArg(fn, args, kwargs, "text")
	if err != nil {
		return nil, err
	}
	return orNone(grading.ExtractGSM8KFinalAnswer(s)), nil
}

func normalizeAnswer(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strArg(fn, args, kwargs, "answer")
	if err != nil {
		return nil, err
	}
	return starlark.String(grading.NormalizeAnswer(s)), nil
}

func latexToText(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s, err := strArg(fn, args, kwargs, "s")
	if err != nil {
		return nil, err
	}
	return starlark.String(grading.LatexToText(s)), nil
}

// gradeArgs unpacks (a, b, timeout=1.0) with the given parameter names.
func gradeArgs(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, first, second string) (string, string, time.Duration, error) {
	var a, b string
	timeout := host.Number(1.0)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, first, &a, second, &b, "timeout?", &timeout); err != nil {
		return "", "", 0, err
	}
	t := float64(timeout)
	if math.IsNaN(t) || t <= 0 || t > 3600 {
		return "", "", 0, fmt.Errorf("%s: for parameter timeout: want seconds in (0, 3600], got %v", fn.Name(), t)
	}
	return a, b, time.Duration(t * float64(time.Second)), nil
}

func gradeWith(thread *starlark.Thread, given, truth string, timeout time.Duration) grading.Result {
	return Grader.GradeWithin(host.Context(thread), given, truth, timeout)
}

func gradeAnswer(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	given, truth, timeout, err := gradeArgs(fn, args, kwargs, "given", "truth")
	if err != nil {
		return nil, err
	}
	return starlark.Bool(gradeWith(thread, given, truth, timeout).Correct), nil
}

func gradeFull(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	given, truth, timeout, err := gradeArgs(fn, args, kwargs, "given", "truth")
	if err != nil {
		return nil, err
	}
	r := gradeWith(thread, given, truth, timeout)
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"correct":  starlark.Bool(r.Correct),
		"reason":   starlark.String(r.Reason),
		"unparsed": starlark.Bool(r.Unparsed),
		"detail":   starlark.String(r.Detail),
	}), nil
}

func checkAnswer(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	response, answer, timeout, err := gradeArgs(fn, args, kwargs, "response", "answer")
	if err != nil {
		return nil, err
	}
	given, err := grading.ExtractBoxed(response)
	if err != nil {
		return starlark.False, nil
	}
	return starlark.Bool(gradeWith(thread, given, answer, timeout).Correct), nil
}

func stats(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	st := Grader.Stats()
	d := starlark.NewDict(6)
	for _, kv := range []struct {
		k string
		v int64
	}{{"calls", st.Calls}, {"correct", st.Correct}, {"unparseable", st.Unparseable},
		{"guard_rejected", st.GuardRejected}, {"timeouts", st.Timeouts}, {"undecided", st.Undecided}} {
		if err := d.SetKey(starlark.String(kv.k), starlark.MakeInt64(kv.v)); err != nil {
			return nil, err
		}
	}
	return d, nil
}
