package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/tkx-dev/tkx/hfhub"
	"github.com/tkx-dev/tkx/spell"
)

// KnownModels are the models of the cookbook's model_info (plus the local
// models), used to suggest a name when a model cannot be found.
var KnownModels = []string{
	"tkx/local-base", "tkx/local-tiny",
	"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B",
	"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.3-70B-Instruct",
	"Qwen/Qwen3-VL-30B-A3B-Instruct", "Qwen/Qwen3-VL-235B-A22B-Instruct", "Qwen/Qwen3-8B-Base",
	"Qwen/Qwen3-30B-A3B-Base", "Qwen/Qwen3-8B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B",
	"Qwen/Qwen3-4B-Instruct-2507", "Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen/Qwen3-235B-A22B-Instruct-2507",
	"Qwen/Qwen3.5-4B", "Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B-Base", "Qwen/Qwen3.5-27B", "Qwen/Qwen3.5-35B-A3B",
	"Qwen/Qwen3.5-35B-A3B-Base", "Qwen/Qwen3.5-397B-A17B", "Qwen/Qwen3.6-27B", "Qwen/Qwen3.6-35B-A3B",
	"Qwen/Qwen3.8-27B",
	"deepseek-ai/DeepSeek-V3.1", "deepseek-ai/DeepSeek-V3.1-Base",
	"openai/gpt-oss-20b", "openai/gpt-oss-120b",
	"moonshotai/Kimi-K2-Thinking", "moonshotai/Kimi-K2.5", "moonshotai/Kimi-K2.6",
	"nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16",
	"nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16", "nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-BF16",
}

// Llama3TokenizerRepo is the ungated copy of the Llama 3 instruct tokenizer
// the cookbook uses for every meta-llama/Llama-3* model.
const Llama3TokenizerRepo = "thinkingmachineslabinc/meta-llama-3-instruct-tokenizer"

// kimiRevisions pins the Kimi K2 tokenizers (tokenizer_utils.py).
var kimiRevisions = map[string]string{
	"moonshotai/Kimi-K2-Thinking": "a51ccc050d73dab088bf7b0e2dd9b30ae85a4e55",
	"moonshotai/Kimi-K2.5":        "2426b45b6af0da48d0dcce71bbce6225e5c73adc",
	"moonshotai/Kimi-K2.6":        "b5aabbfb20227ed42becbf5541dbffd213942c58",
}

// TokenizerRepo returns the Hub repository and revision that hold the
// tokenizer of a model, with the cookbook's special cases (get_tokenizer):
// a ":suffix" is dropped, Llama 3 models use the ungated tokenizer repo,
// and Kimi K2 tokenizers are pinned.
func TokenizerRepo(model string) hfhub.Repo {
	model, _, _ = strings.Cut(model, ":")
	if strings.HasPrefix(model, "meta-llama/Llama-3") {
		return hfhub.Repo{ID: Llama3TokenizerRepo}
	}
	return hfhub.Repo{ID: model, Revision: kimiRevisions[model]}
}

var modelCache sync.Map // cache key -> Tokenizer

// ForModel returns the tokenizer of a model the way the cookbook's
// get_tokenizer does: "tkx/local-*" → the local byte tokenizer; a local
// directory → its tokenizer files; otherwise the Hub repository (see
// TokenizerRepo) from the Hugging Face cache, downloaded with HF_TOKEN
// when missing. Loaded tokenizers are shared between calls.
func ForModel(ctx context.Context, model string) (Tokenizer, error) {
	return ForModelWith(ctx, hfhub.NewClient(), model)
}

// ForModelWith is ForModel with an explicit Hub client.
func ForModelWith(ctx context.Context, c *hfhub.Client, model string) (Tokenizer, error) {
	name, _, _ := strings.Cut(model, ":")
	if name == "" {
		return nil, errors.New("tokenizer: empty model name")
	}
	if strings.HasPrefix(name, "tkx/local-") {
		if name == "tkx/local-base" || name == "tkx/local-tiny" {
			return NewLocalByte(), nil
		}
		return nil, unknownModel(name, nil)
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return Load(name)
	}
	if strings.HasPrefix(name, "thinkingmachines/Inkling") {
		return nil, fmt.Errorf("tokenizer: %s uses tml_renderers' o200k_base_chat tokenizer, which tkx does not provide", name)
	}
	repo := TokenizerRepo(name)
	key := c.CacheDir + "\x00" + c.Endpoint + "\x00" + repo.ID + "@" + repo.Revision
	if t, ok := modelCache.Load(key); ok {
		return t.(Tokenizer), nil
	}
	if err := hfhub.ValidateRepoID(repo.ID); err != nil {
		return nil, unknownModel(name, err)
	}
	file, parse := "tokenizer.json", ParseHF
	if strings.HasPrefix(name, "moonshotai/Kimi-K2") {
		file, parse = "tiktoken.model", ParseKimi
	}
	t, err := loadFromHub(ctx, c, repo, file, parse)
	if err != nil {
		var he *hfhub.Error
		if errors.As(err, &he) && he.Code == "EntryNotFound" {
			return nil, fmt.Errorf("tokenizer for %s: the repository %s has no %s (only tokenizer.json and Kimi's tiktoken.model are supported): %w", name, repo.ID, he.File, err)
		}
		if hfhub.IsNotFound(err) {
			return nil, unknownModel(name, err)
		}
		hint := ""
		if !isKnown(name) {
			if near := Closest(name, KnownModels, 3); len(near) > 0 {
				hint = " (not a known model; closest known: " + strings.Join(near, ", ") + ")"
			}
		}
		return nil, fmt.Errorf("tokenizer for %s%s: not in the HF cache %s, and the download failed: %w", name, hint, c.CacheDir, err)
	}
	t.SetName(name)
	modelCache.Store(key, t)
	return t, nil
}

func optionalFile(ctx context.Context, c *hfhub.Client, repo hfhub.Repo, file string) ([]byte, error) {
	p, err := c.Download(ctx, repo, file)
	if err != nil {
		var he *hfhub.Error
		if errors.As(err, &he) && he.Code == "EntryNotFound" {
			return nil, nil
		}
		return nil, err
	}
	return os.ReadFile(p)
}

// loadFromHub downloads the repository's tokenizer file (tokenizer.json,
// or Kimi's tiktoken.model) and its optional tokenizer_config.json, and
// parses them with parse (ParseHF or ParseKimi).
func loadFromHub(ctx context.Context, c *hfhub.Client, repo hfhub.Repo, file string, parse func(name string, data, cfg []byte) (*HF, error)) (*HF, error) {
	p, err := c.Download(ctx, repo, file)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	cfg, err := optionalFile(ctx, c, repo, "tokenizer_config.json")
	if err != nil {
		return nil, err
	}
	return parse(p, data, cfg)
}

func isKnown(name string) bool {
	for _, m := range KnownModels {
		if m == name {
			return true
		}
	}
	return false
}

func unknownModel(name string, cause error) error {
	msg := fmt.Sprintf("tokenizer: unknown model %q", name)
	if near := Closest(name, KnownModels, 3); len(near) > 0 {
		msg += " (closest known: " + strings.Join(near, ", ") + ")"
	}
	if cause != nil {
		return fmt.Errorf("%s: %w", msg, cause)
	}
	return errors.New(msg)
}

// Closest returns up to n candidates nearest to name, nearest first.
func Closest(name string, candidates []string, n int) []string {
	return spell.Closest(name, candidates, n)
}
