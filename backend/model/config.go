package model

import (
	"fmt"
	"strings"
)

// Config describes a decoder's shape.
type Config struct {
	Name      string  `json:"name"`
	Vocab     int     `json:"vocab_size"`
	Dim       int     `json:"hidden_size"`
	Layers    int     `json:"num_hidden_layers"`
	Heads     int     `json:"num_attention_heads"`
	Hidden    int     `json:"intermediate_size"`
	MaxSeq    int     `json:"max_position_embeddings"`
	Tied      bool    `json:"tie_word_embeddings"`
	RopeTheta float64 `json:"rope_theta"`
	NormEps   float64 `json:"rms_norm_eps"`
	// EOS is the end-of-text token id (sampling stops on it), -1 for none.
	EOS int `json:"eos_token_id"`
}

// Names of the built-in local models.
const (
	LocalBaseName = "tkx/local-base"
	LocalTinyName = "tkx/local-tiny"
	// LocalVocab is the local byte tokenizer's vocabulary size and LocalEOS
	// its <|endoftext|> id.
	LocalVocab = 288
	LocalEOS   = 256
)

// LocalBase is the default local model: L=4, d=128, 4 heads, T=256, byte
// vocabulary 288, tied embeddings (~0.84M parameters).
func LocalBase() Config {
	return Config{Name: LocalBaseName, Vocab: LocalVocab, Dim: 128, Layers: 4, Heads: 4, Hidden: 352,
		MaxSeq: 256, Tied: true, RopeTheta: 10000, NormEps: 1e-5, EOS: LocalEOS}
}

// LocalTiny is the test model: L=2, d=64, 4 heads, T=128 (~0.12M parameters).
func LocalTiny() Config {
	return Config{Name: LocalTinyName, Vocab: LocalVocab, Dim: 64, Layers: 2, Heads: 4, Hidden: 176,
		MaxSeq: 128, Tied: true, RopeTheta: 10000, NormEps: 1e-5, EOS: LocalEOS}
}

// ForVocab is the local-base body over another tokenizer's vocabulary, used
// when a real base-model name (e.g. "Qwen/Qwen3-8B", vocab 151,936) is asked
// for and its tokenizer is available. Cost: the head is V·d, so at V=151,936
// a token costs ~20x the local-base model (see README).
func ForVocab(name string, vocab, eos int) Config {
	c := LocalBase()
	c.Name = name
	c.Vocab = vocab
	c.EOS = eos
	return c
}

// ConfigFor returns the built-in config for a local model name. A suffix
// ":..." (as in base-model ids like "x:peft:262144") is ignored.
func ConfigFor(name string) (Config, error) {
	base := name
	if i := strings.Index(base, ":"); i >= 0 {
		base = base[:i]
	}
	switch base {
	case LocalBaseName:
		return LocalBase(), nil
	case LocalTinyName:
		return LocalTiny(), nil
	}
	return Config{}, fmt.Errorf("model: unknown base model %q (local models: %s, %s)", name, LocalBaseName, LocalTinyName)
}

// HeadDim is Dim/Heads.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Validate checks the shape.
func (c Config) Validate() error {
	switch {
	case c.Vocab <= 0:
		return fmt.Errorf("model config %q: vocab_size must be > 0, got %d", c.Name, c.Vocab)
	case c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0:
		return fmt.Errorf("model config %q: hidden_size %d must be a positive multiple of num_attention_heads %d", c.Name, c.Dim, c.Heads)
	case c.HeadDim()%2 != 0:
		return fmt.Errorf("model config %q: head dim %d must be even for rotary positions", c.Name, c.HeadDim())
	case c.Layers <= 0:
		return fmt.Errorf("model config %q: num_hidden_layers must be > 0", c.Name)
	case c.Hidden <= 0:
		return fmt.Errorf("model config %q: intermediate_size must be > 0", c.Name)
	case c.MaxSeq <= 0:
		return fmt.Errorf("model config %q: max_position_embeddings must be > 0", c.Name)
	case c.RopeTheta <= 0 || c.NormEps <= 0:
		return fmt.Errorf("model config %q: rope_theta and rms_norm_eps must be > 0", c.Name)
	case c.EOS >= c.Vocab:
		return fmt.Errorf("model config %q: eos_token_id %d outside vocab %d", c.Name, c.EOS, c.Vocab)
	case c.Vocab > 1<<22 || c.Dim > 8192 || c.Layers > 256 || c.Hidden > 65536 || c.MaxSeq > 1<<16 || c.NumParams() > 1<<31:
		return fmt.Errorf("model config %q: too large for the local backend (vocab %d, hidden %d, layers %d, intermediate %d, context %d)",
			c.Name, c.Vocab, c.Dim, c.Layers, c.Hidden, c.MaxSeq)
	}
	return nil
}

// NumParams counts the base model's parameters.
func (c Config) NumParams() int {
	d, h := c.Dim, c.Hidden
	n := c.Vocab*d + d
	if !c.Tied {
		n += c.Vocab * d
	}
	n += c.Layers * (2*d + 4*d*d + 3*d*h)
	return n
}
