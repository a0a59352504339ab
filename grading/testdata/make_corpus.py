#!/usr/bin/env python3
"""Writes grading/testdata/corpus.jsonl, the answer pairs of the grader's
differential test against sympy (see label_with_sympy.py).

Each group is (category, reference answer, answers a person would accept,
answers a person would reject). "intended" records that human judgement; the
test's reference label is sympy's (sympy_labels.jsonl), "intended" is only
reported. The output is deterministic; run from the repository root:

    python3 grading/testdata/make_corpus.py > grading/testdata/corpus.jsonl

With --generated N --seed S it writes only N generated algebra pairs (a
larger, uncommitted check; see TKX_GRADING_CORPUS in sympy_diff_test.go):

    python3 grading/testdata/make_corpus.py --generated 2500 --seed 12345 > /tmp/g/corpus.jsonl
"""

import json
import random

G = [
    # integers
    ("integer", "42", ["42", "42.0", " 42 ", "042", r"\boxed{42}", r"\text{42}", "{42}", "42.00"], ["41", "42.5", "-42", "4.2", "420"]),
    ("integer", "1000", ["1,000", "1000.0", "10^3", "1e3", r"1{,}000", r"1,\!000"], ["100", "1,0000", "10^4", "999"]),
    ("integer", "-7", ["-7", "- 7", r"-7.0", "(-7)"], ["7", "-6", "-7.5"]),
    ("integer", "0", ["0", "0.0", "-0", "0.00"], ["1", "o", "0.01"]),
    ("integer", "1234567", ["1,234,567", "1234567", "1234567.0"], ["1,234,568", "123456", "1.234567"]),
    ("integer", "18", ["18", r"\$18", r"18\%", "18 dollars", "$18$"], ["19", "1.8", "8"]),
    ("integer", "1024", ["2^{10}", "1024", "2^10"], ["2^9", "1023", "1025"]),
    ("integer", "5", ["x=5", "k = 5", r"\text{5}", "5."], ["x=6", "25", "5x"]),
    ("integer", "120", ["5!", "120", "120.0"], ["4!", "720"]),
    # fractions
    ("fraction", r"\frac{1}{2}", [r"\frac12", "1/2", "0.5", r"\dfrac{1}{2}", r"\tfrac{1}{2}", ".5", r"\frac{1}{2}", "2^{-1}"], [r"\frac{2}{4}", r"\frac13", "0.49", "2", r"-\frac{1}{2}"]),
    ("fraction", r"\frac{3}{4}", [r"\frac34", "3/4", "0.75", r"\dfrac{3}{4}", r"\frac{3}{4}"], [r"\frac{6}{8}", r"\frac{4}{3}", "0.7", "75"]),
    ("fraction", r"-\frac{1}{3}", [r"-\frac13", "-1/3", r"\frac{-1}{3}", r"-\dfrac{1}{3}"], [r"\frac{1}{3}", "-0.333", "-0.3333333333", r"-\frac{2}{6}"]),
    ("fraction", r"\frac{7}{2}", ["7/2", "3.5", r"3\frac{1}{2}", r"3 \frac{1}{2}", r"\frac{7}{2}", r"\dfrac72"], [r"\frac{14}{4}", "3.4", r"2\frac{1}{2}", "7"]),
    ("fraction", r"\frac{5}{8}", ["0.625", r"\tfrac{5}{8}", "5/8"], [r"\frac{10}{16}", "0.62", r"\frac{8}{5}"]),
    ("fraction", r"\frac{1}{10}", ["0.1", "1/10", r"\frac{1}{10}", "10^{-1}"], ["0.01", r"\frac{1}{100}", "10"]),
    ("fraction", r"\frac{2}{3}", ["2/3", r"\frac23", r"\dfrac{2}{3}"], ["0.67", "0.666", r"\frac{4}{6}", r"\frac32"]),
    ("fraction", r"\frac{7}{3}", [r"2\frac{1}{3}", r"\frac{7}{3}", "7/3"], ["2.33", r"2\frac{1}{4}", r"\frac{14}{6}"]),
    ("fraction", r"\frac{31}{4}", ["7 3/4", "31/4", "7.75", r"7\frac34"], ["7.7", "7 1/4", r"\frac{62}{8}"]),
    ("fraction", r"\frac{9}{4}", ["2.25", r"\frac{9}{4}", r"(\frac{3}{2})^2", r"\left(\frac{3}{2}\right)^2"], [r"\frac{3}{2}", "2.5"]),
    # decimals
    ("decimal", "3.14", ["3.14", "3.140", r"3.14\ldots"], ["3.1416", r"\pi", "3.15"]),
    ("decimal", "2.5", ["2.50", r"\frac{5}{2}", "5/2", r"2\frac{1}{2}", "2.5"], ["2.05", "25", r"\frac{5}{3}"]),
    ("decimal", "0.25", [".25", "0.250", r"\frac{1}{4}", "1/4", "25\\%"], ["0.5", "25", r"\frac{1}{5}"]),
    ("decimal", "0.3", ["0.3", "0.30", r"\frac{3}{10}", "0.1+0.2"], ["0.33", r"\frac13"]),
    ("decimal", "1.5", ["1.5", r"\frac{3}{2}", "3/2", r"1\frac{1}{2}"], ["1.05", "15", r"\frac{2}{3}"]),
    ("decimal", "0.001", ["10^{-3}", r"\frac{1}{1000}", "1e-3", "0.0010"], ["0.01", "1000"]),
    ("decimal", "12.34", ["12.34", "12.340"], ["12.3", "1234", "12.43"]),
    # percents
    ("percent", "50", [r"50\%", "50%", r"50 \%", r"50.0\%"], ["0.5", "5", r"49\%"]),
    ("percent", r"12.5\%", ["12.5", r"12.5\%", "12.5%", r"\frac{25}{2}"], ["0.125", "12"]),
    ("percent", "20", [r"20\%", "20"], [r"2\%", "0.2"]),
    ("percent", r"33\frac{1}{3}\%", [r"33\frac{1}{3}", r"\frac{100}{3}"], ["33", "33.3"]),
    # intervals
    ("interval", "(1,2)", ["(1, 2)", r"\left(1,2\right)", "(1,2)", r"\left( 1, 2 \right)"], ["[1,2]", "(1,2]", "(2,1)", "(1,3)"]),
    ("interval", r"(-\infty, 3]", [r"(-\infty,3]", r"\left(-\infty, 3\right]", r"(-\infty , 3 ]"], [r"(-\infty, 3)", r"(-\infty, 2]", r"[3, \infty)"]),
    ("interval", r"[0,\frac{1}{2}]", ["[0,0.5]", r"[0, \frac12]", "[0,1/2]"], ["[0,1]", r"(0,\frac{1}{2}]", r"[0,\frac{1}{3}]"]),
    ("interval", r"(2, \infty)", [r"(2,\infty)", r"\left(2, \infty\right)"], [r"[2, \infty)", r"(3, \infty)", r"(-\infty, 2)"]),
    ("interval", r"(-2, 5]", ["(-2,5]", r"\left(-2,5\right]", "( -2 , 5 ]"], ["[-2,5]", "(-2,5)", "(2,5]"]),
    ("interval", r"(-\infty,-1)\cup(1,\infty)", [r"(-\infty, -1) \cup (1, \infty)", r"(-\infty,-1)\cup(1,\infty)"], [r"(-\infty,-1)\cup(2,\infty)", r"(-1,1)"]),
    ("interval", r"[\sqrt{2}, 3)", [r"[\sqrt2,3)", r"[\sqrt{2},3)"], [r"[\sqrt{3}, 3)", r"(\sqrt{2}, 3)"]),
    # tuples / coordinates
    ("tuple", "(3,4)", ["(3, 4)", r"\left(3,4\right)", "(3.0, 4.0)", "(3,4)"], ["(4,3)", "(3,4,5)", "(3,5)", "3,4", "[3,4]"]),
    ("tuple", r"\left(\frac{1}{2}, 3\right)", ["(0.5,3)", r"(\frac12, 3)", "(1/2, 3)"], ["(0.5, 4)", "(2, 3)", r"(\frac{1}{3},3)"]),
    ("tuple", "(1,2,3)", ["(1, 2, 3)", r"\left(1,2,3\right)"], ["(1,2)", "(3,2,1)", "(1,2,4)"]),
    ("tuple", r"(2\sqrt{2}, -1)", [r"(\sqrt{8}, -1)", r"(2\sqrt2,-1)"], [r"(2\sqrt{3}, -1)", r"(\sqrt{2}, -1)"]),
    ("tuple", "(-1, 0)", ["(-1,0)", r"\left(-1, 0\right)", "(-1.0, 0)"], ["(1, 0)", "(0, -1)"]),
    # lists of answers
    ("list", "1, 2", ["1,2", "1, 2", "1 and 2", "1 or 2"], ["1,3", "2,1", "12", "1"]),
    ("list", r"-2, \frac{1}{2}", [r"-2,\frac12", r"-2, 0.5", r"-2 \text{ and } \frac12"], [r"2, \frac{1}{2}", r"\frac12, -2"]),
    ("list", "3, 5, 7", ["3,5,7", "3, 5, 7"], ["3,5", "3,5,8"]),
    # square roots
    ("sqrt", r"2\sqrt{3}", [r"\sqrt{12}", r"2\sqrt3", r"2 \sqrt{3}", r"\sqrt{3}\cdot 2", r"2\times\sqrt{3}", r"2\sqrt{3}"], [r"3\sqrt{2}", r"\sqrt{6}", "3.464", r"2\sqrt{2}"]),
    ("sqrt", r"\frac{\sqrt{2}}{2}", [r"\frac{1}{\sqrt{2}}", r"\sqrt{2}/2", r"\frac{\sqrt2}2", r"\frac{\sqrt{2}}{2}", r"0.5\sqrt{2}", r"\sqrt{\frac{1}{2}}"], [r"\sqrt{2}", r"\frac{\sqrt{3}}{2}", "0.707", r"\frac{2}{\sqrt{2}}"]),
    ("sqrt", r"5\sqrt{2}", [r"\sqrt{50}", r"5 \sqrt 2", r"5\sqrt2"], [r"2\sqrt{5}", r"\sqrt{25}", "7.07"]),
    ("sqrt", r"\frac{3+\sqrt{5}}{2}", [r"\frac{3}{2}+\frac{\sqrt{5}}{2}", r"(3+\sqrt{5})/2", r"1.5+\frac{\sqrt5}{2}"], [r"\frac{3-\sqrt{5}}{2}", r"3+\frac{\sqrt{5}}{2}", r"\frac{3+\sqrt{3}}{2}"]),
    ("sqrt", r"\sqrt{3}", [r"\sqrt3", r"3^{1/2}", r"\frac{3}{\sqrt{3}}", r"\sqrt{3}"], ["1.732", r"\sqrt{2}", "3", r"\frac{\sqrt{3}}{3}"]),
    ("sqrt", r"4\sqrt{6}", [r"\sqrt{96}", r"2\sqrt{24}", r"4\sqrt6"], [r"6\sqrt{4}", r"4\sqrt{5}"]),
    ("sqrt", r"1+\sqrt{2}", [r"\sqrt{2}+1", r"\sqrt{3+2\sqrt{2}}", r"\frac{1}{\sqrt{2}-1}"], [r"1-\sqrt{2}", r"\sqrt{3}"]),
    ("sqrt", r"\sqrt[3]{2}", [r"\sqrt[3]{2}", r"2^{1/3}"], [r"\sqrt{2}", r"\sqrt[3]{3}"]),
    ("sqrt", r"\frac{\sqrt{6}}{3}", [r"\sqrt{\frac{2}{3}}", r"\frac{2}{\sqrt{6}}", r"\frac{\sqrt6}{3}"], [r"\frac{\sqrt{6}}{2}", r"\frac{\sqrt{3}}{3}"]),
    # pi
    ("pi", r"2\pi", [r"2 \pi", r"\pi \cdot 2", r"2\pi", r"\pi+\pi", r"\frac{4\pi}{2}"], [r"\pi", "6.28", r"3\pi", r"2\pi^2"]),
    ("pi", r"\frac{\pi}{2}", [r"\pi/2", r"\frac12\pi", r"0.5\pi", r"\frac{1}{2}\pi", r"\dfrac{\pi}{2}"], [r"\frac{\pi}{3}", "1.57", r"2\pi"]),
    ("pi", r"16\pi", [r"16 \pi", r"\pi \cdot 16", r"4^2\pi"], [r"8\pi", r"16\pi^2", "50.27"]),
    ("pi", r"\frac{4\pi}{3}", [r"\frac{4}{3}\pi", r"\frac43\pi", r"4\pi/3"], [r"\frac{3\pi}{4}", r"\frac{4}{3}"]),
    ("pi", r"9\pi-18", [r"-18+9\pi", r"9(\pi-2)", r"9\pi - 18"], [r"9\pi-19", r"18-9\pi"]),
    ("pi", r"\frac{\pi}{4}", [r"\pi/4", r"0.25\pi", r"\frac{1}{4}\pi"], [r"\frac{\pi}{2}", "0.785"]),
    # units
    ("units", "5", ["5 cm", r"5\text{ cm}", "5 meters", r"5 \text{ cm}", "5cm", "5 centimeters"], ["6 cm", "50 cm", "5.5 cm"]),
    ("units", "30", [r"30^\circ", r"30^{\circ}", "30 degrees", r"30 ^\circ", "30\u00b0"], [r"60^\circ", "3 degrees"]),
    ("units", "12", ["12 inches", "12 feet", "12 hours", "12 days", "12 years", "12 minutes", r"12\text{ inches}"], ["13 inches", "1 foot"]),
    ("units", "5.50", [r"\$5.50", "5.5", r"\$ 5.50", "5.50 dollars"], [r"\$5.05", "550"]),
    ("units", "3", ["3 miles", "3 seconds", "3 weeks", r"3\text{ seconds}"], ["4 miles", "30 seconds"]),
    ("units", r"24 \text{ cm}^2", ["24", r"24\text{ cm}^2", r"24\text{ cm^2}"], ["25", r"24\text{ cm}^3"]),
    ("units", "2", ["2 million"], []),
    ("units", "2000000", ["2 million", r"2\text{ million}"], ["2 billion", "20 million"]),
    ("units", "3000000000", ["3 billion"], ["3 million"]),
    # text answers
    ("text", r"\text{Monday}", ["Monday", "monday", r"\text{Monday}", r"\textbf{Monday}", "MONDAY"], ["Tuesday", "Mon"]),
    ("text", r"\text{(B)}", ["(B)", r"\text{(B)}", "(b)"], ["(C)", "B", r"\text{(A)}"]),
    ("text", "C", ["C", "c", r"\text{C}", r"\mathrm{C}", "(C)"], ["D", "B"]),
    ("text", r"\text{even}", ["even", "Even", r"\text{ even}"], ["odd", r"\text{odd}", "neither"]),
    ("text", "yes", ["Yes", "YES", r"\text{yes}"], ["no", "No"]),
    ("text", r"\text{Evelyn}", ["Evelyn", "evelyn", r"\text{Evelyn}"], ["Eve", "Evelin"]),
    ("text", "north", ["North", r"\text{north}"], ["south", "N"]),
    # algebra
    ("algebra", "x^2-1", ["(x-1)(x+1)", "(x+1)(x-1)", "x^2 - 1", "-1+x^2", "x*x-1"], ["x^2+1", "(x-1)^2", "x^2-x", "x-1"]),
    ("algebra", "2x+3", ["3+2x", "2 x + 3", "x+x+3", r"2\cdot x+3"], ["2x-3", "3x+2", "2x"]),
    ("algebra", "(x+1)^2", ["x^2+2x+1", "(1+x)^2", "x^2 + 2x + 1"], ["x^2+1", "x^2+x+1", "(x-1)^2"]),
    ("algebra", r"\frac{x}{2}", ["0.5x", "x/2", r"\frac{1}{2}x", r"\frac12 x"], ["2x", r"\frac{2}{x}", "x"]),
    ("algebra", "3(x-2)", ["3x-6", "-6+3x"], ["3x-2", "3x+6"]),
    ("algebra", "a+b", ["b+a", "a + b"], ["a-b", "ab", "2a"]),
    ("algebra", "2ab", ["2ba", "a*b*2", "ab+ab"], ["2a+b", "a^2b"]),
    ("algebra", r"\frac{1}{x+1}", ["1/(x+1)", r"\frac{1}{1+x}", "(x+1)^{-1}"], ["1/x+1", r"\frac{1}{x}+1", "x+1"]),
    ("algebra", "x^3", ["x*x*x", "x^2 x", r"x\cdot x^2"], ["3x", "x^2", "x^4"]),
    ("algebra", r"\sqrt{x^2}", [r"\sqrt{x^2}"], ["x"]),
    ("algebra", "y=2x+3", ["y = 2x + 3", "y=3+2x", "2x+3"], ["y=2x-3", "y=3x+2"]),
    ("algebra", "x^2+y^2", ["y^2+x^2", "x^2 + y^2"], ["(x+y)^2", "x^2-y^2"]),
    ("algebra", "n(n+1)/2", [r"\frac{n(n+1)}{2}", r"\frac{n^2+n}{2}", "0.5n^2+0.5n"], ["n(n-1)/2", "n^2/2"]),
    ("algebra", r"\frac{x+1}{x-1}", [r"\frac{1+x}{x-1}", "(x+1)/(x-1)", r"-\frac{x+1}{1-x}"], [r"\frac{x-1}{x+1}", r"\frac{x+1}{1-x}"]),
    # scientific / large numbers
    ("scientific", "1500", [r"1.5\times 10^3", r"1.5 \cdot 10^3", "1.5e3", "1,500"], [r"1.5\times 10^4", "150"]),
    ("scientific", r"6.02\times 10^{23}", [r"6.02 \times 10^{23}", r"6.02\times10^{23}"], [r"6.02\times 10^{22}", "6.02"]),
    ("scientific", "2^{100}", ["2^{100}"], ["2^{99}", "2^{101}"]),
    ("scientific", "1000000", ["10^6", "1,000,000", "1000000.0", "1 million"], ["10^5", "100000"]),
    ("scientific", r"3\times 10^{-4}", ["0.0003", r"3\cdot 10^{-4}", r"\frac{3}{10000}"], ["0.003", r"3\times 10^{-3}"]),
    # complex numbers
    ("complex", "3+4i", ["4i+3", "3 + 4i", "3+4 i"], ["3-4i", "4+3i", "7i"]),
    ("complex", "1-i", ["-i+1", "1 - i"], ["1+i", "i-1"]),
    ("complex", "2i", ["i2", "2 i", "i+i"], ["-2i", "2"]),
    ("complex", r"-\frac{1}{2}+\frac{\sqrt{3}}{2}i", [r"\frac{-1+i\sqrt{3}}{2}", r"-\frac12+\frac{\sqrt3}{2}i"], [r"-\frac{1}{2}-\frac{\sqrt{3}}{2}i", r"\frac{1}{2}+\frac{\sqrt{3}}{2}i"]),
    # equations with variable names
    ("equation", "x=3", ["3", "x = 3", r"x=\frac{6}{2}"], ["x=4", "y=4"]),
    ("equation", "k=-2", ["-2", "k = -2"], ["2", "k=2"]),
    # degrees / trig (guard rejects functions with more letters)
    ("trig", r"\sin x", [r"\sin x", r"\sin(x)"], [r"\cos x"]),
    ("trig", r"\frac{\sqrt{3}}{2}", [r"\sin 60^\circ", r"\frac{\sqrt3}{2}", r"\frac{1}{2}\sqrt{3}"], [r"\frac{1}{2}", r"\frac{\sqrt{2}}{2}"]),
    ("trig", "1", [r"\sin^2 x + \cos^2 x"], ["0"]),
    # logs and exponentials
    ("log", r"\ln 2", [r"\ln(2)", r"\ln 2"], [r"\ln 3", r"\log 2"]),
    ("log", r"e^2", ["e^2", r"e^{2}", "e*e"], ["2e", "e^3"]),
    ("log", r"2^{x}", ["2^x", r"2^{x}"], ["x^2"]),
    # sets
    ("set", r"\{1, 2, 3\}", [r"\{1,2,3\}", "1,2,3"], [r"\{1,2\}", r"\{1,2,4\}"]),
    # matrices and vectors (usually not graded as equal unless identical)
    ("matrix", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", [r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"], [r"\begin{pmatrix} 2 \\ 1 \end{pmatrix}", "(1,2)"]),
    # multiple-choice and words
    ("words", "infinitely many", ["infinitely many", "Infinitely many"], ["none", "one"]),
    ("words", r"\text{no solution}", ["no solution", r"\text{No solution}"], ["0", r"\emptyset"]),
]

