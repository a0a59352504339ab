package grading

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The expression language is the one the cookbook hands to sympy's
// parse_expr with standard_transformations + implicit_multiplication_
// application, after replacing ^ by **: Python arithmetic (+ - * / ** and
// unary signs, ** binding tighter than unary minus and associating to the
// right), Python number literals (1_000, 2.5e3, 3j), postfix factorial, and
// sympy's implicit rules: juxtaposition multiplies ("2x", "x(x+1)",
// "(1)(2)"), an unknown multi-letter name is split into one-letter symbols
// ("xy" = x*y, "sqrt2" = s*q*r*t*2), Greek letter names stay whole ("mu").
// Known names: pi, sqrt, ln/log, exp, sin, cos, tan, abs, factorial, oo
// (infinity), nan, zoo. Every other letter is a free variable; "e" and "i"
// are variables too, as they are for sympy.

// ErrUnparseable wraps every parse failure.
var ErrUnparseable = errors.New("unparseable expression")

const (
	maxExprTokens = 4000
	maxExprDepth  = 200
)

type tokKind int

const (
	tkNum tokKind = iota
	tkImag
	tkName
	tkOp
	tkLParen
	tkRParen
	tkBang
	tkComma
)

type token struct {
	kind tokKind
	text string
}

// Python's tokenize Number pattern, anchored (alternatives tried in order).
var pyNumberRe = regexp.MustCompile(`^(?:` +
	// imaginary
	`[0-9](?:_?[0-9])*[jJ]|` +
	`(?:(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][-+]?[0-9](?:_?[0-9])*)[jJ]|` +
	// float
	`(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?|` +
	`[0-9](?:_?[0-9])*[eE][-+]?[0-9](?:_?[0-9])*|` +
	// int
	`0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?0)*|[1-9](?:_?[0-9])*` +
	`)`)

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		if len(toks) > maxExprTokens {
			return nil, fmt.Errorf("%w: more than %d tokens", ErrUnparseable, maxExprTokens)
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			m := pyNumberRe.FindString(s[i:])
			if m == "" {
				return nil, fmt.Errorf("%w: bad number at %q", ErrUnparseable, s[i:])
			}
			k := tkNum
			if strings.HasSuffix(m, "j") || strings.HasSuffix(m, "J") {
				k = tkImag
			}
			toks = append(toks, token{k, m})
			i += len(m)
		case c == '*' && strings.HasPrefix(s[i:], "**"):
			toks = append(toks, token{tkOp, "**"})
			i += 2
		case c == '/' && strings.HasPrefix(s[i:], "//"):
			return nil, fmt.Errorf("%w: floor division", ErrUnparseable)
		case c == '+' || c == '-' || c == '*' || c == '/':
			toks = append(toks, token{tkOp, string(c)})
			i++
		case c == '(':
			toks = append(toks, token{tkLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tkRParen, ")"})
			i++
		case c == '!':
			if strings.HasPrefix(s[i:], "!=") {
				return nil, fmt.Errorf("%w: comparison", ErrUnparseable)
			}
			toks = append(toks, token{tkBang, "!"})
			i++
		case c == ',':
			toks = append(toks, token{tkComma, ","})
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == '_' || unicode.IsLetter(r) {
				j := i + n
				for j < len(s) {
					r2, n2 := utf8.DecodeRuneInString(s[j:])
					if r2 == '_' || unicode.IsLetter(r2) || unicode.IsDigit(r2) || unicode.Is(unicode.Mn, r2) {
						j += n2
						continue
					}
					break
				}
				toks = append(toks, token{tkName, s[i:j]})
				i = j
				continue
			}
			return nil, fmt.Errorf("%w: unexpected %q", ErrUnparseable, string(r))
		}
	}
	return toks, nil
}

var pythonKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// Names with a meaning; all other names are symbols (split when splittable).
var exprFuncs = map[string]int{ // name -> max arity
	"sqrt": 1, "ln": 1, "log": 2, "exp": 1, "sin": 1, "cos": 1, "tan": 1, "abs": 1, "factorial": 1,
}
var exprConsts = map[string]bool{"pi": true, "oo": true, "nan": true, "zoo": true}

