package datasets

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// FileSystem reads data files of one URL scheme. Local paths and file://
// are built in; hf:// is registered by this package (see hf.go); s3://
// plugs in with RegisterScheme.
type FileSystem interface {
	// Open opens a file for sequential reading.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// LocalPath returns a local file with the file's content, downloading
	// it into a cache if needed (Parquet needs random access).
	LocalPath(ctx context.Context, path string) (string, error)
	// List returns the files under dir, recursively, as paths of the same
	// scheme, sorted. A path that is a file lists as itself.
	List(ctx context.Context, dir string) ([]string, error)
}

var (
	schemesMu sync.RWMutex
	schemes   = map[string]FileSystem{}
)

// RegisterScheme makes paths "scheme://…" resolve through fs. Registering
// a scheme again replaces it (tests use this to point hf:// at a fake hub).
func RegisterScheme(scheme string, fs FileSystem) {
	schemesMu.Lock()
	defer schemesMu.Unlock()
	schemes[scheme] = fs
}

// Scheme returns the URL scheme of path ("" for a local path).
func Scheme(path string) string {
	i := strings.Index(path, "://")
	if i <= 0 {
		return ""
	}
	s := path[:i]
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	return s
}

// FileSystemFor returns the FileSystem that serves path.
func FileSystemFor(path string) (FileSystem, error) {
	s := Scheme(path)
	if s == "" || s == "file" {
		return localFS{}, nil
	}
	schemesMu.RLock()
	fsys, ok := schemes[s]
	schemesMu.RUnlock()
	if !ok {
		known := []string{"file"}
		schemesMu.RLock()
		for k := range schemes {
			known = append(known, k)
		}
		schemesMu.RUnlock()
		sort.Strings(known)
		return nil, fmt.Errorf("%s: no reader for %s:// paths (known: %s://)", path, s, strings.Join(known, "://, "))
	}
	return fsys, nil
}

// OpenPath opens path for reading through its scheme, decompressing .gz.
func OpenPath(ctx context.Context, path string) (io.ReadCloser, error) {
	fsys, err := FileSystemFor(path)
	if err != nil {
		return nil, err
	}
	rc, err := fsys.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(rc)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: not a gzip file (the .gz suffix asks for one): %w", path, err)
		}
		return &gzipReadCloser{zr, rc}, nil
	}
	return rc, nil
}

type gzipReadCloser struct {
	*gzip.Reader
	under io.Closer
}

func (g *gzipReadCloser) Close() error {
	err := g.Reader.Close()
	if e := g.under.Close(); err == nil {
		err = e
	}
	return err
}

type localFS struct{}

func localName(path string) string {
	return strings.TrimPrefix(path, "file://")
}

func (localFS) Open(_ context.Context, path string) (io.ReadCloser, error) {
	f, err := os.Open(localName(path))
	if err != nil {
		return nil, err // *PathError names the file
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a data file", path)
	}
	return f, nil
}

func (localFS) LocalPath(_ context.Context, path string) (string, error) {
	p := localName(path)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func (localFS) List(_ context.Context, dir string) ([]string, error) {
	root := localName(dir)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .cache, .git, .huggingface
			}
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
