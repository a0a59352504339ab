package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tkx-dev/tkx/modelinfo"
	"github.com/tkx-dev/tkx/renderers"
	"github.com/tkx-dev/tkx/tokenizer"
)

const renderUsage = `Usage: tkx render (--model NAME | --tokenizer PATH --renderer NAME) [options] [CONVERSATIONS.jsonl]

Renders conversations the way training (or sampling) sees them. Reads JSONL
(a file, or stdin when none is given or it is "-"): one conversation per
line, {"messages": [...]} as the cookbook writes them (a bare list of
messages is accepted too). Prints, per conversation, the tokens, the
decoded text and the per-token weights; on a terminal the text is coloured
with trained tokens highlighted (like the cookbook's visualizer).

  --model NAME          tokenizer and recommended renderer from the model
                        registry (e.g. tkx/local-base, Qwen/Qwen3-8B)
  --tokenizer PATH      a tokenizer.json (or directory) instead of --model
  --renderer NAME       renderer name (overrides the model's recommendation);
                        "jinja" runs the chat_template of the
                        tokenizer_config.json beside --tokenizer
  --train-on-what WHAT  last_assistant_message (default), last_assistant_turn,
                        all_assistant_messages, all_messages, all_tokens,
                        all_user_and_system_messages, customized
  --generation-prompt   render the prompt for the next assistant turn instead
                        of a training example (weights omitted)
  --json                one JSON object per conversation:
                        {"tokens":[...],"weights":[...],"text":"..."}
  --color WHEN          auto (default: when stdout is a terminal), always, never
  --date YYYY-MM-DD     date in gpt-oss system prompts (default today)
  --list-renderers      print every renderer name and exit`

func init() {
	register(&command{
		name:    "render",
		summary: "show the tokens and weights a renderer makes of conversations",
		usage:   renderUsage,
		run: func(args []string, stdout, stderr io.Writer) int {
			return runRender(args, os.Stdin, stdout, stderr)
		},
	})
}

type renderOpts struct {
	json, gen bool
	color     bool
	tow       renderers.TrainOnWhat
}

func runRender(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	model := fs.String("model", "", "")
	tokPath := fs.String("tokenizer", "", "")
	rname := fs.String("renderer", "", "")
	towS := fs.String("train-on-what", string(renderers.LastAssistantMessage), "")
	gen := fs.Bool("generation-prompt", false, "")
	asJSON := fs.Bool("json", false, "")
	color := fs.String("color", "auto", "")
	date := fs.String("date", "", "")
	list := fs.Bool("list-renderers", false, "")
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tkx render: "+format+"\n\n%s\n", append(a, renderUsage)...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, renderUsage)
			return exitOK
		}
		return usage("%v", err)
	}
	if *list {
		for _, n := range renderers.Names() {
			fmt.Fprintln(stdout, n)
		}
		return exitOK
	}
	if fs.NArg() > 1 {
		return usage("at most one conversations file, got %d arguments", fs.NArg())
	}
	if (*model == "") == (*tokPath == "") {
		return usage("give exactly one of --model NAME or --tokenizer PATH")
	}
	if *tokPath != "" && *rname == "" {
		return usage("--tokenizer needs --renderer NAME (or use --model, whose recommended renderer is known)")
	}
	tow, err := renderers.ParseTrainOnWhat(*towS)
	if err != nil {
		return usage("--train-on-what: %v", err)
	}
	if *gen && *towS != string(renderers.LastAssistantMessage) {
		return usage("--train-on-what has no meaning with --generation-prompt")
	}
	if *date != "" {
		if _, err := time.Parse("2006-01-02", *date); err != nil {
			return usage("--date: want YYYY-MM-DD, got %q", *date)
		}
	}
	opts := renderOpts{json: *asJSON, gen: *gen, tow: tow}
	switch *color {
	case "auto":
		opts.color = isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && !*asJSON
	case "always":
		opts.color = true
	case "never":
	default:
		return usage("--color: want auto, always or never, got %q", *color)
	}

	// tokenizer and renderer
	var tok tokenizer.Tokenizer
	if *model != "" {
		if *rname == "" {
			r, err := modelinfo.RecommendedRendererName(*model)
			if err != nil {
				fmt.Fprintf(stderr, "tkx render: --model: %v\n", err)
				return exitFailure
			}
			*rname = r
		} else if w := modelinfo.RendererWarning(*model, *rname); w != "" {
			fmt.Fprintf(stderr, "tkx render: warning: %s\n", w)
		}
		tok, err = tokenizer.ForModel(context.Background(), *model)
	} else {
		tok, err = tokenizer.Load(*tokPath)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tkx render: %v\n", err)
		return exitFailure
	}
	var r renderers.Renderer
	if *rname == "jinja" {
		if *tokPath == "" {
			return usage("--renderer jinja needs --tokenizer (its tokenizer_config.json holds the chat_template)")
		}
		dir := *tokPath
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		cfg, err := renderers.LoadJinjaConfig(filepath.Join(dir, "tokenizer_config.json"))
		if err != nil {
			fmt.Fprintf(stderr, "tkx render: --renderer jinja: %v\n", err)
			return exitFailure
		}
		r, err = renderers.NewJinja("jinja", tok, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "tkx render: --renderer jinja: %v\n", err)
			return exitFailure
		}
	} else {
		r, err = renderers.GetWithOptions(*rname, tok, renderers.Options{CurrentDate: *date})
		if err != nil {
			fmt.Fprintf(stderr, "tkx render: --renderer: %v\n", err)
			return exitFailure
		}
	}

	// input
	in := stdin
	src := "stdin"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "tkx render: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		in, src = f, fs.Arg(0)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	conv, line := 0, 0
	for sc.Scan() {
		line++
		raw := strings.TrimSpace(sc.Text())
		if raw == "" {
			continue
		}
		where := fmt.Sprintf("%s:%d: conversation %d", src, line, conv)
		if !utf8.ValidString(raw) {
			fmt.Fprintf(stderr, "tkx render: %s: line is not valid UTF-8\n", where)
			return exitFailure
		}
		msgs, err := parseConversation(raw)
		if err != nil {
			fmt.Fprintf(stderr, "tkx render: %s: %v\n", where, err)
			return exitFailure
		}
		if err := renderOne(bw, r, msgs, conv, opts); err != nil {
			bw.Flush()
			fmt.Fprintf(stderr, "tkx render: %s: %v\n", where, err)
			return exitFailure
		}
		conv++
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "tkx render: %s: %v\n", src, err)
		return exitFailure
	}
	if conv == 0 {
		fmt.Fprintf(stderr, "tkx render: %s: no conversations\n", src)
		return exitFailure
	}
	return exitOK
}