// Names sympy defines that this evaluator does not model; they make the
// expression unparseable rather than silently a product of letters.
var exprUnsupported = map[string]bool{
	"re": true, "im": true, "li": true, "ff": true, "rf": true, "frac": true, "arg": true, "sign": true,
	"floor": true, "ceiling": true, "gamma": true, "beta": true, "zeta": true, "binomial": true,
	"gcd": true, "lcm": true, "mod": true, "max": true, "min": true, "sec": true, "csc": true, "cot": true,
	"asin": true, "acos": true, "atan": true, "sinh": true, "cosh": true, "tanh": true, "root": true,
	"Rational": true, "Integer": true, "Float": true, "Symbol": true, "E": true, "I": true, "S": true,
	"N": true, "O": true, "Q": true, "C": true,
}

var greekNames = map[string]bool{
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "zeta": true, "eta": true,
	"theta": true, "iota": true, "kappa": true, "lambda": true, "lamda": true, "mu": true, "nu": true,
	"xi": true, "omicron": true, "pi": true, "rho": true, "sigma": true, "tau": true, "upsilon": true,
	"phi": true, "chi": true, "psi": true, "omega": true,
}

// resolveNames applies sympy's auto_symbol + split_symbols: known names are
// kept, keywords are errors, unknown splittable names become one symbol per
// letter and one number per digit run.
func resolveNames(toks []token) ([]token, error) {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tkName {
			out = append(out, t)
			continue
		}
		name := t.text
		switch {
		case pythonKeywords[name]:
			return nil, fmt.Errorf("%w: keyword %q", ErrUnparseable, name)
		case exprUnsupported[name]:
			return nil, fmt.Errorf("%w: unsupported function %q", ErrUnparseable, name)
		case exprFuncs[name] > 0 || exprConsts[name]:
			out = append(out, t)
		case strings.Contains(name, "_") || greekNames[name] || len([]rune(name)) == 1:
			out = append(out, token{tkName, name})
		default:
			rs := []rune(name)
			for i := 0; i < len(rs); i++ {
				if unicode.IsDigit(rs[i]) {
					j := i
					for j < len(rs) && unicode.IsDigit(rs[j]) {
						j++
					}
					out = append(out, token{tkNum, string(rs[i:j])})
					i = j - 1
					continue
				}
				if exprUnsupported[string(rs[i])] {
					return nil, fmt.Errorf("%w: unsupported name %q", ErrUnparseable, string(rs[i]))
				}
				out = append(out, token{tkName, string(rs[i])})
			}
		}
	}
	return out, nil
}

// insertImplicitMul inserts "*" where sympy's implicit_multiplication does.
func insertImplicitMul(toks []token) []token {
	out := make([]token, 0, len(toks)*2)
	for i, t := range toks {
		if i > 0 {
			p := toks[i-1]
			leftOK := p.kind == tkNum || p.kind == tkImag || p.kind == tkRParen || p.kind == tkBang ||
				p.kind == tkName && exprFuncs[p.text] == 0
			rightOK := t.kind == tkNum || t.kind == tkImag || t.kind == tkName || t.kind == tkLParen
			if leftOK && rightOK {
				out = append(out, token{tkOp, "*"})
			}
		}
		out = append(out, t)
	}
	return out
}

// node kinds
type nodeKind int

const (
	nNum   nodeKind = iota // exact literal (text in lit)
	nImag                  // imaginary literal
	nVar                   // free symbol
	nConst                 // pi, oo, nan, zoo
	nNeg
	nAdd
	nSub
	nMul
	nDiv
	nPow
	nFact
	nCall
)

type node struct {
	kind   nodeKind
	lit    string
	args   []*node
	hasVar bool // the subtree contains a free variable
}

// Expr is a parsed expression.
type Expr struct {
	root *node
	vars []string
	src  string
}

// Vars lists the free variables, sorted by first appearance.
func (e *Expr) Vars() []string { return append([]string(nil), e.vars...) }

// String returns the source text.
func (e *Expr) String() string { return e.src }

