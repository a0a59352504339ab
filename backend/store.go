package backend

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store keeps training runs and checkpoints on disk:
//
//	<root>/runs/<run_id>/run.json
//	<root>/runs/<run_id>/weights/<name>/          (training checkpoint)
//	<root>/runs/<run_id>/sampler_weights/<name>/  (sampler checkpoint)
//
// A checkpoint directory holds adapter_config.json,
// adapter_model.safetensors (and the model's other files, e.g. optimizer
// state), meta.json and the checkpoint_complete marker. It is written into a
// temporary sibling directory, every file and the directory are fsynced,
// and the directory is renamed into place, so a crash leaves either the old
// checkpoint or the new one, never half of one.
type Store struct {
	root string
	mu   sync.Mutex
	now  func() time.Time
}

// Checkpoint kinds as they appear in tinker:// paths.
const (
	KindWeights        = "weights"
	KindSamplerWeights = "sampler_weights"
)

// Files in a checkpoint directory.
const (
	fileMeta     = "meta.json"
	fileComplete = "checkpoint_complete"
	fileRun      = "run.json"
)

// RunMeta describes a training run (one model_id).
type RunMeta struct {
	TrainingRunID  string            `json:"training_run_id"`
	BaseModel      string            `json:"base_model"`
	ModelOwner     string            `json:"model_owner"`
	SessionID      string            `json:"session_id"`
	IsLora         bool              `json:"is_lora"`
	LoraRank       int               `json:"lora_rank"`
	TrainAttn      bool              `json:"train_attn"`
	TrainMLP       bool              `json:"train_mlp"`
	TrainUnembed   bool              `json:"train_unembed"`
	LoraSeed       *int64            `json:"lora_seed,omitempty"`
	Created        time.Time         `json:"created"`
	LastRequest    time.Time         `json:"last_request_time"`
	UserMetadata   map[string]string `json:"user_metadata,omitempty"`
	LastCheckpoint string            `json:"last_checkpoint,omitempty"`
	LastSampler    string            `json:"last_sampler_checkpoint,omitempty"`
}

// CheckpointMeta is meta.json of one checkpoint.
type CheckpointMeta struct {
	CheckpointID  string     `json:"checkpoint_id"` // "weights/<name>"
	Type          string     `json:"checkpoint_type"`
	Time          time.Time  `json:"time"`
	TinkerPath    string     `json:"tinker_path"`
	SizeBytes     int64      `json:"size_bytes"`
	Public        bool       `json:"public"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	HasOptimizer  bool       `json:"has_optimizer"`
	TrainingRunID string     `json:"training_run_id"`
	BaseModel     string     `json:"base_model"`
	LoraRank      int        `json:"lora_rank"`
	TrainAttn     bool       `json:"train_attn"`
	TrainMLP      bool       `json:"train_mlp"`
	TrainUnembed  bool       `json:"train_unembed"`
	Step          int        `json:"step"`
}

var (
	runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$`)
)

// CheckpointRef is a parsed tinker://<run>/<kind>/<name> path.
type CheckpointRef struct {
	Run, Kind, Name string
}

func (r CheckpointRef) String() string { return "tinker://" + r.Run + "/" + r.Kind + "/" + r.Name }

// ID is "<kind>/<name>", the checkpoint_id of the REST API.
func (r CheckpointRef) ID() string { return r.Kind + "/" + r.Name }

// ParseTinkerPath parses tinker://<run>/{weights|sampler_weights}/<name>.
func ParseTinkerPath(p string) (CheckpointRef, error) {
	rest, ok := strings.CutPrefix(p, "tinker://")
	if !ok {
		return CheckpointRef{}, fmt.Errorf("checkpoint path %q must start with tinker:// (tinker://<run_id>/weights/<name> or .../sampler_weights/<name>)", p)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return CheckpointRef{}, fmt.Errorf("checkpoint path %q must be tinker://<run_id>/weights/<name> or tinker://<run_id>/sampler_weights/<name>", p)
	}
	ref := CheckpointRef{Run: parts[0], Kind: parts[1], Name: parts[2]}
	if err := ref.validate(); err != nil {
		return CheckpointRef{}, fmt.Errorf("checkpoint path %q: %v", p, err)
	}
	return ref, nil
}

// ParseCheckpointID parses "weights/<name>" (the REST API's {ckpt}).
func ParseCheckpointID(run, id string) (CheckpointRef, error) {
	kind, name, ok := strings.Cut(id, "/")
	if !ok {
		return CheckpointRef{}, fmt.Errorf("checkpoint id %q must be weights/<name> or sampler_weights/<name>", id)
	}
	ref := CheckpointRef{Run: run, Kind: kind, Name: name}
	return ref, ref.validate()
}

