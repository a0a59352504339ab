package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func numbered(n int) *Dataset {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{"i": int64(i)}
	}
	return New("nums", rows)
}

func ids(rows []Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r["i"].(int64)
	}
	return out
}

func TestDatasetOps(t *testing.T) {
	d := numbered(10)
	if got := fmt.Sprint(ids(d.Shuffle(42).Rows())); got != "[5 6 0 7 3 2 4 9 1 8]" {
		t.Errorf("shuffle(42) = %s", got)
	}
	// Shuffle composes like HF: shuffle(42) of shuffle(0).
	s0 := d.Shuffle(0)
	want := make([]int64, 10)
	for k, p := range Permutation(10, 42) {
		want[k] = ids(s0.Rows())[p]
	}
	if got := ids(s0.Shuffle(42).Rows()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("composed shuffle %v, want %v", got, want)
	}
	if got := fmt.Sprint(ids(d.Skip(3).Take(4).Rows())); got != "[3 4 5 6]" {
		t.Errorf("skip/take = %s", got)
	}
	if d.Take(100).Len() != 10 || d.Skip(100).Len() != 0 || d.Take(-1).Len() != 0 {
		t.Error("take/skip bounds")
	}
	even, err := d.Filter(func(r Row) (bool, error) { return r["i"].(int64)%2 == 0, nil })
	if err != nil || fmt.Sprint(ids(even.Rows())) != "[0 2 4 6 8]" {
		t.Errorf("filter: %v %v", err, ids(even.Rows()))
	}
	sq, err := even.Map(func(r Row) (Row, error) { v := r["i"].(int64); return Row{"i": v * v}, nil })
	if err != nil || fmt.Sprint(ids(sq.Rows())) != "[0 4 16 36 64]" {
		t.Errorf("map: %v", err)
	}
	if d.Row(3)["i"] != int64(3) {
		t.Error("map mutated the source")
	}
	_, err = d.Map(func(r Row) (Row, error) {
		if r["i"] == int64(4) {
			return nil, errors.New("boom")
		}
		return r, nil
	})
	if err == nil || !strings.Contains(err.Error(), "row 4: boom") {
		t.Errorf("map error = %v", err)
	}
	c := Concat(d.Take(2), sq.Skip(3))
	if fmt.Sprint(ids(c.Rows())) != "[0 1 36 64]" || c.Name() != "nums+nums" {
		t.Errorf("concat %v %q", ids(c.Rows()), c.Name())
	}
	sel, err := d.Select([]int{9, 0})
	if err != nil || fmt.Sprint(ids(sel.Rows())) != "[9 0]" {
		t.Errorf("select %v", err)
	}
	if _, err := d.Select([]int{10}); err == nil {
		t.Error("select out of range accepted")
	}
}

func TestBatchErrors(t *testing.T) {
	d := numbered(5)
	b, err := d.Batches(2, true)
	if err != nil || len(b) != 2 || fmt.Sprint(ids(b[1])) != "[2 3]" {
		t.Fatalf("batches: %v %v", b, err)
	}
	b, _ = d.Batches(2, false)
	if len(b) != 3 || len(b[2]) != 1 {
		t.Fatalf("batches keep last: %v", b)
	}
	if _, err := d.Batches(6, true); err == nil || !strings.Contains(err.Error(), "batch size 6 is larger than the dataset (5 rows)") {
		t.Errorf("big batch: %v", err)
	}
	if _, err := numbered(0).Batches(1, true); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := d.Batches(0, true); err == nil {
		t.Error("zero batch accepted")
	}
	if _, err := NewBatcher(d, 6, true); err == nil {
		t.Error("batcher accepted batch > rows")
	}
	if _, _, err := d.TrainTestSplit(5); err == nil {
		t.Error("split leaving no train rows accepted")
	}
	tr, te, err := d.TrainTestSplit(2)
	if err != nil || fmt.Sprint(ids(te.Rows())) != "[0 1]" || tr.Len() != 3 {
		t.Errorf("split: %v", err)
	}
}

