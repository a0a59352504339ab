#!/usr/bin/env python3
"""Label grading/testdata/corpus.jsonl with sympy.

For every pair {"id", "given", "truth"} of the corpus this script decides
whether the given answer is equivalent to the reference the way the
tinker-cookbook's math grader (tinker_cookbook/recipes/math_rl/math_grading.py,
grade_answer) decides it, with real sympy doing the algebra:

  1. equal after the Hendrycks normalisation (strip_string), or
  2. equal after the second normalisation (units, words, LaTeX to text, case), or
  3. element by element for tuples/intervals: fractions a/b must match as
     written, an integer reference needs an integer answer, and otherwise
     sympy.simplify(parse_expr(truth) - parse_expr(given)) == 0, when the guard
     allows evaluating (at most two distinct letters, no large powers).

What differs from the cookbook, and why:

  * LaTeX to text. The cookbook uses pylatexenc's latex2text, which is not
    installed here (no PyPI), and sympy's own parse_latex needs the antlr4
    runtime, which is not installed either (sympy.parsing.latex.parse_latex
    raises ImportError on this machine). So `latex_to_text` below converts the
    LaTeX forms that answers use into sympy parse_expr syntax itself:
    \\frac{a}{b} -> a/b (parenthesised parts when not a plain number/word/one
    character), \\sqrt{x} -> sqrt(x), \\sqrt[n]{x} -> (x)^(1/(n)),
    \\text{..}/\\mathrm{..} -> content, \\left/\\right dropped, \\cdot/\\times -> *,
    \\pi -> pi, \\infty -> inf, \\cup -> U, Greek letters -> Unicode letters,
    braces -> their content, other symbols -> their Unicode character (which
    parse_expr rejects, as it rejects pylatexenc's output for them). The Go
    grader's LatexToText follows the same rules, so the two sides see the same
    text; the differential test is about the algebra (sympy vs the Go
    evaluator) and the string pipeline.
  * Each pair is given 10 s (SIGALRM) instead of 1 s, so that a slow sympy
    does not turn into a "not equivalent" label; a timeout is labelled False
    and recorded in "note".

Usage (from the repository root):
    python3 grading/testdata/label_with_sympy.py \\
        grading/testdata/corpus.jsonl grading/testdata/sympy_labels.jsonl

Needs only sympy (tested with 1.14).
"""

import json
import re
import signal
import sys

import sympy
from sympy.parsing import sympy_parser

# ---------------------------------------------------------------------------
# LaTeX to text (stands in for pylatexenc + the cookbook's replacements)
# ---------------------------------------------------------------------------

SYMBOLS = {
    "cdot": "*", "times": "*", "ast": "*", "div": "/",
    "pi": "pi", "infty": "inf", "infinity": "inf", "cup": "U",
    "cap": "∩", "circ": "∘", "le": "≤", "leq": "≤", "leqslant": "≤", "ge": "≥", "geq": "≥", "geqslant": "≥",
    "ne": "≠", "neq": "≠", "approx": "≈", "pm": "±", "mp": "∓", "to": "→", "rightarrow": "→",
    "in": "∈", "emptyset": "∅", "varnothing": "∅", "ldots": "…", "dots": "…", "cdots": "⋯",
    "degree": "°", "prime": "′", "lt": "<", "gt": ">", "colon": ":", "mid": "|", "vert": "|",
    "lbrace": "{", "rbrace": "}", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋",
    "lceil": "⌈", "rceil": "⌉", "setminus": "∖", "sim": "∼", "equiv": "≡", "perp": "⊥", "angle": "∠",
    "triangle": "△", "parallel": "∥", "subset": "⊂", "subseteq": "⊆", "forall": "∀", "exists": "∃",
    "quad": "  ", "qquad": "   ", "displaystyle": "", "textstyle": "", "limits": "", "nolimits": "",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ",
    "mu": "μ", "nu": "ν", "xi": "ξ", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ",
    "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc", "log": "log",
    "ln": "ln", "exp": "exp", "lim": "lim", "max": "max", "min": "min", "gcd": "gcd", "lcm": "lcm",
    "det": "det", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "deg": "deg", "mod": "mod", "bmod": "mod",
}
ARG_MACROS = set(
    "text textbf textit textrm textsf texttt textnormal mathrm mathbf mathit mathsf mathtt mathbb "
    "mathcal mathnormal mbox hbox emph boxed fbox operatorname bm boldsymbol overline underline "
    "widehat hat bar vec tilde widetilde dot ddot overrightarrow".split()
)
SIZE_MACROS = set(
    "left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle".split()
)
MAX_DEPTH = 64
PLAIN_FRAC_PART = re.compile(r"^(?:-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|[A-Za-z]+)$")


def _is_latex_letter(c):
    return c.isascii() and c.isalpha()


