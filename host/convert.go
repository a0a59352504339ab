package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// This file is the one conversion layer between Go and Starlark values used
// by every builtin. Rules:
//   - Starlark dicts become *OrderedMap (insertion order kept); Go maps become
//     dicts with keys sorted, so scripts are deterministic;
//   - ints that do not fit int64 are rejected, never truncated;
//   - cycles (a list containing itself) are detected and reported.

// OrderedMap is a string-keyed map that remembers insertion order; it
// marshals to JSON in that order.
type OrderedMap struct {
	keys   []string
	values map[string]any
}

// Set adds or replaces a key (a replaced key keeps its position).
func (m *OrderedMap) Set(k string, v any) {
	if m.values == nil {
		m.values = map[string]any{}
	}
	if _, ok := m.values[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.values[k] = v
}

// Get returns the value of k.
func (m *OrderedMap) Get(k string) (any, bool) {
	v, ok := m.values[k]
	return v, ok
}

// Keys returns the keys in insertion order.
func (m *OrderedMap) Keys() []string { return append([]string(nil), m.keys...) }

// Len is the number of keys.
func (m *OrderedMap) Len() int { return len(m.keys) }

// MarshalJSON writes the keys in insertion order.
func (m *OrderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.values[k])
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// FromStarlark converts a Starlark value to plain Go data: nil, bool,
// int64, float64, string, []byte, []any, *OrderedMap. Values that know
// how to convert themselves (ToGo) do so.
func FromStarlark(v starlark.Value) (any, error) {
	return fromStarlark(v, map[starlark.Value]bool{}, "")
}

type goConvertible interface{ ToGo() (*OrderedMap, error) }

// PlainMaps turns every *OrderedMap in v (what FromStarlark makes of a dict),
// recursively through []any, into map[string]any, for Go APIs that take
// plain maps. Slices are converted in place.
func PlainMaps(v any) any {
	switch x := v.(type) {
	case *OrderedMap:
		m := make(map[string]any, x.Len())
		for _, k := range x.keys {
			m[k] = PlainMaps(x.values[k])
		}
		return m
	case []any:
		for i := range x {
			x[i] = PlainMaps(x[i])
		}
	}
	return v
}

func fromStarlark(v starlark.Value, seen map[starlark.Value]bool, path string) (any, error) {
	at := func() string {
		if path == "" {
			return ""
		}
		return " at " + path
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s%s overflows int64", x, at())
		}
		return n, nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return []byte(x), nil
	case goConvertible:
		return x.ToGo()
	case *starlark.List, starlark.Tuple:
		if l, ok := x.(*starlark.List); ok {
			if seen[l] {
				return nil, fmt.Errorf("cycle%s: a list contains itself", at())
			}
			seen[l] = true
			defer delete(seen, l)
		}
		seq := x.(starlark.Indexable)
		out := make([]any, seq.Len())
		for i := range out {
			e, err := fromStarlark(seq.Index(i), seen, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case *starlark.Dict:
		if seen[x] {
			return nil, fmt.Errorf("cycle%s: a dict contains itself", at())
		}
		seen[x] = true
		defer delete(seen, x)
		m := &OrderedMap{}
		for _, kv := range x.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s%s: keys must be strings, got %s", kv[0], at(), kv[0].Type())
			}
			e, err := fromStarlark(kv[1], seen, path+"."+string(k))
			if err != nil {
				return nil, err
			}
			m.Set(string(k), e)
		}
		return m, nil
	case *starlarkstruct.Struct:
		m := &OrderedMap{}
		for _, name := range x.AttrNames() {
			a, _ := x.Attr(name)
			e, err := fromStarlark(a, seen, path+"."+name)
			if err != nil {
				return nil, err
			}
			m.Set(name, e)
		}
		return m, nil
	case *starlark.Set:
		out := []any{}
		iter := x.Iterate()
		defer iter.Done()
		var e starlark.Value
		for iter.Next(&e) {
			g, err := fromStarlark(e, seen, path+"{}")
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert %s%s to data", v.Type(), at())
}

// ToStarlark converts Go data to a Starlark value. Supported: nil, bools,
// all integer and float kinds, strings, []byte, slices, arrays, maps with
// string keys (sorted), *OrderedMap (ordered), structs (exported fields in
// order, named by their json tag) and starlark.Value (returned as is).
func ToStarlark(v any) (starlark.Value, error) {
	return toStarlark(reflect.ValueOf(v), 0)
}

const maxDepth = 1000

func toStarlark(rv reflect.Value, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels (a cycle?)", maxDepth)
	}
	if !rv.IsValid() {
		return starlark.None, nil
	}
	if rv.CanInterface() {
		switch x := rv.Interface().(type) {
		case starlark.Value:
			return x, nil
		case *OrderedMap:
			if x == nil {
				return starlark.None, nil
			}
			d := starlark.NewDict(x.Len())
			for _, k := range x.keys {
				e, err := toStarlark(reflect.ValueOf(x.values[k]), depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				_ = d.SetKey(starlark.String(k), e)
			}
			return d, nil
		case []byte:
			return starlark.Bytes(x), nil
		case *big.Int:
			return starlark.MakeBigInt(x), nil
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return starlark.MakeInt64(n), nil
			}
			f, err := x.Float64()
			return starlark.Float(f), err
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return starlark.Bool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return starlark.MakeInt64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return starlark.MakeUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return starlark.Float(rv.Float()), nil
	case reflect.String:
		return starlark.String(rv.String()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return starlark.None, nil
		}
		return toStarlark(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return starlark.NewList(nil), nil
		}
		elems := make([]starlark.Value, rv.Len())
		for i := range elems {
			e, err := toStarlark(rv.Index(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = e
		}
		return starlark.NewList(elems), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, got %s", rv.Type().Key())
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			e, err := toStarlark(rv.MapIndex(k), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.String(), err)
			}
			_ = d.SetKey(starlark.String(k.String()), e)
		}
		return d, nil
	case reflect.Struct:
		t := rv.Type()
		d := starlark.NewDict(t.NumField())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			omitEmpty := false
			if tag, ok := f.Tag.Lookup("json"); ok {
				n, opts, _ := strings.Cut(tag, ",")
				if n == "-" {
					continue
				}
				if n != "" {
					name = n
				}
				omitEmpty = strings.Contains(opts, "omitempty")
			}
			fv := rv.Field(i)
			if omitEmpty && fv.IsZero() {
				continue
			}
			e, err := toStarlark(fv, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			_ = d.SetKey(starlark.String(name), e)
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert Go %s to Starlark", rv.Type())
}

// AsInts converts a Starlark sequence of ints to []int.
func AsInts(v starlark.Value, what string) ([]int, error) {
	seq, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of int, got %s", what, v.Type())
	}
	var out []int
	iter := seq.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		n, err := starlark.AsInt32(x)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: want int, got %s", what, i, x.Type())
		}
		out = append(out, n)
	}
	return out, nil
}

// AsFloats converts a Starlark sequence of numbers to []float64.
func AsFloats(v starlark.Value, what string) ([]float64, error) {
	seq, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of numbers, got %s", what, v.Type())
	}
	var out []float64
	iter := seq.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		f, ok := starlark.AsFloat(x)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: want a number, got %s", what, i, x.Type())
		}
		out = append(out, f)
	}
	return out, nil
}

