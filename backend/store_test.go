package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

func TestParseTinkerPath(t *testing.T) {
	ref, err := ParseTinkerPath("tinker://abc:train:0/weights/step-10")
	if err != nil || ref.Run != "abc:train:0" || ref.Kind != "weights" || ref.Name != "step-10" {
		t.Fatalf("%+v %v", ref, err)
	}
	for _, bad := range []string{"abc/weights/x", "tinker://abc/other/x", "tinker://abc/weights/..", "tinker://../weights/x", "tinker://abc/weights/a/b", "tinker://abc/weights/"} {
		if _, err := ParseTinkerPath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestStoreSaveIsAtomic(t *testing.T) {
	st, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref := CheckpointRef{Run: "s:train:0", Kind: KindWeights, Name: "c1"}
	write := func(content string) func(string) error {
		return func(dir string) error { return os.WriteFile(filepath.Join(dir, "model.bin"), []byte(content), 0o644) }
	}
	if _, err := st.SaveCheckpoint(ref, CheckpointMeta{}, false, write("v1")); err != nil {
		t.Fatal(err)
	}
	// A failing overwrite (full disk halfway through) leaves v1 intact.
	_, err = st.SaveCheckpoint(ref, CheckpointMeta{}, true, func(dir string) error {
		os.WriteFile(filepath.Join(dir, "model.bin"), []byte("v2-partial"), 0o644)
		return &os.PathError{Op: "write", Path: filepath.Join(dir, "model.bin"), Err: syscall.ENOSPC}
	})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("err = %v", err)
	}
	dir, meta, err := st.OpenCheckpoint(ref)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "model.bin")); string(b) != "v1" || meta.TinkerPath != ref.String() {
		t.Fatalf("checkpoint after failed overwrite: %q %+v", b, meta)
	}
	// No temporary directories are left behind.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("leftovers: %v", names)
	}
	// Overwrite works; without overwrite it refuses.
	if _, err := st.SaveCheckpoint(ref, CheckpointMeta{}, false, write("v3")); !errors.Is(err, ErrCheckpointExists) {
		t.Fatalf("save without overwrite: %v", err)
	}
	if _, err := st.SaveCheckpoint(ref, CheckpointMeta{}, true, write("v3")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "model.bin")); string(b) != "v3" {
		t.Fatalf("after overwrite: %q", b)
	}
	// A directory without checkpoint_complete (a crash before the rename
	// would never produce one, but a hand-made one might) is not listed.
	os.MkdirAll(filepath.Join(st.Root(), "runs", "s:train:0", "weights", "half"), 0o755)
	cks, _ := st.ListCheckpoints("s:train:0")
	if len(cks) != 1 {
		t.Fatalf("listed %d checkpoints", len(cks))
	}
}

func TestStoreTTLExpires(t *testing.T) {
	st, _ := NewStore(t.TempDir())
	ref := CheckpointRef{Run: "r", Kind: KindSamplerWeights, Name: "x"}
	past := time.Now().Add(-time.Minute)
	if _, err := st.SaveCheckpoint(ref, CheckpointMeta{ExpiresAt: &past}, false, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.OpenCheckpoint(ref); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired checkpoint opened: %v", err)
	}
}

func TestNewStoreUnusableDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	_, err := NewStore(filepath.Join(f, "tkx"))
	if err == nil || !strings.Contains(err.Error(), "is not usable") {
		t.Fatalf("err = %v", err)
	}
}

// A save into an unwritable data directory, or onto a full disk, fails with
// a clear error; earlier checkpoints stay loadable and the engine keeps
// serving.
func TestEngineSaveFailuresKeepEarlierCheckpoints(t *testing.T) {
	e, p, c := newFakeEngine(t, nil)
	sid := c.session()
	mid := c.createModel(sid, 0, fakeBase, 1)
	var sw protocol.SaveWeightsResponse
	c.awaitJSON(c.submit(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: 1, Path: "good"}), &sw)

	// Full disk.
	enospc := error(&os.PathError{Op: "write", Path: "fake.json", Err: syscall.ENOSPC})
	p.saveErr.Store(&enospc)
	fe := c.awaitErr(c.submit(protocol.PathSaveWeights, protocol.SaveWeightsRequest{ModelID: mid, SeqID: 2, Path: "good", Overwrite: true}))
	if fe.Category != "server" || !strings.Contains(fe.Error, "no space left on device") || !strings.Contains(fe.Error, "earlier checkpoints are intact") {
		t.Fatalf("full disk: %+v", fe)
	}
	p.saveErr.Store(nil)

	// Unwritable run directory: replace it with a file-blocked path.
	runDir := filepath.Join(e.DataDir(), "runs", mid)
	kindDir := filepath.Join(runDir, KindSamplerWeights)
	os.RemoveAll(kindDir)
	if err := os.WriteFile(kindDir, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	fe = c.awaitErr(c.submit(protocol.PathSaveWeightsForSampler, protocol.SaveWeightsForSamplerRequest{ModelID: mid, SeqID: 3, Path: "s"}))
	if !strings.Contains(fe.Error, "cannot create") {
		t.Fatalf("unwritable: %+v", fe)
	}
	// The earlier checkpoint loads.
	c.awaitJSON(c.submit(protocol.PathLoadWeights, protocol.LoadWeightsRequest{ModelID: mid, SeqID: 4, Path: sw.Path, Optimizer: true}), nil)
}
