package datasets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// OnError says what a reader does with a bad line or record.
type OnError string

const (
	// Skip reports the bad line (ReadOptions.Warn, Report.Errors) and goes
	// on; the skipped count is always in the Report. This is the default.
	Skip OnError = "skip"
	// Fail stops reading at the first bad line with a *LineError.
	Fail OnError = "fail"
)

// ParseOnError accepts "skip" or "fail" ("" means skip).
func ParseOnError(s string) (OnError, error) {
	switch OnError(s) {
	case "", Skip:
		return Skip, nil
	case Fail:
		return Fail, nil
	}
	return "", fmt.Errorf("on_error must be \"skip\" or \"fail\", got %q", s)
}

// ReadOptions configures the JSONL reader.
type ReadOptions struct {
	// OnError: Skip (default) or Fail.
	OnError OnError
	// Conversations requires every record to have a valid "messages" list
	// (see Messages); other records are bad lines.
	Conversations bool
	// Warn, if set, is called for every skipped line.
	Warn func(*LineError)
	// Context cancels remote reads; nil means context.Background().
	Context context.Context
}

func (o ReadOptions) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// LineError is a bad line of a JSONL file: "FILE:LINE: message".
type LineError struct {
	File string
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// MaxReportedErrors bounds Report.Errors; the counts stay exact.
const MaxReportedErrors = 20

// Report counts what a reader did with a file.
type Report struct {
	File    string
	Lines   int          // lines read, including blank and bad ones
	Rows    int          // rows produced
	Blank   int          // empty or whitespace-only lines (ignored)
	Skipped int          // bad lines skipped
	Errors  []*LineError // the first MaxReportedErrors bad lines
}

// Summary is one line for the console, e.g.
// "data.jsonl: 498 rows, skipped 2 bad lines (first: data.jsonl:7: not JSON: …)".
func (r *Report) Summary() string {
	s := fmt.Sprintf("%s: %d rows", r.File, r.Rows)
	if r.Skipped > 0 {
		s += fmt.Sprintf(", skipped %d bad line", r.Skipped)
		if r.Skipped > 1 {
			s += "s"
		}
		if len(r.Errors) > 0 {
			s += fmt.Sprintf(" (first: %v)", r.Errors[0])
		}
	}
	return s
}

func (r *Report) add(e *LineError) {
	r.Skipped++
	if len(r.Errors) < MaxReportedErrors {
		r.Errors = append(r.Errors, e)
	}
}

// ReadJSONL reads a whole JSONL file into memory. Each non-blank line must
// be one JSON object. The Report counts rows, blank lines and skipped bad
// lines.
func ReadJSONL(path string, opts ReadOptions) (*Dataset, *Report, error) {
	s, report := StreamJSONL(path, opts)
	ds, err := s.Collect(0)
	if err != nil {
		return nil, report(), err
	}
	return ds, report(), nil
}

// FromConversationFile reads a JSONL file of {"messages": [...]} records
// (the cookbook's FromConversationFileBuilder format). Lines that are not
// JSON, not objects, or lack a valid "messages" list are reported with
// file and line number and skipped or fatal per opts.OnError. A file with
// no valid conversation is an error either way.
func FromConversationFile(path string, opts ReadOptions) (*Dataset, *Report, error) {
	opts.Conversations = true
	ds, rep, err := ReadJSONL(path, opts)
	if err != nil {
		return nil, rep, err
	}
	if ds.Len() == 0 {
		msg := fmt.Sprintf("%s: no conversations", path)
		if rep.Skipped > 0 {
			msg += fmt.Sprintf(" (all %d non-blank lines were bad; first: %v)", rep.Skipped, rep.Errors[0])
		}
		return nil, rep, fmt.Errorf("%s: %w", msg, ErrEmpty)
	}
	return ds, rep, nil
}

// StreamJSONL returns a stream over a JSONL file (local, file://, hf://,
// any registered scheme; .gz is decompressed; a file holding one JSON
// array of objects is read element by element). report returns a copy of
// the Report of the most recently opened pass, as far as it has read;
// passes may run concurrently, each counting on its own.
func StreamJSONL(path string, opts ReadOptions) (s *Stream, report func() *Report) {
	if opts.OnError == "" {
		opts.OnError = Skip
	}
	box := &reportBox{latest: &Report{File: path}}
	return NewStream(path, func() (Iterator, error) {
		rc, err := OpenPath(opts.ctx(), path)
		if err != nil {
			return nil, err
		}
		rep := &Report{File: path}
		box.mu.Lock()
		box.latest = rep
		box.mu.Unlock()
		rb := reporter{box: box, rep: rep}
		br := bufio.NewReaderSize(rc, 64<<10)
		if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
			br.Discard(3)
		}
		if first, _ := firstByte(br); first == '[' {
			return newArrayIter(path, rc, br, opts, rb), nil
		}
		return &jsonlIter{path: path, rc: rc, br: br, opts: opts, rep: rb}, nil
	}), box.snapshot
}

