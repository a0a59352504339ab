package datasets

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tkx-dev/tkx/hfhub"
	"github.com/tkx-dev/tkx/hfhub/hubtest"
)

type pqMessage struct {
	Content string `parquet:"content"`
	Role    string `parquet:"role"`
}

type pqRow struct {
	Prompt   string      `parquet:"prompt"`
	ID       int64       `parquet:"prompt_id"`
	Messages []pqMessage `parquet:"messages,list"`
	Score    float32     `parquet:"score"`
}

func parquetBytes(t *testing.T, split string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&buf, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(7))
	rows := make([]pqRow, n)
	for i := range rows {
		q := fmt.Sprintf("%s question %d", split, i)
		rows[i] = pqRow{Prompt: q, ID: int64(i), Score: 0.5, Messages: []pqMessage{{q, "user"}, {fmt.Sprintf("answer %d", i), "assistant"}}}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const readmeConfigs = `---
license: cc-by-nc-4.0
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path:
    - data/test-*
- config_name: extra
  data_files: extra/*.jsonl
dataset_info:
  features:
  - name: prompt
---
# A dataset
`

// hubFixture returns repo files in the hub's layout for "org/chat".
func hubFixture(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"README.md":                         []byte(readmeConfigs + strings.Repeat("A dataset card is long.\n", 400)),
		"data/train-00000-of-00002.parquet": parquetBytes(t, "train", 20),
		"data/train-00001-of-00002.parquet": parquetBytes(t, "train2", 5),
		"data/test-00000-of-00001.parquet":  parquetBytes(t, "test", 6),
		"extra/x.jsonl":                     []byte("{\"messages\":[{\"role\":\"user\",\"content\":\"e\"}]}\n"),
		".gitattributes":                    []byte("*.parquet filter=lfs\n"),
	}
}

