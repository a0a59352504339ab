package kernels

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestPathSelection(t *testing.T) {
	paths := Paths()
	if len(paths) == 0 || paths[len(paths)-1] != PathGeneric {
		t.Fatalf("Paths() = %v, want the generic path last", paths)
	}
	if Path() != paths[0] && !strings.Contains(strings.Join(paths, ","), Path()) {
		t.Fatalf("Path() = %q not among %v", Path(), paths)
	}
	prev, err := SetPath(PathGeneric)
	if err != nil {
		t.Fatal(err)
	}
	if Path() != PathGeneric {
		t.Fatalf("after SetPath(generic), Path() = %q", Path())
	}
	if back, err := SetPath(prev); err != nil || back != PathGeneric || Path() != prev {
		t.Fatalf("restoring %q: back=%q err=%v Path()=%q", prev, back, err, Path())
	}
	if _, err := SetPath("avx1024"); err == nil || !strings.Contains(err.Error(), "avx1024") || !strings.Contains(err.Error(), "generic") {
		t.Fatalf("SetPath(avx1024) error = %v, want one naming the path and the available ones", err)
	}
	if Path() != prev {
		t.Fatalf("failed SetPath changed the path to %q", Path())
	}
}

func TestParseCPUInfo(t *testing.T) {
	withName := "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+ @ 2.70GHz\ncpu MHz\t\t: 2000.000\n" +
		"processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+ @ 2.70GHz\ncpu MHz\t\t: 3100.500\n"
	noName := "model name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2000.000\ncpu MHz\t\t: 2100.000\n"
	cases := []struct {
		text, env string
		ghz       float64
		src       string
	}{
		{withName, "", 2.7, "model name"},
		{noName, "", 2.1, "cpu MHz"},
		{noName, "3.5", 3.5, "TKX_CPU_GHZ"},
		{noName, "bogus", 2.1, "cpu MHz"},
		{"", "", 2.0, "assumed"},
	}
	for _, c := range cases {
		info := parseCPUInfo(c.text, c.env)
		if info.GHz != c.ghz || !strings.Contains(info.GHzSource, c.src) {
			t.Errorf("parseCPUInfo(%.30q, env %q) = %v GHz from %q, want %v from %s", c.text, c.env, info.GHz, info.GHzSource, c.ghz, c.src)
		}
	}
	if info := parseCPUInfo(noName, ""); info.ModelName != "Intel(R) Xeon(R) Processor" {
		t.Errorf("model name = %q", info.ModelName)
	}
}

func TestPeakGFLOPS(t *testing.T) {
	info := CPU()
	if info.Cores != min(runtime.GOMAXPROCS(0), runtime.NumCPU()) || info.GHz <= 0 {
		t.Fatalf("CPU() = %+v", info)
	}
	for _, p := range Paths() {
		peak, err := PeakGFLOPSFor(p)
		if err != nil {
			t.Fatal(err)
		}
		lanes := map[string]float64{PathAVX512: 16, PathAVX2: 8, PathGeneric: 1}[p]
		if want := float64(info.Cores) * info.GHz * lanes * 4; peak != want {
			t.Errorf("peak(%s) = %v, want cores×GHz×lanes×2×2 = %v", p, peak, want)
		}
	}
	if _, err := PeakGFLOPSFor("nope"); err == nil {
		t.Error("PeakGFLOPSFor(nope) gave no error")
	}
	if got, _ := PeakGFLOPSFor(Path()); PeakGFLOPS() != got {
		t.Errorf("PeakGFLOPS() = %v, want %v", PeakGFLOPS(), got)
	}
}

func TestMeasureMatmul(t *testing.T) {
	shapes := []Shape{{Name: "small", TransB: true, M: 64, N: 96, K: 32}, {Name: "tn", TransA: true, M: 32, N: 32, K: 64}}
	s := MeasureMatmul(shapes, 3, 5*time.Millisecond)
	if len(s.Results) != 2 || s.GFLOPS <= 0 || s.PeakGFLOPS <= 0 || s.Path != Path() {
		t.Fatalf("MeasureMatmul = %+v", s)
	}
	if want := s.GFLOPS / s.PeakGFLOPS; s.PeakShare != want {
		t.Errorf("PeakShare = %v, want %v", s.PeakShare, want)
	}
	var flops, secs float64
	for _, m := range s.Results {
		if m.Seconds <= 0 || m.GFLOPS <= 0 {
			t.Fatalf("measurement %+v", m)
		}
		flops += m.Flops()
		secs += m.Seconds
	}
	if got := flops / secs / 1e9; got != s.GFLOPS {
		t.Errorf("aggregate GFLOPS = %v, want %v", s.GFLOPS, got)
	}
	if runtime.GOOS == "linux" && (s.GFLOPSPerCore <= 0 || s.PeakSharePerCore <= 0) {
		t.Errorf("per-core figures missing on linux: %+v", s)
	}
	if d := TransformerShapes(2048); len(d) != 5 || d[0].M != 2048 || !d[0].TransB {
		t.Errorf("TransformerShapes = %v", d)
	}
	if d := TrainingShapes(8); len(d) != 15 || !d[2].TransA || d[2].K != 8 {
		t.Errorf("TrainingShapes = %v", d)
	}
}
