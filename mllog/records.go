package mllog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// File names inside a log directory (the cookbook's names).
const (
	ConfigFile      = "config.json"
	MetricsFile     = "metrics.jsonl"
	CheckpointsFile = "checkpoints.jsonl"
	LogsFile        = "logs.log"
	PlotFile        = "loss.png"
)

// ReadRecords reads a JSONL file of objects written by this package. A
// last line without its newline is what a process killed mid-write leaves
// behind: it is ignored and reported in warnings, never an error. Other
// undecodable lines are skipped and reported as "FILE:LINE: …" warnings.
// A missing file reads as no records.
func ReadRecords(path string) (records []map[string]any, warnings []string, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	complete, tail := splitComplete(data)
	if len(bytes.TrimSpace(tail)) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: ignored an incomplete last line (%d bytes): the writer was killed while writing it", path, len(tail)))
	}
	line := 0
	for len(complete) > 0 {
		i := bytes.IndexByte(complete, '\n')
		raw := complete[:i]
		complete = complete[i+1:]
		line++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		rec, err := decodeObject(raw)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped: %v", path, line, err))
			continue
		}
		records = append(records, rec)
	}
	return records, warnings, nil
}

// splitComplete splits data into the newline-terminated part and the tail
// after the last newline.
func splitComplete(data []byte) (complete, tail []byte) {
	i := bytes.LastIndexByte(data, '\n')
	return data[:i+1], data[i+1:]
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value on the line")
	}
	return normalizeNumbers(m).(map[string]any), nil
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	}
	return v
}

// Step is one step's metrics, merged over every line logged for it.
type Step struct {
	Step    int
	Metrics map[string]float64
}

// ReadMetrics reads LOG_DIR/metrics.jsonl. Lines with the same "step" are
// merged, later values winning (a resumed run logs the steps after its
// checkpoint again). Non-numeric values are left out. Steps come back in
// increasing order.
func ReadMetrics(dir string) ([]Step, []string, error) {
	recs, warnings, err := ReadRecords(filepath.Join(dir, MetricsFile))
	if err != nil {
		return nil, warnings, err
	}
	byStep := map[int]map[string]float64{}
	for _, r := range recs {
		s, ok := asFloat(r["step"])
		if !ok {
			continue
		}
		step := int(s)
		m := byStep[step]
		if m == nil {
			m = map[string]float64{}
			byStep[step] = m
		}
		for k, v := range r {
			if k == "step" {
				continue
			}
			if f, ok := asFloat(v); ok {
				m[k] = f
			}
		}
	}
	out := make([]Step, 0, len(byStep))
	for s, m := range byStep {
		out = append(out, Step{Step: s, Metrics: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, warnings, nil
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// ReadCheckpoints reads LOG_DIR/checkpoints.jsonl (see ReadRecords).
func ReadCheckpoints(dir string) ([]map[string]any, []string, error) {
	return ReadRecords(filepath.Join(dir, CheckpointsFile))
}

// LastCheckpoint returns the last checkpoint record of dir that has
// requiredKey (e.g. "state_path"; "" accepts any record), like the
// cookbook's get_last_checkpoint. ok is false when there is none.
func LastCheckpoint(dir, requiredKey string) (rec map[string]any, ok bool, warnings []string, err error) {
	recs, warnings, err := ReadCheckpoints(dir)
	if err != nil {
		return nil, false, warnings, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if v, has := recs[i][requiredKey]; requiredKey == "" || (has && v != nil) {
			return recs[i], true, warnings, nil
		}
	}
	return nil, false, warnings, nil
}

// ReadConfig reads LOG_DIR/config.json (nil, nil when absent).
func ReadConfig(dir string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := decodeObject(bytes.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, ConfigFile), err)
	}
	return m, nil
}
