// Package tokenizer turns text into token ids and back: Hugging Face
// tokenizer.json (byte-level BPE), tiktoken files, and the local backend's
// byte-level vocabulary.
package tokenizer

// Tokenizer is what renderers, datasets and the CLI need from a vocabulary.
type Tokenizer interface {
	// Encode tokenizes text. Special-token strings inside text are matched as
	// special tokens. addSpecialTokens adds the tokenizer's post-processor
	// tokens (e.g. Llama 3's BOS) the way HF's add_special_tokens=True does.
	Encode(text string, addSpecialTokens bool) []int
	// Decode turns ids back into text; incomplete UTF-8 sequences at the end
	// decode to U+FFFD like HF's decode does.
	Decode(ids []int) string
	// TokenToID looks up a token string (including special tokens).
	TokenToID(token string) (int, bool)
	// IDToToken returns the vocabulary string of an id.
	IDToToken(id int) (string, bool)
	// VocabSize is one more than the largest id.
	VocabSize() int
	// BOS and EOS token ids, or -1 when the tokenizer has none.
	BOS() int
	EOS() int
	// Name identifies the tokenizer (model name or file path) in errors.
	Name() string
}
