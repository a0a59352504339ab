// Package starnp is the `np` Starlark module: the numeric helpers the
// cookbook's recipes take from numpy and scipy, over gonum.
package starnp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"go.starlark.net/starlark"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/tkx-dev/tkx/host"
)

// Module is the np module.
var Module = &host.Module{
	Name: "np",
	Doc: `Numeric helpers over lists of numbers (a small subset of numpy and
scipy, backed by gonum). Functions take lists or tuples of ints/floats and
return floats or lists. Random functions take an explicit seed and use
PCG (math/rand/v2, seeded with (seed, 0)) so results are reproducible.`,
	Funcs: []host.Func{
		{Name: "mean", Impl: mean, Doc: "mean(x) -> float\n\nArithmetic mean of x. Fails on an empty list."},
		{Name: "std", Impl: std, Doc: "std(x, ddof=0) -> float\n\nStandard deviation of x with ddof delta degrees of freedom (numpy's default ddof=0: population)."},
		{Name: "var", Impl: variance, Doc: "var(x, ddof=0) -> float\n\nVariance of x with ddof delta degrees of freedom."},
		{Name: "sum", Impl: sum, Doc: "sum(x) -> float\n\nSum of x as a float."},
		{Name: "prod", Impl: prod, Doc: "prod(x) -> float\n\nProduct of x (1.0 for an empty list)."},
		{Name: "min", Impl: minFn, Doc: "min(x) -> float\n\nSmallest element of x."},
		{Name: "max", Impl: maxFn, Doc: "max(x) -> float\n\nLargest element of x."},
		{Name: "sqrt", Impl: sqrt, Doc: "sqrt(x) -> float or list\n\nSquare root of a number, or element-wise of a list. Negative input fails."},
		{Name: "exp", Impl: exp, Doc: "exp(x) -> float or list\n\nExponential of a number, or element-wise of a list."},
		{Name: "log", Impl: logFn, Doc: "log(x) -> float or list\n\nNatural logarithm of a number, or element-wise of a list. Non-positive input fails."},
		{Name: "clip", Impl: clip, Doc: "clip(x, lo, hi) -> float or list\n\nLimits a number, or each element of a list, to [lo, hi]."},
		{Name: "linspace", Impl: linspace, Doc: "linspace(start, stop, num=50, endpoint=True) -> list\n\nnum evenly spaced floats from start to stop (stop included when endpoint)."},
		{Name: "arange", Impl: arange, Doc: "arange(start, stop=None, step=1) -> list\n\nFloats from start (inclusive) to stop (exclusive) by step; arange(n) is 0..n-1."},
		{Name: "argsort", Impl: argsort, Doc: "argsort(x, reverse=False) -> list\n\nIndices that sort x; ties keep their original order (stable)."},
		{Name: "argmax", Impl: argmax, Doc: "argmax(x) -> int\n\nIndex of the first largest element."},
		{Name: "argmin", Impl: argmin, Doc: "argmin(x) -> int\n\nIndex of the first smallest element."},
		{Name: "cumsum", Impl: cumsum, Doc: "cumsum(x) -> list\n\nRunning sums of x."},
		{Name: "cumprod", Impl: cumprod, Doc: "cumprod(x) -> list\n\nRunning products of x."},
		{Name: "dot", Impl: dot, Doc: "dot(x, y) -> float\n\nInner product of two lists of the same length."},
		{Name: "discounted_future_sum", Impl: discountedFutureSum, Doc: `discounted_future_sum(rewards, gamma) -> list

out[t] = rewards[t] + gamma * out[t+1]: the discounted return from every
step (the cookbook's scipy.signal.lfilter([1], [1, -gamma], x[::-1])[::-1]).`},
		{Name: "percentile", Impl: percentile, Doc: "percentile(x, q) -> float\n\nq-th percentile (0..100) of x with linear interpolation, like numpy's default."},
		{Name: "randint", Impl: randint, Doc: "randint(low, high, size=None, seed=0) -> int or list\n\nUniform random ints in [low, high) from PCG(seed, 0); size=None returns one int."},
		{Name: "random", Impl: random, Doc: "random(size=None, seed=0) -> float or list\n\nUniform floats in [0, 1) from PCG(seed, 0); size=None returns one float."},
		{Name: "choice", Impl: choice, Doc: `choice(items, size=None, replace=True, seed=0) -> value or list

Random elements of items from PCG(seed, 0). Without replacement, size must
not exceed len(items) (a partial Fisher–Yates shuffle).`},
		{Name: "shuffle", Impl: shuffle, Doc: `shuffle(items, seed=0) -> list

A shuffled copy of items: Fisher–Yates from the last index down, drawing
j = rng.IntN(i+1) from PCG(seed, 0). Same seed, same order, on every machine.`},
	},
}

