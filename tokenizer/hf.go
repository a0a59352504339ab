package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// HF is a Hugging Face tokenizer.json tokenizer (BPE model), with the
// behaviour of transformers' fast tokenizers where tokenizer_config.json
// changes it (BOS/EOS names, clean_up_tokenization_spaces, Llama's
// add_bos_token).
type HF struct {
	name  string
	model *bpe
	// idToTok[id] is the vocabulary string of id ("" when unused).
	idToTok []string
	// tokBytes[id] is what id decodes to under a ByteLevel decoder.
	tokBytes  [][]byte
	added     map[string]int // added-token content -> id
	special   map[int]bool   // ids of special added tokens
	addedRaw  *specialMatcher
	addedNorm *specialMatcher
	norm      normalizer
	pre       preTokenizer
	dec       decoder
	// byteLevelDecode: the decoder is exactly ByteLevel (fast path).
	byteLevelDecode bool
	// template is the single-sequence post-processor: ids, with -1 where
	// the encoded text goes; nil when add_special_tokens adds nothing.
	template  []int
	bos, eos  int
	cleanup   bool
	vocabSize int
}

var _ Tokenizer = (*HF)(nil)

// tokenizerConfig holds the fields of tokenizer_config.json we use.
type tokenizerConfig struct {
	BOS            json.RawMessage `json:"bos_token"`
	EOS            json.RawMessage `json:"eos_token"`
	Cleanup        *bool           `json:"clean_up_tokenization_spaces"`
	AddBOS         *bool           `json:"add_bos_token"`
	AddEOS         *bool           `json:"add_eos_token"`
	TokenizerClass string          `json:"tokenizer_class"`
}

// tokenName reads a token field that is either "text" or {"content": "text"}.
func tokenName(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("want a string or an object with \"content\"")
	}
	return obj.Content, nil
}

// LoadHF loads a tokenizer.json file. If tokenizer_config.json sits next
// to it, BOS/EOS and transformers' decoding options are taken from it.
func LoadHF(path string) (*HF, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseHF(path, data, cfg)
}

// ParseHF builds a tokenizer from the contents of tokenizer.json and
// (optionally, nil when absent) tokenizer_config.json. name is used in
// errors and by Name().
func ParseHF(name string, tokenizerJSON, configJSON []byte) (*HF, error) {
	t, err := parseHF(name, tokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", name, err)
	}
	if len(configJSON) > 0 {
		if err := t.applyConfig(configJSON); err != nil {
			return nil, fmt.Errorf("tokenizer %s: tokenizer_config.json: %w", name, err)
		}
	} else {
		t.guessBOSEOS()
	}
	return t, nil
}