// AsStrings converts a Starlark sequence of strings to []string.
func AsStrings(v starlark.Value, what string) ([]string, error) {
	seq, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of string, got %s", what, v.Type())
	}
	var out []string
	iter := seq.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		s, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: want string, got %s", what, i, x.Type())
		}
		out = append(out, s)
	}
	return out, nil
}

// Floats returns a Starlark list of floats.
func Floats[T float32 | float64](xs []T) *starlark.List {
	out := make([]starlark.Value, len(xs))
	for i, x := range xs {
		out[i] = starlark.Float(x)
	}
	return starlark.NewList(out)
}

// Ints returns a Starlark list of ints.
func Ints[T int | int32 | int64](xs []T) *starlark.List {
	out := make([]starlark.Value, len(xs))
	for i, x := range xs {
		out[i] = starlark.MakeInt64(int64(x))
	}
	return starlark.NewList(out)
}

// FiniteFloat checks that a float is not NaN or infinite.
func FiniteFloat(x float64, what string) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%s: want a finite number, got %v", what, x)
	}
	return nil
}

// Number is an argument that accepts an int or a float (UnpackArgs into
// *float64 rejects ints): starlark.UnpackArgs(..., "lr", &n) with n Number.
type Number float64

// Unpack implements starlark.Unpacker.
func (n *Number) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want float", v.Type())
	}
	*n = Number(f)
	return nil
}
