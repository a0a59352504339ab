package datasets

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tkx-dev/tkx/hfhub"
)

// HFOptions selects what FromHF/StreamHF read.
type HFOptions struct {
	// Split is a split name with an optional slice, as in HF datasets:
	// "train", "test[:100]", "train[100:]", "train[:10%]", "train[-50:]".
	// "" means "train".
	Split string
	// Config is the subset (config_name in the README, or a subfolder).
	Config string
	// Revision of a hub repo; "" means "main".
	Revision string
	// OnError and Warn apply to JSON lines files (see ReadOptions).
	OnError OnError
	Warn    func(*LineError)
	// Context cancels downloads and reads.
	Context context.Context
	// Hub serves "org/name" names; nil means hfhub.NewClient() (from the
	// environment: HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
	// HF_HUB_OFFLINE).
	Hub *hfhub.Client
}

func (o *HFOptions) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// FromHF loads one split of a Hugging Face dataset into memory. name is:
//
//   - a local folder laid out like a hub dataset repo (data files in
//     Parquet, .jsonl, .json, optionally .gz; splits named by README.md
//     "configs:" or by file/folder names such as train-*.parquet,
//     data/test-00000-of-00001.parquet, validation/…);
//   - hf://datasets/ORG/NAME[@REV] or plain "ORG/NAME": a hub repo, read
//     from the hub cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
//     and downloaded there with HF_TOKEN when missing.
//
// Files are read in sorted order and concatenated.
func FromHF(name string, opts HFOptions) (*Dataset, error) {
	s, sl, err := openHF(name, opts)
	if err != nil {
		return nil, err
	}
	ds, err := s.Collect(0)
	if err != nil {
		return nil, err
	}
	if sl != nil {
		lo, hi := sl.bounds(ds.Len())
		ds = ds.Skip(lo).Take(hi - lo)
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("%s split %q: %w", name, opts.Split, ErrEmpty)
	}
	return ds.WithName(name + ":" + splitOr(opts.Split)), nil
}

// StreamHF is FromHF without loading the split into memory. Slices with
// percentages or negative bounds need the row count and are refused.
func StreamHF(name string, opts HFOptions) (*Stream, error) {
	s, sl, err := openHF(name, opts)
	if err != nil {
		return nil, err
	}
	if sl != nil {
		if sl.percent || sl.lo < 0 || sl.hi < 0 {
			return nil, fmt.Errorf("%s: split %q: percent and negative slices need the whole split; load it without stream=True", name, opts.Split)
		}
		s = s.Skip(sl.lo)
		if sl.hasHi {
			s = s.Take(max(0, sl.hi-sl.lo))
		}
	}
	return s, nil
}

func splitOr(s string) string {
	if s == "" {
		return "train"
	}
	return s
}

func openHF(name string, opts HFOptions) (*Stream, *slice, error) {
	split, sl, err := parseSplit(splitOr(opts.Split))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	root, files, err := resolveRepo(name, split, opts)
	if err != nil {
		return nil, nil, err
	}
	var srcs []Source
	for _, f := range files {
		full := root + "/" + f
		if Scheme(root) == "" {
			full = filepath.Join(root, filepath.FromSlash(f))
		}
		s, err := fileStream(full, opts)
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, s)
	}
	s := ConcatStreams(srcs...)
	return NewStream(name+":"+split, s.Open), sl, nil
}

func fileStream(p string, opts HFOptions) (*Stream, error) {
	base := strings.TrimSuffix(strings.ToLower(p), ".gz")
	switch {
	case strings.HasSuffix(base, ".parquet"):
		if strings.HasSuffix(strings.ToLower(p), ".gz") {
			return nil, fmt.Errorf("%s: gzipped Parquet is not supported", p)
		}
		return StreamParquet(opts.ctx(), p), nil
	case strings.HasSuffix(base, ".jsonl"), strings.HasSuffix(base, ".json"), strings.HasSuffix(base, ".ndjson"):
		s, _ := StreamJSONL(p, ReadOptions{OnError: opts.OnError, Warn: opts.Warn, Context: opts.ctx()})
		return s, nil
	}
	return nil, fmt.Errorf("%s: unsupported data file type (want .parquet, .jsonl, .json)", p)
}

