package stardatasets

import (
	"fmt"
	"io"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/datasets"
	"github.com/tkx-dev/tkx/host"
)

// ---- dataset (in memory) ----

// Dataset is the Starlark value of an in-memory *datasets.Dataset. It is
// immutable: every method returns a new value.
type Dataset struct{ ds *datasets.Dataset }

var (
	_ starlark.HasAttrs  = (*Dataset)(nil)
	_ starlark.Indexable = (*Dataset)(nil)
	_ starlark.Sequence  = (*Dataset)(nil)
)

// NewDataset wraps a Go dataset for scripts.
func NewDataset(ds *datasets.Dataset) *Dataset { return &Dataset{ds: ds} }

// Go returns the Go dataset.
func (d *Dataset) Go() *datasets.Dataset { return d.ds }

// AsDataset returns the Go dataset of a Starlark dataset value.
func AsDataset(v starlark.Value) (*datasets.Dataset, bool) {
	d, ok := v.(*Dataset)
	if !ok {
		return nil, false
	}
	return d.ds, true
}

func (d *Dataset) String() string {
	return fmt.Sprintf("<dataset %s: %d rows>", d.ds.Name(), d.ds.Len())
}
func (d *Dataset) Type() string          { return "dataset" }
func (d *Dataset) Freeze()               {}
func (d *Dataset) Truth() starlark.Bool  { return d.ds.Len() > 0 }
func (d *Dataset) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: dataset") }
func (d *Dataset) Len() int              { return d.ds.Len() }

// Index converts row i to a dict. A row that cannot be converted (it never
// happens for data read by this package) becomes None.
func (d *Dataset) Index(i int) starlark.Value {
	v, err := RowToStarlark(d.ds.Row(i))
	if err != nil {
		return starlark.None
	}
	return v
}

func (d *Dataset) Iterate() starlark.Iterator { return &dsIter{d: d} }

type dsIter struct {
	d *Dataset
	i int
}

func (it *dsIter) Next(p *starlark.Value) bool {
	if it.i >= it.d.Len() {
		return false
	}
	*p = it.d.Index(it.i)
	it.i++
	return true
}
func (it *dsIter) Done() {}

var datasetMethods = map[string]method{
	"shuffle":          dsShuffle,
	"take":             dsTake,
	"skip":             dsSkip,
	"select":           dsSelect,
	"filter":           dsFilter,
	"map":              dsMap,
	"concat":           dsConcat,
	"train_test_split": dsSplit,
	"batches":          dsBatches,
	"batcher":          dsBatcher,
	"to_list":          dsToList,
	"stream":           dsStream,
}

func (d *Dataset) AttrNames() []string { return methodNames(datasetMethods, "name", "streaming") }

func (d *Dataset) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(d.ds.Name()), nil
	case "streaming":
		return starlark.False, nil
	}
	if m, ok := datasetMethods[name]; ok {
		return boundMethod("dataset", name, d, m), nil
	}
	return nil, nil
}

func recvDataset(fn *starlark.Builtin) *datasets.Dataset { return fn.Receiver().(*Dataset).ds }

func dsShuffle(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	seed := starlark.MakeInt(0)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "seed?", &seed); err != nil {
		return nil, err
	}
	s, err := seedArg(fn, seed)
	if err != nil {
		return nil, err
	}
	return &Dataset{recvDataset(fn).Shuffle(s)}, nil
}

func dsTake(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	if err := nonNegative(fn, "n", n); err != nil {
		return nil, err
	}
	return &Dataset{recvDataset(fn).Take(n)}, nil
}

func dsSkip(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	if err := nonNegative(fn, "n", n); err != nil {
		return nil, err
	}
	return &Dataset{recvDataset(fn).Skip(n)}, nil
}