func floatsArg(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, name string) ([]float64, error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, name, &x); err != nil {
		return nil, err
	}
	return host.AsFloats(x, fn.Name()+": "+name)
}

func nonEmpty(fn *starlark.Builtin, x []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("%s: empty list", fn.Name())
	}
	return nil
}

func mean(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err != nil {
		return nil, err
	}
	if err := nonEmpty(fn, x); err != nil {
		return nil, err
	}
	return starlark.Float(stat.Mean(x, nil)), nil
}

func moments(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (float64, error) {
	var xv starlark.Value
	ddof := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &xv, "ddof?", &ddof); err != nil {
		return 0, err
	}
	x, err := host.AsFloats(xv, fn.Name()+": x")
	if err != nil {
		return 0, err
	}
	if len(x)-ddof <= 0 {
		return 0, fmt.Errorf("%s: need more than ddof=%d elements, got %d", fn.Name(), ddof, len(x))
	}
	m := stat.Mean(x, nil)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return ss / float64(len(x)-ddof), nil
}

func std(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := moments(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Float(math.Sqrt(v)), nil
}

func variance(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := moments(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Float(v), nil
}

func sum(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err != nil {
		return nil, err
	}
	return starlark.Float(floats.Sum(x)), nil
}

func prod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err != nil {
		return nil, err
	}
	return starlark.Float(floats.Prod(x)), nil
}

func minFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err == nil {
		err = nonEmpty(fn, x)
	}
	if err != nil {
		return nil, err
	}
	return starlark.Float(floats.Min(x)), nil
}

func maxFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err == nil {
		err = nonEmpty(fn, x)
	}
	if err != nil {
		return nil, err
	}
	return starlark.Float(floats.Max(x)), nil
}

// elementwise applies f to a number or to each element of a list.
func elementwise(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, f func(float64) (float64, error)) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &x); err != nil {
		return nil, err
	}
	if v, ok := starlark.AsFloat(x); ok {
		r, err := f(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fn.Name(), err)
		}
		return starlark.Float(r), nil
	}
	xs, err := host.AsFloats(x, fn.Name()+": x")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(xs))
	for i, v := range xs {
		if out[i], err = f(v); err != nil {
			return nil, fmt.Errorf("%s: x[%d]: %v", fn.Name(), i, err)
		}
	}
	return host.Floats(out), nil
}

func sqrt(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return elementwise(fn, args, kwargs, func(v float64) (float64, error) {
		if v < 0 {
			return 0, fmt.Errorf("square root of negative number %v", v)
		}
		return math.Sqrt(v), nil
	})
}

func exp(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return elementwise(fn, args, kwargs, func(v float64) (float64, error) { return math.Exp(v), nil })
}

func logFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return elementwise(fn, args, kwargs, func(v float64) (float64, error) {
		if v <= 0 {
			return 0, fmt.Errorf("logarithm of non-positive number %v", v)
		}
		return math.Log(v), nil
	})
}

func clip(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var loN, hiN host.Number
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &x, "lo", &loN, "hi", &hiN); err != nil {
		return nil, err
	}
	lo, hi := float64(loN), float64(hiN)
	if lo > hi {
		return nil, fmt.Errorf("%s: lo=%v is above hi=%v", fn.Name(), lo, hi)
	}
	return elementwise(fn, starlark.Tuple{x}, nil, func(v float64) (float64, error) { return math.Min(math.Max(v, lo), hi), nil })
}

