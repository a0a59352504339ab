package hfhub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListFiles(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/api/datasets/org/chat/revision/main":
			w.Write([]byte(`{"id":"org/chat","sha":"` + commit + `","siblings":[
				{"rfilename":"data/train-0.parquet","blobId":"b1","size":134,"lfs":{"sha256":"` + strings.Repeat("a", 64) + `","size":9000}},
				{"rfilename":"README.md","blobId":"b2","size":12},
				{"rfilename":"../evil","blobId":"b3","size":1}]}`))
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL, Token: "hf_x", CacheDir: t.TempDir(), HTTP: srv.Client()}
	repo := Repo{ID: "org/chat", Type: Dataset}
	got, files, err := c.ListFiles(context.Background(), repo)
	if err != nil || got != commit {
		t.Fatalf("%v %q", err, got)
	}
	if auth != "Bearer hf_x" {
		t.Errorf("auth header %q", auth)
	}
	if len(files) != 2 || files[0].Path != "README.md" || files[1].SHA256 != strings.Repeat("a", 64) || files[1].Size != 9000 {
		t.Errorf("files %+v", files)
	}
	ref, _ := os.ReadFile(filepath.Join(c.RepoDir(repo), "refs", "main"))
	if string(ref) != commit {
		t.Errorf("refs/main %q", ref)
	}
	if _, _, ok := c.CachedSnapshot(repo); ok {
		t.Error("snapshot reported before any download")
	}
	os.MkdirAll(filepath.Join(c.RepoDir(repo), "snapshots", commit), 0o755)
	if dir, cm, ok := c.CachedSnapshot(repo); !ok || cm != commit || !strings.HasSuffix(dir, commit) {
		t.Errorf("snapshot %q %q %v", dir, cm, ok)
	}
	if _, _, err := c.ListFiles(context.Background(), Repo{ID: "org/missing", Type: Dataset}); !IsNotFound(err) {
		t.Errorf("missing: %v", err)
	}
	c.Offline = true
	if _, _, err := c.ListFiles(context.Background(), repo); !errors.Is(err, ErrOffline) {
		t.Errorf("offline: %v", err)
	}
}
