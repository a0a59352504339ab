package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// bpe is a Hugging Face BPE model. In byte-level mode (the pre-tokenizer
// has a ByteLevel step) words are raw bytes and every byte starts as the id
// of its byte-level character; otherwise words are UTF-8 text and every
// character starts as its own token (or byte-fallback/unk).
type bpe struct {
	byteLevel bool
	// vocab maps a token to its id; in byte-level mode keyed by the token's
	// raw bytes.
	vocab map[string]int
	// byteID[b] is the id of the single-byte token for b (-1 if absent).
	byteID [256]int32
	// merges maps (left<<32 | right) to (rank<<32 | merged id).
	merges       map[uint64]uint64
	ignoreMerges bool
	unkID        int // -1 when none
	fuseUnk      bool
	byteFallback bool

	mu    sync.RWMutex
	cache map[string][]int
}

const (
	bpeCacheMax     = 1 << 17 // entries before the cache is reset
	bpeCacheWordMax = 96      // longer words are not cached
	bpeLongWord     = 64      // longer words use the heap-based merge
)

func (m *bpe) pairMerge(a, b int32) (rank int32, id int32, ok bool) {
	v, ok := m.merges[uint64(uint32(a))<<32|uint64(uint32(b))]
	if !ok {
		return 0, 0, false
	}
	return int32(v >> 32), int32(uint32(v)), true
}

// tokenize appends the ids of one word to dst.
func (m *bpe) tokenize(dst []int, word string) []int {
	if word == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[word]; ok {
			return append(dst, id)
		}
	}
	cacheable := len(word) <= bpeCacheWordMax
	if cacheable {
		m.mu.RLock()
		ids, ok := m.cache[word]
		m.mu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}
	start := len(dst)
	dst = m.merge(dst, word)
	if cacheable {
		ids := append([]int(nil), dst[start:]...)
		m.mu.Lock()
		if len(m.cache) >= bpeCacheMax {
			m.cache = make(map[string][]int, 1024)
		}
		m.cache[word] = ids
		m.mu.Unlock()
	}
	return dst
}

// merge runs the BPE merges over word: repeatedly merge the adjacent pair
// with the lowest merge rank (leftmost on ties), as HF's Word::merge_all.
func (m *bpe) merge(dst []int, word string) []int {
	var symBuf [64]int32
	syms := symBuf[:0]
	if m.byteLevel {
		for i := 0; i < len(word); i++ {
			if id := m.byteID[word[i]]; id >= 0 {
				syms = append(syms, id)
			}
		}
	} else {
		syms = m.initialChars(syms, word)
	}
	if len(syms) == 1 {
		return append(dst, int(syms[0]))
	}
	if len(syms) > bpeLongWord {
		for _, s := range m.mergeLong(syms) {
			dst = append(dst, int(s))
		}
		return dst
	}
	// ranks[i] is the merge rank of (syms[i], syms[i+1]), or -1.
	var rankBuf [64]int32
	var mergedBuf [64]int32
	ranks := rankBuf[:0]
	merged := mergedBuf[:0]
	for i := 0; i+1 < len(syms); i++ {
		r, id, ok := m.pairMerge(syms[i], syms[i+1])
		if !ok {
			r = -1
		}
		ranks = append(ranks, r)
		merged = append(merged, id)
	}
	for len(syms) > 1 {
		best := -1
		for i, r := range ranks {
			if r >= 0 && (best < 0 || r < ranks[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		syms[best] = merged[best]
		syms = append(syms[:best+1], syms[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		merged = append(merged[:best], merged[best+1:]...)
		// Recompute the ranks of the pairs around the new symbol.
		if best > 0 {
			r, id, ok := m.pairMerge(syms[best-1], syms[best])
			if !ok {
				r = -1
			}
			ranks[best-1], merged[best-1] = r, id
		}
		if best < len(ranks) {
			r, id, ok := m.pairMerge(syms[best], syms[best+1])
			if !ok {
				r = -1
			}
			ranks[best], merged[best] = r, id
		}
	}
	for _, s := range syms {
		dst = append(dst, int(s))
	}
	return dst
}

// initialChars maps each character of word to its token id, using byte
// fallback tokens ("<0x41>") or the unknown token for characters missing
// from the vocabulary (HF BPE::merge_word).
func (m *bpe) initialChars(syms []int32, word string) []int32 {
	lastUnk := false
	for i := 0; i < len(word); {
		_, size := utf8.DecodeRuneInString(word[i:])
		ch := word[i : i+size]
		i += size
		if id, ok := m.vocab[ch]; ok {
			syms = append(syms, int32(id))
			lastUnk = false
			continue
		}
		if m.byteFallback {
			all := true
			var ids []int32
			for k := 0; k < len(ch); k++ {
				id, ok := m.vocab[byteFallbackToken(ch[k])]
				if !ok {
					all = false
					break
				}
				ids = append(ids, int32(id))
			}
			if all {
				syms = append(syms, ids...)
				lastUnk = false
				continue
			}
		}
		if m.unkID >= 0 {
			if !(m.fuseUnk && lastUnk) {
				syms = append(syms, int32(m.unkID))
			}
			lastUnk = true
		}
	}
	return syms
}

const hexDigits = "0123456789ABCDEF"

func byteFallbackToken(b byte) string {
	return "<0x" + string(hexDigits[b>>4]) + string(hexDigits[b&15]) + ">"
}
