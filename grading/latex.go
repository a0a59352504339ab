package grading

import (
	"regexp"
	"strings"
	"unicode"
)

// LatexToText converts the LaTeX used in math answers into plain text that
// the expression evaluator (and sympy's parse_expr) can read. It plays the
// role pylatexenc's latex2text plays in the cookbook, followed by the
// cookbook's replacements (√→sqrt, π→pi, ∞→inf, ∪→U, ·/×→*), but writes the
// ASCII forms directly:
//
//	\frac{a}{b}, \dfrac, \tfrac  -> a/b, with parentheses around a part that
//	                               is not a plain (signed) number, a word or
//	                               one character: \frac{1+x}{2} -> (1+x)/2
//	\sqrt{x}, \sqrt2             -> sqrt(x), sqrt(2)
//	\sqrt[n]{x}                  -> (x)^(1/(n))
//	\text{..}, \mathrm, \mbox..  -> the argument
//	\left( \right] \bigl ..      -> the delimiter alone
//	\cdot \times                 -> *        \div -> /
//	\pi -> pi   \infty -> inf    \cup -> U   \% -> %   \$ -> $
//	\alpha ... \omega            -> Greek letters (α ... ω)
//	{...}                        -> its content (so x^{2} -> x^2)
//	\, \; \: \quad               -> spaces   \! -> nothing
//
// Other known symbols become their Unicode character (\le → ≤, \pm → ±,
// \circ → ∘), which the evaluator rejects, as sympy rejects pylatexenc's
// output for them. Unknown macros are dropped and their arguments kept, as
// latex2text does. The conversion never fails.
func LatexToText(s string) string {
	p := &latexConv{src: []rune(s)}
	return p.run(0, false)
}

type latexConv struct {
	src []rune
	pos int
}

var latexSymbols = map[string]string{
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

// Macros whose single argument is kept as it is.
var latexArgMacros = map[string]bool{
	"text": true, "textbf": true, "textit": true, "textrm": true, "textsf": true, "texttt": true,
	"textnormal": true, "mathrm": true, "mathbf": true, "mathit": true, "mathsf": true, "mathtt": true,
	"mathbb": true, "mathcal": true, "mathnormal": true, "mbox": true, "hbox": true, "emph": true,
	"boxed": true, "fbox": true, "operatorname": true, "bm": true, "boldsymbol": true,
	"overline": true, "underline": true, "widehat": true, "hat": true, "bar": true, "vec": true,
	"tilde": true, "widetilde": true, "dot": true, "ddot": true, "overrightarrow": true,
}

// Delimiter-size macros that are dropped (the delimiter after them stays).
var latexSizeMacros = map[string]bool{
	"left": true, "right": true, "big": true, "Big": true, "bigg": true, "Bigg": true,
	"bigl": true, "bigr": true, "Bigl": true, "Bigr": true, "biggl": true, "biggr": true,
	"Biggl": true, "Biggr": true, "middle": true,
}

const latexMaxDepth = 64

// run converts until the end of input, or until the closing brace of the
// current group when inGroup (the brace is consumed).
func (p *latexConv) run(depth int, inGroup bool) string {
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '}' && inGroup:
			p.pos++
			return b.String()
		case c == '{':
			p.pos++
			if depth >= latexMaxDepth {
				b.WriteRune('{')
				continue
			}
			b.WriteString(p.run(depth+1, true))
		case c == '\\':
			b.WriteString(p.macro(depth))
		case c == '~':
			p.pos++
			b.WriteByte(' ')
		case c == '$':
			p.pos++
		default:
			p.pos++
			b.WriteRune(c)
		}
	}
	return b.String()
}

// macro converts the control sequence at p.pos.
func (p *latexConv) macro(depth int) string {
	p.pos++ // backslash
	if p.pos >= len(p.src) {
		return ""
	}
	c := p.src[p.pos]
	if !isLatexLetter(c) {
		p.pos++
		switch c {
		case ',', ';', ':', ' ', '>':
			return " "
		case '!':
			return ""
		case '\\':
			return "\n"
		case '{', '}', '%', '$', '&', '#', '_':
			return string(c)
		case '(', ')', '[', ']':
			return "" // math-mode delimiters \( \) \[ \]
		}
		return string(c)
	}
	start := p.pos
	for p.pos < len(p.src) && isLatexLetter(p.src[p.pos]) {
		p.pos++
	}
	name := string(p.src[start:p.pos])
	switch {
	case name == "frac" || name == "dfrac" || name == "tfrac" || name == "nicefrac" || name == "cfrac":
		num := p.arg(depth)
		den := p.arg(depth)
		return fracPart(num) + "/" + fracPart(den)
	case name == "sqrt":
		deg, hasDeg := p.optArg(depth)
		rad := p.arg(depth)
		if hasDeg {
			return "(" + rad + ")^(1/(" + deg + "))"
		}
		return "sqrt(" + rad + ")"
	case latexArgMacros[name]:
		return p.arg(depth)
	case latexSizeMacros[name]:
		p.skipSpaces()
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++ // \left. is an invisible delimiter
		}
		return ""
	}
	if sym, ok := latexSymbols[name]; ok {
		return sym
	}
	return "" // unknown macro: dropped, its arguments render as groups
}

// arg reads one macro argument: a {group}, a macro, or one character.
func (p *latexConv) arg(depth int) string {
	p.skipSpaces()
	if p.pos >= len(p.src) {
		return ""
	}
	switch c := p.src[p.pos]; c {
	case '{':
		p.pos++
		if depth >= latexMaxDepth {
			return "{"
		}
		return p.run(depth+1, true)
	case '\\':
		return p.macro(depth)
	case '}':
		return ""
	default:
		p.pos++
		return string(c)
	}
}

// optArg reads an optional [..] argument.
func (p *latexConv) optArg(depth int) (string, bool) {
	p.skipSpaces()
	if p.pos >= len(p.src) || p.src[p.pos] != '[' {
		return "", false
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) && p.src[p.pos] != ']' {
		switch p.src[p.pos] {
		case '{':
			p.pos++
			if depth < latexMaxDepth {
				b.WriteString(p.run(depth+1, true))
			}
		case '\\':
			b.WriteString(p.macro(depth))
		default:
			b.WriteRune(p.src[p.pos])
			p.pos++
		}
	}
	if p.pos < len(p.src) {
		p.pos++ // ]
	}
	return b.String(), true
}

func (p *latexConv) skipSpaces() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func isLatexLetter(r rune) bool { return r < 128 && unicode.IsLetter(r) }

var plainFracPartRe = regexp.MustCompile(`^(?:-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|[A-Za-z]+)$`)

// fracPart writes one side of a fraction, in parentheses unless it is a plain
// number or a single character.
func fracPart(s string) string {
	t := strings.TrimSpace(s)
	if plainFracPartRe.MatchString(t) || len([]rune(t)) <= 1 {
		return t
	}
	return "(" + t + ")"
}
