package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tkx-dev/tkx/hfhub"
)

// Hub datasets go through package hfhub: the hub cache layout shared with
// huggingface_hub (CACHE/datasets--ORG--NAME/{refs,blobs,snapshots}),
// HF_TOKEN, resumable and checksummed downloads, HF_HUB_OFFLINE. A split
// is served from the cached snapshot when it already holds the split's
// files (no network at all); otherwise the repo is listed
// (hfhub.Client.ListFiles), the split's files are picked, and each is
// downloaded at the listed commit.

func hubClient(opts HFOptions) *hfhub.Client {
	if opts.Hub != nil {
		return opts.Hub
	}
	return hfhub.NewClient()
}

func readmeAt(dir string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return string(b), err
	}
}

func listLocal(ctx context.Context, root string) ([]string, error) {
	all, err := localFS{}.List(ctx, root)
	if err != nil {
		return nil, err
	}
	rel := make([]string, len(all))
	for i, f := range all {
		r, _ := filepath.Rel(root, f)
		rel[i] = filepath.ToSlash(r)
	}
	return rel, nil
}

// hubSplitFiles resolves a split of a hub dataset to local files.
func hubSplitFiles(ctx context.Context, c *hfhub.Client, repoID, rev, config, split string) (string, []string, error) {
	repo := hfhub.Repo{ID: repoID, Type: hfhub.Dataset, Revision: rev}
	if snap, _, ok := c.CachedSnapshot(repo); ok {
		rel, err := listLocal(ctx, snap)
		if err == nil {
			files, err := selectSplitFiles(repoID, rel, readmeAt(snap), config, split)
			if err == nil {
				return snap, files, nil
			}
			if c.Offline {
				return "", nil, fmt.Errorf("%w (from the hub cache %s; HF_HUB_OFFLINE is set)", err, snap)
			}
		}
	}
	commit, listing, err := c.ListFiles(ctx, repo)
	if err != nil {
		return "", nil, err
	}
	pinned := hfhub.Repo{ID: repoID, Type: hfhub.Dataset, Revision: commit}
	paths := make([]string, len(listing))
	hasReadme := false
	for i, f := range listing {
		paths[i] = f.Path
		hasReadme = hasReadme || f.Path == "README.md"
	}
	readme := func() (string, error) {
		if !hasReadme {
			return "", nil
		}
		p, err := c.Download(ctx, pinned, "README.md")
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(p)
		return string(b), err
	}
	files, err := selectSplitFiles(repoID, paths, readme, config, split)
	if err != nil {
		return "", nil, err
	}
	for _, f := range files {
		if _, err := c.Download(ctx, pinned, f); err != nil {
			return "", nil, err
		}
	}
	return filepath.Join(c.RepoDir(pinned), "snapshots", commit), files, nil
}

// ---- hf:// paths ----

// hfFS serves hf://datasets/ORG/NAME[@REV]/PATH through an hfhub.Client.
type hfFS struct{ client func() *hfhub.Client }

func init() { RegisterScheme("hf", hfFS{client: hfhub.NewClient}) }

// NewHFFileSystem returns the hf:// FileSystem over c; tests register it
// with RegisterScheme("hf", …) to use a local server.
func NewHFFileSystem(c *hfhub.Client) FileSystem {
	return hfFS{client: func() *hfhub.Client { return c }}
}

func splitHFPath(p string) (repo hfhub.Repo, file string, err error) {
	rest, ok := strings.CutPrefix(p, "hf://datasets/")
	if !ok {
		return repo, "", fmt.Errorf("%s: want hf://datasets/ORG/NAME[@REV]/PATH", p)
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return repo, "", fmt.Errorf("%s: want hf://datasets/ORG/NAME[@REV]/PATH", p)
	}
	name, rev, _ := strings.Cut(parts[1], "@")
	repo = hfhub.Repo{ID: parts[0] + "/" + name, Type: hfhub.Dataset, Revision: rev}
	if len(parts) == 3 {
		file = parts[2]
	}
	return repo, file, nil
}

func (fs hfFS) LocalPath(ctx context.Context, p string) (string, error) {
	repo, file, err := splitHFPath(p)
	if err != nil {
		return "", err
	}
	if file == "" {
		return "", fmt.Errorf("%s: names a repo, not a file", p)
	}
	return fs.client().Download(ctx, repo, file)
}

func (fs hfFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	local, err := fs.LocalPath(ctx, p)
	if err != nil {
		return nil, err
	}
	return os.Open(local)
}

func (fs hfFS) List(ctx context.Context, dir string) ([]string, error) {
	repo, prefix, err := splitHFPath(dir)
	if err != nil {
		return nil, err
	}
	c := fs.client()
	var paths []string
	if snap, _, ok := c.CachedSnapshot(repo); ok && c.Offline {
		if paths, err = listLocal(ctx, snap); err != nil {
			return nil, err
		}
	} else {
		_, listing, err := c.ListFiles(ctx, repo)
		if err != nil {
			return nil, err
		}
		for _, f := range listing {
			paths = append(paths, f.Path)
		}
	}
	base := strings.TrimSuffix(strings.TrimSuffix(dir, "/"), "/"+strings.TrimSuffix(prefix, "/"))
	var out []string
	for _, f := range paths {
		if prefix == "" || f == prefix || strings.HasPrefix(f, strings.TrimSuffix(prefix, "/")+"/") {
			out = append(out, base+"/"+f)
		}
	}
	return out, nil
}
