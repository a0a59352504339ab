// Package startokenizers is the `tokenizers` Starlark module: Hugging Face
// tokenizers (tokenizer.json, tiktoken files), the local byte tokenizer,
// and model-name resolution through the Hugging Face cache.
package startokenizers

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/tokenizer"
)

// Module is the tokenizers module.
var Module = &host.Module{
	Name: "tokenizers",
	Doc: `Tokenizers that produce the same ids as Hugging Face's tokenizers
library (byte-level BPE from tokenizer.json, tiktoken files, the local
byte tokenizer). A tokenizer value has the methods encode, decode,
token_to_id, id_to_token and the attributes name, vocab_size,
bos_token_id, eos_token_id (None when absent) and special_tokens.`,
	Funcs: []host.Func{
		{Name: "for_model", Impl: forModel, Doc: `for_model(name) -> tokenizer

The tokenizer of a model, like the cookbook's get_tokenizer: "tkx/local-*"
is the local byte tokenizer; a directory loads its files; any other name is
a Hugging Face repository (Llama 3 models use the ungated
thinkingmachineslabinc/meta-llama-3-instruct-tokenizer), read from the HF
cache ($HF_HOME/hub) and downloaded with HF_TOKEN when missing. An
unknown name fails naming the closest known models.`},
		{Name: "from_file", Impl: fromFile, Doc: `from_file(path) -> tokenizer

Loads a tokenizer.json (with tokenizer_config.json beside it when
present), a directory holding one, or a Kimi tiktoken.model.`},
		{Name: "local_byte", Impl: localByte, Doc: `local_byte() -> tokenizer

The local models' tokenizer: ids 0..255 are bytes, 256 <|endoftext|> (EOS),
257 <|im_start|>, 258 <|im_end|>, 259 <|pad|>; vocabulary size 288.`},
		{Name: "encode", Impl: encodeFn, Doc: `encode(tokenizer, text, add_special_tokens=True) -> list of int

Same as tokenizer.encode(text, add_special_tokens).`},
		{Name: "decode", Impl: decodeFn, Doc: `decode(tokenizer, ids) -> str

Same as tokenizer.decode(ids).`},
		{Name: "token_id", Impl: tokenID, Doc: `token_id(tokenizer, token) -> int

The id of a token (e.g. a special token such as "<|im_end|>"); fails when
the vocabulary has no such token.`},
	},
}

// Tokenizer is the Starlark value of a tokenizer.Tokenizer.
type Tokenizer struct{ tok tokenizer.Tokenizer }

var _ starlark.HasAttrs = (*Tokenizer)(nil)

// New wraps a Go tokenizer for scripts.
func New(t tokenizer.Tokenizer) *Tokenizer { return &Tokenizer{tok: t} }

// AsTokenizer returns the Go tokenizer of a Starlark tokenizer value.
func AsTokenizer(v starlark.Value) (tokenizer.Tokenizer, bool) {
	t, ok := v.(*Tokenizer)
	if !ok {
		return nil, false
	}
	return t.tok, true
}

// Go returns the Go tokenizer.
func (t *Tokenizer) Go() tokenizer.Tokenizer { return t.tok }

func (t *Tokenizer) String() string {
	return fmt.Sprintf("<tokenizer %s: %d tokens>", t.tok.Name(), t.tok.VocabSize())
}
func (t *Tokenizer) Type() string          { return "tokenizer" }
func (t *Tokenizer) Freeze()               {}
func (t *Tokenizer) Truth() starlark.Bool  { return true }
func (t *Tokenizer) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: tokenizer") }

var methods = map[string]*starlark.Builtin{
	"encode":      starlark.NewBuiltin("encode", encodeMethod),
	"decode":      starlark.NewBuiltin("decode", decodeMethod),
	"token_to_id": starlark.NewBuiltin("token_to_id", tokenToIDMethod),
	"id_to_token": starlark.NewBuiltin("id_to_token", idToTokenMethod),
}