// parseConversation accepts {"messages": [...]} or a bare list.
func parseConversation(raw string) ([]renderers.Message, error) {
	v, err := renderers.ParseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case *renderers.Object:
		mv, ok := x.Get("messages")
		if !ok {
			return nil, errors.New(`want {"messages": [...]} (no "messages" field)`)
		}
		if list, ok = mv.([]any); !ok {
			return nil, errors.New(`"messages" is not a list`)
		}
	default:
		return nil, errors.New(`want {"messages": [...]} or a list of messages`)
	}
	msgs := make([]renderers.Message, 0, len(list))
	for i, e := range list {
		o, ok := e.(*renderers.Object)
		if !ok {
			return nil, fmt.Errorf("message %d is not an object", i)
		}
		m, err := renderers.MessageFromObject(o)
		if err != nil {
			return nil, fmt.Errorf("message %d: %v", i, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func renderOne(w *bufio.Writer, r renderers.Renderer, msgs []renderers.Message, idx int, o renderOpts) error {
	var mi renderers.ModelInput
	var weights []float32
	var err error
	if o.gen {
		mi, err = r.BuildGenerationPrompt(msgs, "assistant", "")
	} else {
		mi, weights, err = r.BuildSupervisedExample(msgs, o.tow)
	}
	if err != nil {
		return err
	}
	ids, err := mi.Ints()
	if err != nil {
		return err
	}
	tok := r.Tokenizer()
	text := tok.Decode(ids)
	if o.json {
		var b []byte
		if o.gen {
			b, err = json.Marshal(struct {
				Tokens []int  `json:"tokens"`
				Text   string `json:"text"`
			}{nonNil(ids), text})
		} else {
			if weights == nil {
				weights = []float32{}
			}
			b, err = json.Marshal(struct {
				Tokens  []int     `json:"tokens"`
				Weights []float32 `json:"weights"`
				Text    string    `json:"text"`
			}{nonNil(ids), weights, text})
		}
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
		return nil
	}
	trained := 0
	for _, x := range weights {
		if x > 0 {
			trained++
		}
	}
	if o.gen {
		fmt.Fprintf(w, "=== conversation %d: generation prompt, %d tokens (renderer %s) ===\n", idx, len(ids), r.Name())
	} else {
		fmt.Fprintf(w, "=== conversation %d: %d tokens, %d trained (renderer %s, %s) ===\n", idx, len(ids), trained, r.Name(), o.tow)
	}
	if o.color {
		writeColoured(w, tok, ids, weights)
		w.WriteString("\n")
	} else {
		fmt.Fprintf(w, "text: %q\n", text)
		if !o.gen {
			fmt.Fprintf(w, "trained: %q\n", trainedText(tok, ids, weights))
		}
	}
	fmt.Fprintf(w, "tokens: %s\n", intsString(ids))
	if !o.gen {
		fmt.Fprintf(w, "weights: %s\n", weightsString(weights))
	}
	return nil
}

// writeColoured prints the text with trained runs on a green background
// and prompt runs dim; runs are decoded whole so multi-byte characters
// split across tokens stay intact.
func writeColoured(w *bufio.Writer, tok tokenizer.Tokenizer, ids []int, weights []float32) {
	const reset, on, off = "\x1b[0m", "\x1b[30;42m", "\x1b[2m"
	for start := 0; start < len(ids); {
		tr := weights != nil && weights[start] > 0
		end := start + 1
		for end < len(ids) && (weights != nil && weights[end] > 0) == tr {
			end++
		}
		seg := tok.Decode(ids[start:end])
		if tr {
			w.WriteString(on + seg + reset)
		} else if weights != nil {
			w.WriteString(off + seg + reset)
		} else {
			w.WriteString(seg)
		}
		start = end
	}
}

func trainedText(tok tokenizer.Tokenizer, ids []int, weights []float32) string {
	var parts []string
	for start := 0; start < len(ids); {
		if weights[start] == 0 {
			start++
			continue
		}
		end := start
		for end < len(ids) && weights[end] > 0 {
			end++
		}
		parts = append(parts, tok.Decode(ids[start:end]))
		start = end
	}
	return strings.Join(parts, "|")
}

func intsString(ids []int) string {
	b, _ := json.Marshal(nonNil(ids))
	return string(b)
}

func weightsString(ws []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range ws {
		if i > 0 {
			b.WriteByte(',')
		}
		if x == float32(int(x)) {
			fmt.Fprintf(&b, "%d", int(x))
		} else {
			fmt.Fprintf(&b, "%g", x)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
