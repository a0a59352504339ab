// Package hfhub finds and downloads files of Hugging Face Hub repositories
// the way huggingface_hub does: the same cache layout
// ($HF_HUB_CACHE or $HF_HOME/hub, default ~/.cache/huggingface/hub, with
// models--org--name/{blobs,snapshots/<commit>,refs/<revision>}), the same
// resolve URLs ($HF_ENDPOINT/<repo>/resolve/<revision>/<file>), HF_TOKEN as
// a Bearer token, resumable downloads (Range), checksums (sha256 ETags of
// LFS files), and atomic writes. Files already in the cache are used
// without touching the network; HF_HUB_OFFLINE=1 forbids the network.
package hfhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultEndpoint is the Hub's address when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// RepoType is "model" (default), "dataset" or "space".
type RepoType string

const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
)

// Repo names one repository at one revision.
type Repo struct {
	ID       string   // "org/name"
	Type     RepoType // "" means Model
	Revision string   // branch, tag or commit; "" means "main"
}

func (r Repo) typ() RepoType {
	if r.Type == "" {
		return Model
	}
	return r.Type
}

func (r Repo) rev() string {
	if r.Revision == "" {
		return "main"
	}
	return r.Revision
}

// Client downloads into the cache. The zero value is not usable; call
// NewClient (which reads the environment) and adjust fields if needed.
type Client struct {
	Endpoint string       // HF_ENDPOINT, default DefaultEndpoint
	Token    string       // HF_TOKEN (or HUGGING_FACE_HUB_TOKEN)
	CacheDir string       // the hub cache directory (…/huggingface/hub)
	Offline  bool         // HF_HUB_OFFLINE=1: never use the network
	HTTP     *http.Client // default: 10 min timeout
	// Progress, if set, is called while a file downloads.
	Progress func(file string, done, total int64)
}

// NewClient reads HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HOME and
// HF_HUB_OFFLINE.
func NewClient() *Client {
	c := &Client{
		Endpoint: strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"),
		Token:    os.Getenv("HF_TOKEN"),
		CacheDir: CacheDir(),
		Offline:  isTrue(os.Getenv("HF_HUB_OFFLINE")),
		HTTP:     &http.Client{Timeout: 10 * time.Minute},
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Token == "" {
		c.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	if c.Token == "" {
		if home := hfHome(); home != "" {
			if b, err := os.ReadFile(filepath.Join(home, "token")); err == nil {
				c.Token = strings.TrimSpace(string(b))
			}
		}
	}
	return c
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// CacheDir is the hub cache directory from the environment.
func CacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" {
		return d
	}
	return filepath.Join(hfHome(), "hub")
}

var (
	repoIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidateRepoID checks the form of a repository id ("org/name").
func ValidateRepoID(id string) error {
	if !repoIDRe.MatchString(id) || strings.Contains(id, "..") || strings.Contains(id, "--") {
		return fmt.Errorf("hfhub: invalid repository id %q (want org/name)", id)
	}
	return nil
}

func validateFilename(f string) error {
	if f == "" || strings.HasPrefix(f, "/") || strings.Contains(f, "\\") {
		return fmt.Errorf("hfhub: invalid file name %q", f)
	}
	for _, part := range strings.Split(f, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("hfhub: invalid file name %q", f)
		}
	}
	return nil
}

// RepoDir is the cache directory of a repository
// (<cache>/models--org--name).
func (c *Client) RepoDir(r Repo) string {
	return filepath.Join(c.CacheDir, string(r.typ())+"s--"+strings.ReplaceAll(r.ID, "/", "--"))
}

// CachedFile returns the path of filename in the cached snapshot of r, if
// it is there (resolving the revision through refs/).
func (c *Client) CachedFile(r Repo, filename string) (string, bool) {
	commit := r.rev()
	if !commitRe.MatchString(commit) {
		b, err := os.ReadFile(filepath.Join(c.RepoDir(r), "refs", commit))
		if err != nil {
			return "", false
		}
		commit = strings.TrimSpace(string(b))
	}
	p := filepath.Join(c.RepoDir(r), "snapshots", commit, filepath.FromSlash(filename))
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// Error is a failed Hub request, with the Hub's error code when given
// (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound).
type Error struct {
	Repo   Repo
	File   string
	Status int
	Code   string // X-Error-Code
	Msg    string // X-Error-Message or a summary
}

func (e *Error) Error() string {
	what := fmt.Sprintf("%s %s", e.Repo.typ(), e.Repo.ID)
	switch {
	case e.Code == "GatedRepo" || (e.Status == 403 && e.Code == ""):
		return fmt.Sprintf("hfhub: %s is gated: accept its licence on the Hub and set HF_TOKEN (%s)", what, e.Msg)
	case e.Code == "RepoNotFound" || e.Code == "RepositoryNotFound" || (e.Status == 401 && e.Code == ""):
		return fmt.Sprintf("hfhub: %s not found on %s (or it is private: set HF_TOKEN)", what, "the Hub")
	case e.Code == "RevisionNotFound":
		return fmt.Sprintf("hfhub: %s has no revision %q", what, e.Repo.rev())
	case e.Code == "EntryNotFound" || e.Status == 404:
		return fmt.Sprintf("hfhub: %s has no file %q at revision %q", what, e.File, e.Repo.rev())
	}
	return fmt.Sprintf("hfhub: %s/%s: HTTP %d %s", e.Repo.ID, e.File, e.Status, e.Msg)
}

// IsNotFound reports whether err says the repository or file does not exist.
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "RepoNotFound", "RepositoryNotFound", "EntryNotFound", "RevisionNotFound":
		return true
	}
	return e.Status == 404 || (e.Status == 401 && e.Code == "")
}