MALFORMED = [
    (r"\frac{1}{2", r"\frac{1}{2}"), (r"\sqrt{", "2"), ("}{", "1"), (r"\boxed{3", "3"), ("", "3"),
    ("\\", "1"), (r"\frac", "1"), (r"\left(1,2", "(1,2)"), ("((((", "4"), ("))))", "4"),
    ("1/0", "1"), ("0/0", "0"), ("x=", "5"), ("=5", "5"), ("2^^3", "8"), ("3**", "3"),
    (r"\frac{}{}", "1"), (r"\sqrt{}", "0"), (r"\text{}", "1"), ("$", "1"), ("$$", "0"),
    (r"\dfrac{1}", r"\frac{1}{2}"), ("1,,2", "12"), ("(1,2", "(1,2)"), ("[", "1"),
    ("NaN", "1"), ("inf", "1"), (r"\infty", r"\infty"), ("-", "-1"), ("+", "1"),
    ("5!!", "15"), ("0x10", "16"), (r"\alpha", r"\beta"), (r"\%", "0"), (r"1 \pm 2", "3"),
    ("2 == 2", "2"), ("a.b", "1"), (r"\frac{1}{0}", "1"), ("1e999999", "1"), ("10^{100}", "10^{100}"),
    ("2^{1000}", "2^{1001}"), (r"\sqrt{-4}", "2i"), ("|x|", "x"), ("x>2", "x<2"), ("x \\le 3", "x \\leq 3"),
    (r"\frac{\frac{1}{2}}{\frac{3}{4}}", r"\frac{2}{3}"), (r"\left\{1\right\}", "1"),
    (r"\mathbb{R}", r"(-\infty,\infty)"), (r"\text{undefined}", "undefined"),
]

