// Package stardatasets is the `datasets` Starlark module over package
// datasets: conversation JSONL files, Hugging Face datasets (Parquet/JSONL,
// local folder or hub cache), and dataset values with shuffle, take, skip,
// filter, map, concat, batches and epochs.
package stardatasets

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/datasets"
	"github.com/tkx-dev/tkx/datasets/synth"
	"github.com/tkx-dev/tkx/host"
)

// Module is the datasets module.
var Module = &host.Module{
	Name: "datasets",
	Doc: `Training data. Loaders return a dataset (in memory, random access:
len(ds), ds[i], for row in ds) or, with stream=True, a streaming_dataset
(read lazily, for data larger than memory: use .reader() or .batches()).
Rows are dicts; a conversation row is {"messages": [{"role", "content"}, ...]}.
Dataset methods return new datasets and never change the receiver.
shuffle(seed) gives the same order as Hugging Face datasets'
Dataset.shuffle(seed=seed) (NumPy PCG64 + Fisher–Yates).

dataset methods: shuffle(seed=0), take(n), skip(n), select(indices),
filter(fn), map(fn), concat(*others), train_test_split(test_size, seed=None)
-> (train, test) [test = the first test_size rows], batches(batch_size,
drop_last=True) -> list of lists, batcher(batch_size, shuffle=True) ->
batcher, to_list(), stream(); attributes name, streaming.
streaming_dataset methods: shuffle(seed=0, buffer_size=1000), take, skip,
filter, map, concat, reader() -> dataset_reader (next() -> row or None),
batches(batch_size, drop_last=True) -> dataset_reader (next() -> list or
None), to_list(limit=0), collect(limit=0) -> dataset.
batcher: len(b) full batches per epoch (last partial dropped), at(step) ->
rows of batch step % len(b) of the dataset shuffled with seed step // len(b)
(the cookbook's set_epoch), get_batch(i), set_epoch(seed).
Errors: an empty dataset or batch_size > rows fails with a clear message.`,
	Funcs: []host.Func{
		{Name: "from_jsonl", Impl: fromJSONL, Doc: `from_jsonl(path, on_error="skip", messages=True, stream=False) -> dataset

Reads a JSONL file (local path, file://, hf://datasets/ORG/NAME/FILE; .gz
is decompressed). With messages=True every line must be an object with a
valid "messages" list (the cookbook's conversation format). A bad line
(not JSON, not an object, no valid messages) is reported as FILE:LINE: why;
on_error="skip" prints the first few, skips them all and prints how many,
on_error="fail" stops with the first. A file with no good line fails.`},
		{Name: "from_hf", Impl: fromHF, Doc: `from_hf(name, split="train", config=None, revision="main", stream=False, on_error="skip") -> dataset

A Hugging Face dataset stored as Parquet or JSON lines: name is "org/name"
(read from the hub cache, downloaded with HF_TOKEN when missing), a local
folder, or hf://datasets/org/name. split is a split name with an optional
slice: "train", "test[:100]", "train[10%:]". config selects a subset.`},
		{Name: "from_list", Impl: fromList, Doc: `from_list(rows, name="list") -> dataset

A dataset of the given dicts (converted to plain data).`},
		{Name: "concat", Impl: concatFn, Doc: `concat(*datasets) -> dataset

The rows of every dataset in order (streaming if any input streams).`},
		{Name: "synthetic_chat", Impl: syntheticChat, Doc: `synthetic_chat(split="train") -> dataset

tkx's own small conversation set (capital cities, one-digit arithmetic,
opposites, colours, spelling, counting, greetings): 400 "train" and 100
held-out "test" chats, short enough for the local byte-level model. The same
rows as testdata/sl/{train,test}.jsonl.`},
	},
}

// ---- module functions ----

func warnFunc(thread *starlark.Thread, fn *starlark.Builtin) (func(*datasets.LineError), func(*datasets.Report)) {
	const shown = 5
	n := 0
	warn := func(e *datasets.LineError) {
		n++
		if n <= shown {
			printLine(thread, fmt.Sprintf("%s: warning: skipped %v", fn.Name(), e))
		}
	}
	summary := func(rep *datasets.Report) {
		if rep != nil && rep.Skipped > 0 {
			msg := fmt.Sprintf("%s: warning: %s: skipped %d bad line(s) of %d, kept %d rows", fn.Name(), rep.File, rep.Skipped, rep.Lines, rep.Rows)
			if rep.Skipped > shown {
				msg += fmt.Sprintf(" (the first %d are shown above)", shown)
			}
			printLine(thread, msg)
		}
	}
	return warn, summary
}

func printLine(thread *starlark.Thread, msg string) {
	if thread.Print != nil {
		thread.Print(thread, msg)
	} else {
		fmt.Println(msg)
	}
}