func dsSelect(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var idx starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "indices", &idx); err != nil {
		return nil, err
	}
	var positions []int
	iter, ok := idx.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: indices must be a list of ints, got %s", fn.Name(), idx.Type())
	}
	it := iter.Iterate()
	defer it.Done()
	var x starlark.Value
	for i := 0; it.Next(&x); i++ {
		n, err := starlark.AsInt32(x)
		if err != nil {
			return nil, fmt.Errorf("%s: indices[%d]: want int, got %s", fn.Name(), i, x.Type())
		}
		positions = append(positions, n)
	}
	ds, err := recvDataset(fn).Select(positions)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return &Dataset{ds}, nil
}

func dsFilter(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f); err != nil {
		return nil, err
	}
	ds, err := recvDataset(fn).Filter(keeper(thread, f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Dataset{ds}, nil
}

func dsMap(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f); err != nil {
		return nil, err
	}
	ds, err := recvDataset(fn).Map(mapper(thread, f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Dataset{ds}, nil
}

func dsConcat(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", fn.Name(), kwargs[0][0])
	}
	return concatValues(fn.Name(), fn.Receiver(), args)
}

func dsSplit(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var testSize int
	var seed starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "test_size", &testSize, "seed?", &seed); err != nil {
		return nil, err
	}
	ds := recvDataset(fn)
	if seed != starlark.None {
		si, ok := seed.(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("%s: seed must be an int or None, got %s", fn.Name(), seed.Type())
		}
		s, err := seedArg(fn, si)
		if err != nil {
			return nil, err
		}
		ds = ds.Shuffle(s)
	}
	train, test, err := ds.TrainTestSplit(testSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.Tuple{&Dataset{train}, &Dataset{test}}, nil
}

func dsBatches(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var size int
	dropLast := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "batch_size", &size, "drop_last?", &dropLast); err != nil {
		return nil, err
	}
	batches, err := recvDataset(fn).Batches(size, dropLast)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	out := make([]starlark.Value, len(batches))
	for i, b := range batches {
		l, err := rowsToList(b)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return starlark.NewList(out), nil
}

func dsBatcher(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var size int
	shuffle := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "batch_size", &size, "shuffle?", &shuffle); err != nil {
		return nil, err
	}
	b, err := datasets.NewBatcher(recvDataset(fn), size, shuffle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Batcher{b: b}, nil
}

func dsToList(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return rowsToList(recvDataset(fn).Rows())
}

func dsStream(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return &Stream{s: recvDataset(fn).Stream()}, nil
}

// ---- streaming_dataset ----

// Stream is the Starlark value of a *datasets.Stream. It is not iterable
// with `for` (a read error could not be reported); read it with
// .reader(), .batches(), .to_list(limit) or .collect().
//
// A filter or map function given to a stream runs lazily while the stream
// is read, on a thread of its own per pass (made by the same interpreter,
// with the caller's context), so a stream can be read from any thread.
type Stream struct{ s *datasets.Stream }

var _ starlark.HasAttrs = (*Stream)(nil)

// NewStream wraps a Go stream for scripts.
func NewStream(s *datasets.Stream) *Stream { return &Stream{s: s} }

// Go returns the Go stream.
func (s *Stream) Go() *datasets.Stream { return s.s }

func (s *Stream) String() string        { return fmt.Sprintf("<streaming_dataset %s>", s.s.Name()) }
func (s *Stream) Type() string          { return "streaming_dataset" }
func (s *Stream) Freeze()               {}
func (s *Stream) Truth() starlark.Bool  { return true }
func (s *Stream) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: streaming_dataset") }

var streamMethods = map[string]method{
	"shuffle": stShuffle,
	"take":    stTake,
	"skip":    stSkip,
	"filter":  stFilter,
	"map":     stMap,
	"concat":  stConcat,
	"batches": stBatches,
	"reader":  stReader,
	"to_list": stToList,
	"collect": stCollect,
}

func (s *Stream) AttrNames() []string { return methodNames(streamMethods, "name", "streaming") }

func (s *Stream) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(s.s.Name()), nil
	case "streaming":
		return starlark.True, nil
	}
	if m, ok := streamMethods[name]; ok {
		return boundMethod("streaming_dataset", name, s, m), nil
	}
	return nil, nil
}

