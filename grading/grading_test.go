package grading

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestExtractBoxed(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{`so \boxed{42}.`, "42", nil},
		{`first \boxed{1} then \boxed{2}`, "2", nil}, // the last box
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, nil},  // nested braces kept
		{`\boxed{\left(1, \frac{\sqrt{3}}{2}\right)} done`, `\left(1, \frac{\sqrt{3}}{2}\right)`, nil},
		{`\fbox{7}`, "7", nil},
		{`answer: \boxed 5`, "5", nil},
		{`\boxed{}`, "", nil},
		{`no box here`, "", ErrNoBoxed},
		{`oops } \boxed{3}`, "", ErrUnmatchedBrace},
		{`\boxed{3`, "", ErrNoBoxed},
		{`\boxed{a} and {\boxed{b}}`, "b", nil},
	}
	for _, c := range cases {
		got, err := ExtractBoxed(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ExtractBoxed(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if !CheckFormat(`x \boxed{1}`) || CheckFormat("1") || CheckFormat(`} \boxed{1}`) {
		t.Error("CheckFormat")
	}
}

func TestExtractGSM8K(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Step 1\nStep 2\n#### 42", "42"},
		{"#### 1,234\n", "1234"},
		{"#### : 7", "7"},
		{"a\n#### 1\nb\n  #### 2  \nc", "2"},
		{"the answer is ####5 apples", "5 apples"},
	}
	for _, c := range cases {
		got, err := ExtractGSM8KFinalAnswer(c.in)
		if err != nil || got != c.want {
			t.Errorf("ExtractGSM8KFinalAnswer(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := ExtractGSM8KFinalAnswer("no marker"); !errors.Is(err, ErrNoGSM8KAnswer) {
		t.Errorf("want ErrNoGSM8KAnswer, got %v", err)
	}
}

func TestNormalizeAnswer(t *testing.T) {
	cases := map[string]string{
		`\text{Monday}`:        "Monday",
		` 0.5 `:                `\frac{1}{2}`,
		`\dfrac{3}{4}`:         `\frac{3}{4}`,
		`\tfrac12`:             `\frac{1}{2}`,
		`\frac1{72}`:           `\frac{1}{72}`,
		`3/4`:                  `\frac{3}{4}`,
		`\left(1, 2\right)`:    "(1,2)",
		`30^\circ`:             "30",
		`30^{\circ}`:           "30",
		`\$5`:                  "5",
		`50\%`:                 "50",
		`5\text{ cm}`:          "5",
		`k = 3`:                "3",
		`\sqrt2`:               `\sqrt{2}`,
		`2\sqrt3+\sqrt{5}`:     `2\sqrt{3}+\sqrt{5}`,
		"a\nb":                 "ab",
		`1\!000`:               "1000",
		`\frac`:                `\frac`,               // IndexError in the original: unchanged
		`1\text{ a}\text{ b}`:  `1\text{ a}\text{ b}`, // two unit markers: unchanged
		`01/2`:                 "01/2",                // non-canonical a/b: unchanged
		`\frac{1}{2}\text{ m}`: `\frac{1}{2}`,
		`x=\frac{1}{2}`:        `\frac{1}{2}`,
		`\left\{1,2\right\}`:   `\{1,2\}`,
		`-\frac{1}{3}`:         `-\frac{1}{3}`,
		`\frac{a}b`:            `\frac{a}b`, // braced numerator: left alone, as in the original
	}
	cases[`.5`] = `\frac{1}{2}` // ".5" -> "0.5" -> \frac{1}{2}
	for in, want := range cases {
		if got := NormalizeAnswer(in); got != want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLatexToText(t *testing.T) {
	cases := map[string]string{
		`\frac{1}{2}`:                      "1/2",
		`\frac{12}{5}`:                     "12/5",
		`\frac{-1}{3}`:                     "-1/3",
		`\frac{1+x}{2}`:                    "(1+x)/2",
		`\frac{\sqrt{3}}{2}`:               "(sqrt(3))/2",
		`\dfrac{a}{b+c}`:                   "a/(b+c)",
		`\frac12`:                          "1/2",
		`\sqrt{2}`:                         "sqrt(2)",
		`\sqrt2`:                           "sqrt(2)",
		`\sqrt[3]{x}`:                      "(x)^(1/(3))",
		`\text{ cm}`:                       " cm",
		`\left(1,2\right]`:                 "(1,2]",
		`\left.x\right|`:                   "x|",
		`2\cdot 3\times 4`:                 "2* 3* 4",
		`\pi r^{2}`:                        "pi r^2",
		`(-\infty, 3)\cup(4,\infty)`:       "(-inf, 3)U(4,inf)",
		`\alpha+\beta`:                     "α+β",
		`x\le 3`:                           "x≤ 3",
		`1\,000`:                           "1 000",
		`\%`:                               "%",
		`\mathbf{v}`:                       "v",
		`\unknownmacro{7}`:                 "7",
		`{{{1}}}`:                          "1",
		`\frac{1}{2`:                       "1/2",
		`\`:                                "",
		`$x$`:                              "x",
		`\begin{pmatrix}1\\2\end{pmatrix}`: "pmatrix1\n2pmatrix",
	}
	for in, want := range cases {
		if got := LatexToText(in); got != want {
			t.Errorf("LatexToText(%q) = %q, want %q", in, got, want)
		}
	}
	// Deep nesting does not overflow the stack.
	deep := strings.Repeat("{", 100000) + "1" + strings.Repeat("}", 100000)
	if got := LatexToText(deep); !strings.Contains(got, "1") {
		t.Errorf("deep nesting lost the content")
	}
}

func TestParseExprSyntax(t *testing.T) {
	// Values checked exactly (rational results).
	exact := map[string]string{
		"2*0+3":      "3",
		"-2^2":       "-4",
		"2^-1":       "1/2",
		"2^3^2":      "512",
		"2(3)":       "6",
		"(2)(3)":     "6",
		"5!":         "120",
		"1_000":      "1000",
		"3.":         "3",
		".5":         "1/2",
		"1e3":        "1000",
		"2.5e-1":     "1/4",
		"sqrt(16/9)": "4/3",
		"4^0.5":      "2",
		"8^(2/3)":    "4",
		"0x10":       "16",
		"abs(-3/2)":  "3/2",
		"00012":      "0", // Python tokenises "000" "12": 0*12, as sympy does
		"(1/2)^(-2)": "4",
		"2**10":      "1024",
		"+-+3":       "-3",
	}
	for in, want := range exact {
		e, err := ParseExpr(in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", in, err)
			continue
		}
		ev := &evaluator{ctx: context.Background()}
		r, st := ev.exact(e.root)
		if st != exactOK || r.RatString() != want {
			t.Errorf("%q = %v (status %d), want %s", in, r, st, want)
		}
	}
	vars := map[string][]string{
		"xy":     {"x", "y"},
		"sqrt2":  {"s", "q", "r", "t"}, // sympy splits it too
		"pi2":    {"p", "i"},
		"2e":     {"e"},
		"mu2":    {"m", "u"},
		"x(x+1)": {"x"},
		"f(2)":   {"f"},
		"α+1":    {"α"},
		"x_1+y":  {"x_1", "y"},
	}
	for in, want := range vars {
		e, err := ParseExpr(in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", in, err)
			continue
		}
		if got := strings.Join(e.Vars(), ","); got != strings.Join(want, ",") {
			t.Errorf("Vars(%q) = %s, want %s", in, got, strings.Join(want, ","))
		}
	}
	for _, bad := range []string{"", "(", ")", "1+", "x=2", "(1,2)", "[1]", "a.b", "2//3", "x<2", "|x|",
		"5!!", "sqrt", "sqrt(1,2)", "if", "re(2)", "1 2 3 +", "x!=2", "3**", "2^^3"} {
		if _, err := ParseExpr(bad); !errors.Is(err, ErrUnparseable) {
			t.Errorf("ParseExpr(%q) err = %v, want ErrUnparseable", bad, err)
		}
	}
}

func TestEquivalent(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		a, b string
		want bool
	}{
		{"x^2-1", "(x-1)(x+1)", true},
		{"(x+1)^5", "x^5+5x^4+10x^3+10x^2+5x+1", true},
		{"(x+1)^5", "x^5+5x^4+10x^3+10x^2+5x+2", false},
		{"sqrt(2)/2", "1/sqrt(2)", true},
		{"2sqrt(3)", "sqrt(12)", true},
		{"sqrt(x^2)", "x", false}, // symbols are complex, as in sympy
		{"sqrt(x)^2", "x", true},
		{"pi/2", "0.5pi", true},
		{"pi", "3.14159", false},
		{"1/3", "0.333333", false},
		{"1/10", "0.1", true},
		{"1+sqrt(2)", "sqrt(3+2sqrt(2))", true},
		{"1/(x+1)", "(x+1)^(-1)", true},
		{"ln(e)", "1", false}, // e is a symbol for sympy
		{"3+4j", "4j+3", true},
		{"2i", "i2", true},
		{"i^2", "-1", false}, // i is a symbol
		{"1/0", "1/0", false},
		{"oo", "oo", false},
		{"2^100", "1267650600228229401496703205376", true},
		{"2^100", "1267650600228229401496703205377", false},
		{"10^-12", "2*10^-12", false},
		{"x/y", "x*y^(-1)", true},
		{"(x^2-1)/(x-1)", "x+1", true},
		// Rational functions are compared exactly at rational points, so a
		// tiny difference is not lost in rounding ...
		{"(x+1)^9", "x^9+9x^8+36x^7+84x^6+126x^5+126x^4+84x^3+36x^2+9x+1", true},
		{"(x+1)^9", "x^9+9x^8+36x^7+84x^6+126x^5+126x^4+84x^3+36x^2+9x+1.000001", false},
		// ... and with irrational coefficients the tolerance follows the
		// rounding error of each side (cancellation near a root is allowed for).
		{"27/(x+sqrt(3))^9", "27/(x^9 + 9*sqrt(3)*x^8 + 108*x^7 + 252*sqrt(3)*x^6 + 1134*x^5 + 1134*sqrt(3)*x^4 + 2268*x^3 + 972*sqrt(3)*x^2 + 729*x + 81*sqrt(3))", true},
		{"27/(x+sqrt(3))^9", "27/(x^9 + 9*sqrt(3)*x^8 + 108*x^7 + 252*sqrt(3)*x^6 + 1134*x^5 + 1134*sqrt(3)*x^4 + 2268*x^3 + 972*sqrt(3)*x^2 + 729*x + 82*sqrt(3))", false},
		{"sqrt(x)*sqrt(y)", "sqrt(x*y)", false},
		{"x^(1/2)", "sqrt(x)", true},
	}
	for _, c := range cases {
		got, err := Equivalent(ctx, c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("Equivalent(%q, %q) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
}

func TestGradeReasons(t *testing.T) {
	g := NewGrader()
	g.Timeout = time.Minute // verdicts under test, not speed (the machine may be loaded)
	ctx := context.Background()
	cases := []struct {
		given, truth string
		correct      bool
		reason       string
	}{
		{"0.5", `\frac{1}{2}`, true, ReasonStringMatch},
		{"1,000", "1000", true, ReasonNormalizedMatch},
		{"5 cm", "5", true, ReasonNormalizedMatch},
		{`\frac{2}{4}`, `\frac{1}{2}`, false, ReasonFraction}, // unreduced fractions are wrong
		{"2.5", "2", false, ReasonIntegerMismatch},
		{"10^3", "1000", false, ReasonIntegerMismatch}, // the cookbook's strict integer rule
		{`2\sqrt{3}`, `\sqrt{12}`, true, ReasonEqual},
		{`(1,2)`, `[1,2]`, false, ReasonShapeMismatch},
		{`(1,2,3)`, `(1,2)`, false, ReasonShapeMismatch},
		{`(\frac12, 3)`, `\left(0.5, 3\right)`, true, ReasonEqual},
		{`(\frac12, 4)`, `\left(0.5, 3\right)`, false, ReasonNotEqual},
		{`\sin x`, `\sin(x)`, false, ReasonGuard}, // s, i, n, x: too many letters
		{"x=2", "2.5", false, ReasonUnparseable},
		{"", "3", false, ReasonEmpty},
		{"hello", "1.5", false, ReasonGuard},
		{"3+4i", "4i+3", true, ReasonEqual},
		{"x^2-1", "(x-1)(x+1)", true, ReasonEqual},
		{"x^2+1", "(x-1)(x+1)", false, ReasonNotEqual},
		{strings.Repeat("1", MaxAnswerLen+1), "1", false, ReasonTooLong},
	}
	for _, c := range cases {
		r := g.Grade(ctx, c.given, c.truth)
		if r.Correct != c.correct || r.Reason != c.reason {
			t.Errorf("Grade(%q, %q) = %+v; want correct=%v reason=%s", c.given, c.truth, r, c.correct, c.reason)
		}
	}
	st := g.Stats()
	if st.Calls != int64(len(cases)) || st.Unparseable != 2 || st.GuardRejected != 2 || st.Correct != 7 {
		t.Errorf("stats = %+v", st)
	}
	if !GradeAnswer(`\boxed{}`, `\boxed{}`) || GradeAnswer("1", "2") {
		t.Error("GradeAnswer")
	}
}

func TestGradeTimeout(t *testing.T) {
	// A cancelled context makes the evaluator stop: the answer scores 0
	// and counts as a time-out.
	g := NewGrader()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := g.Grade(ctx, "(x+1)^3", "x^3+3x^2+3x+1")
	if r.Correct || r.Reason != ReasonTimeout {
		t.Fatalf("got %+v, want a time-out", r)
	}
	if g.Stats().Timeouts != 1 {
		t.Fatalf("stats %+v", g.Stats())
	}
	// A heavy but legal computation finishes well inside the default limit.
	g.Timeout = time.Minute
	r = g.Grade(context.Background(), "3000!", "3000!+0")
	if r.Reason == ReasonTimeout {
		t.Fatalf("3000! timed out: %+v", r)
	}
}

// TestRandomStringsNeverPanic grades random strings made of the characters
// answers use (and some that they should not), checking each call returns
// quickly and never panics (Grade recovers, so a panic shows up as an
// "internal error" detail, which fails here).
func TestRandomStringsNeverPanic(t *testing.T) {
	pieces := []string{"0", "1", "2", "9", ".", ",", "+", "-", "*", "/", "^", "(", ")", "[", "]", "{", "}",
		`\frac`, `\sqrt`, `\pi`, `\left(`, `\right)`, `\text{`, `\boxed{`, `\`, "x", "y", "i", "e", "!", "=",
		" ", "%", "$", "_", "sqrt", "pi", "oo", "é", "\xff", "\n", "^{", "10^", "999", "e9", "j", "0x", "!!"}
	rng := rand.New(rand.NewPCG(1, 2))
	g := NewGrader()
	g.Timeout = time.Minute // a hang shows up as a time-out; slowness under load does not
	gen := func() string {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	n := 3000
	if testing.Short() {
		n = 500
	}
	for range n {
		a, b := gen(), gen()
		r := g.Grade(context.Background(), a, b)
		if strings.Contains(r.Detail, "internal error") {
			t.Fatalf("Grade(%q, %q) panicked: %s", a, b, r.Detail)
		}
		if r.Reason == ReasonTimeout {
			t.Fatalf("Grade(%q, %q) timed out", a, b)
		}
		_, _ = ExtractBoxed(a)
		_ = NormalizeAnswer(a)
		_ = LatexToText(a)
		_, _ = ExtractGSM8KFinalAnswer(a)
	}
}

// FuzzGrade is the same property for `go test -fuzz=FuzzGrade ./grading`.
func FuzzGrade(f *testing.F) {
	for _, s := range []string{`\frac{1}{2}`, "x^2-1", "(1,2)", `\sqrt{`, "2^10^10", "9!!"} {
		f.Add(s, "1")
	}
	g := NewGrader()
	f.Fuzz(func(t *testing.T, a, b string) {
		r := g.Grade(context.Background(), a, b)
		if strings.Contains(r.Detail, "internal error") {
			t.Fatalf("panic: %s", r.Detail)
		}
	})
}

func BenchmarkGrade(b *testing.B) {
	pairs := [][2]string{
		{"0.5", `\frac{1}{2}`},
		{`2\sqrt{3}`, `\sqrt{12}`},
		{"x^2+2x+1", "(x+1)^2"},
		{`\frac{3+\sqrt{5}}{2}`, `\frac{3}{2}+\frac{\sqrt{5}}{2}`},
		{`(-\infty, 3]`, `(-\infty,3]`},
	}
	g := NewGrader()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := pairs[i%len(pairs)]
		g.Grade(ctx, p[0], p[1])
	}
}

func TestGraderConcurrent(t *testing.T) {
	g := NewGrader()
	g.Timeout = time.Minute
	done := make(chan bool)
	for w := 0; w < 8; w++ {
		go func() {
			for i := 0; i < 50; i++ {
				if !g.Grade(context.Background(), "x^2-1", "(x-1)(x+1)").Correct {
					t.Error("wrong verdict under concurrency")
				}
			}
			done <- true
		}()
	}
	for w := 0; w < 8; w++ {
		<-done
	}
	if st := g.Stats(); st.Calls != 400 || st.Correct != 400 {
		t.Fatalf("stats %+v", st)
	}
}