GARBAGE_SEED = 7
ALGEBRA_SEED = 11


def generated_algebra(n):
    """Random expressions in x (sometimes y) written two ways by sympy:
    an equivalent rewrite (expand / factor / together / cancel), or a
    rewrite of a slightly changed expression. Both sides are printed as
    LaTeX (sympy.latex) or as plain text (str with ^), so the pairs exercise
    the LaTeX conversion and the evaluator on forms sympy itself produces."""
    import sympy

    x, y = sympy.symbols("x y")
    rng = random.Random(ALGEBRA_SEED)

    mode = ["x"]

    def atom():
        r = rng.random()
        m = mode[0]
        if m in ("x", "xy") and r < 0.45:
            return x
        if m == "xy" and r < 0.6:
            return y
        if m in ("x", "const") and r < 0.65:
            return sympy.sqrt(rng.choice([2, 3, 5]))
        if m == "const" and r < 0.75:
            return sympy.pi
        if r < 0.85:
            return sympy.Rational(rng.randint(1, 5), rng.randint(2, 6))
        return sympy.Integer(rng.randint(-5, 6))

    def expr(depth):
        if depth == 0 or rng.random() < 0.25:
            return atom()
        op = rng.choice(["add", "add", "mul", "mul", "pow", "div"])
        a, b = expr(depth - 1), expr(depth - 1)
        if op == "add":
            return a + b
        if op == "mul":
            return a * b
        if op == "pow":
            return a ** rng.randint(2, 3)
        if b == 0:
            b = sympy.Integer(2)
        return a / b

    def show(e):
        if rng.random() < 0.6:
            return sympy.latex(e)
        return str(e).replace("**", "^")

    out = []
    while len(out) < n:
        mode[0] = rng.choice(["x", "x", "xy", "const"])
        e = expr(4)
        if e.is_number and e.is_integer:
            continue
        forms = [sympy.expand(e), sympy.factor(e), sympy.together(e), sympy.cancel(e)]
        f = rng.choice(forms)
        if rng.random() < 0.5:
            out.append((show(f), show(e), True))
        else:
            delta = rng.choice([1, -1, x, sympy.Rational(1, 2)])
            out.append((show(f + delta), show(e), False))
    return out