// reportBox holds the Report of the latest pass; every pass updates its
// own Report under the box's lock.
type reportBox struct {
	mu     sync.Mutex
	latest *Report
}

func (b *reportBox) snapshot() *Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := *b.latest
	c.Errors = append([]*LineError(nil), b.latest.Errors...)
	return &c
}

type reporter struct {
	box *reportBox
	rep *Report
}

func (r reporter) update(f func(*Report)) {
	r.box.mu.Lock()
	f(r.rep)
	r.box.mu.Unlock()
}

// badLine handles a line that is not a valid row: with OnError Fail it is
// the error to return; otherwise it is counted in the report, passed to
// Warn, and skipped (nil).
func badLine(opts ReadOptions, rep reporter, le *LineError) error {
	if opts.OnError == Fail {
		return le
	}
	rep.update(func(r *Report) { r.add(le) })
	if opts.Warn != nil {
		opts.Warn(le)
	}
	return nil
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return 0, err
		}
		c := b[n-1]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			return c, nil
		}
		if n >= 4096 {
			return 0, nil
		}
	}
}

// arrayIter streams the elements of a file holding one JSON array of
// objects (HF datasets accept .json files in that form too). Errors name
// the element index and its line.
type arrayIter struct {
	path  string
	rc    io.ReadCloser
	dec   *json.Decoder
	lines *lineCounter
	opts  ReadOptions
	rep   reporter
	n     int
	state int // 0 before '[', 1 inside, 2 done
}

// lineCounter maps decoder offsets to line numbers while keeping only
// the bytes not yet counted.
type lineCounter struct {
	r       io.Reader
	pending []byte // bytes read but not yet counted
	base    int64  // offset of pending[0]
	line    int    // line at offset base
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.pending = append(l.pending, p[:n]...)
	return n, err
}

// lineAt returns the 1-based line of offset off; offsets must not decrease.
func (l *lineCounter) lineAt(off int64) int {
	k := int(off - l.base)
	k = max(0, min(k, len(l.pending)))
	l.line += bytes.Count(l.pending[:k], []byte("\n"))
	l.pending = append(l.pending[:0], l.pending[k:]...)
	l.base += int64(k)
	return l.line + 1
}

// lineOfNext returns the line of the first byte after off that is not
// white space or a comma (where the next array element starts), as far as
// it has been read.
func (l *lineCounter) lineOfNext(off int64) int {
	line := l.lineAt(off)
	for _, c := range l.pending {
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r', ',':
		default:
			return line
		}
	}
	return line
}

func newArrayIter(path string, rc io.ReadCloser, br *bufio.Reader, opts ReadOptions, rep reporter) *arrayIter {
	lc := &lineCounter{r: br}
	dec := json.NewDecoder(lc)
	dec.UseNumber()
	return &arrayIter{path: path, rc: rc, dec: dec, lines: lc, opts: opts, rep: rep}
}

