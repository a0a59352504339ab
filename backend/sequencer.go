package backend

import (
	"fmt"
	"log"
	"sync"
	"time"
)

// Ordering rule for a model's requests (documented in README and
// doc.go):
//
//   - Every training request (forward_backward, forward, optim_step,
//     save_weights, save_weights_for_sampler, load_weights) carries a
//     seq_id. A model runs them strictly in seq_id order, one at a time.
//     The first expected seq_id after create_model is 1 (create-via-load
//     consumes 0 itself).
//   - A request rejected at submit (4xx) still consumes its seq_id: the
//     server marks it skipped at once, so later requests do not wait for it.
//   - A seq_id that never arrives (the client crashed, or gave up after
//     retries) is skipped once a later request has waited GapTimeout for it.
//     If it arrives after that, it is refused with a user error naming the
//     gap, rather than being run out of order.
//   - A duplicate of a seq_id that is queued, running or done returns the
//     same future (idempotent retry), as long as it is the same kind of
//     request; otherwise it is refused.

// job is one queued training request.
type job struct {
	seq  int
	kind string
	fut  *future
	run  func() (*Result, error)
}

// sequencer runs one model's jobs in seq_id order on its own goroutine.
type sequencer struct {
	name       string
	gapTimeout time.Duration
	futures    *futureStore
	nowFunc    func() time.Time
	logf       func(string, ...any)

	mu       sync.Mutex
	next     int
	pending  map[int]*job
	skipped  map[int]bool      // rejected at submit, not yet passed
	late     map[int]bool      // passed over after a gap timeout
	seen     map[int]seenEntry // seq → future, for idempotent retries
	seenLow  int               // seen entries below this were pruned
	waitFrom time.Time         // when the head of the queue started waiting for next
	wake     chan struct{}
	closed   bool
	closeErr *RequestError
	busy     bool
	gaps     int           // how many seq_ids were skipped after a timeout
	stopped  chan struct{} // closed when the loop has returned
}

// seenEntry remembers a seq_id's request id (not the future itself, so
// the future store alone decides how long results stay in memory).
type seenEntry struct {
	kind string
	id   string
}

func newSequencer(name string, first int, gapTimeout time.Duration, fs *futureStore, logf func(string, ...any)) *sequencer {
	if logf == nil {
		logf = log.Printf
	}
	s := &sequencer{
		name:       name,
		gapTimeout: gapTimeout,
		futures:    fs,
		nowFunc:    time.Now,
		logf:       logf,
		next:       first,
		pending:    map[int]*job{},
		skipped:    map[int]bool{},
		late:       map[int]bool{},
		seen:       map[int]seenEntry{},
		seenLow:    first,
		wake:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
	}
	go s.loop()
	return s
}

func (s *sequencer) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// submit queues run under seq. It returns the future (a new one, or the
// existing one for an idempotent retry) or a user error when seq cannot be
// accepted.
func (s *sequencer) submit(seq int, kind string, run func() (*Result, error)) (*future, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.closeErr
	}
	if e, ok := s.seen[seq]; ok {
		if e.kind != kind {
			return nil, userErr("seq_id %d of model %s was already used by a %s request (this one is %s); seq_ids must be unique per model", seq, s.name, e.kind, kind)
		}
		if f, st := s.futures.get(e.id); st == futureFound {
			return f, nil
		}
		return nil, userErr("seq_id %d of model %s already ran (request %s) and its result has expired", seq, s.name, e.id)
	}
	if s.late[seq] {
		return nil, userErr("seq_id %d of model %s arrived after the server skipped it (no request with that seq_id came within %s while later ones waited)", seq, s.name, s.gapTimeout)
	}
	if seq < s.next {
		if seq < s.seenLow {
			return nil, userErr("seq_id %d of model %s is too old: the model has already run requests up to seq_id %d", seq, s.name, s.next-1)
		}
		return nil, userErr("seq_id %d of model %s was already consumed (by a rejected request); the next expected seq_id is %d", seq, s.name, s.next)
	}
	delete(s.skipped, seq)
	f := s.futures.create(kind, s.name)
	j := &job{seq: seq, kind: kind, fut: f, run: run}
	s.pending[seq] = j
	s.seen[seq] = seenEntry{kind: kind, id: f.id}
	s.signal()
	return f, nil
}

