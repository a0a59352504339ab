package tokenizer

// mergeLong is the BPE merge loop for long words: HF's Word::merge_all with
// a priority queue (lowest rank first, then leftmost) over a linked list
// of symbols, O(n log n) instead of the O(n²) scan of merge. Both give the
// same result.
func (m *bpe) mergeLong(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := range syms {
		prev[i], next[i] = int32(i-1), int32(i+1)
	}
	next[n-1] = -1
	h := mergeHeap{}
	push := func(pos int32) {
		nx := next[pos]
		if nx < 0 {
			return
		}
		if r, id, ok := m.pairMerge(syms[pos], syms[nx]); ok {
			h.push(mergeItem{rank: r, pos: pos, id: id})
		}
	}
	for i := int32(0); i < int32(n-1); i++ {
		push(i)
	}
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	for len(h) > 0 {
		top := h.pop()
		if !alive[top.pos] || next[top.pos] < 0 {
			continue
		}
		nx := next[top.pos]
		r, id, ok := m.pairMerge(syms[top.pos], syms[nx])
		if !ok || id != top.id || r != top.rank {
			continue // stale: one side changed since this entry was pushed
		}
		syms[top.pos] = id
		alive[nx] = false
		next[top.pos] = next[nx]
		if next[nx] >= 0 {
			prev[next[nx]] = top.pos
		}
		if p := prev[top.pos]; p >= 0 {
			push(p)
		}
		push(top.pos)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type mergeItem struct {
	rank, pos, id int32
}

func (a mergeItem) less(b mergeItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeHeap is a binary min-heap of merge candidates.
type mergeHeap []mergeItem

func (h *mergeHeap) push(x mergeItem) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].less(s[m]) {
			m = l
		}
		if r < len(s) && s[r].less(s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
