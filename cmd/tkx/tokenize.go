package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tkx-dev/tkx/tokenizer"
)

const tokenizeUsage = `Usage: tkx tokenize (--tokenizer PATH | --model NAME) [--json] [--decode] [--add-special-tokens=false]

Reads text on stdin and prints its token ids, space-separated (with --json:
{"ids":[...]}), exactly as Hugging Face's tokenizers library would.
With --decode, reads ids instead (a JSON list, {"ids":[...]}, or ints
separated by spaces/commas) and prints the text (with --json: {"text":"..."}).

  --tokenizer PATH   a tokenizer.json, a directory holding one, or a Kimi
                     tiktoken.model (tokenizer_config.json beside it is used)
  --model NAME       a model name: tkx/local-base, or a Hugging Face repo
                     (from the HF cache, downloaded with HF_TOKEN if missing;
                     Llama 3 models use the ungated tokenizer repo)
  --add-special-tokens
                     add the post-processor's tokens (Llama 3's BOS), like
                     HF's add_special_tokens=True (default true)`

func init() {
	register(&command{
		name:    "tokenize",
		summary: "text on stdin to token ids (or back with --decode)",
		usage:   tokenizeUsage,
		run: func(args []string, stdout, stderr io.Writer) int {
			return runTokenize(args, os.Stdin, stdout, stderr)
		},
	})
}

func runTokenize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("tokenizer", "", "")
	model := fs.String("model", "", "")
	asJSON := fs.Bool("json", false, "")
	decode := fs.Bool("decode", false, "")
	addSpecial := fs.Bool("add-special-tokens", true, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, tokenizeUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "tkx tokenize: %v\n\n%s\n", err, tokenizeUsage)
		return exitUsage
	}
	if fs.NArg() > 0 || (*path == "") == (*model == "") {
		fmt.Fprintf(stderr, "tkx tokenize: give exactly one of --tokenizer PATH or --model NAME (text comes on stdin)\n\n%s\n", tokenizeUsage)
		return exitUsage
	}
	var tok tokenizer.Tokenizer
	var err error
	if *path != "" {
		tok, err = tokenizer.Load(*path)
	} else {
		tok, err = tokenizer.ForModel(context.Background(), *model)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tkx tokenize: %v\n", err)
		return exitFailure
	}
	input, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "tkx tokenize: reading stdin: %v\n", err)
		return exitFailure
	}
	if *decode {
		ids, err := parseIDs(string(input), tok.VocabSize())
		if err != nil {
			fmt.Fprintf(stderr, "tkx tokenize --decode: stdin: %v\n", err)
			return exitFailure
		}
		text := tok.Decode(ids)
		if *asJSON {
			b, _ := json.Marshal(map[string]string{"text": text})
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			fmt.Fprint(stdout, text)
		}
		return exitOK
	}
	text := string(input)
	if err := tokenizer.ValidateText(text); err != nil {
		fmt.Fprintf(stderr, "tkx tokenize: stdin: %v\n", err)
		return exitFailure
	}
	ids := tok.Encode(text, *addSpecial)
	if *asJSON {
		b, _ := json.Marshal(map[string][]int{"ids": nonNil(ids)})
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	fmt.Fprintln(stdout, strings.Join(parts, " "))
	return exitOK
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

// parseIDs reads {"ids":[...]}, a JSON list, or ints separated by spaces
// or commas, and checks every id against the vocabulary size.
func parseIDs(s string, vocab int) ([]int, error) {
	s = strings.TrimSpace(s)
	var ids []int
	switch {
	case strings.HasPrefix(s, "{"):
		var obj struct {
			IDs *[]int `json:"ids"`
		}
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return nil, fmt.Errorf("not {\"ids\": [int, ...]}: %v", err)
		}
		if obj.IDs == nil {
			return nil, errors.New(`missing "ids"`)
		}
		ids = *obj.IDs
	case strings.HasPrefix(s, "["):
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("not a JSON list of ints: %v", err)
		}
	default:
		for i, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			id, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("item %d: %q is not an integer", i, f)
			}
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("ids[%d] = %d is not a token id (vocabulary size %d)", i, id, vocab)
		}
	}
	return ids, nil
}
