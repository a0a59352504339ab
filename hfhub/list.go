package hfhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RepoFile is one file of a repository listing.
type RepoFile struct {
	Path   string
	Size   int64  // bytes (the real size for LFS files)
	BlobID string // git blob id
	SHA256 string // LFS files only
}

// ListFiles returns the commit that r's revision points to and the files
// of the repository at that commit, from the Hub's repo-info API
// (GET /api/{models,datasets,spaces}/ID/revision/REV?blobs=true). It also
// records the revision in the cache's refs/, so later calls can work from
// the cache. Datasets need it to find a split's data files; pass
// Repo{..., Revision: commit} to Download to fetch them at that commit.
func (c *Client) ListFiles(ctx context.Context, r Repo) (commit string, files []RepoFile, err error) {
	if err := ValidateRepoID(r.ID); err != nil {
		return "", nil, err
	}
	if c.Offline {
		return "", nil, fmt.Errorf("%w: listing %s %s (revision %s)", ErrOffline, r.typ(), r.ID, r.rev())
	}
	u := fmt.Sprintf("%s/api/%ss/%s/revision/%s?blobs=true", strings.TrimRight(c.Endpoint, "/"), r.typ(), r.ID, url.PathEscape(r.rev()))
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("hfhub: listing %s %s: %w", r.typ(), r.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", nil, hubError(r, "", resp)
	}
	var body struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      int64  `json:"size"`
			BlobID    string `json:"blobId"`
			LFS       *struct {
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", nil, fmt.Errorf("hfhub: listing %s %s: bad answer from %s: %v", r.typ(), r.ID, u, err)
	}
	if !commitRe.MatchString(body.SHA) {
		return "", nil, fmt.Errorf("hfhub: listing %s %s: no commit in the answer of %s", r.typ(), r.ID, u)
	}
	for _, s := range body.Siblings {
		if validateFilename(s.RFilename) != nil {
			continue
		}
		f := RepoFile{Path: s.RFilename, Size: s.Size, BlobID: s.BlobID}
		if s.LFS != nil {
			f.SHA256, f.Size = s.LFS.SHA256, s.LFS.Size
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if rev := r.rev(); rev != body.SHA {
		if err := writeAtomic(filepath.Join(c.RepoDir(r), "refs", filepath.FromSlash(rev)), []byte(body.SHA)); err != nil {
			return "", nil, err
		}
	}
	return body.SHA, files, nil
}

// CachedSnapshot returns the cached snapshot directory of r's revision
// (resolved through refs/) and its commit, if the cache has one. The
// snapshot may hold only some of the repository's files.
func (c *Client) CachedSnapshot(r Repo) (dir, commit string, ok bool) {
	commit = r.rev()
	if !commitRe.MatchString(commit) {
		b, err := os.ReadFile(filepath.Join(c.RepoDir(r), "refs", filepath.FromSlash(commit)))
		if err != nil {
			return "", "", false
		}
		commit = strings.TrimSpace(string(b))
	}
	dir = filepath.Join(c.RepoDir(r), "snapshots", commit)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", "", false
	}
	return dir, commit, true
}
