// Package grading grades math answers the way the tinker-cookbook's
// math_grading.py does, in pure Go.
//
// Extraction: ExtractBoxed (the last \boxed{} / \fbox{}, nested braces),
// ExtractGSM8KFinalAnswer ("#### 42"), CheckFormat.
//
// Grading (Grader.Grade, GradeAnswer) follows the cookbook's grade_answer
// step by step:
//
//  1. equal after NormalizeAnswer (the Hendrycks MATH strip_string);
//  2. equal after the second normalisation (units and unit words, \$ and %,
//     "million", LaTeX to text with LatexToText, thousands separators,
//     case);
//  3. tuples and intervals element by element (same brackets, same
//     length); per element: two fractions a/b must match as written (an
//     unreduced answer is wrong), an integer reference needs an integer
//     answer, and otherwise the expressions must be equal, when the
//     cookbook's guard allows evaluating them (at most two distinct letters,
//     no "^{", "^(", "^NN" or "a^b^c").
//
// Where the cookbook calls sympy.simplify(a - b) == 0, this package parses
// the same sympy syntax (ParseExpr: Python operators and numbers, implicit
// multiplication, symbol splitting) and decides equality itself
// (Equivalent): exactly with math/big.Rat when both sides are rational
// numbers; exactly at random rational points when both are rational
// functions of the variables; otherwise numerically at random complex
// points (symbols are complex, as in sympy, so sqrt(x^2) is not x), with a
// tolerance scaled by a first-order bound of each side's rounding error.
// Every call is bounded by a time limit (context; default 1s) and a size
// limit, never panics, and scores 0 when an answer cannot be read; Grader
// counts those outcomes (Stats).
//
// testdata/ holds the differential test against sympy: corpus.jsonl (made by
// make_corpus.py), sympy_labels.jsonl (made by label_with_sympy.py, which
// runs the cookbook's algorithm with real sympy) and
// expected_disagreements.tsv (every disagreement, explained).
package grading