class _LatexConv:
    def __init__(self, s):
        self.src = s
        self.pos = 0

    def run(self, depth, in_group):
        out = []
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "}" and in_group:
                self.pos += 1
                return "".join(out)
            if c == "{":
                self.pos += 1
                if depth >= MAX_DEPTH:
                    out.append("{")
                    continue
                out.append(self.run(depth + 1, True))
            elif c == "\\":
                out.append(self.macro(depth))
            elif c == "~":
                self.pos += 1
                out.append(" ")
            elif c == "$":
                self.pos += 1
            else:
                self.pos += 1
                out.append(c)
        return "".join(out)

    def macro(self, depth):
        self.pos += 1
        src = self.src
        if self.pos >= len(src):
            return ""
        c = src[self.pos]
        if not _is_latex_letter(c):
            self.pos += 1
            if c in ",; :>":
                return " "
            if c == "!":
                return ""
            if c == "\\":
                return "\n"
            if c in "{}%$&#_":
                return c
            if c in "()[]":
                return ""
            return c
        start = self.pos
        while self.pos < len(src) and _is_latex_letter(src[self.pos]):
            self.pos += 1
        name = src[start:self.pos]
        if name in ("frac", "dfrac", "tfrac", "nicefrac", "cfrac"):
            num = self.arg(depth)
            den = self.arg(depth)
            return _frac_part(num) + "/" + _frac_part(den)
        if name == "sqrt":
            deg, has_deg = self.opt_arg(depth)
            rad = self.arg(depth)
            if has_deg:
                return "(" + rad + ")^(1/(" + deg + "))"
            return "sqrt(" + rad + ")"
        if name in ARG_MACROS:
            return self.arg(depth)
        if name in SIZE_MACROS:
            self.skip_spaces()
            if self.pos < len(src) and src[self.pos] == ".":
                self.pos += 1
            return ""
        return SYMBOLS.get(name, "")

    def arg(self, depth):
        self.skip_spaces()
        if self.pos >= len(self.src):
            return ""
        c = self.src[self.pos]
        if c == "{":
            self.pos += 1
            if depth >= MAX_DEPTH:
                return "{"
            return self.run(depth + 1, True)
        if c == "\\":
            return self.macro(depth)
        if c == "}":
            return ""
        self.pos += 1
        return c

    def opt_arg(self, depth):
        self.skip_spaces()
        src = self.src
        if self.pos >= len(src) or src[self.pos] != "[":
            return "", False
        self.pos += 1
        out = []
        while self.pos < len(src) and src[self.pos] != "]":
            c = src[self.pos]
            if c == "{":
                self.pos += 1
                if depth < MAX_DEPTH:
                    out.append(self.run(depth + 1, True))
            elif c == "\\":
                out.append(self.macro(depth))
            else:
                out.append(c)
                self.pos += 1
        if self.pos < len(src):
            self.pos += 1
        return "".join(out), True

    def skip_spaces(self):
        while self.pos < len(self.src) and self.src[self.pos] in " \t\n":
            self.pos += 1


def _frac_part(s):
    t = s.strip()
    if PLAIN_FRAC_PART.match(t) or len(t) <= 1:
        return t
    return "(" + t + ")"


def latex_to_text(s):
    return _LatexConv(s).run(0, False)


# ---------------------------------------------------------------------------
# Hendrycks normalisation (strip_string)
# ---------------------------------------------------------------------------


class _StripError(Exception):
    pass


def _fix_fracs(s):
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if not part:
            raise _StripError("empty after \\frac")
        if part[0] == "{":
            out += part
            continue
        if len(part) < 2:
            return s
        a, b, rest = part[0], part[1], part[2:]
        if b != "{":
            out += "{" + a + "}{" + b + "}" + rest
        else:
            out += "{" + a + "}" + b + rest
    return out


def _py_int_or_none(s):
    try:
        return int(s)
    except ValueError:
        return None


def _fix_a_slash_b(s):
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = _py_int_or_none(parts[0]), _py_int_or_none(parts[1])
    if a is None or b is None:
        return s
    if s != f"{a}/{b}":
        raise _StripError("not canonical a/b")
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _remove_right_units(s):
    if "\\text{ " in s:
        parts = s.split("\\text{ ")
        if len(parts) != 2:
            raise _StripError("several units")
        return parts[0]
    return s


def _fix_sqrt(s):
    if "\\sqrt" not in s:
        return s
    parts = s.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        if not part or part[0] != "{":
            first = part[0] if part else ""
            out += "\\sqrt{" + first + "}" + part[1:]
        else:
            out += "\\sqrt" + part
    return out