// isDataFile reports whether a repo path is a data file this package reads.
func isDataFile(p string) bool {
	b := strings.TrimSuffix(strings.ToLower(path.Base(p)), ".gz")
	for _, ext := range []string{".parquet", ".jsonl", ".json", ".ndjson"} {
		if strings.HasSuffix(b, ext) {
			return !strings.HasPrefix(b, ".") && b != "dataset_info.json" && b != "dataset_infos.json" && b != "state.json"
		}
	}
	return false
}

// resolveRepo finds the root and the split's files (repo-relative, '/').
func resolveRepo(name, split string, opts HFOptions) (root string, files []string, err error) {
	ctx := opts.ctx()
	if isLocalName(name) {
		root = strings.TrimPrefix(name, "file://")
		st, err := os.Stat(root)
		if err != nil {
			return "", nil, err
		}
		if !st.IsDir() {
			// A single data file is its own "train" split.
			if split != "train" {
				return "", nil, fmt.Errorf("%s is a single file; it only has the \"train\" split", name)
			}
			return filepath.Dir(root), []string{filepath.Base(root)}, nil
		}
		rel, err := listLocal(ctx, root)
		if err != nil {
			return "", nil, err
		}
		files, err := selectSplitFiles(name, rel, readmeAt(root), opts.Config, split)
		return root, files, err
	}
	repo, rev, err := parseHubName(name)
	if err != nil {
		return "", nil, err
	}
	if opts.Revision != "" && rev == "" {
		rev = opts.Revision
	}
	return hubSplitFiles(ctx, hubClient(opts), repo, rev, opts.Config, split)
}

func isLocalName(name string) bool {
	if strings.HasPrefix(name, "file://") {
		return true
	}
	if Scheme(name) != "" {
		return false
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return true
	}
	_, err := os.Stat(name)
	return err == nil
}

// parseHubName accepts "org/name", "org/name@rev" and
// "hf://datasets/org/name[@rev]".
func parseHubName(name string) (repo, rev string, err error) {
	n := name
	if strings.HasPrefix(n, "hf://") {
		n = strings.TrimPrefix(n, "hf://")
		if !strings.HasPrefix(n, "datasets/") {
			return "", "", fmt.Errorf("%s: only hf://datasets/ORG/NAME paths name datasets", name)
		}
		n = strings.TrimPrefix(n, "datasets/")
	}
	n, rev, _ = strings.Cut(n, "@")
	parts := strings.Split(strings.Trim(n, "/"), "/")
	if len(parts) == 1 && parts[0] != "" {
		return parts[0], rev, nil // canonical datasets without an org ("gsm8k")
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("%q is neither a local folder nor a hub dataset name ORG/NAME", name)
	}
	return parts[0] + "/" + parts[1], rev, nil
}

// ---- split selection ----

var splitKeywords = map[string][]string{
	"train":      {"train", "training"},
	"validation": {"validation", "valid", "dev", "val"},
	"test":       {"test", "testing", "eval", "evaluation"},
}

// nameHasKeyword follows HF's default patterns: a path component that is
// the keyword, or contains it delimited by "-._ 0-9" or the ends.
func nameHasKeyword(p, kw string) bool {
	re := regexp.MustCompile(`(^|[-._ 0-9])` + regexp.QuoteMeta(kw) + `($|[-._ 0-9])`)
	for _, comp := range strings.Split(strings.ToLower(p), "/") {
		if re.MatchString(comp) {
			return true
		}
	}
	return false
}

func keywordsFor(split string) []string {
	if kws, ok := splitKeywords[split]; ok {
		return kws
	}
	return []string{strings.ToLower(split)}
}

// selectSplitFiles picks a split's data files from a repo listing, using
// README.md "configs:" when present, else a config subfolder, else HF's
// split-name patterns; a repo whose files name no split is all "train".
func selectSplitFiles(name string, files []string, readme func() (string, error), config, split string) ([]string, error) {
	text, err := readme()
	if err != nil {
		return nil, err
	}
	var data []string
	for _, f := range files {
		if isDataFile(f) {
			data = append(data, f)
		}
	}
	sort.Strings(data)
	if cfgs := parseReadmeConfigs(text); len(cfgs) > 0 {
		c, err := pickConfig(name, cfgs, config)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, sf := range c.splits {
			names = append(names, sf.split)
			if sf.split != split {
				continue
			}
			var out []string
			for _, f := range data {
				for _, pat := range sf.patterns {
					if globMatch(pat, f) {
						out = append(out, f)
						break
					}
				}
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("%s: config %q split %q: no data file matches %s", name, c.name, split, strings.Join(sf.patterns, ", "))
			}
			return out, nil
		}
		return nil, fmt.Errorf("%s: config %q has no split %q (it has: %s)", name, c.name, split, strings.Join(names, ", "))
	}
	if config != "" && config != "default" {
		var in []string
		for _, f := range data {
			if strings.HasPrefix(f, config+"/") {
				in = append(in, strings.TrimPrefix(f, config+"/"))
			}
		}
		if len(in) == 0 {
			return nil, fmt.Errorf("%s: no config %q (no README configs and no %s/ folder with data files)", name, config, config)
		}
		out, err := matchSplit(name, in, split)
		for i := range out {
			out[i] = config + "/" + out[i]
		}
		return out, err
	}
	return matchSplit(name, data, split)
}