type hfFile struct {
	AddedTokens []struct {
		ID         *int   `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type hfModel struct {
	Type                    string         `json:"type"`
	Vocab                   map[string]int `json:"vocab"`
	UnkToken                *string        `json:"unk_token"`
	ByteFallback            bool           `json:"byte_fallback"`
	IgnoreMerges            bool           `json:"ignore_merges"`
	FuseUnk                 bool           `json:"fuse_unk"`
	Dropout                 *float64       `json:"dropout"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string        `json:"end_of_word_suffix"`
}

// component is any normalizer, pre-tokenizer, post-processor or decoder
// object; only the fields of its "type" are used.
type component struct {
	Type          string            `json:"type"`
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	Decoders      []json.RawMessage `json:"decoders"`
	Pattern       *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Behavior         string            `json:"behavior"`
	Invert           bool              `json:"invert"`
	AddPrefixSpace   bool              `json:"add_prefix_space"`
	UseRegex         *bool             `json:"use_regex"`
	IndividualDigits bool              `json:"individual_digits"`
	Content          string            `json:"content"`
	Prepend          string            `json:"prepend"`
	StripLeft        bool              `json:"strip_left"`
	StripRight       bool              `json:"strip_right"`
	Start            int               `json:"start"`
	Stop             int               `json:"stop"`
	Single           []json.RawMessage `json:"single"`
	SpecialTokens    map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
	Sep []json.RawMessage `json:"sep"`
	Cls []json.RawMessage `json:"cls"`
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func parseComponent(raw json.RawMessage, field string) (*component, error) {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", field, jsonErr(err))
	}
	if c.Type == "" {
		return nil, fmt.Errorf("%s: missing \"type\"", field)
	}
	return &c, nil
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return err.Error()
}

func parseHF(name string, data []byte) (*HF, error) {
	var f hfFile
	var (
		modelRest json.RawMessage
		vocab     []vocabEntry
		mergesAt  = -1
		hasModel  bool
	)
	sc := &jscan{b: data}
	rest, err := splitObject(sc, map[string]func() error{"model": func() error {
		if sc.peek() == 'n' {
			return sc.skip()
		}
		hasModel = true
		var err error
		modelRest, vocab, mergesAt, err = parseModelFast(sc)
		return err
	}})
	if err == nil {
		if sc.ws(); sc.i != len(data) {
			err = sc.errf("data after the top-level object")
		}
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(rest, &f); err != nil {
		return nil, errors.New(jsonErr(err))
	}
	if !hasModel {
		return nil, errors.New("missing field \"model\"")
	}
	t := &HF{name: name, added: map[string]int{}, special: map[int]bool{}, bos: -1, eos: -1}
	if !isNull(f.Normalizer) {
		if t.norm, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
			return nil, err
		}
	}
	byteLevel := false
	if !isNull(f.PreTokenizer) {
		if t.pre, byteLevel, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer", true); err != nil {
			return nil, err
		}
	}
	if err := t.parseModel(modelRest, vocab, data, mergesAt, byteLevel); err != nil {
		return nil, err
	}
	// Added tokens.
	var rawToks, normToks []addedToken
	for i, a := range f.AddedTokens {
		field := fmt.Sprintf("added_tokens[%d]", i)
		if a.ID == nil {
			return nil, fmt.Errorf("%s: missing \"id\"", field)
		}
		if *a.ID < 0 || *a.ID > 1<<24 {
			return nil, fmt.Errorf("%s.id: %d out of range", field, *a.ID)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("%s.content: empty token", field)
		}
		at := addedToken{ID: *a.ID, Content: a.Content, Special: a.Special, LStrip: a.LStrip, RStrip: a.RStrip, SingleWord: a.SingleWord, Normalized: a.Normalized}
		t.added[a.Content] = at.ID
		if a.Special {
			t.special[at.ID] = true
		}
		t.setToken(at.ID, a.Content)
		// HF partitions added tokens by their "normalized" flag: those are
		// matched (in normalized form) after normalization, the others
		// on the raw text first.
		if a.Normalized && t.norm != nil {
			at.Content = t.norm.normalize(at.Content)
		}
		if a.Normalized {
			normToks = append(normToks, at)
		} else {
			rawToks = append(rawToks, at)
		}
	}
	if len(rawToks) > 0 {
		t.addedRaw = newAddedMatcher(rawToks)
	}
	if len(normToks) > 0 {
		t.addedNorm = newAddedMatcher(normToks)
	}
	// tokBytes for every id, for ByteLevel decoding.
	t.tokBytes = make([][]byte, len(t.idToTok))
	for id, s := range t.idToTok {
		if s != "" {
			t.tokBytes[id] = byteLevelDecodeToken(nil, s)
		}
	}
	t.vocabSize = len(t.idToTok)
	if !isNull(f.Decoder) {
		if t.dec, err = parseDecoder(f.Decoder, "decoder"); err != nil {
			return nil, err
		}
		_, t.byteLevelDecode = t.dec.(byteLevelDec)
	}
	if !isNull(f.PostProcessor) {
		if err := t.parsePostProcessor(f.PostProcessor, "post_processor"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *HF) setToken(id int, s string) {
	for len(t.idToTok) <= id {
		t.idToTok = append(t.idToTok, "")
	}
	t.idToTok[id] = s
}

// parseModel builds the BPE model; the merges list is read from
// data[mergesAt:] (mergesAt < 0: no merges).
func (t *HF) parseModel(raw json.RawMessage, vocab []vocabEntry, data []byte, mergesAt int, byteLevel bool) error {
	var m hfModel
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("model: %s", jsonErr(err))
	}
	if vocab != nil {
		m.Vocab = make(map[string]int, len(vocab))
		for _, e := range vocab {
			m.Vocab[e.tok] = e.id
		}
	}
	if m.Type == "" && mergesAt >= 0 {
		m.Type = "BPE" // old files omit the type
	}
	if m.Type != "BPE" {
		return fmt.Errorf("model.type: %q is not supported (only BPE; WordPiece/Unigram/WordLevel are not implemented)", m.Type)
	}
	if m.Vocab == nil {
		return errors.New("model.vocab: missing")
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return errors.New("model.dropout: BPE dropout is not supported")
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return errors.New("model.continuing_subword_prefix: not supported")
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return errors.New("model.end_of_word_suffix: not supported")
	}
	b := &bpe{byteLevel: byteLevel, ignoreMerges: m.IgnoreMerges, fuseUnk: m.FuseUnk, byteFallback: m.ByteFallback,
		unkID: -1, cache: map[string][]int{}}
	b.vocab = make(map[string]int, len(m.Vocab))
	for _, e := range vocab {
		tok, id := e.tok, e.id
		if id < 0 || id > 1<<24 {
			return fmt.Errorf("model.vocab[%q]: id %d out of range", tok, id)
		}
		t.setToken(id, tok)
		key := tok
		if byteLevel {
			key = string(byteLevelDecodeToken(nil, tok))
		}
		b.vocab[key] = id
	}
	for i := range b.byteID {
		b.byteID[i] = -1
		if byteLevel {
			if id, ok := m.Vocab[byteToUnicodeStr[i]]; ok {
				b.byteID[i] = int32(id)
			}
		}
	}
	if m.UnkToken != nil && *m.UnkToken != "" {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return fmt.Errorf("model.unk_token: %q is not in model.vocab", *m.UnkToken)
		}
		b.unkID = id
	}
	b.merges = make(map[uint64]uint64, len(vocab)*2)
	if mergesAt >= 0 {
		var cat []byte
		err := forEachMerge(data, mergesAt, func(rank int, l, r []byte) error {
			a, ok1 := m.Vocab[string(l)] // no allocation for these lookups
			c, ok2 := m.Vocab[string(r)]
			if !ok1 || !ok2 {
				missing := l
				if ok1 {
					missing = r
				}
				return fmt.Errorf("model.merges[%d]: token %q is not in model.vocab", rank, missing)
			}
			cat = append(append(cat[:0], l...), r...)
			merged, ok := m.Vocab[string(cat)]
			if !ok {
				return fmt.Errorf("model.merges[%d]: merged token %q is not in model.vocab", rank, cat)
			}
			key := uint64(uint32(a))<<32 | uint64(uint32(c))
			if _, dup := b.merges[key]; !dup { // the first (lowest) rank wins
				b.merges[key] = uint64(rank)<<32 | uint64(uint32(merged))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	t.model = b
	return nil
}

func parseNormalizer(raw json.RawMessage, field string) (normalizer, error) {
	c, err := parseComponent(raw, field)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNorm{}, nil
	case "Prepend":
		return prependNorm{c.Prepend}, nil
	case "Strip":
		return stripNorm{c.StripLeft, c.StripRight}, nil
	case "Replace":
		lit, re, err := parsePattern(c, field)
		if err != nil {
			return nil, err
		}
		return replaceNorm{lit: lit, re: re, content: c.Content}, nil
	case "Sequence":
		var q seqNorm
		for i, r := range c.Normalizers {
			n, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			q = append(q, n)
		}
		if len(q) == 0 {
			return nil, nil
		}
		if len(q) == 1 {
			return q[0], nil
		}
		return q, nil
	}
	return nil, fmt.Errorf("%s.type: normalizer %q is not supported", field, c.Type)
}

func parsePattern(c *component, field string) (string, *regexFinder, error) {
	if c.Pattern == nil {
		return "", nil, fmt.Errorf("%s.pattern: missing", field)
	}
	switch {
	case c.Pattern.Regex != nil:
		re, err := newRegexFinder(*c.Pattern.Regex)
		if err != nil {
			return "", nil, fmt.Errorf("%s.pattern.Regex: %v", field, err)
		}
		return "", re, nil
	case c.Pattern.String != nil:
		return *c.Pattern.String, nil, nil
	}
	return "", nil, fmt.Errorf("%s.pattern: want {\"String\": ...} or {\"Regex\": ...}", field)
}

// parsePreTokenizer returns the pre-tokenizer and whether it contains a
// ByteLevel step (which must be the last one). ByteLevel steps that change
// nothing are dropped.
func parsePreTokenizer(raw json.RawMessage, field string, last bool) (preTokenizer, bool, error) {
	c, err := parseComponent(raw, field)
	if err != nil {
		return nil, false, err
	}
	switch c.Type {
	case "Split":
		beh, ok := parseBehavior(c.Behavior)
		if !ok {
			return nil, false, fmt.Errorf("%s.behavior: unknown %q (want Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)", field, c.Behavior)
		}
		lit, re, err := parsePattern(c, field)
		if err != nil {
			return nil, false, err
		}
		sp := &splitPre{behavior: beh, invert: c.Invert}
		if re != nil {
			sp.f = re
			if f := fastFinder(*c.Pattern.Regex); f != nil {
				sp.f = f
			}
			if beh == behIsolated && !c.Invert {
				sp.partition = fastScanner(*c.Pattern.Regex)
			}
		} else {
			sp.f = literalFinder{lit}
		}
		return sp, false, nil
	case "Digits":
		return &splitPre{f: digitFinder{c.IndividualDigits}, behavior: map[bool]splitBehavior{true: behIsolated, false: behContiguous}[c.IndividualDigits]}, false, nil
	case "WhitespaceSplit":
		return &splitPre{f: funcFinder{pred: isSpaceRune}, behavior: behRemoved}, false, nil
	case "Whitespace":
		re, _ := newRegexFinder(`\w+|[^\w\s]+`)
		return &splitPre{f: re, behavior: behRemoved, invert: true}, false, nil
	case "ByteLevel":
		if !last {
			return nil, false, fmt.Errorf("%s: a ByteLevel pre-tokenizer must be the last step", field)
		}
		bl := &byteLevelPre{addPrefixSpace: c.AddPrefixSpace}
		if c.UseRegex == nil || *c.UseRegex {
			re, _ := newRegexFinder(gpt2Pattern)
			bl.regex = &splitPre{f: re, behavior: behIsolated}
		}
		if !bl.addPrefixSpace && bl.regex == nil {
			return nil, true, nil
		}
		return bl, true, nil
	case "Sequence":
		var q seqPre
		byteLevel := false
		for i, r := range c.Pretokenizers {
			p, bl, err := parsePreTokenizer(r, fmt.Sprintf("%s.pretokenizers[%d]", field, i), last && i == len(c.Pretokenizers)-1)
			if err != nil {
				return nil, false, err
			}
			byteLevel = byteLevel || bl
			if p != nil {
				q = append(q, p)
			}
		}
		switch len(q) {
		case 0:
			return nil, byteLevel, nil
		case 1:
			return q[0], byteLevel, nil
		}
		return q, byteLevel, nil
	}
	return nil, false, fmt.Errorf("%s.type: pre-tokenizer %q is not supported", field, c.Type)
}

func parseDecoder(raw json.RawMessage, field string) (decoder, error) {
	c, err := parseComponent(raw, field)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		return stripDec{content: c.Content, start: c.Start, stop: c.Stop}, nil
	case "Replace":
		lit, re, err := parsePattern(c, field)
		if err != nil {
			return nil, err
		}
		if re != nil {
			return nil, fmt.Errorf("%s.pattern: regex Replace decoders are not supported", field)
		}
		return replaceDec{old: lit, new: c.Content}, nil
	case "Sequence":
		var q seqDec
		for i, r := range c.Decoders {
			d, err := parseDecoder(r, fmt.Sprintf("%s.decoders[%d]", field, i))
			if err != nil {
				return nil, err
			}
			q = append(q, d)
		}
		if len(q) == 1 {
			return q[0], nil
		}
		return q, nil
	}
	return nil, fmt.Errorf("%s.type: decoder %q is not supported", field, c.Type)
}

func (t *HF) parsePostProcessor(raw json.RawMessage, field string) error {
	c, err := parseComponent(raw, field)
	if err != nil {
		return err
	}
	switch c.Type {
	case "ByteLevel":
		return nil // offsets only
	case "Sequence":
		for i, r := range c.Processors {
			if err := t.parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", field, i)); err != nil {
				return err
			}
		}
		return nil
	case "TemplateProcessing":
		var tmpl []int
		for i, item := range c.Single {
			var it struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			}
			f := fmt.Sprintf("%s.single[%d]", field, i)
			if err := json.Unmarshal(item, &it); err != nil {
				return fmt.Errorf("%s: %s", f, jsonErr(err))
			}
			switch {
			case it.Sequence != nil:
				tmpl = append(tmpl, -1)
			case it.SpecialToken != nil:
				st, ok := c.SpecialTokens[it.SpecialToken.ID]
				if !ok {
					return fmt.Errorf("%s: special token %q is not in %s.special_tokens", f, it.SpecialToken.ID, field)
				}
				tmpl = append(tmpl, st.IDs...)
			default:
				return fmt.Errorf("%s: want {\"SpecialToken\": ...} or {\"Sequence\": ...}", f)
			}
		}
		t.setTemplate(tmpl)
		return nil
	case "BertProcessing", "RobertaProcessing":
		cls, err := tokenPair(c.Cls, field+".cls")
		if err != nil {
			return err
		}
		sep, err := tokenPair(c.Sep, field+".sep")
		if err != nil {
			return err
		}
		t.setTemplate([]int{cls, -1, sep})
		return nil
	}
	return fmt.Errorf("%s.type: post-processor %q is not supported", field, c.Type)
}