func (r CheckpointRef) validate() error {
	if !runIDPattern.MatchString(r.Run) {
		return fmt.Errorf("invalid training run id %q", r.Run)
	}
	if r.Kind != KindWeights && r.Kind != KindSamplerWeights {
		return fmt.Errorf("checkpoint kind %q must be %q or %q", r.Kind, KindWeights, KindSamplerWeights)
	}
	return validateCheckpointName(r.Name)
}

func validateCheckpointName(name string) error {
	if !namePattern.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("invalid checkpoint name %q (use letters, digits, '.', '_' and '-', at most 200 characters)", name)
	}
	return nil
}

// NewStore opens (creating if needed) a store rooted at dir.
func NewStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("backend: empty data directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, "runs"), 0o755); err != nil {
		return nil, fmt.Errorf("backend: data directory %s is not usable: %w", abs, err)
	}
	return &Store{root: abs, now: time.Now}, nil
}

// DefaultDataDir is $TKX_HOME, or <user cache dir>/tkx.
func DefaultDataDir() string {
	if d := os.Getenv("TKX_HOME"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tkx")
	}
	return filepath.Join(os.TempDir(), "tkx")
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) runDir(run string) string { return filepath.Join(s.root, "runs", run) }

func (s *Store) ckptDir(r CheckpointRef) string {
	return filepath.Join(s.runDir(r.Run), r.Kind, r.Name)
}

// PutRun writes run.json atomically.
func (s *Store) PutRun(m *RunMeta) error {
	if !runIDPattern.MatchString(m.TrainingRunID) {
		return fmt.Errorf("invalid training run id %q", m.TrainingRunID)
	}
	dir := s.runDir(m.TrainingRunID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, fileRun), b)
}

// GetRun reads run.json.
func (s *Store) GetRun(run string) (*RunMeta, error) {
	if !runIDPattern.MatchString(run) {
		return nil, fmt.Errorf("invalid training run id %q", run)
	}
	b, err := os.ReadFile(filepath.Join(s.runDir(run), fileRun))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	var m RunMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.runDir(run), fileRun), err)
	}
	return &m, nil
}

// ListRuns returns every run, newest first.
func (s *Store) ListRuns() ([]*RunMeta, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "runs"))
	if err != nil {
		return nil, err
	}
	var out []*RunMeta
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := s.GetRun(e.Name())
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].TrainingRunID < out[j].TrainingRunID
	})
	return out, nil
}

// ErrCheckpointExists is returned by SaveCheckpoint without overwrite.
var ErrCheckpointExists = errors.New("checkpoint already exists")

