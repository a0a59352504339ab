package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Load opens a tokenizer from a path: a tokenizer.json file, a directory
// holding tokenizer.json (or Kimi's tiktoken.model), or a tiktoken.model
// file. tokenizer_config.json next to it is used when present.
func Load(path string) (*HF, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "tokenizer.json")); err == nil {
			return LoadHF(filepath.Join(path, "tokenizer.json"))
		}
		if _, err := os.Stat(filepath.Join(path, "tiktoken.model")); err == nil {
			return LoadKimi(path)
		}
		return nil, fmt.Errorf("tokenizer: %s has neither tokenizer.json nor tiktoken.model", path)
	}
	if filepath.Base(path) == "tiktoken.model" || filepath.Ext(path) == ".tiktoken" {
		return LoadKimi(filepath.Dir(path))
	}
	return LoadHF(path)
}

// ValidateText returns an error naming the byte offset of the first
// invalid UTF-8 sequence in text, or nil. Encode itself accepts any bytes
// (byte-level BPE encodes them as they are), but text that is not UTF-8
// cannot have come from a Python str: callers that take user input check it.
func ValidateText(text string) error {
	if utf8.ValidString(text) {
		return nil
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			line, col := 1, 1
			for _, c := range text[:i] {
				if c == '\n' {
					line, col = line+1, 1
				} else {
					col++
				}
			}
			return fmt.Errorf("invalid UTF-8 at byte %d (line %d, column %d): 0x%02X", i, line, col, text[i])
		}
		i += size
	}
	return nil
}
