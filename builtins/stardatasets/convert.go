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
	// Plain maps throughout, so rows have one representation.
	m, ok := host.PlainMaps(g).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %s", v.Type())
	}
	return m, nil
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
