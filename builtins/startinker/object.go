package startinker

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// object is the host type behind every tinker value: a type name, a Go
// payload, attributes computed on access (fields and bound methods) and a
// readable repr. Objects are immutable from Starlark.
type object struct {
	typ     string
	payload any
	fields  []string // attribute names that are fields (in repr order)
	methods map[string]*starlark.Builtin
	get     func(name string) (starlark.Value, bool, error)
	repr    func() string
}

var (
	_ starlark.Value    = (*object)(nil)
	_ starlark.HasAttrs = (*object)(nil)
)

func (o *object) String() string {
	if o.repr != nil {
		return o.repr()
	}
	var b strings.Builder
	b.WriteString(o.typ)
	b.WriteByte('(')
	for i, f := range o.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		v, _ := o.Attr(f)
		b.WriteString(f)
		b.WriteByte('=')
		b.WriteString(shortRepr(v))
	}
	b.WriteByte(')')
	return b.String()
}

func (o *object) Type() string         { return o.typ }
func (o *object) Freeze()              {}
func (o *object) Truth() starlark.Bool { return true }
func (o *object) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", o.typ)
}

func (o *object) Attr(name string) (starlark.Value, error) {
	if m, ok := o.methods[name]; ok {
		return m, nil
	}
	if o.get != nil {
		v, ok, err := o.get(name)
		if err != nil {
			return nil, err
		}
		if ok {
			return v, nil
		}
	}
	return nil, nil // starlark reports "has no .name field or method"
}

func (o *object) AttrNames() []string {
	names := append([]string(nil), o.fields...)
	for m := range o.methods {
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}

// method makes a builtin named "Type.name".
func (o *object) method(name string, impl func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) {
	if o.methods == nil {
		o.methods = map[string]*starlark.Builtin{}
	}
	o.methods[name] = starlark.NewBuiltin(o.typ+"."+name, impl)
}

// record makes an object whose fields are fixed values.
func record(typ string, payload any, kv ...any) *object {
	vals := map[string]starlark.Value{}
	var names []string
	for i := 0; i+1 < len(kv); i += 2 {
		n := kv[i].(string)
		names = append(names, n)
		vals[n] = kv[i+1].(starlark.Value)
	}
	return &object{typ: typ, payload: payload, fields: names, get: func(name string) (starlark.Value, bool, error) {
		v, ok := vals[name]
		return v, ok, nil
	}}
}

// shortRepr renders v, eliding long lists as [a, b, c, … (n=512)].
func shortRepr(v starlark.Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *starlark.List:
		return seqRepr("[", "]", x.Len(), x.Index)
	case starlark.Tuple:
		return seqRepr("(", ")", x.Len(), x.Index)
	case *starlark.Dict:
		var b strings.Builder
		b.WriteByte('{')
		for i, kv := range x.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == 8 {
				fmt.Fprintf(&b, "… (n=%d)", x.Len())
				break
			}
			b.WriteString(kv[0].String())
			b.WriteString(": ")
			b.WriteString(shortRepr(kv[1]))
		}
		b.WriteByte('}')
		return b.String()
	case starlark.Float:
		return floatRepr(float64(x))
	}
	return v.String()
}

func seqRepr(open, close string, n int, at func(int) starlark.Value) string {
	const max = 8
	var b strings.Builder
	b.WriteString(open)
	for i := 0; i < n && i < max; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(shortRepr(at(i)))
	}
	if n > max {
		fmt.Fprintf(&b, ", … (n=%d)", n)
	}
	b.WriteString(close)
	return b.String()
}

func floatRepr(f float64) string {
	if math.IsNaN(f) {
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', 6, 64)
	if !strings.ContainsAny(s, ".eInf") {
		s += ".0"
	}
	return s
}

// nullableFloatList maps NaN to None (prompt logprobs).
func nullableFloatList[T float32 | float64](xs []T) *starlark.List {
	out := make([]starlark.Value, len(xs))
	for i, x := range xs {
		if x != x {
			out[i] = starlark.None
		} else {
			out[i] = starlark.Float(x)
		}
	}
	return starlark.NewList(out)
}

func metricsDict(m map[string]float64) *starlark.Dict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.Float(m[k]))
	}
	return d
}

func optInt(p *int) starlark.Value {
	if p == nil {
		return starlark.None
	}
	return starlark.MakeInt(*p)
}

func optStr(s string) starlark.Value {
	if s == "" {
		return starlark.None
	}
	return starlark.String(s)
}

// typeCtor is a callable type object such as tinker.ModelInput: calling it
// constructs a value, and it carries static constructors as attributes
// (tinker.ModelInput.from_ints), like the SDK's pydantic classes.
type typeCtor struct {
	name    string
	call    *starlark.Builtin
	statics map[string]*starlark.Builtin
}

var (
	_ starlark.Callable = (*typeCtor)(nil)
	_ starlark.HasAttrs = (*typeCtor)(nil)
)

func newTypeCtor(name string, impl builtinFn, statics map[string]builtinFn) *typeCtor {
	t := &typeCtor{name: name, call: starlark.NewBuiltin("tinker."+name, impl), statics: map[string]*starlark.Builtin{}}
	for k, f := range statics {
		t.statics[k] = starlark.NewBuiltin("tinker."+name+"."+k, f)
	}
	return t
}

func (t *typeCtor) String() string        { return "<type tinker." + t.name + ">" }
func (t *typeCtor) Type() string          { return "type" }
func (t *typeCtor) Freeze()               {}
func (t *typeCtor) Truth() starlark.Bool  { return true }
func (t *typeCtor) Hash() (uint32, error) { return starlark.String(t.name).Hash() }
func (t *typeCtor) Name() string          { return t.name }
func (t *typeCtor) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return starlark.Call(thread, t.call, args, kwargs)
}
func (t *typeCtor) Attr(name string) (starlark.Value, error) {
	if b, ok := t.statics[name]; ok {
		return b, nil
	}
	return nil, nil
}
func (t *typeCtor) AttrNames() []string {
	names := make([]string, 0, len(t.statics))
	for k := range t.statics {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