func tokenPair(raw []json.RawMessage, field string) (int, error) {
	var id int
	if len(raw) != 2 || json.Unmarshal(raw[1], &id) != nil {
		return 0, fmt.Errorf("%s: want [token, id]", field)
	}
	return id, nil
}

func (t *HF) setTemplate(tmpl []int) {
	if len(tmpl) == 1 && tmpl[0] == -1 {
		t.template = nil
		return
	}
	t.template = tmpl
}

func (t *HF) applyConfig(data []byte) error {
	var cfg tokenizerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return errors.New(jsonErr(err))
	}
	for _, f := range []struct {
		field string
		raw   json.RawMessage
		dst   *int
	}{{"bos_token", cfg.BOS, &t.bos}, {"eos_token", cfg.EOS, &t.eos}} {
		name, err := tokenName(f.raw)
		if err != nil {
			return fmt.Errorf("%s: %v", f.field, err)
		}
		if name == "" {
			continue
		}
		id, ok := t.TokenToID(name)
		if !ok {
			return fmt.Errorf("%s: %q is not in the vocabulary", f.field, name)
		}
		*f.dst = id
	}
	if cfg.Cleanup != nil {
		t.cleanup = *cfg.Cleanup
	}
	// transformers' LlamaTokenizerFast rebuilds the post-processor from
	// add_bos_token/add_eos_token (DeepSeek-V3 relies on this for its BOS).
	if cfg.TokenizerClass == "LlamaTokenizerFast" || cfg.TokenizerClass == "LlamaTokenizer" {
		addBOS := cfg.AddBOS == nil || *cfg.AddBOS
		addEOS := cfg.AddEOS != nil && *cfg.AddEOS
		var tmpl []int
		if addBOS && t.bos >= 0 {
			tmpl = append(tmpl, t.bos)
		}
		tmpl = append(tmpl, -1)
		if addEOS && t.eos >= 0 {
			tmpl = append(tmpl, t.eos)
		}
		t.setTemplate(tmpl)
	}
	return nil
}

