package renderers

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tkx-dev/tkx/tokenizer"
)

// Options tune renderer construction.
type Options struct {
	// CurrentDate fixes the date in gpt-oss system prompts ("YYYY-MM-DD");
	// empty means today, like the cookbook.
	CurrentDate string
	// ImageTokens returns how many tokens an image part occupies (the image
	// processor's count). Nil leaves image placeholders at 0 tokens.
	ImageTokens func(source string) (int, error)
}

// Factory builds a renderer over a tokenizer.
type Factory func(name string, tok tokenizer.Tokenizer, opts Options) (Renderer, error)

func vl(kind vlKind, f func(r *qwenVL)) Factory {
	return func(name string, tok tokenizer.Tokenizer, o Options) (Renderer, error) {
		r := newQwenVL(name, tok, kind)
		r.imageTokens = o.ImageTokens
		if f != nil {
			f(r)
		}
		return r.finish(), nil
	}
}

func q38(effort string, disable bool) Factory {
	return vl(kindQwen38, func(r *qwenVL) {
		r.stripHistory = false
		r.disable35 = disable
		if !disable {
			r.effortText = qwen38Effort[effort]
		}
	})
}

func kimiF(k25, disable, preserve bool) Factory {
	return func(name string, tok tokenizer.Tokenizer, o Options) (Renderer, error) {
		r := newKimi(name, tok, k25, disable, preserve)
		r.imageTokens = o.ImageTokens
		return r, nil
	}
}

func gptF(effort string) Factory {
	return func(name string, tok tokenizer.Tokenizer, o Options) (Renderer, error) {
		r := newGptOSS(name, tok, effort)
		r.CurrentDate = o.CurrentDate
		return r, nil
	}
}

var builtin = map[string]Factory{
	"role_colon": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) { return newRoleColon(n, t), nil },
	"llama3":     func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) { return newLlama3(n, t), nil },
	"qwen3": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newQwen3(n, t, true, false), nil
	},
	"qwen3_disable_thinking": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newQwen3(n, t, true, true), nil
	},
	"qwen3_instruct": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newQwen3(n, t, false, false), nil
	},
	"qwen3_vl":                 vl(kindVL, nil),
	"qwen3_vl_instruct":        vl(kindVL, func(r *qwenVL) { r.framesThinking = false }),
	"qwen3_5":                  vl(kindQwen35, nil),
	"qwen3_5_disable_thinking": vl(kindQwen35, func(r *qwenVL) { r.disable35 = true }),
	"qwen3_8_xhigh_reasoning":  q38("xhigh", false),
	"qwen3_8_medium_reasoning": q38("medium", false),
	"qwen3_8_low_reasoning":    q38("low", false),
	"qwen3_8_disable_thinking": q38("", true),
	"deepseekv3": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newDeepSeek(n, t, false), nil
	},
	"deepseekv3_disable_thinking": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newDeepSeek(n, t, false), nil
	},
	"deepseekv3_thinking": func(n string, t tokenizer.Tokenizer, _ Options) (Renderer, error) {
		return newDeepSeek(n, t, true), nil
	},
	"kimi_k2":                           kimiF(false, false, false),
	"kimi_k25":                          kimiF(true, false, false),
	"kimi_k25_disable_thinking":         kimiF(true, true, false),
	"kimi_k26":                          kimiF(true, false, false),
	"kimi_k26_disable_thinking":         kimiF(true, true, false),
	"kimi_k26_preserve_thinking":        kimiF(true, false, true),
	"nemotron3":                         vl(kindNemotron, nil),
	"nemotron3_low_thinking":            vl(kindNemotron, func(r *qwenVL) { r.effortSuffix = "\n\n{reasoning effort: low}" }),
	"nemotron3_disable_thinking":        vl(kindNemotron, func(r *qwenVL) { r.nemoDisable = true }),
	"nemotron3_preserve_thinking":       vl(kindNemotron, func(r *qwenVL) { r.stripHistory = false }),
	"nemotron3_ultra":                   vl(kindNemoUltra, nil),
	"nemotron3_ultra_disable_thinking":  vl(kindNemoUltra, func(r *qwenVL) { r.nemoDisable = true }),
	"nemotron3_ultra_medium_thinking":   vl(kindNemoUltra, func(r *qwenVL) { r.effortSuffix = "\n\n{reasoning effort: efficient}" }),
	"nemotron3_ultra_preserve_thinking": vl(kindNemoUltra, func(r *qwenVL) { r.stripHistory = false }),
	"gpt_oss_no_sysprompt":              gptF(""),
	"gpt_oss_low_reasoning":             gptF("low"),
	"gpt_oss_medium_reasoning":          gptF("medium"),
	"gpt_oss_high_reasoning":            gptF("high"),
}

var (
	customMu sync.RWMutex
	custom   = map[string]Factory{}
)

// Register adds a custom renderer factory (register_renderer).
func Register(name string, f Factory) {
	customMu.Lock()
	defer customMu.Unlock()
	custom[name] = f
}

// Unregister removes a custom renderer; it reports whether it existed.
func Unregister(name string) bool {
	customMu.Lock()
	defer customMu.Unlock()
	_, ok := custom[name]
	delete(custom, name)
	return ok
}

// Names lists every renderer name, built-in and registered, sorted.
func Names() []string {
	customMu.RLock()
	defer customMu.RUnlock()
	names := make([]string, 0, len(builtin)+len(custom))
	for n := range builtin {
		names = append(names, n)
	}
	for n := range custom {
		if _, ok := builtin[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// UnknownRendererError names the closest known renderers.
type UnknownRendererError struct {
	Name    string
	Closest []string
}

func (e *UnknownRendererError) Error() string {
	s := fmt.Sprintf("unknown renderer %q", e.Name)
	if len(e.Closest) > 0 {
		s += "; closest: " + strings.Join(e.Closest, ", ")
	}
	return s + " (tkx render --list-renderers shows all)"
}

// Get builds the named renderer over tok (get_renderer).
func Get(name string, tok tokenizer.Tokenizer) (Renderer, error) {
	return GetWithOptions(name, tok, Options{})
}

// GetWithOptions is Get with construction options.
func GetWithOptions(name string, tok tokenizer.Tokenizer, opts Options) (Renderer, error) {
	if tok == nil {
		return nil, fmt.Errorf("renderer %q: no tokenizer", name)
	}
	customMu.RLock()
	f, ok := custom[name]
	customMu.RUnlock()
	if !ok {
		f, ok = builtin[name]
	}
	if !ok {
		if name == "tml_v0" {
			return nil, fmt.Errorf("renderer \"tml_v0\" delegates to the closed tml_renderers library and is not available in tkx")
		}
		return nil, &UnknownRendererError{Name: name, Closest: Closest(name, Names(), 3)}
	}
	return f(name, tok, opts)
}
