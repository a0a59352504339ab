package grading

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reasons a Result gives for its verdict.
const (
	ReasonStringMatch     = "string_match"     // equal after the Hendrycks normalisation
	ReasonNormalizedMatch = "normalized_match" // equal after the second normalisation
	ReasonEmpty           = "empty"            // the given answer normalises to nothing
	ReasonShapeMismatch   = "shape_mismatch"   // tuple/interval length or brackets differ
	ReasonFraction        = "fraction"         // both are a/b: compared as written (unreduced is wrong)
	ReasonIntegerMismatch = "integer_mismatch" // one side is an integer and the other is not
	ReasonEqual           = "equal"            // evaluated equal (exactly or numerically)
	ReasonNotEqual        = "not_equal"        // evaluated different
	ReasonGuard           = "guard_rejected"   // too many letters or a large power: not evaluated
	ReasonUnparseable     = "unparseable"      // could not be read as an expression
	ReasonUndecided       = "undecided"        // undefined at every sample point
	ReasonTimeout         = "timeout"          // the time limit ran out
	ReasonTooLong         = "too_long"         // longer than MaxAnswerLen
)

// MaxAnswerLen bounds the answers graded (in bytes); longer ones score 0.
const MaxAnswerLen = 8192

// Result is the verdict of one grading call.
type Result struct {
	Correct bool
	// Reason is one of the Reason* constants: for a tuple, the reason of the
	// element that decided.
	Reason string
	// Unparsed is set when an element could not be read as an expression
	// (it scores 0; the grader counts these).
	Unparsed bool
	// Detail is a human-readable note (the parse error, for instance).
	Detail string
}

// Stats counts grading outcomes since the grader was made.
type Stats struct {
	Calls, Correct, Unparseable, GuardRejected, Timeouts, Undecided int64
}

// Grader grades answers the way the cookbook's grade_answer does, with
// sympy.simplify replaced by this package's evaluator. It is safe for
// concurrent use.
type Grader struct {
	// Timeout bounds each call (the cookbook uses 1s). Zero means 1s.
	Timeout time.Duration
	// Points is the number of random points for expressions with variables
	// (default 8); Seed seeds them (grading is deterministic).
	Points int
	Seed   uint64

	calls, correct, unparseable, guard, timeouts, undecided atomic.Int64
}

// NewGrader returns a grader with the defaults (1s, 8 points).
func NewGrader() *Grader {
	return &Grader{Timeout: time.Second, Points: defaultPoints, Seed: defaultSeed}
}

// Default is the grader behind the package-level functions.
var Default = NewGrader()

// GradeAnswer reports whether given is a correct answer for truth, with the
// default grader.
func GradeAnswer(given, truth string) bool {
	return Default.Grade(context.Background(), given, truth).Correct
}

// Stats returns the counters.
func (g *Grader) Stats() Stats {
	return Stats{
		Calls: g.calls.Load(), Correct: g.correct.Load(), Unparseable: g.unparseable.Load(),
		GuardRejected: g.guard.Load(), Timeouts: g.timeouts.Load(), Undecided: g.undecided.Load(),
	}
}

// Grade grades one answer. An answer is correct when
//  1. it equals the reference after NormalizeAnswer, or
//  2. it equals the reference after the second normalisation (units, words,
//     LaTeX to text, case), or
//  3. element by element (tuples and intervals must have the same brackets
//     and length): fractions a/b must match as written, an integer reference
//     needs an integer answer, and otherwise the two expressions evaluate
//     equal, if the guard allows evaluating them (at most two distinct
//     letters, no "^{", "^(", "^NN" or "a^b^c").
//
// It never panics; a time-out or an unreadable answer scores 0.
func (g *Grader) Grade(ctx context.Context, given, truth string) Result {
	return g.GradeWithin(ctx, given, truth, g.Timeout)
}