// reject marks seq as consumed by a request refused at submit, so the
// queue does not wait for it.
func (s *sequencer) reject(seq int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.next || s.pending[seq] != nil || s.closed {
		return
	}
	if _, ok := s.seen[seq]; ok {
		return
	}
	s.skipped[seq] = true
	s.signal()
}

// close fails every pending job and stops the loop.
func (s *sequencer) close(reason *RequestError) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.closeErr = reason
	jobs := s.pending
	s.pending = map[int]*job{}
	s.mu.Unlock()
	for _, j := range jobs {
		s.futures.complete(j.fut, nil, reason)
	}
	s.signal()
}

// nextJob returns the job to run now, or how long to wait before checking
// again (0 = until woken).
func (s *sequencer) nextJob() (*job, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, 0, false
		}
		if j, ok := s.pending[s.next]; ok {
			delete(s.pending, s.next)
			s.next++
			s.waitFrom = time.Time{}
			s.pruneSeenLocked()
			return j, 0, true
		}
		if s.skipped[s.next] {
			delete(s.skipped, s.next)
			s.next++
			s.waitFrom = time.Time{}
			continue
		}
		if len(s.pending) == 0 {
			s.waitFrom = time.Time{}
			return nil, 0, true
		}
		// Later requests are waiting for s.next.
		now := s.nowFunc()
		if s.waitFrom.IsZero() {
			s.waitFrom = now
		}
		waited := now.Sub(s.waitFrom)
		if waited < s.gapTimeout {
			return nil, s.gapTimeout - waited, true
		}
		// Give up on s.next: skip to the lowest pending seq_id.
		low := -1
		for q := range s.pending {
			if low < 0 || q < low {
				low = q
			}
		}
		for q := s.next; q < low; q++ {
			if !s.skipped[q] {
				s.late[q] = true
				s.gaps++
			}
			delete(s.skipped, q)
		}
		s.logf("tkx backend: model %s: skipping seq_id %d..%d after waiting %s for it", s.name, s.next, low-1, s.gapTimeout)
		s.next = low
		s.waitFrom = time.Time{}
	}
}

// pruneSeenLocked keeps the idempotency window bounded (the last 4096
// seq_ids).
func (s *sequencer) pruneSeenLocked() {
	const window = 4096
	for s.next-s.seenLow > window {
		delete(s.seen, s.seenLow)
		delete(s.late, s.seenLow)
		s.seenLow++
	}
}

func (s *sequencer) loop() {
	defer close(s.stopped)
	for {
		j, wait, ok := s.nextJob()
		if !ok {
			return
		}
		if j != nil {
			s.runJob(j)
			continue
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-s.wake:
			case <-t.C:
			}
			t.Stop()
		} else {
			<-s.wake
		}
	}
}

func (s *sequencer) runJob(j *job) {
	s.mu.Lock()
	s.busy = true
	s.mu.Unlock()
	var (
		res *Result
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = serverErr("internal error running %s (seq_id %d) on model %s: %v", j.kind, j.seq, s.name, r)
				s.logf("tkx backend: panic in %s: %v", j.kind, r)
			}
		}()
		res, err = j.run()
	}()
	s.futures.complete(j.fut, res, err)
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
}

// idle reports whether nothing is queued or running.
func (s *sequencer) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0 && !s.busy
}

// state reports the queue for debugging and tests.
func (s *sequencer) state() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("next=%d pending=%d skipped=%d gaps=%d busy=%v", s.next, len(s.pending), len(s.skipped), s.gaps, s.busy)
}