func linspace(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var startN, stopN host.Number
	num := 50
	endpoint := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "start", &startN, "stop", &stopN, "num?", &num, "endpoint?", &endpoint); err != nil {
		return nil, err
	}
	start, stop := float64(startN), float64(stopN)
	if num < 0 {
		return nil, fmt.Errorf("%s: num must be >= 0, got %d", fn.Name(), num)
	}
	out := make([]float64, num)
	div := float64(num)
	if endpoint {
		div = float64(num - 1)
	}
	for i := range out {
		if div == 0 {
			out[i] = start
			continue
		}
		out[i] = start + (stop-start)*float64(i)/div
	}
	if endpoint && num > 1 {
		out[num-1] = stop
	}
	return host.Floats(out), nil
}

func arange(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var startN host.Number
	var stopV starlark.Value = starlark.None
	stepN := host.Number(1)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "start", &startN, "stop?", &stopV, "step?", &stepN); err != nil {
		return nil, err
	}
	start, step := float64(startN), float64(stepN)
	stop := start
	if stopV == starlark.None {
		start = 0
	} else if s, ok := starlark.AsFloat(stopV); ok {
		stop = s
	} else {
		return nil, fmt.Errorf("%s: for parameter stop: got %s, want float", fn.Name(), stopV.Type())
	}
	if step == 0 {
		return nil, fmt.Errorf("%s: step must not be 0", fn.Name())
	}
	n := int(math.Ceil((stop - start) / step))
	if n > 1<<26 {
		return nil, fmt.Errorf("%s: %d elements is too many", fn.Name(), n)
	}
	out := make([]float64, max(n, 0))
	for i := range out {
		out[i] = start + float64(i)*step
	}
	return host.Floats(out), nil
}

func argsort(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv starlark.Value
	reverse := false
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &xv, "reverse?", &reverse); err != nil {
		return nil, err
	}
	x, err := host.AsFloats(xv, fn.Name()+": x")
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if reverse {
			return x[idx[a]] > x[idx[b]]
		}
		return x[idx[a]] < x[idx[b]]
	})
	return host.Ints(idx), nil
}

func argExtreme(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, better func(a, b float64) bool) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err == nil {
		err = nonEmpty(fn, x)
	}
	if err != nil {
		return nil, err
	}
	best := 0
	for i, v := range x {
		if better(v, x[best]) {
			best = i
		}
	}
	return starlark.MakeInt(best), nil
}

func argmax(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return argExtreme(fn, args, kwargs, func(a, b float64) bool { return a > b })
}

func argmin(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return argExtreme(fn, args, kwargs, func(a, b float64) bool { return a < b })
}

func cumsum(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(x))
	floats.CumSum(out, x)
	return host.Floats(out), nil
}

func cumprod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, err := floatsArg(fn, args, kwargs, "x")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(x))
	floats.CumProd(out, x)
	return host.Floats(out), nil
}

func dot(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv, yv starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &xv, "y", &yv); err != nil {
		return nil, err
	}
	x, err := host.AsFloats(xv, fn.Name()+": x")
	if err != nil {
		return nil, err
	}
	y, err := host.AsFloats(yv, fn.Name()+": y")
	if err != nil {
		return nil, err
	}
	if len(x) != len(y) {
		return nil, fmt.Errorf("%s: lengths differ: len(x)=%d, len(y)=%d", fn.Name(), len(x), len(y))
	}
	return starlark.Float(floats.Dot(x, y)), nil
}

// DiscountedFutureSum returns out[t] = x[t] + gamma*out[t+1].
func DiscountedFutureSum(x []float64, gamma float64) []float64 {
	out := make([]float64, len(x))
	acc := 0.0
	for t := len(x) - 1; t >= 0; t-- {
		acc = x[t] + gamma*acc
		out[t] = acc
	}
	return out
}

func discountedFutureSum(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv starlark.Value
	var gammaN host.Number
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "rewards", &xv, "gamma", &gammaN); err != nil {
		return nil, err
	}
	gamma := float64(gammaN)
	x, err := host.AsFloats(xv, fn.Name()+": rewards")
	if err != nil {
		return nil, err
	}
	return host.Floats(DiscountedFutureSum(x, gamma)), nil
}

