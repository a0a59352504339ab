package backend

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type runLog struct {
	mu  sync.Mutex
	ran []int
}

func (l *runLog) job(seq int) func() (*Result, error) {
	return func() (*Result, error) {
		l.mu.Lock()
		l.ran = append(l.ran, seq)
		l.mu.Unlock()
		return &Result{JSON: []byte("{}")}, nil
	}
}

func (l *runLog) get() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.ran...)
}

func waitDone(t *testing.T, f *future) {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("future %s did not complete", f.kind)
	}
}

func TestSequencerRunsInSeqOrder(t *testing.T) {
	fs := newFutureStore(time.Minute)
	s := newSequencer("m", 1, time.Hour, fs, t.Logf)
	defer s.close(serverErr("done"))
	var l runLog
	var futs []*future
	for _, q := range []int{3, 5, 1, 4, 2} {
		f, err := s.submit(q, "K", l.job(q))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		waitDone(t, f)
	}
	got := l.get()
	for i, q := range got {
		if q != i+1 {
			t.Fatalf("ran %v, want 1..5 in order", got)
		}
	}
}

func TestSequencerRejectedSeqIsSkippedAtOnce(t *testing.T) {
	fs := newFutureStore(time.Minute)
	// A gap timeout of an hour: if the rejected seq_id were waited for, the
	// test would time out.
	s := newSequencer("m", 1, time.Hour, fs, t.Logf)
	defer s.close(serverErr("done"))
	var l runLog
	f1, _ := s.submit(1, "K", l.job(1))
	f3, _ := s.submit(3, "K", l.job(3))
	s.reject(2)
	waitDone(t, f1)
	waitDone(t, f3)
	if got := l.get(); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("ran %v, want [1 3]", got)
	}
	// The rejected seq_id cannot be reused afterwards.
	if _, err := s.submit(2, "K", l.job(2)); err == nil || !strings.Contains(err.Error(), "already consumed") {
		t.Fatalf("resubmitting a consumed seq_id: err = %v", err)
	}
}

func TestSequencerGapIsSkippedAfterTimeout(t *testing.T) {
	fs := newFutureStore(time.Minute)
	s := newSequencer("m", 1, 50*time.Millisecond, fs, t.Logf)
	defer s.close(serverErr("done"))
	var l runLog
	f1, _ := s.submit(1, "K", l.job(1))
	f3, _ := s.submit(3, "K", l.job(3)) // 2 never comes
	waitDone(t, f1)
	waitDone(t, f3)
	if got := l.get(); len(got) != 2 || got[1] != 3 {
		t.Fatalf("ran %v, want [1 3]", got)
	}
	_, err := s.submit(2, "K", l.job(2))
	if err == nil || !strings.Contains(err.Error(), "arrived after the server skipped it") {
		t.Fatalf("late seq_id 2: err = %v, want a skipped error", err)
	}
	if re := asRequestError(err); re.Category != CategoryUser {
		t.Fatalf("late seq_id category = %s, want user", re.Category)
	}
	// The queue keeps going.
	f4, err := s.submit(4, "K", l.job(4))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, f4)
}

func TestSequencerDuplicateSeqReturnsSameFuture(t *testing.T) {
	fs := newFutureStore(time.Minute)
	s := newSequencer("m", 1, time.Hour, fs, t.Logf)
	defer s.close(serverErr("done"))
	var l runLog
	f1, _ := s.submit(1, "OptimStep", l.job(1))
	f1b, err := s.submit(1, "OptimStep", l.job(1))
	if err != nil || f1b != f1 {
		t.Fatalf("duplicate submit: f=%p want %p, err=%v", f1b, f1, err)
	}
	waitDone(t, f1)
	if f, err := s.submit(1, "OptimStep", l.job(1)); err != nil || f != f1 {
		t.Fatalf("retry after completion: f=%p want %p, err=%v", f, f1, err)
	}
	if _, err := s.submit(1, "SaveWeights", l.job(1)); err == nil {
		t.Fatal("reusing a seq_id for another kind of request succeeded")
	}
	if got := l.get(); len(got) != 1 {
		t.Fatalf("ran %v, want the job once", got)
	}
}

func TestSequencerCloseFailsPending(t *testing.T) {
	fs := newFutureStore(time.Minute)
	s := newSequencer("m", 1, time.Hour, fs, t.Logf)
	var l runLog
	f2, _ := s.submit(2, "K", l.job(2))
	s.close(userErr("model m was unloaded"))
	waitDone(t, f2)
	if f2.err == nil || !strings.Contains(f2.err.Msg, "unloaded") {
		t.Fatalf("pending job after close: err = %v", f2.err)
	}
	if _, err := s.submit(3, "K", l.job(3)); err == nil {
		t.Fatal("submit after close succeeded")
	}
}

func TestSequencerPanicBecomesServerError(t *testing.T) {
	fs := newFutureStore(time.Minute)
	s := newSequencer("m", 1, time.Hour, fs, t.Logf)
	defer s.close(serverErr("done"))
	f, _ := s.submit(1, "K", func() (*Result, error) { panic("boom") })
	waitDone(t, f)
	if f.err == nil || f.err.Category != CategoryServer || !strings.Contains(f.err.Msg, "boom") {
		t.Fatalf("err = %+v", f.err)
	}
	var l runLog
	f2, _ := s.submit(2, "K", l.job(2))
	waitDone(t, f2)
	if f2.err != nil {
		t.Fatalf("queue stopped after a panic: %v", f2.err)
	}
}

func TestFutureStoreDropsDeliveredResultsSooner(t *testing.T) {
	fs := newFutureStore(time.Hour)
	now := time.Unix(1000, 0)
	fs.nowFunc = func() time.Time { return now }
	a, b := fs.create("K", "m"), fs.create("K", "m")
	fs.complete(a, &Result{JSON: []byte("{}")}, nil)
	fs.complete(b, &Result{JSON: []byte("{}")}, nil)
	fs.markDelivered(a)
	now = now.Add(deliveredRetain + time.Second)
	fs.mu.Lock()
	fs.lastGC = time.Time{}
	fs.mu.Unlock()
	if _, st := fs.get(a.id); st != futureExpired {
		t.Fatalf("delivered result kept past %s", deliveredRetain)
	}
	if _, st := fs.get(b.id); st != futureFound {
		t.Fatal("undelivered result dropped before its retention")
	}
}