func recvStream(fn *starlark.Builtin) *datasets.Stream { return fn.Receiver().(*Stream).s }

func stShuffle(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	seed := starlark.MakeInt(0)
	buffer := 1000
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "seed?", &seed, "buffer_size?", &buffer); err != nil {
		return nil, err
	}
	sd, err := seedArg(fn, seed)
	if err != nil {
		return nil, err
	}
	if buffer < 1 {
		return nil, fmt.Errorf("%s: buffer_size must be >= 1, got %d", fn.Name(), buffer)
	}
	return &Stream{recvStream(fn).Shuffle(sd, buffer)}, nil
}

func stTake(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	if err := nonNegative(fn, "n", n); err != nil {
		return nil, err
	}
	return &Stream{recvStream(fn).Take(n)}, nil
}

func stSkip(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	if err := nonNegative(fn, "n", n); err != nil {
		return nil, err
	}
	return &Stream{recvStream(fn).Skip(n)}, nil
}

func stFilter(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f); err != nil {
		return nil, err
	}
	return &Stream{recvStream(fn).Filter(func() (func(datasets.Row) (bool, error), func(), error) {
		th, release := passThread(thread, "datasets.filter")
		return keeper(th, f), release, nil
	})}, nil
}

func stMap(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f); err != nil {
		return nil, err
	}
	return &Stream{recvStream(fn).Map(func() (func(datasets.Row) (datasets.Row, error), func(), error) {
		th, release := passThread(thread, "datasets.map")
		return mapper(th, f), release, nil
	})}, nil
}

func stConcat(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", fn.Name(), kwargs[0][0])
	}
	return concatValues(fn.Name(), fn.Receiver(), args)
}

func stBatches(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var size int
	dropLast := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "batch_size", &size, "drop_last?", &dropLast); err != nil {
		return nil, err
	}
	bi, err := recvStream(fn).Batches(size, dropLast)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Reader{name: recvStream(fn).Name(), batches: bi}, nil
}

func stReader(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	it, err := recvStream(fn).Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Reader{name: recvStream(fn).Name(), rows: it}, nil
}

func stToList(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	limit := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "limit?", &limit); err != nil {
		return nil, err
	}
	it, err := recvStream(fn).Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	rows, err := iterRows(it, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.NewList(rows), nil
}

func stCollect(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	limit := 0
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "limit?", &limit); err != nil {
		return nil, err
	}
	ds, err := recvStream(fn).Collect(limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return &Dataset{ds}, nil
}

// ---- dataset_reader ----

// Reader reads one pass of a stream: rows with next(), or batches with
// next() when made by batches(). close() releases the file early.
type Reader struct {
	name    string
	rows    datasets.Iterator
	batches *datasets.BatchIterator
	done    bool
}

var _ starlark.HasAttrs = (*Reader)(nil)

func (r *Reader) String() string        { return fmt.Sprintf("<dataset_reader %s>", r.name) }
func (r *Reader) Type() string          { return "dataset_reader" }
func (r *Reader) Freeze()               {}
func (r *Reader) Truth() starlark.Bool  { return starlark.Bool(!r.done) }
func (r *Reader) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: dataset_reader") }

var readerMethods = map[string]method{"next": rdNext, "close": rdClose}

func (r *Reader) AttrNames() []string { return methodNames(readerMethods, "done") }
func (r *Reader) Attr(name string) (starlark.Value, error) {
	if name == "done" {
		return starlark.Bool(r.done), nil
	}
	if m, ok := readerMethods[name]; ok {
		return boundMethod("dataset_reader", name, r, m), nil
	}
	return nil, nil
}

