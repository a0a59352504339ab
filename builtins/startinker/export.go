package startinker

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/tinker"
)

// Accessors for other builtin modules (supervised, rl) that build or read
// tinker values in Go.

// NewDatum wraps a protocol datum as a Starlark tinker Datum.
func NewDatum(d protocol.Datum) starlark.Value { return newDatum(d) }

// AsData reads a Starlark list of Datum values.
func AsData(v starlark.Value, what string) ([]protocol.Datum, error) { return asData(v, what) }

// AsModelInput reads a ModelInput (or a list of token ids).
func AsModelInput(v starlark.Value, what string) (protocol.ModelInput, error) {
	return asModelInput(v, what)
}

// NewModelInput wraps a protocol model input.
func NewModelInput(m protocol.ModelInput) starlark.Value { return newModelInput(m) }

// AsForwardBackwardOutput returns the Go result behind a
// ForwardBackwardOutput value.
func AsForwardBackwardOutput(v starlark.Value) (*protocol.ForwardBackwardOutput, bool) {
	o, ok := v.(*object)
	if !ok {
		return nil, false
	}
	out, ok := o.payload.(*protocol.ForwardBackwardOutput)
	return out, ok
}

// AsSamplingClient returns the Go client behind a SamplingClient value.
func AsSamplingClient(v starlark.Value) (*tinker.SamplingClient, bool) {
	o, ok := v.(*object)
	if !ok {
		return nil, false
	}
	s, ok := o.payload.(*tinker.SamplingClient)
	return s, ok
}

// AsTrainingClient returns the Go client behind a TrainingClient value.
func AsTrainingClient(v starlark.Value) (*tinker.TrainingClient, bool) {
	o, ok := v.(*object)
	if !ok {
		return nil, false
	}
	s, ok := o.payload.(*tinker.TrainingClient)
	return s, ok
}

func isLocalFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var baseV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "base_url?", &baseV); err != nil {
		return nil, err
	}
	opts := tinker.OptionsFromEnv()
	if s, ok := starlark.AsString(baseV); ok && s != "" {
		opts.BaseURL = s
	} else if baseV != starlark.None {
		return nil, fmt.Errorf("%s: base_url: want a string or None, got %s", fn.Name(), baseV.Type())
	}
	return starlark.Bool(tinker.WantsLocal(opts.BaseURL, opts.APIKey)), nil
}