var attrNames = func() []string {
	names := []string{"name", "vocab_size", "bos_token_id", "eos_token_id", "special_tokens"}
	for m := range methods {
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}()

func (t *Tokenizer) AttrNames() []string { return attrNames }

func optID(id int) starlark.Value {
	if id < 0 {
		return starlark.None
	}
	return starlark.MakeInt(id)
}

func (t *Tokenizer) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(t.tok.Name()), nil
	case "vocab_size":
		return starlark.MakeInt(t.tok.VocabSize()), nil
	case "bos_token_id":
		return optID(t.tok.BOS()), nil
	case "eos_token_id":
		return optID(t.tok.EOS()), nil
	case "special_tokens":
		var specials []string
		if s, ok := t.tok.(interface{ SpecialTokens() []string }); ok {
			specials = s.SpecialTokens()
		}
		vals := make([]starlark.Value, len(specials))
		for i, s := range specials {
			vals[i] = starlark.String(s)
		}
		return starlark.NewList(vals), nil
	}
	if m, ok := methods[name]; ok {
		return m.BindReceiver(t), nil
	}
	return nil, nil
}

func receiver(fn *starlark.Builtin) *Tokenizer { return fn.Receiver().(*Tokenizer) }

func encode(fnName string, t tokenizer.Tokenizer, text string, add bool) (starlark.Value, error) {
	if err := tokenizer.ValidateText(text); err != nil {
		return nil, fmt.Errorf("%s: text: %v", fnName, err)
	}
	return host.Ints(t.Encode(text, add)), nil
}

func decode(fnName string, t tokenizer.Tokenizer, v starlark.Value) (starlark.Value, error) {
	ids, err := host.AsInts(v, fnName+": ids")
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if id < 0 || id >= t.VocabSize() {
			return nil, fmt.Errorf("%s: ids[%d] = %d is not a token id (vocabulary size %d)", fnName, i, id, t.VocabSize())
		}
	}
	return starlark.String(t.Decode(ids)), nil
}

func encodeMethod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	add := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "text", &text, "add_special_tokens?", &add); err != nil {
		return nil, err
	}
	return encode(fn.Name(), receiver(fn).tok, text, add)
}

func decodeMethod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ids starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "ids", &ids); err != nil {
		return nil, err
	}
	return decode(fn.Name(), receiver(fn).tok, ids)
}

func tokenToIDMethod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var token string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "token", &token); err != nil {
		return nil, err
	}
	if id, ok := receiver(fn).tok.TokenToID(token); ok {
		return starlark.MakeInt(id), nil
	}
	return starlark.None, nil
}

func idToTokenMethod(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "id", &id); err != nil {
		return nil, err
	}
	if s, ok := receiver(fn).tok.IDToToken(id); ok {
		return starlark.String(s), nil
	}
	return starlark.None, nil
}

func tokenizerArg(fn *starlark.Builtin, v starlark.Value) (tokenizer.Tokenizer, error) {
	t, ok := AsTokenizer(v)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter tokenizer: got %s, want tokenizer (from tokenizers.for_model, from_file or local_byte)", fn.Name(), v.Type())
	}
	return t, nil
}

func forModel(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	t, err := tokenizer.ForModel(host.Context(thread), name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return New(t), nil
}

func fromFile(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	t, err := tokenizer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn.Name(), err)
	}
	return New(t), nil
}

func localByte(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return New(tokenizer.NewLocalByte()), nil
}

func encodeFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv starlark.Value
	var text string
	add := true
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tokenizer", &tv, "text", &text, "add_special_tokens?", &add); err != nil {
		return nil, err
	}
	t, err := tokenizerArg(fn, tv)
	if err != nil {
		return nil, err
	}
	return encode(fn.Name(), t, text, add)
}

func decodeFn(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv, ids starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tokenizer", &tv, "ids", &ids); err != nil {
		return nil, err
	}
	t, err := tokenizerArg(fn, tv)
	if err != nil {
		return nil, err
	}
	return decode(fn.Name(), t, ids)
}

func tokenID(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tv starlark.Value
	var token string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tokenizer", &tv, "token", &token); err != nil {
		return nil, err
	}
	t, err := tokenizerArg(fn, tv)
	if err != nil {
		return nil, err
	}
	id, ok := t.TokenToID(token)
	if !ok {
		return nil, fmt.Errorf("%s: %q is not a token of %s", fn.Name(), token, t.Name())
	}
	return starlark.MakeInt(id), nil
}
