package datasets

import (
	"errors"
	"fmt"
	"io"
)

// Iterator yields rows one at a time. Next returns io.EOF after the last
// row. Close releases files; it is safe to call more than once.
type Iterator interface {
	Next() (Row, error)
	Close() error
}

// Source is anything that can be read from the start, any number of times.
// Both *Dataset and *Stream are Sources.
type Source interface {
	Name() string
	Open() (Iterator, error)
}

// ErrEmpty is returned (wrapped) when an operation needs at least one row.
var ErrEmpty = errors.New("dataset is empty")

// Dataset is an in-memory, random-access list of rows. Its methods never
// modify it; they return new datasets that share rows.
type Dataset struct {
	name string
	rows []Row
	idx  []int // nil means 0..len(rows)-1
}

// New returns a dataset over rows (not copied). name shows in errors.
func New(name string, rows []Row) *Dataset {
	return &Dataset{name: name, rows: rows}
}

// Name identifies the dataset in messages (file path, hub name, …).
func (d *Dataset) Name() string { return d.name }

// WithName returns the same rows under another name.
func (d *Dataset) WithName(name string) *Dataset {
	c := *d
	c.name = name
	return &c
}

// Len is the number of rows.
func (d *Dataset) Len() int {
	if d.idx != nil {
		return len(d.idx)
	}
	return len(d.rows)
}

// Row returns row i, 0 <= i < Len(). It panics on a bad index like a slice.
func (d *Dataset) Row(i int) Row {
	if d.idx != nil {
		return d.rows[d.idx[i]]
	}
	return d.rows[i]
}

// Rows returns all rows in order (a new slice; the rows are shared).
func (d *Dataset) Rows() []Row {
	out := make([]Row, d.Len())
	for i := range out {
		out[i] = d.Row(i)
	}
	return out
}

func (d *Dataset) indices() []int {
	if d.idx != nil {
		return d.idx
	}
	idx := make([]int, len(d.rows))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func (d *Dataset) view(idx []int) *Dataset {
	if idx == nil {
		idx = []int{} // nil would mean "all rows"
	}
	return &Dataset{name: d.name, rows: d.rows, idx: idx}
}

// Shuffle returns the rows in the order of HF datasets' shuffle(seed=seed)
// (see Permutation). Shuffling a shuffled dataset composes, as in HF.
func (d *Dataset) Shuffle(seed uint64) *Dataset {
	perm := Permutation(d.Len(), seed)
	base := d.indices()
	idx := make([]int, len(perm))
	for i, p := range perm {
		idx[i] = base[p]
	}
	return d.view(idx)
}

// Take returns the first n rows (all of them when n >= Len()).
func (d *Dataset) Take(n int) *Dataset {
	n = max(0, min(n, d.Len()))
	return d.view(append([]int(nil), d.indices()[:n]...))
}

// Skip returns the rows after the first n (none when n >= Len()).
func (d *Dataset) Skip(n int) *Dataset {
	n = max(0, min(n, d.Len()))
	return d.view(append([]int(nil), d.indices()[n:]...))
}

// Select returns the rows at the given positions, in that order.
func (d *Dataset) Select(positions []int) (*Dataset, error) {
	base := d.indices()
	idx := make([]int, len(positions))
	for i, p := range positions {
		if p < 0 || p >= len(base) {
			return nil, fmt.Errorf("%s: select: index %d out of range [0, %d)", d.name, p, len(base))
		}
		idx[i] = base[p]
	}
	return d.view(idx), nil
}

// Filter keeps the rows for which keep returns true. An error from keep
// stops the filter and is returned with the row's position.
func (d *Dataset) Filter(keep func(Row) (bool, error)) (*Dataset, error) {
	base := d.indices()
	var idx []int
	for i, b := range base {
		ok, err := keep(d.rows[b])
		if err != nil {
			return nil, fmt.Errorf("%s: filter: row %d: %w", d.name, i, err)
		}
		if ok {
			idx = append(idx, b)
		}
	}
	return d.view(idx), nil
}

// Map returns a new dataset of f(row) for every row. An error from f stops
// the map and is returned with the row's position.
func (d *Dataset) Map(f func(Row) (Row, error)) (*Dataset, error) {
	out := make([]Row, d.Len())
	for i := range out {
		r, err := f(d.Row(i))
		if err != nil {
			return nil, fmt.Errorf("%s: map: row %d: %w", d.name, i, err)
		}
		out[i] = r
	}
	return New(d.name, out), nil
}

// Concat returns the rows of d followed by the rows of others.
func (d *Dataset) Concat(others ...*Dataset) *Dataset {
	return Concat(append([]*Dataset{d}, others...)...)
}

// Concat returns the rows of all datasets, in order.
func Concat(ds ...*Dataset) *Dataset {
	n := 0
	name := ""
	for i, d := range ds {
		n += d.Len()
		if i > 0 {
			name += "+"
		}
		name += d.name
	}
	rows := make([]Row, 0, n)
	for _, d := range ds {
		rows = append(rows, d.Rows()...)
	}
	return New(name, rows)
}

// TrainTestSplit holds out testSize rows the way the cookbook's
// FromConversationFileBuilder does: test = first testSize rows, train =
// the rest (shuffle first for a random split). testSize must leave at
// least one training row.
func (d *Dataset) TrainTestSplit(testSize int) (train, test *Dataset, err error) {
	if testSize < 0 {
		return nil, nil, fmt.Errorf("%s: test_size must be >= 0, got %d", d.name, testSize)
	}
	if d.Len() == 0 {
		return nil, nil, fmt.Errorf("%s: %w", d.name, ErrEmpty)
	}
	if testSize >= d.Len() {
		return nil, nil, fmt.Errorf("%s: test_size %d leaves no training rows (the dataset has %d)", d.name, testSize, d.Len())
	}
	return d.Skip(testSize), d.Take(testSize), nil
}

// Batches cuts the dataset into consecutive batches of size rows. With
// dropLast the final partial batch is left out (the cookbook's
// behaviour); otherwise it is returned shorter.
func (d *Dataset) Batches(size int, dropLast bool) ([][]Row, error) {
	if err := checkBatch(d.name, d.Len(), size); err != nil {
		return nil, err
	}
	var out [][]Row
	for lo := 0; lo < d.Len(); lo += size {
		hi := lo + size
		if hi > d.Len() {
			if dropLast {
				break
			}
			hi = d.Len()
		}
		b := make([]Row, hi-lo)
		for i := range b {
			b[i] = d.Row(lo + i)
		}
		out = append(out, b)
	}
	return out, nil
}

func checkBatch(name string, n, size int) error {
	if size <= 0 {
		return fmt.Errorf("%s: batch size must be positive, got %d", name, size)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w: nothing to batch", name, ErrEmpty)
	}
	if size > n {
		return fmt.Errorf("%s: batch size %d is larger than the dataset (%d rows); lower batch_size or add data", name, size, n)
	}
	return nil
}

// Open iterates over the rows (Dataset is a Source).
func (d *Dataset) Open() (Iterator, error) {
	return &datasetIter{d: d}, nil
}

// Stream returns the dataset as a Stream.
func (d *Dataset) Stream() *Stream { return FromSource(d) }

type datasetIter struct {
	d *Dataset
	i int
}

func (it *datasetIter) Next() (Row, error) {
	if it.d == nil || it.i >= it.d.Len() {
		return nil, io.EOF
	}
	r := it.d.Row(it.i)
	it.i++
	return r, nil
}

func (it *datasetIter) Close() error { it.d = nil; return nil }