func writeTree(t *testing.T, files map[string][]byte) string {
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHFLocalFolderWithReadmeConfigs(t *testing.T) {
	dir := writeTree(t, hubFixture(t))
	train, err := FromHF(dir, HFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 25 {
		t.Fatalf("train rows %d", train.Len())
	}
	r := train.Row(20)
	if r["prompt"] != "train2 question 0" || r["prompt_id"] != int64(0) || r["score"] != 0.5 {
		t.Errorf("row 20: %#v", r)
	}
	msgs, err := Messages(train.Row(3))
	if err != nil || msgs[1].Role != "assistant" || msgs[1].Content != "answer 3" {
		t.Fatalf("messages: %v %v", msgs, err)
	}
	test, err := FromHF(dir, HFOptions{Split: "test[:4]"})
	if err != nil || test.Len() != 4 || test.Row(0)["prompt"] != "test question 0" {
		t.Fatalf("test slice: %v", err)
	}
	pct, err := FromHF(dir, HFOptions{Split: "train[80%:]"})
	if err != nil || pct.Len() != 5 || pct.Row(0)["prompt"] != "train2 question 0" {
		t.Fatalf("percent slice: %v %d", err, pct.Len())
	}
	neg, _ := FromHF(dir, HFOptions{Split: "train[-2:]"})
	if neg.Len() != 2 || neg.Row(1)["prompt"] != "train2 question 4" {
		t.Errorf("negative slice")
	}
	extra, err := FromHF(dir, HFOptions{Config: "extra"})
	if err != nil || extra.Len() != 1 {
		t.Fatalf("extra config: %v", err)
	}
	if _, err := FromHF(dir, HFOptions{Split: "validation"}); err == nil || !strings.Contains(err.Error(), `no split "validation" (it has: train, test)`) {
		t.Errorf("missing split: %v", err)
	}
	if _, err := FromHF(dir, HFOptions{Config: "nope"}); err == nil || !strings.Contains(err.Error(), `no config "nope" (it has: default, extra)`) {
		t.Errorf("missing config: %v", err)
	}
	if _, err := FromHF(dir, HFOptions{Split: "train[:x]"}); err == nil || !strings.Contains(err.Error(), "bad split") {
		t.Errorf("bad slice: %v", err)
	}
	// Streaming reads the same rows without loading them first.
	s, err := StreamHF(dir, HFOptions{Split: "train[3:9]"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Collect(0)
	if err != nil || got.Len() != 6 || got.Row(0)["prompt"] != "train question 3" {
		t.Fatalf("stream: %v", err)
	}
	if _, err := StreamHF(dir, HFOptions{Split: "train[10%:]"}); err == nil {
		t.Error("percent slice accepted for streaming")
	}
}

func TestHFSplitNamesWithoutReadme(t *testing.T) {
	dir := writeTree(t, map[string][]byte{
		"train.jsonl":           []byte("{\"a\":1}\n{\"a\":2}\n"),
		"validation/part.jsonl": []byte("{\"a\":3}\n"),
		"my_test_set.json":      []byte("{\"a\":4}\nnot json\n"),
		"notes.txt":             []byte("x"),
	})
	for split, want := range map[string]int{"train": 2, "validation": 1, "test": 1} {
		var warned []string
		ds, err := FromHF(dir, HFOptions{Split: split, Warn: func(e *LineError) { warned = append(warned, e.Error()) }})
		if err != nil || ds.Len() != want {
			t.Errorf("%s: %v", split, err)
		}
		if split == "test" && (len(warned) != 1 || !strings.Contains(warned[0], "my_test_set.json:2: not JSON")) {
			t.Errorf("warnings %v", warned)
		}
	}
	if _, err := FromHF(dir, HFOptions{Split: "test", OnError: Fail}); err == nil || !strings.Contains(err.Error(), ":2: not JSON") {
		t.Errorf("fail mode: %v", err)
	}
	// A folder whose files name no split is all train.
	flat := writeTree(t, map[string][]byte{"a.jsonl": []byte("{\"a\":1}\n"), "b.jsonl": []byte("{\"a\":2}\n")})
	if ds, err := FromHF(flat, HFOptions{}); err != nil || ds.Len() != 2 {
		t.Errorf("flat: %v", err)
	}
	if _, err := FromHF(flat, HFOptions{Split: "test"}); err == nil || !strings.Contains(err.Error(), "everything is \"train\"") {
		t.Errorf("flat test: %v", err)
	}
	empty := writeTree(t, map[string][]byte{"x.jsonl": []byte("\n")})
	if _, err := FromHF(empty, HFOptions{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty: %v", err)
	}
}

func TestReadmeConfigParsing(t *testing.T) {
	cfgs := parseReadmeConfigs(readmeConfigs)
	if len(cfgs) != 2 || cfgs[0].name != "default" || len(cfgs[0].splits) != 2 ||
		cfgs[0].splits[1].split != "test" || cfgs[0].splits[1].patterns[0] != "data/test-*" ||
		cfgs[1].splits[0].patterns[0] != "extra/*.jsonl" {
		t.Fatalf("%+v", cfgs)
	}
	for _, c := range []struct {
		pat, p string
		want   bool
	}{{"data/train-*", "data/train-00000-of-00001.parquet", true}, {"data/train-*", "data/sub/train-0.parquet", false},
		{"**/*.jsonl", "a/b/c.jsonl", true}, {"**/*.jsonl", "c.jsonl", true}, {"data/test-*", "data/train-0", false}} {
		if got := globMatch(c.pat, c.p); got != c.want {
			t.Errorf("glob %q %q = %v", c.pat, c.p, got)
		}
	}
}

func TestParquetCorrupt(t *testing.T) {
	p := writeFile(t, "bad.parquet", "PAR1 this is not parquet PAR1")
	if _, err := ReadParquet(context.Background(), p); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("corrupt parquet: %v", err)
	}
	good := parquetBytes(t, "x", 50)
	half := filepath.Join(t.TempDir(), "half.parquet")
	os.WriteFile(half, good[:len(good)/2], 0o644)
	if _, err := ReadParquet(context.Background(), half); err == nil || !strings.Contains(err.Error(), "half.parquet") {
		t.Errorf("truncated parquet: %v", err)
	}
	flipped := append([]byte(nil), good...)
	for i := 8; i < len(flipped)/2; i += 7 {
		flipped[i] ^= 0x5a
	}
	bad := filepath.Join(t.TempDir(), "flipped.parquet")
	os.WriteFile(bad, flipped, 0o644)
	if _, err := ReadParquet(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "flipped.parquet") {
		t.Errorf("corrupted pages: %v", err)
	}
}

// newHub serves hubFixture as the dataset repo org/chat (gated, token
// "hf_test") through hfhub's fake Hub, plus the repo-info API
// (/api/datasets/ORG/NAME/revision/REV) that the fake Hub lacks.
func newHub(t *testing.T) (*hubtest.Server, *hfhub.Client, map[string][]byte) {
	t.Helper()
	files := hubFixture(t)
	root := t.TempDir()
	for p, b := range files {
		full := filepath.Join(root, "datasets", "org", "chat", filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, b, 0o644)
	}
	hs := hubtest.New(root)
	t.Cleanup(hs.Close)
	hs.LFSThreshold = 256 // parquet files are served like LFS files
	hs.Token = "hf_test"
	hs.Gated["org/chat"] = true
	target, _ := url.Parse(hs.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // pass cut-off bodies through as they come
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/datasets/") {
			proxy.ServeHTTP(w, r)
			return
		}
		if r.URL.Path != "/api/datasets/org/chat/revision/main" {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Authorization") != "Bearer hf_test" {
			w.Header().Set("X-Error-Code", "GatedRepo")
			w.Header().Set("X-Error-Message", "Access to dataset org/chat is restricted.")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int    `json:"size"`
		}
		type sib struct {
			RFilename string `json:"rfilename"`
			BlobID    string `json:"blobId"`
			Size      int    `json:"size"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		var sibs []sib
		for p, b := range files {
			h := sha1.New()
			fmt.Fprintf(h, "blob %d\x00", len(b))
			h.Write(b)
			s := sib{RFilename: p, BlobID: hex.EncodeToString(h.Sum(nil)), Size: len(b)}
			if len(b) >= 256 {
				sum := sha256.Sum256(b)
				s.LFS = &lfs{SHA256: hex.EncodeToString(sum[:]), Size: len(b)}
			}
			sibs = append(sibs, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "org/chat", "sha": hubtest.Commit("org/chat"), "siblings": sibs})
	}))
	t.Cleanup(front.Close)
	c := &hfhub.Client{Endpoint: front.URL, Token: "hf_test", CacheDir: t.TempDir(), HTTP: front.Client()}
	return hs, c, files
}

func TestHubDownloadResumeAndCache(t *testing.T) {
	hs, hub, files := newHub(t)
	commit := hubtest.Commit("org/chat")
	// The first try is cut off mid-file; the error says the partial file is kept.
	hs.FailAfter = 6000 // more than the server's 4 KiB buffer, so part of it arrives
	_, err := FromHF("org/chat", HFOptions{Hub: hub, Split: "test"})
	if err == nil || !strings.Contains(err.Error(), "partial file kept") {
		t.Fatalf("interrupted download: %v", err)
	}
	ds, err := FromHF("org/chat", HFOptions{Hub: hub, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 6 || ds.Row(5)["prompt"] != "test question 5" {
		t.Fatalf("rows %d", ds.Len())
	}
	ranged := false
	for _, r := range hs.Requests() {
		ranged = ranged || strings.HasPrefix(r.Range, "bytes=") && r.Range != "bytes=0-"
	}
	if !ranged {
		t.Errorf("no resumed (Range) request: %v", hs.Requests())
	}
	// Hub cache layout: refs/main, blobs/<sha256>, snapshots/<commit>/path -> blob.
	repoDir := filepath.Join(hub.CacheDir, "datasets--org--chat")
	ref, _ := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	if string(ref) != commit {
		t.Errorf("refs/main = %q", ref)
	}
	snap := filepath.Join(repoDir, "snapshots", commit, "data", "test-00000-of-00001.parquet")
	target, err := os.Readlink(snap)
	sum := sha256.Sum256(files["data/test-00000-of-00001.parquet"])
	if err != nil || target != filepath.Join("..", "..", "..", "blobs", hex.EncodeToString(sum[:])) {
		t.Errorf("snapshot link %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "snapshots", commit, "README.md")); err != nil {
		t.Error("README not cached")
	}
	// Second load: served from the cache with the network off.
	n := len(hs.Requests())
	hub.Offline = true
	ds, err = FromHF("org/chat", HFOptions{Hub: hub, Split: "test"})
	if err != nil || ds.Len() != 6 || len(hs.Requests()) != n {
		t.Fatalf("cached load: %v", err)
	}
	if _, err := FromHF("org/chat", HFOptions{Hub: hub, Split: "train"}); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline miss: %v", err)
	}
	hub.Offline = false
	ds, err = FromHF("hf://datasets/org/chat", HFOptions{Hub: hub, Split: "train[:3]"})
	if err != nil || ds.Len() != 3 {
		t.Fatalf("train: %v", err)
	}
	// hf:// file paths through the scheme registry.
	RegisterScheme("hf", NewHFFileSystem(hub))
	defer RegisterScheme("hf", hfFS{client: hfhub.NewClient})
	conv, _, err := FromConversationFile("hf://datasets/org/chat/extra/x.jsonl", ReadOptions{})
	if err != nil || conv.Len() != 1 {
		t.Fatalf("hf:// jsonl: %v", err)
	}
	list, err := NewHFFileSystem(hub).List(context.Background(), "hf://datasets/org/chat/data")
	if err != nil || len(list) != 3 || list[0] != "hf://datasets/org/chat/data/test-00000-of-00001.parquet" {
		t.Errorf("list: %v %v", list, err)
	}
}

func TestHubErrors(t *testing.T) {
	hs, hub, _ := newHub(t)
	hub.Token = ""
	if _, err := FromHF("org/chat", HFOptions{Hub: hub}); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") || !strings.Contains(err.Error(), "restricted") {
		t.Errorf("no token: %v", err)
	}
	hub.Token = "hf_test"
	hs.Corrupt = true
	_, err := FromHF("org/chat", HFOptions{Hub: hub, Split: "test"})
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("corrupt: %v", err)
	}
	blobs, _ := filepath.Glob(filepath.Join(hub.CacheDir, "datasets--org--chat", "blobs", "*"))
	for _, b := range blobs {
		if strings.HasSuffix(filepath.Base(b), ".parquet") || len(filepath.Base(b)) == 64 {
			t.Errorf("corrupt blob kept: %s", b)
		}
	}
	hs.Corrupt = false
	if _, err := FromHF("org/missing", HFOptions{Hub: hub}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := FromHF("a/b/c", HFOptions{Hub: hub}); err == nil || !strings.Contains(err.Error(), "neither a local folder nor a hub dataset") {
		t.Errorf("bad name: %v", err)
	}
}
