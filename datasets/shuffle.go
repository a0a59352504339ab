package datasets

import (
	"math/bits"
)

// Shuffling
//
// Dataset.Shuffle(seed) uses the same algorithm as Hugging Face
// `datasets.Dataset.shuffle(seed=seed)`, which is NumPy's
// `np.random.default_rng(seed).permutation(n)`:
//
//  1. the seed is expanded by NumPy's SeedSequence (entropy = the seed's
//     32-bit words, little-endian; pool of 4 words; hashmix/mix constants
//     from numpy/random/bit_generator.pyx) into four 64-bit words;
//  2. those seed a PCG64 generator (128-bit LCG, XSL-RR output), words 0-1
//     as the state seed and 2-3 as the increment, as numpy's pcg64_set_seed;
//  3. the identity permutation is shuffled by Fisher–Yates from the last
//     index down to 1, drawing j in [0, i] with NumPy's random_interval
//     (mask to the next power of two minus one, reject values > i; 32-bit
//     draws split from 64-bit outputs, low half first, while i < 2^32).
//
// So a conversation file shuffled with seed 0 in tkx puts its rows in the
// same order as the Python cookbook does, and a given seed gives the same
// order on every machine and Go version (nothing here depends on
// math/rand). The golden test in shuffle_test.go pins values produced by
// NumPy.

const (
	ssInitA    uint32 = 0x43b0d7e5
	ssMultA    uint32 = 0x931e8875
	ssInitB    uint32 = 0x8b51f9dd
	ssMultB    uint32 = 0x58f38ded
	ssMixMultL uint32 = 0xca01f9dd
	ssMixMultR uint32 = 0x4973f715
	ssXShift          = 16
	ssPoolSize        = 4
)

// seedSequence returns NumPy's SeedSequence(seed).generate_state(nWords, uint64).
func seedSequence(seed uint64, nWords int) []uint64 {
	// Entropy words: little-endian 32-bit words of seed; 0 is [0].
	entropy := []uint32{uint32(seed)}
	if hi := uint32(seed >> 32); hi != 0 {
		entropy = append(entropy, hi)
	}
	hashConst := ssInitA
	hashmix := func(v uint32) uint32 {
		v ^= hashConst
		hashConst *= ssMultA
		v *= hashConst
		v ^= v >> ssXShift
		return v
	}
	mix := func(x, y uint32) uint32 {
		r := ssMixMultL*x - ssMixMultR*y
		r ^= r >> ssXShift
		return r
	}
	var pool [ssPoolSize]uint32
	for i := range pool {
		if i < len(entropy) {
			pool[i] = hashmix(entropy[i])
		} else {
			pool[i] = hashmix(0)
		}
	}
	for src := range pool {
		for dst := range pool {
			if src != dst {
				pool[dst] = mix(pool[dst], hashmix(pool[src]))
			}
		}
	}
	for src := ssPoolSize; src < len(entropy); src++ {
		for dst := range pool {
			pool[dst] = mix(pool[dst], hashmix(entropy[src]))
		}
	}
	hc := ssInitB
	words := make([]uint32, 2*nWords)
	for i := range words {
		v := pool[i%ssPoolSize]
		v ^= hc
		hc *= ssMultB
		v *= hc
		v ^= v >> ssXShift
		words[i] = v
	}
	out := make([]uint64, nWords)
	for i := range out {
		out[i] = uint64(words[2*i]) | uint64(words[2*i+1])<<32
	}
	return out
}

const (
	pcgMultHi uint64 = 2549297995355413924
	pcgMultLo uint64 = 4865540595714422341
)

// PCG64 is NumPy's default bit generator (PCG XSL-RR 128/64) seeded the
// way np.random.default_rng(seed) seeds it. It is not safe for concurrent
// use.
type PCG64 struct {
	hi, lo       uint64 // state
	incHi, incLo uint64
	hasU32       bool
	u32          uint32
}

// NewPCG64 returns the generator of np.random.default_rng(seed).
func NewPCG64(seed uint64) *PCG64 {
	v := seedSequence(seed, 4)
	g := &PCG64{}
	// pcg_setseq_128_srandom_r: state=0; inc=(initseq<<1)|1; step; state+=initstate; step.
	g.incHi = v[2]<<1 | v[3]>>63
	g.incLo = v[3]<<1 | 1
	g.step()
	var carry uint64
	g.lo, carry = bits.Add64(g.lo, v[1], 0)
	g.hi, _ = bits.Add64(g.hi, v[0], carry)
	g.step()
	return g
}

func (g *PCG64) step() {
	hi, lo := bits.Mul64(g.lo, pcgMultLo)
	hi += g.hi*pcgMultLo + g.lo*pcgMultHi
	var carry uint64
	g.lo, carry = bits.Add64(lo, g.incLo, 0)
	g.hi, _ = bits.Add64(hi, g.incHi, carry)
}

// Uint64 returns the next 64-bit output.
func (g *PCG64) Uint64() uint64 {
	g.step()
	return bits.RotateLeft64(g.hi^g.lo, -int(g.hi>>58))
}

// Uint32 returns 32 bits the way numpy's pcg64_next32 does: the low half
// of a 64-bit output, then its high half.
func (g *PCG64) Uint32() uint32 {
	if g.hasU32 {
		g.hasU32 = false
		return g.u32
	}
	n := g.Uint64()
	g.hasU32 = true
	g.u32 = uint32(n >> 32)
	return uint32(n)
}

// Float64 returns a float in [0, 1) like Generator.random().
func (g *PCG64) Float64() float64 {
	return float64(g.Uint64()>>11) * (1.0 / 9007199254740992.0)
}

// Interval returns a uniform integer in [0, max] with numpy's
// random_interval (masked rejection sampling).
func (g *PCG64) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(g.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := g.Uint64() & mask; v <= max {
			return v
		}
	}
}

// Permutation returns np.random.default_rng(seed).permutation(n).
func Permutation(n int, seed uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	g := NewPCG64(seed)
	for i := n - 1; i >= 1; i-- {
		j := int(g.Interval(uint64(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