// guessBOSEOS picks BOS/EOS without tokenizer_config.json: BOS from the
// post-processor template, EOS from well-known special token names.
func (t *HF) guessBOSEOS() {
	if len(t.template) > 1 && t.template[0] >= 0 {
		t.bos = t.template[0]
	}
	for _, name := range []string{"<|eot_id|>", "<|im_end|>", "<|return|>", "<｜end▁of▁sentence｜>", "<|endoftext|>", "<|end_of_text|>", "</s>"} {
		if id, ok := t.added[name]; ok {
			t.eos = id
			return
		}
	}
}

// Encode tokenizes text like HF's encode(text, add_special_tokens):
// added tokens are split off first, the rest normalized, pre-tokenized and
// run through BPE. With addSpecialTokens the post-processor template is
// applied, except that a BOS already at the start of text is not doubled.
func (t *HF) Encode(text string, addSpecialTokens bool) []int {
	ids := make([]int, 0, len(text)/3+4)
	var emitWord func(string)
	if t.pre == nil {
		emitWord = func(w string) { ids = t.model.tokenize(ids, w) }
	} else {
		tokenizeWord := func(w string) { ids = t.model.tokenize(ids, w) }
		emitWord = func(s string) { t.pre.split(s, tokenizeWord) }
	}
	t.addedRaw.split(text, func(seg string, id int) {
		if id >= 0 {
			ids = append(ids, id)
			return
		}
		if t.norm != nil {
			seg = t.norm.normalize(seg)
		}
		if t.addedNorm == nil {
			emitWord(seg)
			return
		}
		t.addedNorm.split(seg, func(seg string, id int) {
			if id >= 0 {
				ids = append(ids, id)
				return
			}
			emitWord(seg)
		})
	})
	if addSpecialTokens && t.template != nil {
		ids = applyTemplate(t.template, ids)
	}
	return ids
}

