package stardatasets

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/datasets"
	"github.com/tkx-dev/tkx/host"
)

// RowToStarlark converts a dataset row to a Starlark dict (keys sorted).
func RowToStarlark(r datasets.Row) (starlark.Value, error) {
	return host.ToStarlark(r)
}

// RowFromStarlark converts a Starlark dict (or struct) to a row.
func RowFromStarlark(v starlark.Value) (datasets.Row, error) {
	g, err := host.FromStarlark(v)
	if err != nil {
		return nil, err
	}
	m, ok := plain(g).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %s", v.Type())
	}
	return m, nil
}

// plain turns *host.OrderedMap (what dicts convert to) into map[string]any,
// recursively, so rows have one representation.
func plain(v any) any {
	switch x := v.(type) {
	case *host.OrderedMap:
		m := make(map[string]any, x.Len())
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			m[k] = plain(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
		return x
	}
	return v
}

func rowsToList(rows []datasets.Row) (*starlark.List, error) {
	out := make([]starlark.Value, len(rows))
	for i, r := range rows {
		v, err := RowToStarlark(r)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out[i] = v
	}
	return starlark.NewList(out), nil
}