// SaveCheckpoint writes a checkpoint: write fills a fresh temporary
// directory with the model's files; SaveCheckpoint then adds meta.json and
// checkpoint_complete, fsyncs everything and renames the directory into
// place. On any error the temporary directory is removed and whatever
// checkpoint existed before is untouched.
func (s *Store) SaveCheckpoint(ref CheckpointRef, meta CheckpointMeta, overwrite bool, write func(dir string) error) (*CheckpointMeta, error) {
	if err := ref.validate(); err != nil {
		return nil, err
	}
	final := s.ckptDir(ref)
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("saving %s: cannot create %s: %w", ref, parent, err)
	}
	s.mu.Lock()
	_, statErr := os.Stat(final)
	s.mu.Unlock()
	if statErr == nil && !overwrite {
		return nil, fmt.Errorf("%w: %s (pass overwrite=true to replace it)", ErrCheckpointExists, ref)
	}
	tmp, err := os.MkdirTemp(parent, "."+ref.Name+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("saving %s: cannot create a temporary directory in %s: %w", ref, parent, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := write(tmp); err != nil {
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	size, err := dirSize(tmp)
	if err != nil {
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	meta.CheckpointID = ref.ID()
	meta.TinkerPath = ref.String()
	meta.TrainingRunID = ref.Run
	if ref.Kind == KindWeights {
		meta.Type = "training"
	} else {
		meta.Type = "sampler"
	}
	if meta.Time.IsZero() {
		meta.Time = s.now().UTC()
	}
	meta.SizeBytes = size
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, fileMeta), mb, 0o644); err != nil {
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, fileComplete), nil, 0o644); err != nil {
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	if err := syncTree(tmp); err != nil {
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var trash string
	if _, err := os.Stat(final); err == nil {
		if !overwrite {
			return nil, fmt.Errorf("%w: %s", ErrCheckpointExists, ref)
		}
		trash = tmp + ".old"
		if err := os.Rename(final, trash); err != nil {
			return nil, fmt.Errorf("saving %s: %w", ref, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if trash != "" {
			os.Rename(trash, final)
		}
		return nil, fmt.Errorf("saving %s: %w", ref, err)
	}
	ok = true
	syncDir(parent)
	if trash != "" {
		os.RemoveAll(trash)
	}
	return &meta, nil
}

// OpenCheckpoint returns the directory and metadata of a complete,
// unexpired checkpoint.
func (s *Store) OpenCheckpoint(ref CheckpointRef) (string, *CheckpointMeta, error) {
	if err := ref.validate(); err != nil {
		return "", nil, err
	}
	dir := s.ckptDir(ref)
	meta, err := s.readMeta(dir)
	if err != nil {
		return "", nil, err
	}
	if meta.ExpiresAt != nil && s.now().After(*meta.ExpiresAt) {
		s.mu.Lock()
		os.RemoveAll(dir)
		s.mu.Unlock()
		return "", nil, fmt.Errorf("checkpoint %s expired at %s", ref, meta.ExpiresAt.Format(time.RFC3339))
	}
	return dir, meta, nil
}

func (s *Store) readMeta(dir string) (*CheckpointMeta, error) {
	if _, err := os.Stat(filepath.Join(dir, fileComplete)); err != nil {
		return nil, fs.ErrNotExist
	}
	b, err := os.ReadFile(filepath.Join(dir, fileMeta))
	if err != nil {
		return nil, fs.ErrNotExist
	}
	var m CheckpointMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, fileMeta), err)
	}
	return &m, nil
}

// ListCheckpoints lists a run's checkpoints (run "" = all runs), newest
// first, dropping expired ones.
func (s *Store) ListCheckpoints(run string) ([]*CheckpointMeta, error) {
	var runs []string
	if run != "" {
		if !runIDPattern.MatchString(run) {
			return nil, fmt.Errorf("invalid training run id %q", run)
		}
		if _, err := os.Stat(s.runDir(run)); err != nil {
			return nil, fs.ErrNotExist
		}
		runs = []string{run}
	} else {
		entries, err := os.ReadDir(filepath.Join(s.root, "runs"))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				runs = append(runs, e.Name())
			}
		}
	}
	var out []*CheckpointMeta
	for _, r := range runs {
		for _, kind := range []string{KindWeights, KindSamplerWeights} {
			entries, err := os.ReadDir(filepath.Join(s.runDir(r), kind))
			if err != nil {
				continue
			}
			for _, e := range entries {
				if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				ref := CheckpointRef{Run: r, Kind: kind, Name: e.Name()}
				if _, m, err := s.OpenCheckpoint(ref); err == nil {
					out = append(out, m)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].TinkerPath < out[j].TinkerPath
	})
	return out, nil
}

// DeleteCheckpoint removes a checkpoint.
func (s *Store) DeleteCheckpoint(ref CheckpointRef) error {
	if _, _, err := s.OpenCheckpoint(ref); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.ckptDir(ref)
	// Rename first so a concurrent reader never sees a half-deleted tree.
	trash := filepath.Join(filepath.Dir(dir), "."+ref.Name+".deleted-"+newRequestID()[:8])
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

// UpdateMeta rewrites a checkpoint's meta.json under the store lock.
func (s *Store) UpdateMeta(ref CheckpointRef, f func(m *CheckpointMeta) error) (*CheckpointMeta, error) {
	dir, _, err := s.OpenCheckpoint(ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readMeta(dir)
	if err != nil {
		return nil, err
	}
	if err := f(m); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, fileMeta), b); err != nil {
		return nil, err
	}
	return m, nil
}

// archiveFiles are the files of the PEFT adapter archive, in tar order.
var archiveFiles = []string{"adapter_config.json", "adapter_model.safetensors", fileComplete}

// WriteArchive writes the checkpoint as a tar with adapter_config.json,
// adapter_model.safetensors and checkpoint_complete.
func (s *Store) WriteArchive(ref CheckpointRef, w io.Writer) error {
	dir, meta, err := s.OpenCheckpoint(ref)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, name := range archiveFiles {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checkpoint %s lacks %s: %w", ref, name, err)
		}
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: meta.Time, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeFileAtomic writes b to path through a fsynced temporary file and a
// rename.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncTree fsyncs every regular file under dir and then every directory.
func syncTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