// ParseExpr parses an expression written in the sympy parse_expr syntax the
// grader uses ("^" is accepted as a power too). Errors wrap ErrUnparseable.
func ParseExpr(s string) (*Expr, error) {
	toks, err := tokenize(strings.ReplaceAll(s, "^", "**"))
	if err != nil {
		return nil, err
	}
	if toks, err = resolveNames(toks); err != nil {
		return nil, err
	}
	toks = insertImplicitMul(toks)
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrUnparseable)
	}
	p := &exprParser{toks: toks}
	root, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q", ErrUnparseable, p.toks[p.pos].text)
	}
	e := &Expr{root: root, src: s}
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.kind == nVar {
			n.hasVar = true
			if !seen[n.lit] {
				seen[n.lit] = true
				e.vars = append(e.vars, n.lit)
			}
		}
		for _, a := range n.args {
			walk(a)
			n.hasVar = n.hasVar || a.hasVar
		}
	}
	walk(root)
	return e, nil
}

type exprParser struct {
	toks []token
	pos  int
}

func (p *exprParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *exprParser) isOp(op string) bool {
	t, ok := p.peek()
	return ok && t.kind == tkOp && t.text == op
}

func (p *exprParser) expr(depth int) (*node, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrUnparseable)
	}
	left, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.toks[p.pos].text
		p.pos++
		right, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		k := nAdd
		if op == "-" {
			k = nSub
		}
		left = &node{kind: k, args: []*node{left, right}}
	}
	return left, nil
}

func (p *exprParser) term(depth int) (*node, error) {
	left, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") {
		op := p.toks[p.pos].text
		p.pos++
		right, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		k := nMul
		if op == "/" {
			k = nDiv
		}
		left = &node{kind: k, args: []*node{left, right}}
	}
	return left, nil
}

func (p *exprParser) unary(depth int) (*node, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrUnparseable)
	}
	if p.isOp("-") {
		p.pos++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nNeg, args: []*node{x}}, nil
	}
	if p.isOp("+") {
		p.pos++
		return p.unary(depth + 1)
	}
	return p.power(depth)
}

func (p *exprParser) power(depth int) (*node, error) {
	base, err := p.postfix(depth)
	if err != nil {
		return nil, err
	}
	if p.isOp("**") {
		p.pos++
		exp, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nPow, args: []*node{base, exp}}, nil
	}
	return base, nil
}

func (p *exprParser) postfix(depth int) (*node, error) {
	x, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		t, ok := p.peek()
		if !ok || t.kind != tkBang {
			break
		}
		p.pos++
		n++
	}
	switch n {
	case 0:
		return x, nil
	case 1:
		return &node{kind: nFact, args: []*node{x}}, nil
	default:
		return nil, fmt.Errorf("%w: multiple factorial", ErrUnparseable)
	}
}

func (p *exprParser) atom(depth int) (*node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("%w: unexpected end", ErrUnparseable)
	}
	p.pos++
	switch t.kind {
	case tkNum:
		return &node{kind: nNum, lit: t.text}, nil
	case tkImag:
		return &node{kind: nImag, lit: t.text[:len(t.text)-1]}, nil
	case tkLParen:
		x, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tkRParen {
			return nil, fmt.Errorf("%w: missing )", ErrUnparseable)
		}
		p.pos++
		return x, nil
	case tkName:
		if arity := exprFuncs[t.text]; arity > 0 {
			if t2, ok := p.peek(); !ok || t2.kind != tkLParen {
				return nil, fmt.Errorf("%w: function %s without arguments", ErrUnparseable, t.text)
			}
			p.pos++
			var args []*node
			for {
				a, err := p.expr(depth + 1)
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				t2, ok := p.peek()
				if !ok {
					return nil, fmt.Errorf("%w: missing )", ErrUnparseable)
				}
				p.pos++
				if t2.kind == tkRParen {
					break
				}
				if t2.kind != tkComma {
					return nil, fmt.Errorf("%w: unexpected %q in arguments", ErrUnparseable, t2.text)
				}
			}
			if len(args) > arity {
				return nil, fmt.Errorf("%w: %s takes at most %d arguments", ErrUnparseable, t.text, arity)
			}
			return &node{kind: nCall, lit: t.text, args: args}, nil
		}
		if exprConsts[t.text] {
			return &node{kind: nConst, lit: t.text}, nil
		}
		return &node{kind: nVar, lit: t.text}, nil
	}
	return nil, fmt.Errorf("%w: unexpected %q", ErrUnparseable, t.text)
}