// ErrOffline is returned when a file is not cached and the network is off.
var ErrOffline = errors.New("hfhub: file not in the cache and HF_HUB_OFFLINE is set")

func (c *Client) resolveURL(r Repo, filename string) string {
	prefix := ""
	switch r.typ() {
	case Dataset:
		prefix = "datasets/"
	case "space":
		prefix = "spaces/"
	}
	var parts []string
	for _, p := range strings.Split(filename, "/") {
		parts = append(parts, url.PathEscape(p))
	}
	return fmt.Sprintf("%s/%s%s/resolve/%s/%s", strings.TrimRight(c.Endpoint, "/"), prefix, r.ID, url.PathEscape(r.rev()), strings.Join(parts, "/"))
}

// Download returns the local path of filename in r, downloading it into
// the cache if it is not there yet.
func (c *Client) Download(ctx context.Context, r Repo, filename string) (string, error) {
	if err := ValidateRepoID(r.ID); err != nil {
		return "", err
	}
	if err := validateFilename(filename); err != nil {
		return "", err
	}
	if p, ok := c.CachedFile(r, filename); ok {
		return p, nil
	}
	if c.Offline {
		return "", fmt.Errorf("%w: %s %s/%s (revision %s) under %s", ErrOffline, r.typ(), r.ID, filename, r.rev(), c.CacheDir)
	}
	meta, err := c.head(ctx, r, filename)
	if err != nil {
		return "", err
	}
	repoDir := c.RepoDir(r)
	blob := filepath.Join(repoDir, "blobs", meta.etag)
	if _, err := os.Stat(blob); err != nil {
		unlock, err := lockFile(ctx, blob+".lock")
		if err != nil {
			return "", err
		}
		// Another process may have finished it while we waited.
		if _, statErr := os.Stat(blob); statErr != nil {
			err = c.fetch(ctx, r, filename, meta, blob)
		}
		unlock()
		if err != nil {
			return "", err
		}
	}
	snap := filepath.Join(repoDir, "snapshots", meta.commit, filepath.FromSlash(filename))
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return "", fmt.Errorf("hfhub: %w", err)
	}
	if err := linkBlob(blob, snap); err != nil {
		return "", err
	}
	if rev := r.rev(); rev != meta.commit {
		refs := filepath.Join(repoDir, "refs", filepath.FromSlash(rev))
		if err := writeAtomic(refs, []byte(meta.commit)); err != nil {
			return "", err
		}
	}
	return snap, nil
}

var linkSeq atomic.Int64

// linkBlob points snap at blob with a relative symlink (as
// huggingface_hub does), falling back to a copy.
func linkBlob(blob, snap string) error {
	rel, err := filepath.Rel(filepath.Dir(snap), blob)
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp-link-%d-%d", snap, os.Getpid(), linkSeq.Add(1))
	if err := os.Symlink(rel, tmp); err == nil {
		if err := os.Rename(tmp, snap); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("hfhub: %w", err)
		}
		return nil
	}
	data, err := os.ReadFile(blob)
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	return writeAtomic(snap, data)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("hfhub: writing %s: %v", path, errors.Join(werr, cerr))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("hfhub: %w", err)
	}
	return nil
}

type fileMeta struct {
	commit string
	etag   string // blob name: sha256 for LFS files, git sha1 otherwise
	size   int64  // -1 if unknown
	url    string // where to GET (after the Hub's redirect)
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hfhub: %w", err)
	}
	req.Header.Set("User-Agent", "tkx-hfhub/1")
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && sameHost(u, c.Endpoint) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}