func matchSplit(name string, data []string, split string) ([]string, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: no data files (.parquet, .jsonl, .json)", name)
	}
	found := map[string][]string{}
	var order []string
	for _, f := range data {
		for _, s := range []string{"train", "validation", "test"} {
			if hasAnyKeyword(f, keywordsFor(s)) {
				if found[s] == nil {
					order = append(order, s)
				}
				found[s] = append(found[s], f)
				break
			}
		}
	}
	if _, std := splitKeywords[split]; !std {
		var out []string
		for _, f := range data {
			if nameHasKeyword(f, strings.ToLower(split)) {
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if len(found) == 0 {
		if split == "train" {
			return data, nil
		}
		return nil, fmt.Errorf("%s: no split %q: the data files name no split, so everything is \"train\"", name, split)
	}
	if out := found[split]; len(out) > 0 {
		return out, nil
	}
	return nil, fmt.Errorf("%s: no split %q (found: %s)", name, split, strings.Join(order, ", "))
}

func hasAnyKeyword(p string, kws []string) bool {
	for _, kw := range kws {
		if nameHasKeyword(p, kw) {
			return true
		}
	}
	return false
}

// globMatch matches HF data_files patterns: "*" within a path segment,
// "**" across segments, "?" one character, "[...]" classes.
func globMatch(pattern, p string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			i++
			if i+1 < len(pattern) && pattern[i+1] == '/' {
				i++
				re.WriteString("(?:.*/)?")
			} else {
				re.WriteString(".*")
			}
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				re.WriteString(`\[`)
				continue
			}
			re.WriteString(pattern[i : i+j+1])
			i += j
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	m, err := regexp.MatchString(re.String(), p)
	return err == nil && m
}

type splitFiles struct {
	split    string
	patterns []string
}

type readmeConfig struct {
	name   string
	isDef  bool
	splits []splitFiles
}

func pickConfig(name string, cfgs []readmeConfig, want string) (readmeConfig, error) {
	var names []string
	for _, c := range cfgs {
		names = append(names, c.name)
		if want != "" && c.name == want {
			return c, nil
		}
	}
	if want != "" {
		return readmeConfig{}, fmt.Errorf("%s: no config %q (it has: %s)", name, want, strings.Join(names, ", "))
	}
	for _, c := range cfgs {
		if c.isDef || c.name == "default" {
			return c, nil
		}
	}
	if len(cfgs) == 1 {
		return cfgs[0], nil
	}
	return readmeConfig{}, fmt.Errorf("%s has several configs; pick one with config= (%s)", name, strings.Join(names, ", "))
}

// parseReadmeConfigs reads the "configs:" list of a dataset card's YAML
// front matter: config_name, default, and data_files given as a string, a
// list of strings, or a list of {split, path} where path is a string or a
// list. It understands exactly that subset of YAML.
func parseReadmeConfigs(readme string) []readmeConfig {
	if !strings.HasPrefix(readme, "---") {
		return nil
	}
	body := strings.TrimPrefix(readme, "---")
	end := strings.Index(body, "\n---")
	if end < 0 {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(body[:end]))
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), " \r"))
	}
	// Find the top-level "configs:" key.
	start := -1
	for i, l := range lines {
		if l == "configs:" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil
	}
	var block []string
	for _, l := range lines[start:] {
		if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			break
		}
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			block = append(block, l)
		}
	}
	var cfgs []readmeConfig
	var cur *readmeConfig
	var curSplit *splitFiles
	inDataFiles, inPathList := false, false
	base := -1
	for _, l := range block {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		t := strings.TrimSpace(l)
		item := strings.HasPrefix(t, "- ") || t == "-"
		if item && base < 0 {
			base = indent
		}
		if item && indent == base { // a new config
			cfgs = append(cfgs, readmeConfig{})
			cur = &cfgs[len(cfgs)-1]
			curSplit, inDataFiles, inPathList = nil, false, false
			t = strings.TrimSpace(strings.TrimPrefix(t, "-"))
			item = false
		}
		if cur == nil || t == "" {
			continue
		}
		if item {
			t = strings.TrimSpace(strings.TrimPrefix(t, "-"))
			if !strings.Contains(t, ": ") && !strings.HasSuffix(t, ":") { // a bare pattern
				if inPathList && curSplit != nil {
					curSplit.patterns = append(curSplit.patterns, unquote(t))
				} else if inDataFiles {
					cur.splits = appendPattern(cur.splits, "train", unquote(t))
				}
				continue
			}
			inPathList = false
			curSplit = nil
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "config_name":
			cur.name = unquote(v)
		case "default":
			cur.isDef = v == "true"
		case "data_files":
			inDataFiles = v == ""
			for _, p := range inlineList(v) {
				if p != "" {
					cur.splits = appendPattern(cur.splits, "train", p)
				}
			}
		case "split":
			if !inDataFiles {
				continue
			}
			cur.splits = append(cur.splits, splitFiles{split: unquote(v)})
			curSplit = &cur.splits[len(cur.splits)-1]
		case "path":
			if curSplit == nil {
				continue
			}
			if v == "" {
				inPathList = true
			} else {
				curSplit.patterns = append(curSplit.patterns, inlineList(v)...)
			}
		default:
			if indent <= base+2 {
				inDataFiles = false
			}
		}
	}
	for i := range cfgs {
		if cfgs[i].name == "" {
			cfgs[i].name = "default"
		}
	}
	return cfgs
}

