package grading

import (
	"context"
	"math"
	"math/big"
	"math/cmplx"
	"math/rand/v2"
	"strings"
)

// Limits of the exact evaluator; past them it hands over to the numeric one.
const (
	maxExactBits    = 1 << 16 // size of a numerator or denominator
	maxExactExp     = 1 << 16 // |integer exponent|
	maxExactFact    = 3000
	maxRootDegree   = 64
	maxLiteralExp10 = 400 // |decimal exponent| of a literal kept exact
)

type exactStatus int

const (
	exactOK        exactStatus = iota
	exactNo                    // not a rational (or too big): use the numeric path
	exactUndefined             // division by zero and the like (sympy's zoo/nan)
)

type evaluator struct {
	ctx   context.Context
	steps int
	err   error
	// env gives rational values to the variables for the exact path; only
	// rational functions of them are evaluated exactly (see exact).
	env map[string]*big.Rat
}

// tick checks the context every 256 steps.
func (ev *evaluator) tick() bool {
	ev.steps++
	if ev.steps&255 == 0 && ev.ctx != nil {
		if err := ev.ctx.Err(); err != nil {
			ev.err = err
		}
	}
	return ev.err == nil
}

func tooBig(r *big.Rat) bool {
	return r.Num().BitLen() > maxExactBits || r.Denom().BitLen() > maxExactBits
}

