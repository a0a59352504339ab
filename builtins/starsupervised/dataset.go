package starsupervised

import (
	"encoding/json"
	"fmt"
	"sync"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/stardatasets"
	"github.com/tkx-dev/tkx/builtins/starrenderers"
	"github.com/tkx-dev/tkx/builtins/startinker"
	"github.com/tkx-dev/tkx/datasets"
	"github.com/tkx-dev/tkx/protocol"
	"github.com/tkx-dev/tkx/renderers"
	"github.com/tkx-dev/tkx/supervised"
)

// builder holds what turns conversations into datums.
type builder struct {
	renderer renderers.Renderer
	opts     supervised.Options
}

func newBuilder(fnName string, rend, maxLen starlark.Value, tow, red string) (*builder, error) {
	r, ok := starrenderers.AsRenderer(rend)
	if !ok {
		return nil, fmt.Errorf("%s: renderer: want a renderer (renderers.get(name, tokenizer)), got %s", fnName, rend.Type())
	}
	t, err := renderers.ParseTrainOnWhat(tow)
	if err != nil {
		return nil, fmt.Errorf("%s: train_on_what: %w", fnName, err)
	}
	b := &builder{renderer: r, opts: supervised.Options{TrainOnWhat: t, Reduction: supervised.Reduction(red)}}
	if red != string(supervised.ReduceMean) && red != string(supervised.ReduceSum) {
		return nil, fmt.Errorf("%s: reduction: want \"mean\" or \"sum\", got %q", fnName, red)
	}
	if maxLen != starlark.None {
		n, err := starlark.AsInt32(maxLen)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("%s: max_length: want None or an int >= 2, got %s", fnName, maxLen)
		}
		b.opts.MaxLength = n
	}
	return b, nil
}

func messagesFromStarlark(v starlark.Value, what string) ([]renderers.Message, error) {
	return starrenderers.MessagesFromStarlark(v, what)
}

// messagesFromRow reads the "messages" field of a dataset row.
func messagesFromRow(row datasets.Row) ([]renderers.Message, error) {
	raw, ok := row["messages"]
	if !ok {
		return nil, fmt.Errorf("row has no \"messages\" field")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("\"messages\" is a %T, want a list", raw)
	}
	out := make([]renderers.Message, len(list))
	for i, m := range list {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if out[i], err = renderers.MessageFromJSON(b); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return out, nil
}

// Dataset is a batched supervised dataset (the value of supervised.dataset).
type Dataset struct {
	b       *builder
	batcher *datasets.Batcher
	seed    uint64

	bmu sync.Mutex // guards batcher (epoch order)

	mu            sync.Mutex
	truncated     int
	trainedTokens int
}

var _ starlark.HasAttrs = (*Dataset)(nil)

func datasetFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rowsV, rend starlark.Value
	var batchSize int
	var maxLen starlark.Value = starlark.None
	tow, red := "all_assistant_messages", "mean"
	seed := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "rows", &rowsV, "renderer", &rend, "batch_size", &batchSize,
		"max_length?", &maxLen, "train_on_what?", &tow, "reduction?", &red, "seed?", &seed); err != nil {
		return nil, err
	}
	ds, ok := stardatasets.AsDataset(rowsV)
	if !ok {
		return nil, fmt.Errorf("%s: rows: want a datasets.dataset (in memory; collect a stream first), got %s", fn.Name(), rowsV.Type())
	}
	if batchSize <= 0 {
		return nil, fmt.Errorf("%s: batch_size must be positive, got %d", fn.Name(), batchSize)
	}
	b, err := newBuilder(fn.Name(), rend, maxLen, tow, red)
	if err != nil {
		return nil, err
	}
	batcher, err := datasets.NewBatcher(ds, batchSize, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	d := &Dataset{b: b, batcher: batcher, seed: uint64(seed)}
	batcher.SetEpoch(d.seed)
	return d, nil
}

func (d *Dataset) String() string {
	return fmt.Sprintf("supervised_dataset(%d rows, batch_size=%d, renderer=%s)", d.batcher.Dataset().Len(), d.batcher.BatchSize(), d.b.renderer.Name())
}
func (d *Dataset) Type() string          { return "supervised_dataset" }
func (d *Dataset) Freeze()               {}
func (d *Dataset) Truth() starlark.Bool  { return true }
func (d *Dataset) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: supervised_dataset") }

func (d *Dataset) AttrNames() []string {
	return []string{"batch_size", "get_batch", "num_batches", "set_epoch", "stats"}
}

func (d *Dataset) Attr(name string) (starlark.Value, error) {
	switch name {
	case "num_batches":
		return starlark.MakeInt(d.batcher.Len()), nil
	case "batch_size":
		return starlark.MakeInt(d.batcher.BatchSize()), nil
	case "get_batch":
		return starlark.NewBuiltin("supervised_dataset.get_batch", d.getBatch), nil
	case "set_epoch":
		return starlark.NewBuiltin("supervised_dataset.set_epoch", d.setEpoch), nil
	case "stats":
		return starlark.NewBuiltin("supervised_dataset.stats", d.stats), nil
	}
	return nil, nil
}

// Batch renders batch i of the current epoch.
func (d *Dataset) Batch(i int) ([]protocol.Datum, error) {
	d.bmu.Lock()
	rows, err := d.batcher.Batch(i)
	d.bmu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Datum, len(rows))
	for j, row := range rows {
		msgs, err := messagesFromRow(row)
		if err != nil {
			return nil, fmt.Errorf("batch %d, row %d: %w", i, j, err)
		}
		datum, st, err := supervised.ConversationToDatum(d.b.renderer, msgs, d.b.opts)
		if err != nil {
			return nil, fmt.Errorf("batch %d, row %d: %w", i, j, err)
		}
		d.mu.Lock()
		if st.Truncated {
			d.truncated++
		}
		d.trainedTokens += st.TrainedTokens
		d.mu.Unlock()
		out[j] = datum
	}
	return out, nil
}

func (d *Dataset) getBatch(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var i int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "index", &i); err != nil {
		return nil, err
	}
	if i < 0 || i >= d.batcher.Len() {
		return nil, fmt.Errorf("%s: index %d out of range [0, %d)", fn.Name(), i, d.batcher.Len())
	}
	data, err := d.Batch(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	vals := make([]starlark.Value, len(data))
	for j, x := range data {
		vals[j] = startinker.NewDatum(x)
	}
	return starlark.NewList(vals), nil
}

func (d *Dataset) setEpoch(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var epoch int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "epoch", &epoch); err != nil {
		return nil, err
	}
	if epoch < 0 {
		return nil, fmt.Errorf("%s: epoch must be >= 0, got %d", fn.Name(), epoch)
	}
	d.bmu.Lock()
	d.batcher.SetEpoch(d.seed + uint64(epoch))
	d.bmu.Unlock()
	return starlark.None, nil
}

func (d *Dataset) stats(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := starlark.NewDict(2)
	out.SetKey(starlark.String("truncated"), starlark.MakeInt(d.truncated))
	out.SetKey(starlark.String("trained_tokens"), starlark.MakeInt(d.trainedTokens))
	return out, nil
}