func percentile(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var xv starlark.Value
	var qN host.Number
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "x", &xv, "q", &qN); err != nil {
		return nil, err
	}
	q := float64(qN)
	x, err := host.AsFloats(xv, fn.Name()+": x")
	if err != nil {
		return nil, err
	}
	if err := nonEmpty(fn, x); err != nil {
		return nil, err
	}
	if q < 0 || q > 100 {
		return nil, fmt.Errorf("%s: q must be in [0, 100], got %v", fn.Name(), q)
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return starlark.Float(s[lo] + (s[hi]-s[lo])*(pos-float64(lo))), nil
}

func rng(seed int) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0)) }

// sizeArg returns -1 for size=None.
func sizeArg(fn *starlark.Builtin, v starlark.Value) (int, error) {
	if v == nil || v == starlark.None {
		return -1, nil
	}
	n, err := starlark.AsInt32(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: size must be None or a non-negative int, got %s", fn.Name(), v)
	}
	return n, nil
}

func randint(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var low, high, seed int
	var sizeV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "low", &low, "high", &high, "size?", &sizeV, "seed?", &seed); err != nil {
		return nil, err
	}
	if high <= low {
		return nil, fmt.Errorf("%s: high=%d must be above low=%d", fn.Name(), high, low)
	}
	size, err := sizeArg(fn, sizeV)
	if err != nil {
		return nil, err
	}
	r := rng(seed)
	draw := func() starlark.Value { return starlark.MakeInt(low + r.IntN(high-low)) }
	if size < 0 {
		return draw(), nil
	}
	out := make([]starlark.Value, size)
	for i := range out {
		out[i] = draw()
	}
	return starlark.NewList(out), nil
}

func random(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seed int
	var sizeV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "size?", &sizeV, "seed?", &seed); err != nil {
		return nil, err
	}
	size, err := sizeArg(fn, sizeV)
	if err != nil {
		return nil, err
	}
	r := rng(seed)
	if size < 0 {
		return starlark.Float(r.Float64()), nil
	}
	out := make([]float64, size)
	for i := range out {
		out[i] = r.Float64()
	}
	return host.Floats(out), nil
}

func sequence(fn *starlark.Builtin, v starlark.Value) ([]starlark.Value, error) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter items: got %s, want list or tuple", fn.Name(), v.Type())
	}
	out := make([]starlark.Value, seq.Len())
	for i := range out {
		out[i] = seq.Index(i)
	}
	return out, nil
}

func choice(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var itemsV starlark.Value
	var sizeV starlark.Value = starlark.None
	replace := true
	seed := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "items", &itemsV, "size?", &sizeV, "replace?", &replace, "seed?", &seed); err != nil {
		return nil, err
	}
	items, err := sequence(fn, itemsV)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: items is empty", fn.Name())
	}
	size, err := sizeArg(fn, sizeV)
	if err != nil {
		return nil, err
	}
	r := rng(seed)
	if size < 0 {
		return items[r.IntN(len(items))], nil
	}
	out := make([]starlark.Value, size)
	if replace {
		for i := range out {
			out[i] = items[r.IntN(len(items))]
		}
		return starlark.NewList(out), nil
	}
	if size > len(items) {
		return nil, fmt.Errorf("%s: cannot take %d items without replacement from %d", fn.Name(), size, len(items))
	}
	pool := append([]starlark.Value(nil), items...)
	for i := 0; i < size; i++ {
		j := i + r.IntN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
		out[i] = pool[i]
	}
	return starlark.NewList(out), nil
}

// Shuffle permutes xs in place: Fisher–Yates from the last index down with
// j = IntN(i+1) drawn from PCG(seed, 0).
func Shuffle[T any](xs []T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0))
	for i := len(xs) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
}

func shuffle(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var itemsV starlark.Value
	seed := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "items", &itemsV, "seed?", &seed); err != nil {
		return nil, err
	}
	items, err := sequence(fn, itemsV)
	if err != nil {
		return nil, err
	}
	Shuffle(items, uint64(seed))
	return starlark.NewList(items), nil
}
