// Package hubtest is a fake Hugging Face Hub for tests: an httptest server
// that serves files from a directory the way the Hub's resolve endpoint
// does (X-Repo-Commit, ETag/X-Linked-Etag, LFS redirects to a CDN path,
// Range requests, Bearer tokens for gated repos, the Hub's error codes).
//
// Layout of Root: <Root>/models/<org>/<name>/<files...> (datasets under
// <Root>/datasets/...).
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Request is one request the server saw.
type Request struct {
	Method, Path, Range, Auth string
}

// Server is the fake Hub. Set fields before the first request.
type Server struct {
	*httptest.Server
	Root string
	// Token is the valid HF token; Gated repos ("org/name") need it.
	Token string
	Gated map[string]bool
	// LFSThreshold: files at least this large are served like LFS files
	// (sha256 ETag, redirect to /cdn/<sha256>). Default 1 MiB.
	LFSThreshold int64
	// Corrupt makes file bodies wrong (for checksum tests).
	Corrupt bool
	// FailAfter, if > 0, cuts file bodies after that many bytes once.
	FailAfter int

	mu       sync.Mutex
	requests []Request
}

// New starts a fake Hub serving root.
func New(root string) *Server {
	s := &Server{Root: root, Gated: map[string]bool{}, LFSThreshold: 1 << 20}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Commit is the fake commit hash of a repository.
func Commit(repoID string) string {
	h := sha1.Sum([]byte("commit:" + repoID))
	return hex.EncodeToString(h[:])
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
	corrupt, failAfter := s.Corrupt, 0
	if r.Method == http.MethodGet {
		failAfter, s.FailAfter = s.FailAfter, 0
	}
	s.mu.Unlock()

	path := strings.TrimPrefix(r.URL.Path, "/")
	if strings.HasPrefix(path, "cdn/") {
		s.serveBlob(w, r, strings.TrimPrefix(path, "cdn/"), corrupt, failAfter)
		return
	}
	typ := "models"
	if strings.HasPrefix(path, "datasets/") {
		typ, path = "datasets", strings.TrimPrefix(path, "datasets/")
	}
	parts := strings.SplitN(path, "/", 5) // org name resolve rev file
	if len(parts) != 5 || parts[2] != "resolve" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	repoID, rev, file := parts[0]+"/"+parts[1], parts[3], parts[4]
	repoDir := filepath.Join(s.Root, typ, parts[0], parts[1])
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository Not Found")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.Gated[repoID] && r.Header.Get("Authorization") != "Bearer "+s.Token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model "+repoID+" is restricted. You must have access to it and be authenticated to access it.")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	commit := Commit(repoID)
	if isCommit(rev) {
		commit = rev // any full commit hash names a snapshot of the files
	} else if rev != "main" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	data, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(file)))
	if err != nil || strings.Contains(file, "..") {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.Header().Set("X-Repo-Commit", commit)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if int64(len(data)) >= s.LFSThreshold {
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+sha+`"`)
		w.Header().Set("Location", "/cdn/"+typ+"/"+repoID+"/"+file)
		w.WriteHeader(http.StatusFound)
		return
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(h.Sum(nil))+`"`)
	s.serve(w, r, file, data, corrupt, failAfter)
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, path string, corrupt bool, failAfter int) {
	data, err := os.ReadFile(filepath.Join(s.Root, filepath.FromSlash(path)))
	if err != nil || strings.Contains(path, "..") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	s.serve(w, r, path, data, corrupt, failAfter)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, data []byte, corrupt bool, failAfter int) {
	if corrupt && len(data) > 0 {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0xFF
	}
	if failAfter > 0 && r.Method == http.MethodGet && failAfter < len(data) {
		// Send a truncated body with the full length, then drop the
		// connection, as a broken download would.
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:failAfter])
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func isCommit(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
