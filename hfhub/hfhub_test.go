package hfhub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tkx-dev/tkx/hfhub/hubtest"
)

func setup(t *testing.T) (*hubtest.Server, *Client, []byte) {
	t.Helper()
	root := t.TempDir()
	repo := filepath.Join(root, "models", "acme", "tiny")
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	os.WriteFile(filepath.Join(repo, "config.json"), []byte(`{"a":1}`), 0o644)
	os.WriteFile(filepath.Join(repo, "sub", "weights.bin"), big, 0o644)
	os.MkdirAll(filepath.Join(root, "models", "acme", "gated"), 0o755)
	os.WriteFile(filepath.Join(root, "models", "acme", "gated", "config.json"), []byte(`{}`), 0o644)
	srv := hubtest.New(root)
	srv.LFSThreshold = 1 << 15
	srv.Token = "hf_secret"
	srv.Gated["acme/gated"] = true
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, CacheDir: filepath.Join(t.TempDir(), "hub"), HTTP: srv.Client()}
	return srv, c, big
}

func TestDownloadLayout(t *testing.T) {
	srv, c, _ := setup(t)
	c.Token = "hf_secret"
	ctx := context.Background()
	r := Repo{ID: "acme/tiny"}
	p, err := c.Download(ctx, r, "config.json")
	if err != nil {
		t.Fatal(err)
	}
	commit := hubtest.Commit("acme/tiny")
	want := filepath.Join(c.CacheDir, "models--acme--tiny", "snapshots", commit, "config.json")
	if p != want {
		t.Fatalf("path %s, want %s", p, want)
	}
	if b, _ := os.ReadFile(p); string(b) != `{"a":1}` {
		t.Fatalf("content %q", b)
	}
	link, err := os.Readlink(p)
	if err != nil || !strings.HasPrefix(link, "../../blobs/") {
		t.Fatalf("snapshot is not a relative symlink into blobs: %q %v", link, err)
	}
	if ref, _ := os.ReadFile(filepath.Join(c.CacheDir, "models--acme--tiny", "refs", "main")); string(ref) != commit {
		t.Fatalf("refs/main = %q", ref)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 || reqs[0].Auth != "Bearer hf_secret" {
		t.Fatalf("no Bearer token sent: %+v", reqs)
	}
	// Cached now: no more requests, also by commit and offline.
	n := len(srv.Requests())
	c.Offline = true
	for _, rev := range []string{"", "main", commit} {
		if p2, err := c.Download(ctx, Repo{ID: "acme/tiny", Revision: rev}, "config.json"); err != nil || p2 != p {
			t.Fatalf("cached download rev %q: %s %v", rev, p2, err)
		}
	}
	if len(srv.Requests()) != n {
		t.Fatalf("cached file re-requested")
	}
	if _, err := c.Download(ctx, r, "sub/weights.bin"); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline miss: %v", err)
	}
}

func TestDownloadLFSResumeChecksum(t *testing.T) {
	srv, c, big := setup(t)
	ctx := context.Background()
	r := Repo{ID: "acme/tiny"}
	// A broken connection leaves a partial file; the next call resumes.
	srv.FailAfter = 10000
	if _, err := c.Download(ctx, r, "sub/weights.bin"); err == nil || !strings.Contains(err.Error(), "partial file kept") {
		t.Fatalf("broken download: %v", err)
	}
	p, err := c.Download(ctx, r, "sub/weights.bin")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, big) {
		t.Fatal("resumed file differs")
	}
	resumed := false
	for _, q := range srv.Requests() {
		if q.Range == "bytes=10000-" && strings.HasPrefix(q.Path, "/cdn/") {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("no Range request: %+v", srv.Requests())
	}
	// A corrupted body fails the sha256 check and leaves nothing behind.
	_, c2, _ := setup(t)
	c2.Endpoint, c2.HTTP = srv.URL, srv.Client()
	srv.Corrupt = true
	_, err = c2.Download(ctx, r, "sub/weights.bin")
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("corrupt download: %v", err)
	}
	blobs, _ := os.ReadDir(filepath.Join(c2.RepoDir(r), "blobs"))
	if len(blobs) != 0 {
		t.Fatalf("corrupt blob kept: %v", blobs)
	}
}

func TestDownloadErrors(t *testing.T) {
	_, c, _ := setup(t)
	ctx := context.Background()
	_, err := c.Download(ctx, Repo{ID: "acme/gated"}, "config.json")
	if err == nil || !strings.Contains(err.Error(), "gated") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("gated: %v", err)
	}
	c.Token = "hf_secret"
	if _, err := c.Download(ctx, Repo{ID: "acme/gated"}, "config.json"); err != nil {
		t.Fatalf("gated with token: %v", err)
	}
	_, err = c.Download(ctx, Repo{ID: "acme/nope"}, "config.json")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "model acme/nope not found") {
		t.Fatalf("missing repo: %v", err)
	}
	_, err = c.Download(ctx, Repo{ID: "acme/tiny"}, "missing.json")
	if !IsNotFound(err) || !strings.Contains(err.Error(), `no file "missing.json"`) {
		t.Fatalf("missing file: %v", err)
	}
	_, err = c.Download(ctx, Repo{ID: "acme/tiny", Revision: "v9"}, "config.json")
	if !IsNotFound(err) || !strings.Contains(err.Error(), `no revision "v9"`) {
		t.Fatalf("missing revision: %v", err)
	}
	for _, bad := range []string{"../etc", "a/b/c", ""} {
		if _, err := c.Download(ctx, Repo{ID: bad}, "x"); err == nil {
			t.Errorf("repo id %q accepted", bad)
		}
	}
	if _, err := c.Download(ctx, Repo{ID: "acme/tiny"}, "../x"); err == nil {
		t.Error("file ../x accepted")
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("HF_HOME", "/tmp/hfhome")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1/")
	t.Setenv("HF_TOKEN", "tok")
	t.Setenv("HF_HUB_OFFLINE", "1")
	c := NewClient()
	if c.CacheDir != "/tmp/hfhome/hub" || c.Endpoint != "http://127.0.0.1:1" || c.Token != "tok" || !c.Offline {
		t.Fatalf("%+v", c)
	}
	t.Setenv("HF_HUB_CACHE", "/x/cache")
	if CacheDir() != "/x/cache" {
		t.Fatal(CacheDir())
	}
	if got := (&Client{CacheDir: "/c"}).RepoDir(Repo{ID: "a/b", Type: Dataset}); got != "/c/datasets--a--b" {
		t.Fatal(got)
	}
}

// TestConcurrentDownloads: goroutines downloading the same file share one
// download (the lock file) and all get the complete file.
func TestConcurrentDownloads(t *testing.T) {
	srv, c, big := setup(t)
	ctx := context.Background()
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		go func() {
			p, err := c.Download(ctx, Repo{ID: "acme/tiny"}, "sub/weights.bin")
			if err == nil {
				if b, _ := os.ReadFile(p); !bytes.Equal(b, big) {
					err = errors.New("content differs")
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < 6; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	gets := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" {
			gets++
		}
	}
	if gets != 1 {
		t.Fatalf("%d GETs for one file", gets)
	}
	if _, err := os.Stat(filepath.Join(c.RepoDir(Repo{ID: "acme/tiny"}), "blobs")); err != nil {
		t.Fatal(err)
	}
}