// applyTemplate wraps ids in the template; leading template tokens that
// ids already starts with (a BOS written in the text) are not repeated.
func applyTemplate(tmpl, ids []int) []int {
	seq := -1
	for i, x := range tmpl {
		if x == -1 {
			seq = i
			break
		}
	}
	prefix := tmpl[:seq]
	if len(prefix) > 0 && len(ids) >= len(prefix) {
		same := true
		for i := range prefix {
			if ids[i] != prefix[i] {
				same = false
				break
			}
		}
		if same {
			prefix = nil
		}
	}
	out := make([]int, 0, len(tmpl)+len(ids))
	out = append(out, prefix...)
	out = append(out, ids...)
	return append(out, tmpl[seq+1:]...)
}

// Decode turns ids into text like transformers' decode(ids) with
// skip_special_tokens=False: ids that are not in the vocabulary are
// skipped, ill-formed UTF-8 becomes U+FFFD, and clean_up_tokenization_spaces
// is applied when tokenizer_config.json asks for it.
func (t *HF) Decode(ids []int) string {
	s := t.DecodeRaw(ids)
	if t.cleanup {
		s = cleanUpTokenizationSpaces(s)
	}
	return s
}

// DecodeRaw decodes like the Rust tokenizers library (no transformers
// clean-up of spaces).
func (t *HF) DecodeRaw(ids []int) string {
	if t.byteLevelDecode {
		buf := make([]byte, 0, len(ids)*4)
		for _, id := range ids {
			if id >= 0 && id < len(t.tokBytes) {
				buf = append(buf, t.tokBytes[id]...)
			}
		}
		return lossyUTF8(buf)
	}
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(t.idToTok) && t.idToTok[id] != "" {
			toks = append(toks, t.idToTok[id])
		}
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decodeChain(toks), "")
}

