package datasets

import (
	"errors"
	"fmt"
	"io"
)

// Stream is a lazy, restartable sequence of rows: every Open starts a new
// pass from the beginning. Operations build new Streams without reading
// anything; rows are read only while iterating, so data larger than
// memory can be processed in one pass.
type Stream struct {
	name string
	open func() (Iterator, error)
}

// NewStream returns a stream whose passes are opened by open.
func NewStream(name string, open func() (Iterator, error)) *Stream {
	return &Stream{name: name, open: open}
}

// FromSource wraps any Source as a Stream.
func FromSource(s Source) *Stream {
	return &Stream{name: s.Name(), open: s.Open}
}

// Name identifies the stream in messages.
func (s *Stream) Name() string { return s.name }

// Open starts a new pass.
func (s *Stream) Open() (Iterator, error) { return s.open() }

// Each calls f for every row of one pass until f returns false or an error.
func (s *Stream) Each(f func(Row) (bool, error)) error {
	it, err := s.Open()
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		r, err := it.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		more, err := f(r)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// Collect reads one pass into memory. limit > 0 stops after limit rows.
func (s *Stream) Collect(limit int) (*Dataset, error) {
	var rows []Row
	err := s.Each(func(r Row) (bool, error) {
		rows = append(rows, r)
		return limit <= 0 || len(rows) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	return New(s.name, rows), nil
}

// funcIter adapts closures to Iterator.
type funcIter struct {
	next  func() (Row, error)
	close func() error
}

func (f *funcIter) Next() (Row, error) { return f.next() }
func (f *funcIter) Close() error {
	if f.close == nil {
		return nil
	}
	c := f.close
	f.close = nil
	return c()
}

// Take yields at most n rows.
func (s *Stream) Take(n int) *Stream {
	return NewStream(s.name, func() (Iterator, error) {
		it, err := s.Open()
		if err != nil {
			return nil, err
		}
		seen := 0
		return &funcIter{next: func() (Row, error) {
			if seen >= n {
				return nil, io.EOF
			}
			r, err := it.Next()
			if err == nil {
				seen++
			}
			return r, err
		}, close: it.Close}, nil
	})
}

// Skip drops the first n rows.
func (s *Stream) Skip(n int) *Stream {
	return NewStream(s.name, func() (Iterator, error) {
		it, err := s.Open()
		if err != nil {
			return nil, err
		}
		skipped := 0
		return &funcIter{next: func() (Row, error) {
			for skipped < n {
				if _, err := it.Next(); err != nil {
					return nil, err
				}
				skipped++
			}
			return it.Next()
		}, close: it.Close}, nil
	})
}

// PassFunc makes the per-pass state of a lazy Filter or Map: the function
// to apply and an optional release called when the pass is closed (e.g. a
// Starlark thread made for the pass).
type PassFunc[F any] func() (fn F, release func(), err error)

// closeBoth closes it, then runs release (if any).
func closeBoth(it Iterator, release func()) func() error {
	return func() error {
		err := it.Close()
		if release != nil {
			release()
		}
		return err
	}
}

// openPass makes one pass's function with newF, then opens s; when the
// open fails the pass's release (if any) is run.
func openPass[F any](s *Stream, newF PassFunc[F]) (fn F, release func(), it Iterator, err error) {
	fn, release, err = newF()
	if err != nil {
		return fn, nil, nil, err
	}
	if it, err = s.Open(); err != nil {
		if release != nil {
			release()
		}
		return fn, nil, nil, err
	}
	return fn, release, it, nil
}

// Filter yields the rows for which keep returns true. newKeep is called
// once per pass to make the predicate, so per-pass state (a Starlark
// thread, counters) stays per pass.
func (s *Stream) Filter(newKeep PassFunc[func(Row) (bool, error)]) *Stream {
	return NewStream(s.name, func() (Iterator, error) {
		keep, release, it, err := openPass(s, newKeep)
		if err != nil {
			return nil, err
		}
		pos := 0
		return &funcIter{next: func() (Row, error) {
			for {
				r, err := it.Next()
				if err != nil {
					return nil, err
				}
				pos++
				ok, err := keep(r)
				if err != nil {
					return nil, fmt.Errorf("%s: filter: row %d: %w", s.name, pos-1, err)
				}
				if ok {
					return r, nil
				}
			}
		}, close: closeBoth(it, release)}, nil
	})
}

// Map yields f(row) for every row; newF is called once per pass.
func (s *Stream) Map(newF PassFunc[func(Row) (Row, error)]) *Stream {
	return NewStream(s.name, func() (Iterator, error) {
		f, release, it, err := openPass(s, newF)
		if err != nil {
			return nil, err
		}
		pos := 0
		return &funcIter{next: func() (Row, error) {
			r, err := it.Next()
			if err != nil {
				return nil, err
			}
			pos++
			out, err := f(r)
			if err != nil {
				return nil, fmt.Errorf("%s: map: row %d: %w", s.name, pos-1, err)
			}
			return out, nil
		}, close: closeBoth(it, release)}, nil
	})
}

// ConcatStreams yields the rows of each source in turn.
func ConcatStreams(srcs ...Source) *Stream {
	name := ""
	for i, s := range srcs {
		if i > 0 {
			name += "+"
		}
		name += s.Name()
	}
	return NewStream(name, func() (Iterator, error) {
		k := 0
		var cur Iterator
		return &funcIter{next: func() (Row, error) {
			for k < len(srcs) {
				if cur == nil {
					it, err := srcs[k].Open()
					if err != nil {
						return nil, err
					}
					cur = it
				}
				r, err := cur.Next()
				if err == io.EOF {
					cur.Close()
					cur = nil
					k++
					continue
				}
				return r, err
			}
			return nil, io.EOF
		}, close: func() error {
			if cur != nil {
				return cur.Close()
			}
			return nil
		}}, nil
	})
}

// Shuffle yields rows in a pseudo-random order using a buffer of
// bufferSize rows (like HF IterableDataset.shuffle(seed, buffer_size)):
// the buffer is filled, then each incoming row replaces a uniformly chosen
// buffered row which is yielded; the rest is drained at the end in random
// order. The draws come from NewPCG64(seed), so a pass is deterministic
// for a given seed and buffer size. Rows farther apart than bufferSize can
// only move that far: use Collect(...).Shuffle(seed) when the data fits.
func (s *Stream) Shuffle(seed uint64, bufferSize int) *Stream {
	if bufferSize < 1 {
		bufferSize = 1
	}
	return NewStream(s.name, func() (Iterator, error) {
		it, err := s.Open()
		if err != nil {
			return nil, err
		}
		g := NewPCG64(seed)
		buf := make([]Row, 0, min(bufferSize, 1<<16))
		eof := false
		return &funcIter{next: func() (Row, error) {
			for !eof {
				r, err := it.Next()
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					return nil, err
				}
				if len(buf) < bufferSize {
					buf = append(buf, r)
					continue
				}
				j := g.Interval(uint64(len(buf) - 1))
				out := buf[j]
				buf[j] = r
				return out, nil
			}
			if len(buf) == 0 {
				return nil, io.EOF
			}
			j := g.Interval(uint64(len(buf) - 1))
			out := buf[j]
			buf[j] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
			return out, nil
		}, close: it.Close}, nil
	})
}

// BatchIterator yields batches of rows from one pass of a stream.
type BatchIterator struct {
	it       Iterator
	name     string
	size     int
	dropLast bool
	n        int // batches returned
	done     bool
}

// Batches cuts one pass into batches of size rows. With dropLast a final
// partial batch is dropped. Asking for batches of a stream with no rows,
// or with dropLast and fewer rows than size, fails on the first Next with
// a clear message instead of yielding nothing.
func (s *Stream) Batches(size int, dropLast bool) (*BatchIterator, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%s: batch size must be positive, got %d", s.name, size)
	}
	it, err := s.Open()
	if err != nil {
		return nil, err
	}
	return &BatchIterator{it: it, name: s.name, size: size, dropLast: dropLast}, nil
}

// Next returns the next batch, or io.EOF.
func (b *BatchIterator) Next() ([]Row, error) {
	if b.done {
		return nil, io.EOF
	}
	batch := make([]Row, 0, b.size)
	for len(batch) < b.size {
		r, err := b.it.Next()
		if errors.Is(err, io.EOF) {
			b.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		batch = append(batch, r)
	}
	if len(batch) == 0 || (b.dropLast && len(batch) < b.size) {
		if b.n == 0 {
			if len(batch) == 0 {
				return nil, fmt.Errorf("%s: %w: nothing to batch", b.name, ErrEmpty)
			}
			return nil, fmt.Errorf("%s: batch size %d is larger than the dataset (%d rows); lower batch_size or add data", b.name, b.size, len(batch))
		}
		return nil, io.EOF
	}
	b.n++
	return batch, nil
}

// Close releases the underlying pass.
func (b *BatchIterator) Close() error { return b.it.Close() }