// GradeWithin is Grade with an explicit time limit (<= 0: one second).
func (g *Grader) GradeWithin(ctx context.Context, given, truth string, timeout time.Duration) (res Result) {
	g.calls.Add(1)
	defer func() {
		if r := recover(); r != nil { // defensive: a bug must not crash a run
			res = Result{Reason: ReasonUnparseable, Unparsed: true, Detail: fmt.Sprint("internal error: ", r)}
		}
		switch res.Reason {
		case ReasonUnparseable, ReasonTooLong:
			res.Unparsed = true
			g.unparseable.Add(1)
		case ReasonGuard:
			g.guard.Add(1)
		case ReasonTimeout:
			g.timeouts.Add(1)
		case ReasonUndecided:
			g.undecided.Add(1)
		}
		if res.Correct {
			g.correct.Add(1)
		}
	}()
	if len(given) > MaxAnswerLen || len(truth) > MaxAnswerLen {
		return Result{Reason: ReasonTooLong, Detail: fmt.Sprintf("answer longer than %d bytes", MaxAnswerLen)}
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	points := g.Points
	if points <= 0 {
		points = defaultPoints
	}
	return grade(ctx, given, truth, points, g.Seed)
}

func grade(ctx context.Context, given, truth string, points int, seed uint64) Result {
	if NormalizeAnswer(truth) == NormalizeAnswer(given) {
		return Result{Correct: true, Reason: ReasonStringMatch}
	}
	gt := normalizeExpr(truth)
	gv := normalizeExpr(given)
	if gt == gv {
		return Result{Correct: true, Reason: ReasonNormalizedMatch}
	}
	if gv == "" {
		return Result{Reason: ReasonEmpty}
	}
	gtElems := splitTuple(gt)
	gvElems := splitTuple(gv)
	if len(gtElems) > 1 && (firstRune(gt) != firstRune(gv) || lastRune(gt) != lastRune(gv)) ||
		len(gtElems) != len(gvElems) {
		return Result{Reason: ReasonShapeMismatch}
	}
	res := Result{Reason: ReasonEqual, Correct: true}
	for i := range gtElems {
		if err := ctx.Err(); err != nil {
			return Result{Reason: ReasonTimeout, Detail: err.Error()}
		}
		a, b := gtElems[i], gvElems[i]
		var r Result
		switch {
		case isFrac(a) && isFrac(b):
			r = Result{Correct: a == b, Reason: ReasonFraction}
		case strIsInt(a) != strIsInt(b):
			r = Result{Reason: ReasonIntegerMismatch}
		default:
			r = equalAsExpressions(ctx, a, b, points, seed)
		}
		if !r.Correct {
			return r
		}
		res = r
	}
	return res
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }

// equalAsExpressions is the cookbook's are_equal_under_sympy.
func equalAsExpressions(ctx context.Context, truth, given string, points int, seed uint64) Result {
	combined := "(" + truth + ")-(" + given + ")"
	if why := evalGuard(combined); why != "" {
		return Result{Reason: ReasonGuard, Detail: why}
	}
	et, err := ParseExpr(truth)
	if err != nil {
		return Result{Reason: ReasonUnparseable, Detail: "reference: " + err.Error()}
	}
	eg, err := ParseExpr(given)
	if err != nil {
		return Result{Reason: ReasonUnparseable, Detail: "answer: " + err.Error()}
	}
	eq, decided, err := equivalent(ctx, et, eg, points, seed)
	switch {
	case err != nil:
		return Result{Reason: ReasonTimeout, Detail: err.Error()}
	case !decided:
		return Result{Reason: ReasonUndecided}
	case eq:
		return Result{Correct: true, Reason: ReasonEqual}
	}
	return Result{Reason: ReasonNotEqual}
}

var badPowerRes = []*regexp.Regexp{regexp.MustCompile(`\^[0-9]+\^`), regexp.MustCompile(`\^[0-9][0-9]+`)}

// evalGuard is the cookbook's should_allow_eval: it returns why an
// expression must not be evaluated, or "".
func evalGuard(expr string) string {
	letters := map[rune]bool{}
	for _, r := range strings.ReplaceAll(strings.ReplaceAll(expr, "sqrt", ""), "frac", "") {
		if unicode.IsLetter(r) {
			letters[r] = true
		}
	}
	if len(letters) > 2 {
		return fmt.Sprintf("%d distinct letters (at most 2)", len(letters))
	}
	for _, bad := range []string{"^{", "^("} {
		if strings.Contains(expr, bad) {
			return "contains " + bad
		}
	}
	for _, re := range badPowerRes {
		if re.MatchString(expr) {
			return "large or repeated power"
		}
	}
	return ""
}

var (
	unitWords = []string{"degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day",
		"week", "month", "year", "foot", "feet", "inch", "yard"}
	unitRes          []*regexp.Regexp
	caretCircRe      = regexp.MustCompile(`\^ *\\circ`)
	commaBangRe      = regexp.MustCompile(`,\\! *`)
	minusSpacesRe    = regexp.MustCompile(`- *`)
	mixedNumberRe    = regexp.MustCompile(`([0-9]) +([0-9])`)
	thousandsCommaRe = regexp.MustCompile(`(\d)(,)(\d\d\d)($|\D)`)
	fracRe           = regexp.MustCompile(`^-?[0-9]+.?/0*[1-9][0-9]*.?$`)
)

func init() {
	for _, u := range unitWords {
		unitRes = append(unitRes, regexp.MustCompile(u+`(es)?(s)? *(\^[0-9]+)?`))
	}
}

// normalizeExpr is the cookbook's second normalisation (_normalize).
func normalizeExpr(expr string) string {
	if m := enclosingTextRe.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	expr = strings.ReplaceAll(expr, `\%`, "%")
	expr = strings.ReplaceAll(expr, `\$`, "$")
	expr = strings.ReplaceAll(expr, "$", "")
	expr = strings.ReplaceAll(expr, "%", "")
	expr = strings.ReplaceAll(expr, " or ", " , ")
	expr = strings.ReplaceAll(expr, " and ", " , ")
	expr = strings.ReplaceAll(expr, "million", "*10^6")
	expr = strings.ReplaceAll(expr, "billion", "*10^9")
	expr = strings.ReplaceAll(expr, "trillion", "*10^12")
	for _, re := range unitRes {
		expr = re.ReplaceAllString(expr, "")
	}
	expr = caretCircRe.ReplaceAllString(expr, "")
	if len(expr) > 0 && expr[0] == '{' && expr[len(expr)-1] == '}' {
		expr = expr[1 : len(expr)-1]
	}
	expr = commaBangRe.ReplaceAllString(expr, "")
	if f, ok := pyFloat(expr); ok && pyIsInt(f) {
		expr = floatIntString(math.RoundToEven(f))
	}
	if strings.Contains(expr, `\`) {
		expr = latexToExprText(expr)
	}
	expr = minusSpacesRe.ReplaceAllString(expr, "-")
	expr = mixedNumberRe.ReplaceAllString(expr, "${1}+${2}")
	expr = strings.ReplaceAll(expr, " ", "")
	expr = strings.ReplaceAll(expr, "{", "")
	expr = strings.ReplaceAll(expr, "}", "")
	expr = strings.ToLower(expr)
	if strIsInt(expr) {
		if f, ok := pyFloat(strings.ReplaceAll(expr, ",", "")); ok {
			expr = floatIntString(f)
		}
	}
	return expr
}

// latexToExprText is the cookbook's _parse_latex with LatexToText in place of
// pylatexenc.
func latexToExprText(expr string) string {
	expr = strings.ReplaceAll(expr, `\tfrac`, `\frac`)
	expr = strings.ReplaceAll(expr, `\dfrac`, `\frac`)
	expr = strings.ReplaceAll(expr, `\frac`, ` \frac`) // mixed numbers: 3\frac12 -> "3 1/2"
	return strings.TrimSpace(LatexToText(expr))
}

// stripThousandsCommas removes commas that separate groups of three digits
// ("1,234,567") but not tuple commas.
func stripThousandsCommas(expr string) string {
	for {
		next := thousandsCommaRe.ReplaceAllString(expr, "${1}${3}${4}")
		if next == expr {
			return next
		}
		expr = next
	}
}

func isFrac(s string) bool { return fracRe.MatchString(s) }

// strIsInt is the cookbook's _str_is_int.
func strIsInt(s string) bool {
	f, ok := pyFloat(stripThousandsCommas(s))
	return ok && pyIsInt(f)
}

// splitTuple splits "(a,b)" / "[a,b)" into elements; anything else is one
// element.
func splitTuple(expr string) []string {
	expr = stripThousandsCommas(expr)
	if expr == "" {
		return nil
	}
	const tupleChars = "()[]"
	rs := []rune(expr)
	if len(rs) > 2 && strings.ContainsRune(tupleChars, rs[0]) && strings.ContainsRune(tupleChars, rs[len(rs)-1]) &&
		!strings.ContainsAny(string(rs[1:len(rs)-1]), tupleChars) {
		parts := strings.Split(string(rs[1:len(rs)-1]), ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	return []string{expr}
}