// TokenToID looks up an added token or a vocabulary string (in the
// vocabulary's own form, e.g. "Ġthe" for byte-level BPE).
func (t *HF) TokenToID(token string) (int, bool) {
	if id, ok := t.added[token]; ok {
		return id, true
	}
	key := token
	if t.model.byteLevel {
		key = string(byteLevelDecodeToken(nil, token))
		id, ok := t.model.vocab[key]
		if ok && t.idToTok[id] == token {
			return id, true
		}
		return 0, false
	}
	id, ok := t.model.vocab[key]
	return id, ok
}

// IDToToken returns the vocabulary string of id.
func (t *HF) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(t.idToTok) || t.idToTok[id] == "" {
		return "", false
	}
	return t.idToTok[id], true
}

// TokenBytes returns the raw bytes id decodes to (byte-level tokenizers).
func (t *HF) TokenBytes(id int) ([]byte, bool) {
	if id < 0 || id >= len(t.tokBytes) || t.idToTok[id] == "" {
		return nil, false
	}
	return t.tokBytes[id], true
}

// IsSpecial reports whether id is a special added token.
func (t *HF) IsSpecial(id int) bool { return t.special[id] }

// SpecialTokens lists the special added tokens in id order.
func (t *HF) SpecialTokens() []string {
	ids := make([]int, 0, len(t.special))
	for id := range t.special {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.idToTok[id]
	}
	return out
}

func (t *HF) VocabSize() int { return t.vocabSize }
func (t *HF) BOS() int       { return t.bos }
func (t *HF) EOS() int       { return t.eos }
func (t *HF) Name() string   { return t.name }

// SetName changes the name reported by Name (e.g. to the model name the
// tokenizer was resolved from).
func (t *HF) SetName(name string) { t.name = name }