func (it *arrayIter) Next() (Row, error) {
	if it.state == 0 {
		if _, err := it.dec.Token(); err != nil {
			return nil, &LineError{File: it.path, Line: 1, Err: fmt.Errorf("not JSON: %v", jsonMsg(err))}
		}
		it.state = 1
	}
	for it.state == 1 {
		if err := it.opts.ctx().Err(); err != nil {
			return nil, err
		}
		if !it.dec.More() {
			it.state = 2
			break
		}
		off := it.dec.InputOffset()
		var v any
		err := it.dec.Decode(&v)
		line := it.lines.lineOfNext(off)
		if err != nil {
			// A syntax error inside the array ends it: nothing after can be trusted.
			it.state = 2
			return nil, &LineError{File: it.path, Line: line, Err: fmt.Errorf("element %d: not JSON: %v", it.n, jsonMsg(err))}
		}
		it.n++
		n := it.n
		it.rep.update(func(r *Report) { r.Lines = n })
		var perr error
		obj, ok := v.(map[string]any)
		if !ok {
			perr = fmt.Errorf("element %d: want a JSON object, got %s", it.n-1, typeName(normalize(v)))
		} else if it.opts.Conversations {
			if _, err := Messages(obj); err != nil {
				perr = fmt.Errorf("element %d: %v", it.n-1, err)
			}
		}
		if perr == nil {
			it.rep.update(func(r *Report) { r.Rows++ })
			return normalize(obj).(map[string]any), nil
		}
		if err := badLine(it.opts, it.rep, &LineError{File: it.path, Line: line, Err: perr}); err != nil {
			return nil, err
		}
	}
	return nil, io.EOF
}

func (it *arrayIter) Close() error {
	if it.rc == nil {
		return nil
	}
	err := it.rc.Close()
	it.rc = nil
	return err
}

type jsonlIter struct {
	path string
	rc   io.ReadCloser
	br   *bufio.Reader
	opts ReadOptions
	rep  reporter
	line int
	done bool
}

func (it *jsonlIter) Next() (Row, error) {
	for !it.done {
		if err := it.opts.ctx().Err(); err != nil {
			return nil, err
		}
		raw, err := it.br.ReadBytes('\n')
		if err == io.EOF {
			it.done = true
			if len(raw) == 0 {
				break
			}
		} else if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", it.path, it.line+1, err)
		}
		it.line++
		it.rep.update(func(r *Report) { r.Lines++ })
		if it.line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // UTF-8 BOM
		}
		text := bytes.TrimSpace(raw)
		if len(text) == 0 {
			it.rep.update(func(r *Report) { r.Blank++ })
			continue
		}
		row, perr := it.parse(text)
		if perr == nil {
			it.rep.update(func(r *Report) { r.Rows++ })
			return row, nil
		}
		if err := badLine(it.opts, it.rep, &LineError{File: it.path, Line: it.line, Err: perr}); err != nil {
			return nil, err
		}
	}
	return nil, io.EOF
}

func (it *jsonlIter) parse(text []byte) (Row, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %v", jsonMsg(err))
	}
	if dec.More() {
		return nil, errors.New("not JSON: more than one value on the line")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", typeName(normalize(v)))
	}
	row := normalize(obj).(map[string]any)
	if it.opts.Conversations {
		if _, err := Messages(row); err != nil {
			return nil, err
		}
	}
	return row, nil
}

func jsonMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if err == io.ErrUnexpectedEOF {
		return "unexpected end of line"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (it *jsonlIter) Close() error {
	if it.rc == nil {
		return nil
	}
	err := it.rc.Close()
	it.rc = nil
	return err
}

// WriteJSONL writes rows as JSON lines (keys sorted, HTML not escaped).
func WriteJSONL(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}