func fromJSONL(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, onError string = "", "skip"
	messages, stream := true, false
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path, "on_error?", &onError, "messages?", &messages, "stream?", &stream); err != nil {
		return nil, err
	}
	oe, err := datasets.ParseOnError(onError)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	warn, summary := warnFunc(thread, fn)
	opts := datasets.ReadOptions{OnError: oe, Conversations: messages, Warn: warn, Context: host.Context(thread)}
	if stream {
		s, _ := datasets.StreamJSONL(path, opts)
		return &Stream{s: s}, nil
	}
	var ds *datasets.Dataset
	var rep *datasets.Report
	if messages {
		ds, rep, err = datasets.FromConversationFile(path, opts)
	} else {
		ds, rep, err = datasets.ReadJSONL(path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	summary(rep)
	return &Dataset{ds: ds}, nil
}

func fromHF(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, split, revision, onError = "", "train", "main", "skip"
	var config starlark.Value = starlark.None
	stream := false
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "split?", &split, "config?", &config, "revision?", &revision, "stream?", &stream, "on_error?", &onError); err != nil {
		return nil, err
	}
	oe, err := datasets.ParseOnError(onError)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	cfg := ""
	if config != starlark.None {
		s, ok := starlark.AsString(config)
		if !ok {
			return nil, fmt.Errorf("%s: for parameter config: got %s, want string or None", fn.Name(), config.Type())
		}
		cfg = s
	}
	warn, _ := warnFunc(thread, fn)
	opts := datasets.HFOptions{Split: split, Config: cfg, Revision: revision, OnError: oe, Warn: warn, Context: host.Context(thread)}
	if stream {
		s, err := datasets.StreamHF(name, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		return &Stream{s: s}, nil
	}
	ds, err := datasets.FromHF(name, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Dataset{ds: ds}, nil
}

func fromList(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rows starlark.Iterable
	name := "list"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "rows", &rows, "name?", &name); err != nil {
		return nil, err
	}
	var out []datasets.Row
	it := rows.Iterate()
	defer it.Done()
	var x starlark.Value
	for i := 0; it.Next(&x); i++ {
		r, err := RowFromStarlark(x)
		if err != nil {
			return nil, fmt.Errorf("%s: rows[%d]: %v", fn.Name(), i, err)
		}
		out = append(out, r)
	}
	return &Dataset{ds: datasets.New(name, out)}, nil
}

func syntheticChat(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	split := "train"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "split?", &split); err != nil {
		return nil, err
	}
	train, test := synth.Generate(synth.DefaultSeed, synth.TrainSize, synth.TestSize)
	switch split {
	case "train":
		return &Dataset{ds: datasets.New("synthetic_chat:train", train)}, nil
	case "test":
		return &Dataset{ds: datasets.New("synthetic_chat:test", test)}, nil
	}
	return nil, fmt.Errorf("%s: split must be \"train\" or \"test\", got %q", fn.Name(), split)
}

func concatFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", fn.Name(), kwargs[0][0])
	}
	return concatValues(fn.Name(), nil, args)
}

func concatValues(name string, first starlark.Value, rest starlark.Tuple) (starlark.Value, error) {
	all := rest
	if first != nil {
		all = append(starlark.Tuple{first}, rest...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: need at least one dataset", name)
	}
	var mems []*datasets.Dataset
	var srcs []datasets.Source
	streaming := false
	for i, v := range all {
		switch d := v.(type) {
		case *Dataset:
			mems = append(mems, d.ds)
			srcs = append(srcs, d.ds)
		case *Stream:
			streaming = true
			srcs = append(srcs, d.s)
		default:
			return nil, fmt.Errorf("%s: argument %d is %s, want dataset", name, i+1, v.Type())
		}
	}
	if streaming {
		return &Stream{s: datasets.ConcatStreams(srcs...)}, nil
	}
	return &Dataset{ds: datasets.Concat(mems...)}, nil
}

// ---- Starlark callbacks ----

// rowFunc wraps a Starlark function of one row.
func callRow(thread *starlark.Thread, f starlark.Callable, r datasets.Row) (starlark.Value, error) {
	v, err := RowToStarlark(r)
	if err != nil {
		return nil, err
	}
	return starlark.Call(thread, f, starlark.Tuple{v}, nil)
}

func mapper(thread *starlark.Thread, f starlark.Callable) func(datasets.Row) (datasets.Row, error) {
	return func(r datasets.Row) (datasets.Row, error) {
		out, err := callRow(thread, f, r)
		if err != nil {
			return nil, err
		}
		row, err := RowFromStarlark(out)
		if err != nil {
			return nil, fmt.Errorf("%s returned %s, want a dict", f.Name(), out.Type())
		}
		return row, nil
	}
}

func keeper(thread *starlark.Thread, f starlark.Callable) func(datasets.Row) (bool, error) {
	return func(r datasets.Row) (bool, error) {
		out, err := callRow(thread, f, r)
		if err != nil {
			return false, err
		}
		b, ok := out.(starlark.Bool)
		if !ok {
			return false, fmt.Errorf("%s returned %s, want bool", f.Name(), out.Type())
		}
		return bool(b), nil
	}
}

// ---- method plumbing ----

type method func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

func methodNames(m map[string]method, extra ...string) []string {
	names := append([]string(nil), extra...)
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func boundMethod(typ, name string, recv starlark.Value, m method) starlark.Value {
	return starlark.NewBuiltin(typ+"."+name, m).BindReceiver(recv)
}

func nonNegative(fn *starlark.Builtin, what string, n int) error {
	if n < 0 {
		return fmt.Errorf("%s: %s must be >= 0, got %d", fn.Name(), what, n)
	}
	return nil
}

func seedArg(fn *starlark.Builtin, v starlark.Int) (uint64, error) {
	s, ok := v.Uint64()
	if !ok {
		return 0, fmt.Errorf("%s: seed must be a non-negative int < 2**64, got %s", fn.Name(), v)
	}
	return s, nil
}

var errStop = errors.New("stop")

// iterRows reads a Go iterator to the end into Starlark dicts.
func iterRows(it datasets.Iterator, limit int) ([]starlark.Value, error) {
	defer it.Close()
	var out []starlark.Value
	for limit <= 0 || len(out) < limit {
		r, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		v, err := RowToStarlark(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
