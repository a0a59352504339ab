// Package starsupervised is the `supervised` Starlark module: the per-token
// work of supervised fine-tuning (rendering conversations into datums,
// batching, NLL metrics, LR schedules) done in Go for the Starlark loop in
// stdlib/supervised.star.
package starsupervised

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/supervised"
)

// Module is the supervised module.
var Module = &host.Module{
	Name: "supervised",
	Doc:  "Supervised fine-tuning helpers: conversations to datums, batched datasets, NLL metrics and LR schedules (the cookbook's supervised/data.py and common.py).",
	Funcs: []host.Func{
		{Name: "conversation_to_datum", Impl: conversationToDatum, Doc: `conversation_to_datum(messages, renderer, max_length=None, train_on_what="all_assistant_messages", reduction="mean") -> Datum

Renders a conversation with per-token weights, truncates it to max_length
tokens, shifts it (inputs = tokens[:-1], target_tokens = tokens[1:]) and
normalises the weights to sum 1 (reduction="mean", the cookbook's default)
or keeps them 0/1 (reduction="sum").`},
		{Name: "dataset", Impl: datasetFn, Doc: `dataset(rows, renderer, batch_size, max_length=None, train_on_what="all_assistant_messages", reduction="mean", seed=0) -> supervised_dataset

A batched supervised dataset over a datasets.dataset of {"messages": [...]}
rows (the cookbook's SupervisedDatasetFromHFDataset). Methods:
get_batch(i) -> list of Datum; set_epoch(epoch) reshuffles deterministically
(seed + epoch); num_batches; stats() -> {"truncated": n, "trained_tokens": n}.
Fails when the dataset is empty or smaller than one batch.`},
		{Name: "lr_multiplier", Impl: lrMultiplier, Doc: `lr_multiplier(schedule, step, total_steps) -> float

The LR schedule factor: "linear" (1 - step/total), "cosine"
(0.5 * (1 + cos(pi * step/total))) or "constant" (1).`},
		{Name: "nll", Impl: nllFn, Doc: `nll(output, data) -> (float, float)

(sum of -logprob*weight, sum of weight) for a forward or forward_backward
output and the datums it was computed on. Their ratio is the mean NLL; sum
over batches to evaluate a whole set.`},
		{Name: "mean_nll", Impl: meanNLL, Doc: `mean_nll(output, data) -> float

Weighted mean NLL of one batch (the cookbook's train_mean_nll).`},
	},
}

func conversationToDatum(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msgs, rend starlark.Value
	var maxLen starlark.Value = starlark.None
	tow, red := "all_assistant_messages", "mean"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "messages", &msgs, "renderer", &rend, "max_length?", &maxLen, "train_on_what?", &tow, "reduction?", &red); err != nil {
		return nil, err
	}
	b, err := newBuilder(fn.Name(), rend, maxLen, tow, red)
	if err != nil {
		return nil, err
	}
	m, err := messagesFromStarlark(msgs, fn.Name()+": messages")
	if err != nil {
		return nil, err
	}
	d, _, err := supervised.ConversationToDatum(b.renderer, m, b.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return startinker.NewDatum(d), nil
}

func lrMultiplier(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var schedule string
	var step, total int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "schedule", &schedule, "step", &step, "total_steps", &total); err != nil {
		return nil, err
	}
	m, err := supervised.LRMultiplier(schedule, step, total)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.Float(m), nil
}

func nllSums(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (float64, float64, error) {
	var outV, dataV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "output", &outV, "data", &dataV); err != nil {
		return 0, 0, err
	}
	out, ok := startinker.AsForwardBackwardOutput(outV)
	if !ok {
		return 0, 0, fmt.Errorf("%s: output: want a ForwardBackwardOutput (the result of forward or forward_backward), got %s", fn.Name(), outV.Type())
	}
	data, err := startinker.AsData(dataV, fn.Name()+": data")
	if err != nil {
		return 0, 0, err
	}
	return BatchNLL(out, data)
}

// BatchNLL pairs each datum's weights with the logprobs the service
// returned for it.
func BatchNLL(out *protocol.ForwardBackwardOutput, data []protocol.Datum) (float64, float64, error) {
	if len(out.LossFnOutputs) != len(data) {
		return 0, 0, fmt.Errorf("output has %d results for %d datums", len(out.LossFnOutputs), len(data))
	}
	lps := make([][]float32, len(data))
	ws := make([][]float32, len(data))
	for i, d := range data {
		lp, ok := out.LossFnOutputs[i]["logprobs"]
		if !ok {
			return 0, 0, fmt.Errorf("output %d has no logprobs", i)
		}
		w, ok := d.LossFnInputs["weights"]
		if !ok {
			return 0, 0, fmt.Errorf("datum %d has no weights", i)
		}
		lps[i], ws[i] = lp.Float32, w.Float32
	}
	return supervised.WeightedNLL(lps, ws)
}

func nllFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	nll, w, err := nllSums(fn, args, kwargs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.Tuple{starlark.Float(nll), starlark.Float(w)}, nil
}

func meanNLL(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	nll, w, err := nllSums(fn, args, kwargs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if w == 0 {
		return nil, fmt.Errorf("%s: the batch has no trained tokens (all weights are 0)", fn.Name())
	}
	return starlark.Float(nll / w), nil
}