def garbage(rng, n):
    alphabet = list("0123456789+-*/^()[]{},.=\\ abcxyzpi") + ["\\frac", "\\sqrt", "\\pi", "\\left(", "\\right)", "\\text{", "}"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 12)
        out.append("".join(rng.choice(alphabet) for _ in range(k)))
    return out


def main():
    rows = []
    for cat, truth, good, bad in G:
        for g in good:
            rows.append((cat, g, truth, True))
        for b in bad:
            rows.append((cat, b, truth, False))
    for given, truth in MALFORMED:
        rows.append(("malformed", given, truth, None))
    for given, truth, intended in generated_algebra(160):
        rows.append(("generated", given, truth, intended))
    rng = random.Random(GARBAGE_SEED)
    gs = garbage(rng, 30)
    for i in range(0, len(gs) - 1, 2):
        rows.append(("garbage", gs[i], gs[i + 1], None))
        rows.append(("garbage", gs[i], gs[i], True))
    seen = set()
    n = 0
    for cat, given, truth, intended in rows:
        if (given, truth) in seen:
            continue
        seen.add((given, truth))
        n += 1
        rec = {"id": f"{cat}-{n:03d}", "category": cat, "given": given, "truth": truth}
        if intended is not None:
            rec["intended"] = intended
        print(json.dumps(rec, ensure_ascii=False))


def main_generated(n, seed):
    global ALGEBRA_SEED
    ALGEBRA_SEED = seed
    for i, (given, truth, intended) in enumerate(generated_algebra(n)):
        rec = {"id": f"gen{seed}-{i:05d}", "category": "generated", "given": given, "truth": truth, "intended": intended}
        print(json.dumps(rec, ensure_ascii=False))


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--seed", type=int, default=ALGEBRA_SEED)
    a = ap.parse_args()
    if a.generated:
        main_generated(a.generated, a.seed)
    else:
        main()