func rdNext(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r := fn.Receiver().(*Reader)
	if r.done {
		return starlark.None, nil
	}
	if r.batches != nil {
		b, err := r.batches.Next()
		if err == io.EOF {
			r.done = true
			r.batches.Close()
			return starlark.None, nil
		}
		if err != nil {
			r.done = true
			r.batches.Close()
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		return rowsToList(b)
	}
	row, err := r.rows.Next()
	if err == io.EOF {
		r.done = true
		r.rows.Close()
		return starlark.None, nil
	}
	if err != nil {
		r.done = true
		r.rows.Close()
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return RowToStarlark(row)
}

func rdClose(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := fn.Receiver().(*Reader)
	r.done = true
	if r.batches != nil {
		r.batches.Close()
	} else if r.rows != nil {
		r.rows.Close()
	}
	return starlark.None, nil
}

// ---- batcher ----

// Batcher serves batches by global step over epochs (datasets.Batcher).
type Batcher struct{ b *datasets.Batcher }

var (
	_ starlark.HasAttrs = (*Batcher)(nil)
	_ starlark.Sequence = (*Batcher)(nil)
)

// AsBatcher returns the Go batcher of a Starlark batcher value.
func AsBatcher(v starlark.Value) (*datasets.Batcher, bool) {
	b, ok := v.(*Batcher)
	if !ok {
		return nil, false
	}
	return b.b, true
}

func (b *Batcher) String() string {
	return fmt.Sprintf("<batcher %s: %d batches of %d>", b.b.Dataset().Name(), b.b.Len(), b.b.BatchSize())
}
func (b *Batcher) Type() string          { return "batcher" }
func (b *Batcher) Freeze()               {}
func (b *Batcher) Truth() starlark.Bool  { return true }
func (b *Batcher) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: batcher") }
func (b *Batcher) Len() int              { return b.b.Len() }
func (b *Batcher) Iterate() starlark.Iterator {
	return &batchIter{b: b}
}

type batchIter struct {
	b *Batcher
	i int
}

func (it *batchIter) Next(p *starlark.Value) bool {
	if it.i >= it.b.b.Len() {
		return false
	}
	rows, err := it.b.b.Batch(it.i)
	if err != nil {
		return false
	}
	l, err := rowsToList(rows)
	if err != nil {
		return false
	}
	*p = l
	it.i++
	return true
}
func (it *batchIter) Done() {}

var batcherMethods = map[string]method{"get_batch": btGet, "set_epoch": btSetEpoch, "at": btAt}

func (b *Batcher) AttrNames() []string { return methodNames(batcherMethods, "batch_size", "dataset") }
func (b *Batcher) Attr(name string) (starlark.Value, error) {
	switch name {
	case "batch_size":
		return starlark.MakeInt(b.b.BatchSize()), nil
	case "dataset":
		return &Dataset{b.b.Dataset()}, nil
	}
	if m, ok := batcherMethods[name]; ok {
		return boundMethod("batcher", name, b, m), nil
	}
	return nil, nil
}

func btGet(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var i int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "index", &i); err != nil {
		return nil, err
	}
	rows, err := fn.Receiver().(*Batcher).b.Batch(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return rowsToList(rows)
}

func btSetEpoch(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	seed := starlark.MakeInt(0)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "seed", &seed); err != nil {
		return nil, err
	}
	s, err := seedArg(fn, seed)
	if err != nil {
		return nil, err
	}
	fn.Receiver().(*Batcher).b.SetEpoch(s)
	return starlark.None, nil
}

func btAt(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var step int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "step", &step); err != nil {
		return nil, err
	}
	rows, _, _, err := fn.Receiver().(*Batcher).b.At(step)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return rowsToList(rows)
}

// passThread makes the thread a lazy filter/map runs on during one pass of
// a stream: a new thread of the caller's interpreter bound to the caller's
// context (so cancelling the run stops it), or, for threads the host did
// not make, a plain thread sharing the caller's print.
func passThread(caller *starlark.Thread, name string) (*starlark.Thread, func()) {
	if in := host.InterpreterOf(caller); in != nil {
		return in.NewThread(host.Context(caller), name)
	}
	th := &starlark.Thread{Name: name, Print: caller.Print, Load: caller.Load}
	host.SetContext(th, host.Context(caller))
	return th, func() {}
}
