package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// KimiPattern is the pre-tokenizer pattern of Moonshot's Kimi K2
// tokenization_kimi.py, with its class intersections ("&&[^\p{Han}]")
// written as .NET class subtraction for regexp2.
const KimiPattern = `[\p{Han}]+` +
	`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
	`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
	`|\p{N}{1,3}` +
	`| ?[^\s\p{L}\p{N}]+[\r\n]*` +
	`|\s*[\r\n]+` +
	`|\s+(?!\S)` +
	`|\s+`

// TiktokenOptions describes what a tiktoken BPE file does not contain.
type TiktokenOptions struct {
	// Pattern is the pre-tokenizer regex (regexp2 syntax).
	Pattern string
	// Specials maps special-token strings to ids.
	Specials map[string]int
	// BOS and EOS name special tokens ("" for none).
	BOS, EOS string
}

// ParseTiktoken builds a tokenizer from a tiktoken BPE file ("base64-token
// rank" per line, as tiktoken's load_tiktoken_bpe reads). The BPE is
// tiktoken's: ranks are ids, the pair with the lowest merged rank is merged
// first, and a piece that is itself a token is not split.
func ParseTiktoken(name string, data []byte, opt TiktokenOptions) (*HF, error) {
	t := &HF{name: name, added: map[string]int{}, special: map[int]bool{}, bos: -1, eos: -1}
	b := &bpe{byteLevel: true, ignoreMerges: true, unkID: -1, cache: map[string][]int{}}
	b.vocab = make(map[string]int, 1<<17)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		tok64, rankStr, ok := bytes.Cut(l, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: line %d: want \"<base64 token> <rank>\"", name, line)
		}
		tok, err := base64.StdEncoding.DecodeString(string(tok64))
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: line %d: token is not base64: %v", name, line, err)
		}
		rank, err := strconv.Atoi(string(rankStr))
		if err != nil || rank < 0 || rank > 1<<24 {
			return nil, fmt.Errorf("tokenizer %s: line %d: bad rank %q", name, line, rankStr)
		}
		if prev, dup := b.vocab[string(tok)]; dup {
			return nil, fmt.Errorf("tokenizer %s: line %d: token %q already has rank %d", name, line, tok, prev)
		}
		b.vocab[string(tok)] = rank
		t.setToken(rank, byteLevelEncode(string(tok)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", name, err)
	}
	if len(b.vocab) == 0 {
		return nil, fmt.Errorf("tokenizer %s: no tokens", name)
	}
	for i := range b.byteID {
		b.byteID[i] = -1
		if id, ok := b.vocab[string([]byte{byte(i)})]; ok {
			b.byteID[i] = int32(id)
		}
	}
	// tiktoken merges two parts when their concatenation is a token, with
	// that token's rank as priority: one merge entry per split point.
	b.merges = make(map[uint64]uint64, len(b.vocab)*2)
	for tok, rank := range b.vocab {
		for k := 1; k < len(tok); k++ {
			l, ok1 := b.vocab[tok[:k]]
			r, ok2 := b.vocab[tok[k:]]
			if ok1 && ok2 {
				b.merges[uint64(uint32(l))<<32|uint64(uint32(r))] = uint64(rank)<<32 | uint64(uint32(rank))
			}
		}
	}
	t.model = b
	var toks []addedToken
	for s, id := range opt.Specials {
		if s == "" {
			return nil, fmt.Errorf("tokenizer %s: empty special token", name)
		}
		toks = append(toks, addedToken{ID: id, Content: s, Special: true})
		t.added[s] = id
		t.special[id] = true
		t.setToken(id, s)
	}
	sort.Slice(toks, func(i, j int) bool { return toks[i].ID < toks[j].ID })
	if len(toks) > 0 {
		t.addedRaw = newAddedMatcher(toks)
	}
	if opt.Pattern == "" {
		return nil, fmt.Errorf("tokenizer %s: tiktoken files need a pre-tokenizer pattern", name)
	}
	re, err := newRegexFinder(opt.Pattern)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: pattern: %v", name, err)
	}
	t.pre = &splitPre{f: re, behavior: behIsolated, partition: fastScanner(opt.Pattern)}
	t.dec, t.byteLevelDecode = byteLevelDec{}, true
	t.tokBytes = make([][]byte, len(t.idToTok))
	for id, s := range t.idToTok {
		if s != "" {
			t.tokBytes[id] = byteLevelDecodeToken(nil, s)
		}
	}
	t.vocabSize = len(t.idToTok)
	for _, f := range []struct {
		name string
		dst  *int
	}{{opt.BOS, &t.bos}, {opt.EOS, &t.eos}} {
		if f.name == "" {
			continue
		}
		id, ok := t.added[f.name]
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: special token %q is not defined", name, f.name)
		}
		*f.dst = id
	}
	return t, nil
}

// LoadKimi loads a Kimi K2 tokenizer directory: tiktoken.model plus
// tokenizer_config.json, like tokenization_kimi.TikTokenTokenizer: 256+2
// special ids follow the base vocabulary, named by added_tokens_decoder
// (others "<|reserved_token_N|>").
func LoadKimi(dir string) (*HF, error) {
	model := filepath.Join(dir, "tiktoken.model")
	data, err := os.ReadFile(model)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfgData, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseKimi(model, data, cfgData)
}

// ParseKimi is LoadKimi over file contents (cfg may be nil).
func ParseKimi(name string, tiktokenModel, cfg []byte) (*HF, error) {
	var c struct {
		AddedTokensDecoder map[string]struct {
			Content string `json:"content"`
		} `json:"added_tokens_decoder"`
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
	}
	if len(cfg) > 0 {
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("tokenizer %s: tokenizer_config.json: %s", name, jsonErr(err))
		}
	}
	base := 0
	for _, l := range bytes.Split(tiktokenModel, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			base++
		}
	}
	specials := map[string]int{}
	for i := base; i < base+256+2; i++ {
		s := fmt.Sprintf("<|reserved_token_%d|>", i)
		if d, ok := c.AddedTokensDecoder[strconv.Itoa(i)]; ok && d.Content != "" {
			s = d.Content
		}
		specials[s] = i
	}
	opt := TiktokenOptions{Pattern: KimiPattern, Specials: specials, BOS: "[BOS]", EOS: "[EOS]"}
	for _, f := range []struct {
		raw json.RawMessage
		dst *string
	}{{c.BOS, &opt.BOS}, {c.EOS, &opt.EOS}} {
		if s, err := tokenName(f.raw); err == nil && s != "" {
			*f.dst = s
		}
	}
	if _, ok := specials[opt.BOS]; !ok {
		opt.BOS = ""
	}
	if _, ok := specials[opt.EOS]; !ok {
		opt.EOS = ""
	}
	return ParseTiktoken(name, tiktokenModel, opt)
}