func parseLiteralRat(lit string) (*big.Rat, bool) {
	lit = strings.ReplaceAll(lit, "_", "")
	if len(lit) > 1 && lit[0] == '0' && strings.ContainsAny(lit[1:2], "xXbBoO") {
		i, ok := new(big.Int).SetString(lit, 0)
		if !ok {
			return nil, false
		}
		return new(big.Rat).SetInt(i), true
	}
	if k := strings.IndexAny(lit, "eE"); k >= 0 {
		e, ok := new(big.Int).SetString(strings.TrimPrefix(lit[k+1:], "+"), 10)
		if !ok || !e.IsInt64() || e.Int64() > maxLiteralExp10 || e.Int64() < -maxLiteralExp10 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(lit)
	return r, ok
}

func (ev *evaluator) exact(n *node) (*big.Rat, exactStatus) {
	if !ev.tick() {
		return nil, exactNo
	}
	switch n.kind {
	case nNum:
		r, ok := parseLiteralRat(n.lit)
		if !ok {
			return nil, exactNo
		}
		return r, exactOK
	case nVar:
		if v, ok := ev.env[n.lit]; ok {
			return v, exactOK
		}
		return nil, exactNo
	case nImag, nConst:
		return nil, exactNo
	case nCall, nFact:
		// sqrt(x^2) is not x for complex x: only constant arguments here.
		if n.args[0].hasVar {
			return nil, exactNo
		}
	case nPow:
		if n.args[1].hasVar {
			return nil, exactNo
		}
	}
	args := make([]*big.Rat, len(n.args))
	for i, a := range n.args {
		v, st := ev.exact(a)
		if st != exactOK {
			return nil, st
		}
		args[i] = v
	}
	var out *big.Rat
	switch n.kind {
	case nNeg:
		out = new(big.Rat).Neg(args[0])
	case nAdd:
		out = new(big.Rat).Add(args[0], args[1])
	case nSub:
		out = new(big.Rat).Sub(args[0], args[1])
	case nMul:
		out = new(big.Rat).Mul(args[0], args[1])
	case nDiv:
		if args[1].Sign() == 0 {
			return nil, exactUndefined
		}
		out = new(big.Rat).Quo(args[0], args[1])
	case nPow:
		if n.args[0].hasVar && !args[1].IsInt() {
			return nil, exactNo // a root of a variable: numeric path
		}
		return ratPow(args[0], args[1])
	case nFact:
		x := args[0]
		if !x.IsInt() {
			return nil, exactNo
		}
		if x.Sign() < 0 {
			return nil, exactUndefined
		}
		if x.Num().Cmp(big.NewInt(maxExactFact)) > 0 {
			return nil, exactNo
		}
		f := new(big.Int).MulRange(1, x.Num().Int64())
		out = new(big.Rat).SetInt(f)
	case nCall:
		switch n.lit {
		case "abs":
			out = new(big.Rat).Abs(args[0])
		case "sqrt":
			if args[0].Sign() < 0 {
				return nil, exactNo
			}
			r, ok := ratRoot(args[0], 2)
			if !ok {
				return nil, exactNo
			}
			out = r
		default:
			return nil, exactNo
		}
	default:
		return nil, exactNo
	}
	if tooBig(out) {
		return nil, exactNo
	}
	return out, exactOK
}

// ratPow is base**exp for rationals: integer exponents exactly (within the
// size limits), p/q exponents when base is a perfect q-th power.
func ratPow(base, exp *big.Rat) (*big.Rat, exactStatus) {
	if !exp.Denom().IsInt64() || exp.Denom().Int64() > maxRootDegree || !exp.Num().IsInt64() {
		return nil, exactNo
	}
	p, q := exp.Num().Int64(), exp.Denom().Int64()
	if q != 1 {
		if base.Sign() < 0 {
			return nil, exactNo // complex principal value
		}
		r, ok := ratRoot(base, q)
		if !ok {
			return nil, exactNo
		}
		base = r
	}
	if base.Sign() == 0 {
		if p < 0 {
			return nil, exactUndefined
		}
		if p == 0 {
			return big.NewRat(1, 1), exactOK
		}
		return new(big.Rat), exactOK
	}
	ap := p
	if ap < 0 {
		ap = -ap
	}
	if ap > maxExactExp {
		return nil, exactNo
	}
	bits := int64(max(base.Num().BitLen(), base.Denom().BitLen()))
	if bits > 1 && (bits-1)*ap > maxExactBits {
		return nil, exactNo
	}
	num := new(big.Int).Exp(base.Num(), big.NewInt(ap), nil)
	den := new(big.Int).Exp(base.Denom(), big.NewInt(ap), nil)
	if p < 0 {
		num, den = den, num
	}
	out := new(big.Rat).SetFrac(num, den)
	if tooBig(out) {
		return nil, exactNo
	}
	return out, exactOK
}

// ratRoot returns the exact q-th root of a non-negative rational, if any.
func ratRoot(x *big.Rat, q int64) (*big.Rat, bool) {
	n, ok1 := intRoot(x.Num(), q)
	d, ok2 := intRoot(x.Denom(), q)
	if !ok1 || !ok2 {
		return nil, false
	}
	return new(big.Rat).SetFrac(n, d), true
}

func intRoot(x *big.Int, q int64) (*big.Int, bool) {
	if x.Sign() < 0 {
		return nil, false
	}
	if x.Sign() == 0 || q == 1 {
		return new(big.Int).Set(x), true
	}
	if q == 2 {
		r := new(big.Int).Sqrt(x)
		return r, new(big.Int).Mul(r, r).Cmp(x) == 0
	}
	// Newton's method from a float estimate, then check.
	f, _ := new(big.Float).SetInt(x).Float64()
	var r *big.Int
	if !math.IsInf(f, 0) {
		est := math.Round(math.Pow(f, 1/float64(q)))
		r, _ = new(big.Float).SetFloat64(est).Int(nil)
	} else {
		r = new(big.Int).Lsh(big.NewInt(1), uint(x.BitLen()/int(q)+1))
	}
	bq := big.NewInt(q)
	for range 200 {
		// r = ((q-1) r + x / r^(q-1)) / q
		rq1 := new(big.Int).Exp(r, big.NewInt(q-1), nil)
		if rq1.Sign() == 0 {
			break
		}
		t := new(big.Int).Quo(x, rq1)
		t.Add(t, new(big.Int).Mul(big.NewInt(q-1), r))
		t.Quo(t, bq)
		if t.Cmp(r) == 0 {
			break
		}
		r = t
	}
	for _, c := range []*big.Int{r, new(big.Int).Add(r, big.NewInt(1)), new(big.Int).Sub(r, big.NewInt(1))} {
		if c.Sign() >= 0 && new(big.Int).Exp(c, bq, nil).Cmp(x) == 0 {
			return c, true
		}
	}
	return nil, false
}

// num is a numeric value with the scale of its rounding error: the
// computed value is within about eps·err of the exact one (a first-order
// forward error bound, so cancellation in "x^9 + 9x^8 + ..." near a root
// shows up as a large err relative to the value).
type num struct {
	v   complex128
	err float64
}

func nan() num { return num{cmplx.NaN(), math.Inf(1)} }

// numeric evaluates n in complex128 with the given variable values.
func (ev *evaluator) numeric(n *node, vars map[string]complex128) num {
	if !ev.tick() {
		return nan()
	}
	switch n.kind {
	case nNum:
		v := literalFloat(n.lit)
		return num{complex(v, 0), math.Abs(v)}
	case nImag:
		v := literalFloat(n.lit)
		return num{complex(0, v), math.Abs(v)}
	case nVar:
		v := vars[n.lit]
		return num{v, cmplx.Abs(v)}
	case nConst:
		switch n.lit {
		case "pi":
			return num{complex(math.Pi, 0), math.Pi}
		case "oo":
			return num{complex(math.Inf(1), 0), math.Inf(1)}
		}
		return nan()
	}
	a := ev.numeric(n.args[0], vars)
	abs := cmplx.Abs
	// out adds the rounding of the operation itself to a propagated error.
	out := func(v complex128, propagated float64) num { return num{v, propagated + abs(v)} }
	switch n.kind {
	case nNeg:
		return num{-a.v, a.err}
	case nFact:
		if imag(a.v) != 0 {
			return nan()
		}
		x := real(a.v)
		if x < 0 && x == math.Trunc(x) {
			return nan()
		}
		g := math.Gamma(x + 1)
		// d/dx Γ(x+1) = Γ(x+1)ψ(x+1); |ψ| is small for the arguments
		// answers use, bounded here by log|x|+2.
		return out(complex(g, 0), math.Abs(g)*(math.Log(math.Abs(x)+1)+2)*a.err)
	case nCall:
		switch n.lit {
		case "sqrt":
			r := cmplx.Sqrt(a.v)
			if r == 0 {
				return out(0, math.Sqrt(a.err))
			}
			return out(r, a.err/(2*abs(r)))
		case "ln", "log":
			l := cmplx.Log(a.v)
			e := a.err / abs(a.v)
			if len(n.args) == 2 {
				b := ev.numeric(n.args[1], vars)
				lb := cmplx.Log(b.v)
				return out(l/lb, e/abs(lb)+abs(l)*(b.err/abs(b.v))/(abs(lb)*abs(lb)))
			}
			return out(l, e)
		case "exp":
			r := cmplx.Exp(a.v)
			return out(r, abs(r)*a.err)
		case "sin":
			return out(cmplx.Sin(a.v), abs(cmplx.Cos(a.v))*a.err)
		case "cos":
			return out(cmplx.Cos(a.v), abs(cmplx.Sin(a.v))*a.err)
		case "tan":
			c := cmplx.Cos(a.v)
			return out(cmplx.Tan(a.v), a.err/(abs(c)*abs(c)))
		case "abs":
			return out(complex(abs(a.v), 0), a.err)
		case "factorial":
			return ev.numeric(&node{kind: nFact, args: n.args}, vars)
		}
		return nan()
	}
	b := ev.numeric(n.args[1], vars)
	switch n.kind {
	case nAdd:
		return out(a.v+b.v, a.err+b.err)
	case nSub:
		return out(a.v-b.v, a.err+b.err)
	case nMul:
		return out(a.v*b.v, abs(a.v)*b.err+abs(b.v)*a.err)
	case nDiv:
		if b.v == 0 {
			return nan()
		}
		ab := abs(b.v)
		return out(a.v/b.v, a.err/ab+abs(a.v)*b.err/(ab*ab))
	case nPow:
		r := complexPow(a.v, b.v)
		// d(a^b) = b a^(b-1) da + a^b log(a) db
		var e float64
		if a.v != 0 {
			e = abs(r) * (abs(b.v)*a.err/abs(a.v) + abs(cmplx.Log(a.v))*b.err)
		} else {
			e = a.err
		}
		return out(r, e)
	}
	return nan()
}

func literalFloat(lit string) float64 {
	lit = strings.ReplaceAll(lit, "_", "")
	if len(lit) > 1 && lit[0] == '0' && strings.ContainsAny(lit[1:2], "xXbBoO") {
		i, ok := new(big.Int).SetString(lit, 0)
		if !ok {
			return math.NaN()
		}
		f, _ := new(big.Float).SetInt(i).Float64()
		return f
	}
	f, _, err := big.ParseFloat(lit, 10, 53, big.ToNearestEven)
	if err != nil {
		return math.Inf(1)
	}
	v, _ := f.Float64()
	return v
}

// complexPow uses repeated squaring for integer exponents (exact for small
// integers, unlike the polar form) and the principal branch otherwise.
func complexPow(a, b complex128) complex128 {
	if imag(b) == 0 && real(b) == math.Trunc(real(b)) && math.Abs(real(b)) <= 1<<20 {
		e := int64(real(b))
		if a == 0 && e < 0 {
			return cmplx.NaN()
		}
		neg := e < 0
		if neg {
			e = -e
		}
		r := complex(1, 0)
		x := a
		for e > 0 {
			if e&1 == 1 {
				r *= x
			}
			x *= x
			e >>= 1
		}
		if neg {
			return 1 / r
		}
		return r
	}
	if a == 0 {
		if real(b) > 0 {
			return 0
		}
		return cmplx.NaN()
	}
	return cmplx.Pow(a, b)
}

func finite(z num) bool {
	return !cmplx.IsNaN(z.v) && !cmplx.IsInf(z.v) && !math.IsNaN(z.err) && !math.IsInf(z.err, 0)
}

// errTol is how many units of the rounding-error scale two values may
// differ by and still count as equal: eps·errTol = 2.2e-16·1e5 ≈ 2e-11
// relative to the magnitudes involved, far above float64 rounding and far
// below any difference between distinct answers.
const errTol = 1e5

func approxEqual(a, b num) bool {
	return cmplx.Abs(a.v-b.v) <= errTol*0x1p-52*(a.err+b.err)
}

// equivalent decides a == b. decided is false when neither the exact nor
// the numeric evaluation could reach a verdict (every sample point was
// undefined, or the context ended).
func equivalent(ctx context.Context, a, b *Expr, points int, seed uint64) (equal, decided bool, err error) {
	ev := &evaluator{ctx: ctx}
	ra, sa := ev.exact(a.root)
	rb, sb := ev.exact(b.root)
	if ev.err != nil {
		return false, false, ev.err
	}
	if sa == exactUndefined || sb == exactUndefined {
		return false, true, nil
	}
	if sa == exactOK && sb == exactOK {
		return ra.Cmp(rb) == 0, true, nil
	}
	vars := unionVars(a.vars, b.vars)
	if len(vars) == 0 {
		va, vb := ev.numeric(a.root, nil), ev.numeric(b.root, nil)
		if ev.err != nil {
			return false, false, ev.err
		}
		if !finite(va) || !finite(vb) {
			return false, false, nil
		}
		return approxEqual(va, vb), true, nil
	}
	if eq, decided, err := equivalentRational(ev, a, b, vars, points, seed); err != nil || decided {
		return eq, decided, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	valid := 0
	env := make(map[string]complex128, len(vars))
	for range points {
		for _, v := range vars {
			// A generic complex point away from 0 and the real axis, so
			// branch cuts and assumptions (sqrt(x^2) = |x|) are not
			// accidentally satisfied: sympy's symbols are complex.
			re := 0.3 + 1.7*rng.Float64()
			if rng.IntN(2) == 0 {
				re = -re
			}
			im := 0.3 + 1.7*rng.Float64()
			if rng.IntN(2) == 0 {
				im = -im
			}
			env[v] = complex(re, im)
		}
		va, vb := ev.numeric(a.root, env), ev.numeric(b.root, env)
		if ev.err != nil {
			return false, false, ev.err
		}
		if !finite(va) || !finite(vb) {
			continue
		}
		if !approxEqual(va, vb) {
			return false, true, nil
		}
		valid++
	}
	need := 3
	if points < need {
		need = points
	}
	if valid < need {
		return false, false, nil
	}
	return true, true, nil
}

// equivalentRational compares two rational functions of the variables
// exactly, at random rational points (Schwartz–Zippel: distinct rational
// functions agree at a random point with negligible probability). decided
// is false when either side is not a rational function (roots, pi...),
// leaving the decision to the numeric path.
func equivalentRational(ev *evaluator, a, b *Expr, vars []string, points int, seed uint64) (equal, decided bool, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	ev.env = make(map[string]*big.Rat, len(vars))
	defer func() { ev.env = nil }()
	valid := 0
	for range points {
		for _, v := range vars {
			p := int64(rng.IntN(120)) - 60
			if p == 0 {
				p = 61
			}
			ev.env[v] = big.NewRat(p, int64(1+rng.IntN(17)))
		}
		ra, sa := ev.exact(a.root)
		rb, sb := ev.exact(b.root)
		if ev.err != nil {
			return false, false, ev.err
		}
		if sa == exactNo || sb == exactNo {
			return false, false, nil
		}
		if sa == exactUndefined || sb == exactUndefined {
			continue // a pole at this point
		}
		if ra.Cmp(rb) != 0 {
			return false, true, nil
		}
		valid++
	}
	if valid < min(3, points) {
		return false, false, nil
	}
	return true, true, nil
}

func unionVars(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, v := range l {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// Equivalent reports whether two expressions (in the ParseExpr syntax) have
// the same value: exactly with rationals when both are rational numbers,
// exactly at random rational points when both are rational functions of
// their variables, and otherwise numerically at random complex points, where
// the two values may differ by about 2e-11 times the scale of their rounding
// errors (a first-order bound carried through the evaluation). It is false
// when the value is undefined (1/0) or undefined at every point. Errors:
// ErrUnparseable (wrapped), or the context's error.
func Equivalent(ctx context.Context, a, b string) (bool, error) {
	ea, err := ParseExpr(a)
	if err != nil {
		return false, err
	}
	eb, err := ParseExpr(b)
	if err != nil {
		return false, err
	}
	eq, _, err := equivalent(ctx, ea, eb, defaultPoints, defaultSeed)
	return eq, err
}

const (
	defaultPoints = 8
	defaultSeed   = 20240607
)