def strip_string(s):
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    s = _remove_right_units(s)
    s = s.replace("\\%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    eq = s.split("=")
    if len(eq) == 2 and len(eq[0]) <= 2:
        s = eq[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


TEXT_RE = re.compile(r"^\\text\{(.+?)\}$")


def normalize_answer(answer):
    answer = answer.strip()
    m = TEXT_RE.search(answer)
    if m:
        answer = m.group(1).strip()
    try:
        return strip_string(answer)
    except _StripError:
        return answer


# ---------------------------------------------------------------------------
# Second normalisation and grading
# ---------------------------------------------------------------------------

UNITS = ["degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day",
         "week", "month", "year", "foot", "feet", "inch", "yard"]


def _is_float(s):
    try:
        float(s)
        return True
    except (ValueError, OverflowError):
        return False


def _is_int_value(x):
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (ValueError, OverflowError):
        return False


def strip_thousands_commas(expr):
    pat = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
    while True:
        nxt = pat.sub(r"\1\3\4", expr)
        if nxt == expr:
            return nxt
        expr = nxt


def str_is_int(s):
    try:
        x = float(strip_thousands_commas(s))
        return abs(x - int(round(x))) <= 1e-7
    except (ValueError, OverflowError):
        return False


def latex_to_expr_text(expr):
    expr = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac")
    expr = expr.replace("\\frac", " \\frac")
    return latex_to_text(expr).strip()


def normalize_expr(expr):
    m = TEXT_RE.search(expr)
    if m:
        expr = m.group(1)
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in UNITS:
        expr = re.sub(rf"{unit}(es)?(s)? *(\^[0-9]+)?", "", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = re.sub(r",\\! *", "", expr)
    if _is_float(expr) and _is_int_value(float(expr)):
        expr = str(int(round(float(expr))))
    if "\\" in expr:
        expr = latex_to_expr_text(expr)
    expr = re.sub("- *", "-", expr)
    expr = re.sub("([0-9]) +([0-9])", r"\1+\2", expr)
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if str_is_int(expr):
        expr = str(int(float(expr.replace(",", ""))))
    return expr


def split_tuple(expr):
    expr = strip_thousands_commas(expr)
    if not expr:
        return []
    chars = "()[]"
    if len(expr) > 2 and expr[0] in chars and expr[-1] in chars and all(c not in expr[1:-1] for c in chars):
        return [e.strip() for e in expr[1:-1].split(",")]
    return [expr]


def is_frac(s):
    return bool(re.search(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$", s))


def allowed_to_eval(expr):
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2:
        return False
    if "^{" in expr or "^(" in expr:
        return False
    return not (re.search(r"\^[0-9]+\^", expr) or re.search(r"\^[0-9][0-9]+", expr))


TRANSFORMS = sympy_parser.standard_transformations + (sympy_parser.implicit_multiplication_application,)


def sympy_equal(truth, given):
    """Returns (equal, note)."""
    expr = f"({truth})-({given})"
    if not allowed_to_eval(expr):
        return False, "guard"
    try:
        diff = sympy_parser.parse_expr(expr.replace("^", "**"), transformations=TRANSFORMS)
    except Exception as e:  # noqa: BLE001 - any parse failure means "not equal"
        return False, "parse_error: " + type(e).__name__
    try:
        return bool(sympy.simplify(diff) == 0), "simplify"
    except Exception as e:  # noqa: BLE001
        return False, "simplify_error: " + type(e).__name__


def grade(given, truth):
    """Returns (equivalent, note)."""
    if normalize_answer(truth) == normalize_answer(given):
        return True, "string_match"
    gt, gv = normalize_expr(truth), normalize_expr(given)
    if gt == gv:
        return True, "normalized_match"
    if not gv:
        return False, "empty"
    gt_el, gv_el = split_tuple(gt), split_tuple(gv)
    if (len(gt_el) > 1 and (gt[0] != gv[0] or gt[-1] != gv[-1])) or len(gt_el) != len(gv_el):
        return False, "shape_mismatch"
    note = ""
    for a, b in zip(gt_el, gv_el):
        if is_frac(a) and is_frac(b):
            ok, note = a == b, "fraction"
        elif str_is_int(a) != str_is_int(b):
            ok, note = False, "integer_mismatch"
        else:
            ok, note = sympy_equal(a, b)
        if not ok:
            return False, note
    return True, note


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    signal.signal(signal.SIGALRM, _alarm)
    n = n_eq = 0
    with open(argv[1], encoding="utf-8") as f, open(argv[2], "w", encoding="utf-8") as out:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            signal.alarm(10)
            try:
                eq, note = grade(rec["given"], rec["truth"])
            except _Timeout:
                eq, note = False, "timeout"
            finally:
                signal.alarm(0)
            n += 1
            n_eq += eq
            out.write(json.dumps({"id": rec["id"], "sympy_equivalent": eq, "note": note}, ensure_ascii=False) + "\n")
    print(f"labelled {n} pairs, {n_eq} equivalent (sympy {sympy.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