func appendPattern(s []splitFiles, split, p string) []splitFiles {
	for i := range s {
		if s[i].split == split {
			s[i].patterns = append(s[i].patterns, p)
			return s
		}
	}
	return append(s, splitFiles{split: split, patterns: []string{p}})
}

func inlineList(v string) []string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		var out []string
		for _, p := range strings.Split(v[1:len(v)-1], ",") {
			if p = unquote(strings.TrimSpace(p)); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return []string{unquote(v)}
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// ---- split slices ----

type slice struct {
	lo, hi  int
	hasHi   bool
	percent bool
}

var sliceRE = regexp.MustCompile(`^([^\[\]]+)\[\s*(-?\d*)\s*(%?)\s*:\s*(-?\d*)\s*(%?)\s*\]$`)

// parseSplit parses "train", "train[:100]", "train[10%:20%]".
func parseSplit(s string) (string, *slice, error) {
	if !strings.Contains(s, "[") {
		return strings.TrimSpace(s), nil, nil
	}
	m := sliceRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", nil, fmt.Errorf("bad split %q: want NAME or NAME[start:stop] with ints or percents, e.g. train[:100], test[10%%:]", s)
	}
	if (m[3] == "%") != (m[5] == "%") && m[2] != "" && m[4] != "" {
		return "", nil, fmt.Errorf("bad split %q: mix of percent and absolute bounds", s)
	}
	sl := &slice{percent: m[3] == "%" || m[5] == "%"}
	if m[2] != "" {
		sl.lo, _ = strconv.Atoi(m[2])
	}
	if m[4] != "" {
		sl.hi, _ = strconv.Atoi(m[4])
		sl.hasHi = true
	}
	if sl.percent && (sl.lo < -100 || sl.lo > 100 || sl.hi < -100 || sl.hi > 100) {
		return "", nil, fmt.Errorf("bad split %q: percent out of range", s)
	}
	return strings.TrimSpace(m[1]), sl, nil
}

// bounds resolves the slice for n rows (Python slice semantics; percents
// round like HF's "closest" rounding).
func (s *slice) bounds(n int) (int, int) {
	conv := func(v int) int {
		if s.percent {
			v = int(float64(v)*float64(n)/100 + 0.5)
			if v < 0 {
				v = -int(float64(-v)*float64(n)/100 + 0.5)
			}
		}
		return v
	}
	lo, hi := conv(s.lo), n
	if s.hasHi {
		hi = conv(s.hi)
	}
	if lo < 0 {
		lo += n
	}
	if hi < 0 {
		hi += n
	}
	lo = max(0, min(lo, n))
	hi = max(lo, min(hi, n))
	return lo, hi
}
