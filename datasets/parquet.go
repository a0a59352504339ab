package datasets

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
)

// StreamParquet returns a stream over a Parquet file (any scheme; remote
// files are fetched to a local cache by their FileSystem first). Rows are
// read 256 at a time, so memory stays bounded by a row group's pages, not
// the file. Nested columns become lists and dicts (a list<struct<role,
// content>> column reads as a list of {"role", "content"} dicts).
func StreamParquet(ctx context.Context, path string) *Stream {
	return NewStream(path, func() (Iterator, error) {
		fsys, err := FileSystemFor(path)
		if err != nil {
			return nil, err
		}
		local, err := fsys.LocalPath(ctx, path)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(local)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		var pf *parquet.File
		if err := protect(func() error {
			var err error
			pf, err = parquet.OpenFile(f, st.Size())
			return err
		}); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a readable Parquet file: %v", path, err)
		}
		var r *parquet.GenericReader[map[string]any]
		if err := protect(func() error {
			r = parquet.NewGenericReader[map[string]any](f, pf.Schema())
			return nil
		}); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: unsupported Parquet schema: %v", path, err)
		}
		return &parquetIter{ctx: ctx, path: path, f: f, r: r, total: r.NumRows()}, nil
	})
}

// ReadParquet reads a whole Parquet file into memory.
func ReadParquet(ctx context.Context, path string) (*Dataset, error) {
	return StreamParquet(ctx, path).Collect(0)
}

// protect turns a panic of the Parquet library (malformed input) into an error.
func protect(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return f()
}

type parquetIter struct {
	ctx   context.Context
	path  string
	f     *os.File
	r     *parquet.GenericReader[map[string]any]
	buf   []map[string]any
	pos   int
	read  int64
	total int64
	eof   bool
}

func (it *parquetIter) Next() (Row, error) {
	for it.pos >= len(it.buf) {
		if it.eof || it.read >= it.total {
			return nil, io.EOF
		}
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		n := int(min(256, it.total-it.read))
		buf := make([]map[string]any, n)
		for i := range buf {
			buf[i] = map[string]any{}
		}
		var got int
		err := protect(func() error {
			var err error
			got, err = it.r.Read(buf)
			return err
		})
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: row %d: %v", it.path, it.read, err)
		}
		if err == io.EOF {
			it.eof = true
		}
		if got == 0 && it.eof {
			return nil, io.EOF
		}
		it.buf, it.pos = buf[:got], 0
		it.read += int64(got)
	}
	r := it.buf[it.pos]
	it.buf[it.pos] = nil
	it.pos++
	return normalizeParquet(r).(map[string]any), nil
}

func (it *parquetIter) Close() error {
	if it.f == nil {
		return nil
	}
	it.r.Close()
	err := it.f.Close()
	it.f = nil
	return err
}

// normalizeParquet maps the Go values the Parquet reader produces onto row
// values: all integers to int64, floats to float64, byte arrays to strings.
func normalizeParquet(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return v
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		for i := range x {
			x[i] = normalizeParquet(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeParquet(e)
		}
		return x
	}
	return fmt.Sprint(v)
}