func TestBatcherEpochs(t *testing.T) {
	d := numbered(7)
	b, err := NewBatcher(d, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 {
		t.Fatalf("len %d", b.Len())
	}
	// Step 3 = epoch 1, batch 1: rows 3..5 of shuffle(1).
	rows, epoch, batch, err := b.At(3)
	if err != nil || epoch != 1 || batch != 1 {
		t.Fatal(epoch, batch, err)
	}
	want := ids(d.Shuffle(1).Rows())[3:6]
	if fmt.Sprint(ids(rows)) != fmt.Sprint(want) {
		t.Errorf("At(3) = %v, want %v", ids(rows), want)
	}
	// Going back to epoch 0 (as a resumed run would) gives epoch 0's order.
	rows, _, _, _ = b.At(0)
	if fmt.Sprint(ids(rows)) != fmt.Sprint(ids(d.Shuffle(0).Rows())[0:3]) {
		t.Errorf("At(0) = %v", ids(rows))
	}
	// A fresh batcher resumed at step 3 agrees.
	b2, _ := NewBatcher(d, 3, true)
	r2, _, _, _ := b2.At(3)
	if fmt.Sprint(ids(r2)) != fmt.Sprint(want) {
		t.Error("resumed batcher differs")
	}
}

func TestStreamOps(t *testing.T) {
	d := numbered(10)
	s := d.Stream().Skip(2).Take(6)
	released := 0
	s = s.Filter(func() (func(Row) (bool, error), func(), error) {
		return func(r Row) (bool, error) { return r["i"].(int64) != 4, nil }, func() { released++ }, nil
	}).Map(func() (func(Row) (Row, error), func(), error) {
		return func(r Row) (Row, error) { return Row{"i": r["i"].(int64) * 10}, nil }, nil, nil
	})
	for pass := 0; pass < 2; pass++ { // restartable
		got, err := s.Collect(0)
		if err != nil || fmt.Sprint(ids(got.Rows())) != "[20 30 50 60 70]" {
			t.Fatalf("pass %d: %v %v", pass, err, ids(got.Rows()))
		}
	}
	if released != 2 {
		t.Errorf("filter state released %d times for 2 passes", released)
	}
	c, _ := ConcatStreams(d.Take(2), d.Skip(8).Stream()).Collect(0)
	if fmt.Sprint(ids(c.Rows())) != "[0 1 8 9]" {
		t.Errorf("concat streams %v", ids(c.Rows()))
	}
	// Buffer shuffle: a deterministic permutation.
	a, _ := d.Stream().Shuffle(7, 4).Collect(0)
	b, _ := d.Stream().Shuffle(7, 4).Collect(0)
	if fmt.Sprint(ids(a.Rows())) != fmt.Sprint(ids(b.Rows())) || a.Len() != 10 {
		t.Error("stream shuffle not deterministic")
	}
	if fmt.Sprint(ids(a.Rows())) == fmt.Sprint(ids(d.Rows())) {
		t.Error("stream shuffle left the order unchanged")
	}
	seen := map[int64]bool{}
	for _, v := range ids(a.Rows()) {
		seen[v] = true
	}
	if len(seen) != 10 {
		t.Error("stream shuffle lost rows")
	}
	bi, err := d.Stream().Batches(4, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := bi.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d stream batches", n)
	}
	bi, _ = d.Stream().Batches(11, true)
	if _, err := bi.Next(); err == nil || !strings.Contains(err.Error(), "larger than the dataset") {
		t.Errorf("big stream batch: %v", err)
	}
	bi, _ = numbered(0).Stream().Batches(1, true)
	if _, err := bi.Next(); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty stream batch: %v", err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const badConversations = `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}
not json at all

{"prompt":"no messages here"}
{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}
[1,2]
{"messages":[{"role":"user"}]}
{"messages":"nope"}
{"messages":[{"role":"user","content":"a"}]} trailing
{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]},{"role":"assistant","content":"y"}],"id":7,"w":0.5}`

func TestConversationFileBadLines(t *testing.T) {
	p := writeFile(t, "conv.jsonl", badConversations)
	var warned []string
	ds, rep, err := FromConversationFile(p, ReadOptions{Warn: func(e *LineError) { warned = append(warned, e.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || rep.Rows != 3 || rep.Skipped != 6 || rep.Blank != 1 || rep.Lines != 10 {
		t.Fatalf("rows %d report %+v", ds.Len(), rep)
	}
	wantLines := []int{2, 4, 6, 7, 8, 9}
	for i, e := range rep.Errors {
		if e.Line != wantLines[i] || e.File != p {
			t.Errorf("error %d at %s:%d, want line %d", i, e.File, e.Line, wantLines[i])
		}
	}
	for _, frag := range []string{
		p + ":2: not JSON",
		p + `:4: row has no "messages" field (fields: prompt)`,
		p + ":6: want a JSON object, got a list",
		p + `:7: messages[0] has no "content"`,
		p + `:8: "messages" is a string`,
		p + ":9: not JSON: more than one value",
	} {
		found := false
		for _, w := range warned {
			found = found || strings.HasPrefix(w, frag)
		}
		if !found {
			t.Errorf("no warning starting %q in %q", frag, warned)
		}
	}
	if !strings.Contains(rep.Summary(), "3 rows, skipped 6 bad lines") {
		t.Errorf("summary %q", rep.Summary())
	}
	last := ds.Row(2)
	if last["id"] != int64(7) || last["w"] != 0.5 {
		t.Errorf("numbers: %#v %#v", last["id"], last["w"])
	}
	_, _, err = FromConversationFile(p, ReadOptions{OnError: Fail})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.HasPrefix(err.Error(), p+":2: not JSON") {
		t.Errorf("fail mode: %v", err)
	}
	empty := writeFile(t, "empty.jsonl", "\n\n")
	if _, _, err := FromConversationFile(empty, ReadOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty file: %v", err)
	}
	allBad := writeFile(t, "bad.jsonl", "x\ny\n")
	if _, _, err := FromConversationFile(allBad, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "all 2 non-blank lines were bad") {
		t.Errorf("all bad: %v", err)
	}
	if _, _, err := FromConversationFile(filepath.Join(t.TempDir(), "missing.jsonl"), ReadOptions{}); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing: %v", err)
	}
}

func TestStreamJSONLGzipAndLongLines(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	content := fmt.Sprintf("{\"messages\":[{\"role\":\"user\",\"content\":%q}]}\r\n{\"a\":1}\n", long)
	p := writeFile(t, "d.jsonl", content)
	s, report := StreamJSONL(p, ReadOptions{})
	ds, err := s.Collect(0)
	if err != nil || ds.Len() != 2 || report().Rows != 2 {
		t.Fatalf("%v %d", err, ds.Len())
	}
	msgs, err := Messages(ds.Row(0))
	if err != nil || len(msgs[0].Content.(string)) != 200_000 {
		t.Fatal("long line", err)
	}
	// The same lines gzipped, read through a .gz path.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(content))
	zw.Close()
	gp := writeFile(t, "d.jsonl.gz", gz.String())
	s, report = StreamJSONL(gp, ReadOptions{})
	zds, err := s.Collect(0)
	if err != nil || zds.Len() != 2 || report().Rows != 2 || fmt.Sprint(zds.Row(1)) != fmt.Sprint(ds.Row(1)) {
		t.Fatalf("gzipped: %v %v", err, zds)
	}
	// A .gz path that is not gzip says so.
	bad := writeFile(t, "plain.jsonl.gz", "{\"a\":1}\n")
	bs, _ := StreamJSONL(bad, ReadOptions{})
	if _, err := bs.Collect(0); err == nil || !strings.Contains(err.Error(), "plain.jsonl.gz: not a gzip file") {
		t.Errorf("plain text behind .gz: %v", err)
	}
	if _, err := ParseOnError("warn"); err == nil {
		t.Error("bad on_error accepted")
	}
}

// TestStreamIsLazy reads the head of a file whose tail is broken: with
// on_error=fail a full read fails, but Take(3) never reaches the tail.
func TestStreamIsLazy(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "{\"i\":%d}\n", i)
	}
	b.WriteString("broken\n")
	p := writeFile(t, "big.jsonl", b.String())
	s, report := StreamJSONL(p, ReadOptions{OnError: Fail})
	head, err := s.Take(3).Collect(0)
	if err != nil || head.Len() != 3 || report().Lines > 3 {
		t.Fatalf("take: %v, read %d lines", err, report().Lines)
	}
	if _, err := s.Collect(0); err == nil || !strings.Contains(err.Error(), ":1001: not JSON") {
		t.Fatalf("full read: %v", err)
	}
}

func BenchmarkReadJSONL(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, `{"messages":[{"role":"user","content":"What is %d + %d?"},{"role":"assistant","content":"%d."}]}`+"\n", i, i, 2*i)
	}
	p := filepath.Join(b.TempDir(), "b.jsonl")
	os.WriteFile(p, []byte(sb.String()), 0o644)
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := FromConversationFile(p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJSONArrayFiles(t *testing.T) {
	p := writeFile(t, "arr.json", "\xef\xbb\xbf[\n  {\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]},\n  {\"x\":1},\n  [1],\n  {\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}\n]\n")
	ds, rep, err := FromConversationFile(p, ReadOptions{})
	if err != nil || ds.Len() != 2 || rep.Skipped != 2 {
		t.Fatalf("%v %+v", err, rep)
	}
	if e := rep.Errors[0]; e.Line != 3 || !strings.Contains(e.Error(), `element 1: row has no "messages"`) {
		t.Errorf("first error %v", e)
	}
	if e := rep.Errors[1]; e.Line != 4 || !strings.Contains(e.Error(), "element 2: want a JSON object") {
		t.Errorf("second error %v", e)
	}
	bad := writeFile(t, "bad.json", "[{\"a\":1},\n{\"a\": oops}]")
	if _, _, err := ReadJSONL(bad, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "bad.json:2: element 1: not JSON") {
		t.Errorf("broken array: %v", err)
	}
}
