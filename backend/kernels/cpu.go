package kernels

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Path names, from fastest to most portable.
const (
	PathAVX512  = "avx512"
	PathAVX2    = "avx2"
	PathGeneric = "generic"
)

// impl is one complete kernel path: a GEMM micro-kernel family, optional
// small-m dot kernels for op(B)=Bᵀ, and the vector helpers.
type impl struct {
	name  string
	lanes int // float32 lanes per vector register (1 for generic)
	mr    int // rows of the register tile
	nr    int // columns of the register tile
	// tile computes a rows×cols block of C (rows ≤ mr, cols ≤ nr) over kc
	// steps, reading and writing only those rows and columns.
	tile tileFn
	// dot, when non-nil, computes NT products for small m reading both
	// operands along k (matrix-vector style).
	dot     dotFn
	dotRows int // rows per dot tile
	dotCols int // cols per dot tile

	vdot   func(x, y []float32) float32
	vaxpy  func(a float32, x, y []float32)
	vscale func(a float32, x []float32)
	vexp   func(dst, src []float32)
}

// tileFn: C[co + r*ldc + j] = alpha*Σ_p A[ao + r*rsA + p*csA]*B[bo + p*rsB + j]
// + beta*C (beta term only when loadC) for r < rows, j < cols, p < kc.
type tileFn func(kc, rows, cols int, a []float32, ao, rsA, csA int, b []float32, bo, rsB int, c []float32, co, ldc int, alpha, beta float32, loadC bool)

// dotFn: C[co + r*ldc + j] = alpha*Σ_p A[ao + r*lda + p]*B[bo + j*ldb + p]
// (+ beta*C) for r < rows, j < groups*cols, p < k, as `groups` consecutive
// tiles of cols columns.
type dotFn func(k, rows, cols, groups int, a []float32, ao, lda int, b []float32, bo, ldb int, c []float32, co, ldc int, alpha, beta float32, loadC bool)

var (
	implsMu   sync.Mutex
	available = map[string]*impl{} // filled by init functions per platform
	current   atomic.Pointer[impl]
)

func register(im *impl) { available[im.name] = im }

func init() {
	register(genericImpl())
	registerAsm() // platform specific; registers only what the CPU supports
	name := PathGeneric
	for _, n := range []string{PathAVX512, PathAVX2} {
		if available[n] != nil {
			name = n
			break
		}
	}
	// TKX_KERNELS forces a path for a whole process (e.g. to run the model
	// tests on the portable path); an unsupported value is ignored with a
	// warning on stderr rather than crashing the program.
	if env := os.Getenv("TKX_KERNELS"); env != "" {
		if available[env] != nil {
			name = env
		} else {
			fmt.Fprintf(os.Stderr, "tkx/kernels: TKX_KERNELS=%q is not available on this CPU (have %v); using %s\n", env, Paths(), name)
		}
	}
	current.Store(available[name])
}

// Path reports the kernel path in use: "avx512", "avx2" or "generic".
func Path() string { return current.Load().name }

// Paths lists the paths this CPU supports, fastest first.
func Paths() []string {
	var ps []string
	for _, n := range []string{PathAVX512, PathAVX2, PathGeneric} {
		if available[n] != nil {
			ps = append(ps, n)
		}
	}
	return ps
}

// SetPath forces a kernel path for the whole process (tests, benchmarks,
// comparisons). It returns the previous path, or an error naming the paths
// that exist if name is unknown or the CPU lacks the instructions for it.
// Calls running concurrently with SetPath finish on the path they started on.
func SetPath(name string) (prev string, err error) {
	implsMu.Lock()
	defer implsMu.Unlock()
	im := available[name]
	if im == nil {
		return Path(), fmt.Errorf("kernels: path %q is not available on this CPU (available: %s)", name, strings.Join(Paths(), ", "))
	}
	return current.Swap(im).name, nil
}

// CPUInfo describes what the peak estimate is based on.
type CPUInfo struct {
	ModelName string  // /proc/cpuinfo "model name" ("" if unknown)
	GHz       float64 // clock used for the peak estimate
	GHzSource string  // where GHz came from
	Cores     int     // cores the kernels may use: min(GOMAXPROCS, NumCPU)
}

var (
	cpuOnce sync.Once
	cpuInfo CPUInfo
)

var ghzInName = regexp.MustCompile(`@\s*([0-9]+(?:\.[0-9]+)?)\s*GHz`)

// readCPUInfo determines the clock for the peak estimate, in this order:
//  1. $TKX_CPU_GHZ (explicit override);
//  2. the nominal clock in /proc/cpuinfo "model name" ("... @ 2.70GHz");
//  3. the largest "cpu MHz" in /proc/cpuinfo (under a hypervisor this is
//     often the nominal or TSC clock, not the turbo clock);
//  4. 2.0 GHz, an assumed default when nothing is readable (non-Linux).
//
// Turbo clocks and AVX-512 frequency licences are ignored, so the estimate can
// be off by ±30% either way; it is a yardstick, not a measurement.
func readCPUInfo() CPUInfo {
	var text string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		text = string(b)
	}
	return parseCPUInfo(text, os.Getenv("TKX_CPU_GHZ"))
}

func parseCPUInfo(text, envGHz string) CPUInfo {
	info := CPUInfo{}
	var maxMHz float64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name":
			if info.ModelName == "" {
				info.ModelName = val
			}
		case "cpu MHz":
			if v, err := strconv.ParseFloat(val, 64); err == nil && v > maxMHz {
				maxMHz = v
			}
		}
	}
	if envGHz != "" {
		if v, err := strconv.ParseFloat(envGHz, 64); err == nil && v > 0 {
			info.GHz, info.GHzSource = v, "TKX_CPU_GHZ"
		}
	}
	if info.GHz == 0 {
		if m := ghzInName.FindStringSubmatch(info.ModelName); m != nil {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil && v > 0 {
				info.GHz, info.GHzSource = v, "/proc/cpuinfo model name"
			}
		}
	}
	if info.GHz == 0 && maxMHz > 0 {
		info.GHz, info.GHzSource = maxMHz/1000, "/proc/cpuinfo cpu MHz"
	}
	if info.GHz == 0 {
		info.GHz, info.GHzSource = 2.0, "assumed (no clock in /proc/cpuinfo)"
	}
	return info
}

// CPU returns the CPU description used by PeakGFLOPS.
func CPU() CPUInfo {
	cpuOnce.Do(func() { cpuInfo = readCPUInfo() })
	info := cpuInfo
	info.Cores = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	return info
}

// PeakGFLOPSFor is PeakGFLOPS for a named path (0 and an error if the path
// is not available on this CPU).
func PeakGFLOPSFor(path string) (float64, error) {
	im := available[path]
	if im == nil {
		return 0, fmt.Errorf("kernels: path %q is not available on this CPU (available: %s)", path, strings.Join(Paths(), ", "))
	}
	return peakFor(im), nil
}

// PeakGFLOPS estimates the fp32 peak of the active path on the cores the
// kernels may use: cores × GHz × lanes × 2 FMA ports × 2 flops per FMA.
// Lanes are 16 (avx512), 8 (avx2) or 1 (generic, scalar). Two FMA ports is
// right for server cores (Skylake-SP Gold/Platinum and later, Sapphire
// Rapids, Zen 4/5); some parts have one 512-bit port, where the estimate is
// 2x too high. See CPU for where the clock comes from.
func PeakGFLOPS() float64 { return peakFor(current.Load()) }

func peakFor(im *impl) float64 {
	info := CPU()
	return float64(info.Cores) * info.GHz * float64(im.lanes) * 2 * 2
}
