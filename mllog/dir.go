package mllog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

// Behavior is what Setup does when the log directory already has a run
// in it (the cookbook's behavior_if_log_dir_exists).
type Behavior string

const (
	// Ask prompts on the terminal: delete, resume or exit. Without a
	// terminal it fails and names the other choices.
	Ask Behavior = "ask"
	// Resume keeps the directory and appends to it.
	Resume Behavior = "resume"
	// Delete removes the old run first.
	Delete Behavior = "delete"
	// Raise fails.
	Raise Behavior = "raise"
)

// ParseBehavior accepts ask, resume, delete and raise ("" means ask).
func ParseBehavior(s string) (Behavior, error) {
	switch b := Behavior(s); b {
	case "":
		return Ask, nil
	case Ask, Resume, Delete, Raise:
		return b, nil
	}
	return "", fmt.Errorf("behavior_if_log_dir_exists must be one of ask, resume, delete, raise; got %q", s)
}

// ErrExit is returned when the user answers "exit" to the Ask prompt.
var ErrExit = errors.New("log directory exists; stopped at the user's request")

// DefaultLogPath is where a run named name logs when no log_path is given:
// $TKX_HOME/runs/NAME, with TKX_HOME defaulting to os.UserCacheDir()/tkx.
func DefaultLogPath(name string) (string, error) {
	home := os.Getenv("TKX_HOME")
	if home == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no log_path given and no user cache directory: %v", err)
		}
		home = filepath.Join(cache, "tkx")
	}
	if name == "" {
		name = "run-" + time.Now().Format("20060102-150405")
	}
	return filepath.Join(home, "runs", name), nil
}

var logDirMarkers = []string{ConfigFile, MetricsFile, CheckpointsFile, LogsFile}

// hasRun reports whether dir exists and is not empty.
func hasRun(dir string) (exists bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("log directory %s: %w", dir, err)
	}
	return len(entries) > 0, nil
}

func looksLikeLogDir(dir string) bool {
	for _, m := range logDirMarkers {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			return true
		}
	}
	return false
}

// PrepareDir applies behavior to dir and creates it. It returns resumed =
// true when an existing run is kept. in/out are used by Ask (a prompt is
// only shown when interactive is true).
//
// Delete refuses to remove a non-empty directory that holds none of
// config.json, metrics.jsonl, checkpoints.jsonl and logs.log, so a
// mistyped log_path cannot wipe an unrelated folder.
func PrepareDir(dir string, behavior Behavior, in io.Reader, out io.Writer, interactive bool) (resumed bool, err error) {
	exists, err := hasRun(dir)
	if err != nil {
		return false, err
	}
	if exists {
		if behavior == Ask {
			if !interactive {
				return false, fmt.Errorf("log directory %s already exists and there is no terminal to ask; set behavior_if_log_dir_exists to resume, delete or raise", dir)
			}
			behavior, err = ask(dir, in, out)
			if err != nil {
				return false, err
			}
		}
		switch behavior {
		case Raise:
			return false, fmt.Errorf("log directory %s already exists (behavior_if_log_dir_exists=raise); use another log_path, or resume or delete", dir)
		case Delete:
			if !looksLikeLogDir(dir) {
				return false, fmt.Errorf("refusing to delete %s: it is not empty and has no %s, so it does not look like a tkx log directory", dir, strings.Join(logDirMarkers, "/"))
			}
			if err := os.RemoveAll(dir); err != nil {
				return false, fmt.Errorf("deleting log directory: %w", err)
			}
		case Resume:
			resumed = true
		default:
			return false, fmt.Errorf("unknown behavior_if_log_dir_exists %q", behavior)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("cannot create log directory: %w", err)
	}
	probe := filepath.Join(dir, ".tkx-write-test")
	f, err := os.Create(probe)
	if err != nil {
		return false, fmt.Errorf("log directory %s is not writable: %w", dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(probe)
	return resumed, nil
}

func ask(dir string, in io.Reader, out io.Writer) (Behavior, error) {
	br := bufio.NewReader(in)
	for {
		fmt.Fprintf(out, "Log directory %s already exists. What do you want to do? [delete, resume, exit]: ", dir)
		line, err := br.ReadString('\n')
		switch strings.TrimSpace(strings.ToLower(line)) {
		case "delete":
			return Delete, nil
		case "resume":
			return Resume, nil
		case "exit":
			return "", ErrExit
		}
		if err != nil {
			return "", fmt.Errorf("log directory %s already exists and no answer was given: %v", dir, err)
		}
		fmt.Fprintln(out, "Please answer delete, resume or exit.")
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// appendFile is a JSONL file opened for appending records safely: each
// record is one write of one complete line, followed by fsync, so a
// SIGKILL at any moment leaves every earlier line intact and at most one
// incomplete last line, which ReadRecords ignores. Opening an existing
// file first cuts off such an incomplete line so new records start on a
// line of their own.
type appendFile struct {
	f    *os.File
	path string
}

func openAppend(path string) (*appendFile, string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", err
	}
	var warning string
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	if size := st.Size(); size > 0 {
		// Find the last newline; read backwards in chunks.
		keep := int64(0)
		buf := make([]byte, 64<<10)
		for end := size; end > 0 && keep == 0; {
			start := max(0, end-int64(len(buf)))
			n, err := f.ReadAt(buf[:end-start], start)
			if err != nil && err != io.EOF {
				f.Close()
				return nil, "", err
			}
			for i := n - 1; i >= 0; i-- {
				if buf[i] == '\n' {
					keep = start + int64(i) + 1
					break
				}
			}
			end = start
		}
		if keep < size {
			if err := f.Truncate(keep); err != nil {
				f.Close()
				return nil, "", err
			}
			warning = fmt.Sprintf("%s: dropped an incomplete last line (%d bytes) left by a killed run", path, size-keep)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, "", err
	}
	return &appendFile{f: f, path: path}, warning, nil
}

// Append writes rec as one line and syncs it to disk.
func (a *appendFile) Append(rec any) error {
	b, err := marshalLine(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", a.path, err)
	}
	if _, err := a.f.Write(b); err != nil {
		return err
	}
	return a.f.Sync()
}

func (a *appendFile) Close() error { return a.f.Close() }

func marshalLine(rec any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil // Encode ends with '\n'
}

// writeFileAtomic writes data to path via a synced temporary file and a
// rename, so readers see the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