func normalizeETag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.Trim(s, `"`)
}

func hubError(r Repo, file string, resp *http.Response) error {
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		msg = strings.TrimSpace(string(b))
		if msg == "" {
			msg = resp.Status
		}
	}
	return &Error{Repo: r, File: file, Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Msg: msg}
}

// head asks the Hub for the file's commit and ETag without following the
// redirect of LFS files (whose ETag is on the Hub's answer, not the CDN's).
func (c *Client) head(ctx context.Context, r Repo, filename string) (*fileMeta, error) {
	u := c.resolveURL(r, filename)
	client := *c.httpClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("hfhub: %s %s/%s: %w", r.typ(), r.ID, filename, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return nil, hubError(r, filename, resp)
		}
		commit := resp.Header.Get("X-Repo-Commit")
		etag := normalizeETag(resp.Header.Get("X-Linked-Etag"))
		if etag == "" {
			etag = normalizeETag(resp.Header.Get("ETag"))
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			next, err := req.URL.Parse(loc)
			if err != nil {
				return nil, fmt.Errorf("hfhub: bad redirect %q: %w", loc, err)
			}
			// A redirect inside the Hub (renamed repo): follow it for the
			// metadata. A redirect elsewhere (LFS CDN): metadata is here.
			if commit == "" || etag == "" {
				if hops > 5 {
					return nil, fmt.Errorf("hfhub: %s/%s: too many redirects", r.ID, filename)
				}
				u = next.String()
				continue
			}
			u = next.String()
		}
		if commit == "" || etag == "" {
			return nil, fmt.Errorf("hfhub: %s/%s: the server gave no X-Repo-Commit/ETag (is HF_ENDPOINT=%s a Hub?)", r.ID, filename, c.Endpoint)
		}
		if !commitRe.MatchString(commit) || strings.ContainsAny(etag, `/\`) || etag == "." || etag == ".." {
			return nil, fmt.Errorf("hfhub: %s/%s: bad commit %q or ETag %q from the server", r.ID, filename, commit, etag)
		}
		size := resp.ContentLength
		if ls := resp.Header.Get("X-Linked-Size"); ls != "" {
			fmt.Sscan(ls, &size)
		}
		return &fileMeta{commit: commit, etag: etag, size: size, url: u}, nil
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// fetch downloads meta.url into blob: into blob.incomplete first, resuming
// from its length with a Range request, then checks the size and (for
// sha256 ETags) the checksum, and renames.
func (c *Client) fetch(ctx context.Context, r Repo, filename string, meta *fileMeta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	if meta.size >= 0 && have > meta.size {
		have = 0
	}
	if meta.size < 0 || have < meta.size {
		req, err := c.newRequest(ctx, http.MethodGet, meta.url)
		if err != nil {
			return err
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("hfhub: downloading %s/%s: %w (partial file kept for resuming)", r.ID, filename, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
		case resp.StatusCode == http.StatusOK:
			have = 0 // the server ignored Range: start over
		default:
			return hubError(r, filename, resp)
		}
		if err := f.Truncate(have); err != nil {
			return fmt.Errorf("hfhub: %w", err)
		}
		if _, err := f.Seek(have, io.SeekStart); err != nil {
			return fmt.Errorf("hfhub: %w", err)
		}
		var src io.Reader = resp.Body
		if c.Progress != nil {
			src = &progressReader{r: resp.Body, done: have, total: meta.size, fn: func(d, t int64) { c.Progress(filename, d, t) }}
		}
		if _, err := io.Copy(f, src); err != nil {
			return fmt.Errorf("hfhub: downloading %s/%s: %w (partial file kept for resuming)", r.ID, filename, err)
		}
	}
	size, _ := f.Seek(0, io.SeekEnd)
	if meta.size >= 0 && size != meta.size {
		return fmt.Errorf("hfhub: %s/%s: got %d bytes, want %d (partial file kept for resuming)", r.ID, filename, size, meta.size)
	}
	if sha256Re.MatchString(meta.etag) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("hfhub: %w", err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("hfhub: %w", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != meta.etag {
			f.Close()
			os.Remove(part)
			return fmt.Errorf("hfhub: %s/%s: sha256 %s does not match the Hub's %s (download discarded)", r.ID, filename, got, meta.etag)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	f.Close()
	if err := os.Rename(part, blob); err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	return nil
}

type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}

// lockFile takes an exclusive lock between processes (and goroutines) by
// creating path with O_EXCL, waiting while another holder has it. A lock
// older than staleLock is taken to be left by a dead process.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("hfhub: %w", err)
	}
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("hfhub: %w", err)
		}
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("hfhub: waiting for %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

const staleLock = 10 * time.Minute
