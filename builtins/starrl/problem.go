package starrl

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/starrenderers"
	"github.com/tkx-dev/tkx/grading"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/renderers"
	"github.com/tkx-dev/tkx/rl"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// problem_env and message_env: envs implemented in Go over a renderer, with
// Starlark callbacks for what researchers change (the answer check, the
// message-level step).

func textOf(m renderers.Message) string {
	if m.Parts == nil {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func stopFromRenderer(r renderers.Renderer) (rollout.StopCondition, error) {
	s, err := r.StopSequences()
	if err != nil {
		return rollout.StopCondition{}, err
	}
	return rollout.StopCondition{Strings: s.Strings, Tokens: s.Tokens}, nil
}

func prompt(r renderers.Renderer, msgs []renderers.Message) ([]int, error) {
	mi, err := r.BuildGenerationPrompt(msgs, "assistant", "")
	if err != nil {
		return nil, err
	}
	return mi.Ints()
}

func stopMetric(a rollout.Action) string {
	switch a.StopReason {
	case "length":
		return rl.StopMaxTokens
	case rl.StopContextOverflow:
		return rl.StopContextOverflow
	}
	return rl.StopCompleted
}

// problemEnv is the cookbook's ProblemEnv: one question, one answer.
type problemEnv struct {
	r           renderers.Renderer
	rv          starlark.Value
	question    string
	answer      string
	grader      string
	checkAnswer starlark.Callable
	checkFormat starlark.Callable
	formatCoef  float64
	prefix      []renderers.Message
}

var graders = []string{"boxed", "gsm8k", "first_token", "exact"}

func newProblemEnv(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		rv                    starlark.Value
		question              string
		answer                starlark.Value = starlark.None
		grader                               = "boxed"
		checkAnswer, checkFmt starlark.Value = starlark.None, starlark.None
		formatCoef                           = host.Number(0.1)
		prefix                starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "renderer", &rv, "question", &question, "answer?", &answer,
		"grader?", &grader, "check_answer?", &checkAnswer, "check_format?", &checkFmt, "format_coef?", &formatCoef, "convo_prefix?", &prefix); err != nil {
		return nil, err
	}
	r, ok := starrenderers.AsRenderer(rv)
	if !ok {
		return nil, fmt.Errorf("%s: renderer: got %s, want a renderer (renderers.get_renderer)", fn.Name(), rv.Type())
	}
	e := &problemEnv{r: r, rv: rv, question: question, grader: grader, formatCoef: float64(formatCoef)}
	if answer != starlark.None {
		s, ok := starlark.AsString(answer)
		if !ok {
			if _, isNum := answer.(starlark.Int); !isNum {
				return nil, fmt.Errorf("%s: answer: got %s, want a string", fn.Name(), answer.Type())
			}
			s = answer.String()
		}
		e.answer = s
	}
	found := false
	for _, g := range graders {
		found = found || g == grader
	}
	if !found {
		return nil, fmt.Errorf("%s: grader %q: want one of %s%s", fn.Name(), grader, strings.Join(graders, ", "), host.DidYouMean(grader, graders))
	}
	for _, c := range []struct {
		v    starlark.Value
		dst  *starlark.Callable
		name string
	}{{checkAnswer, &e.checkAnswer, "check_answer"}, {checkFmt, &e.checkFormat, "check_format"}} {
		if c.v == starlark.None {
			continue
		}
		f, ok := c.v.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: %s: got %s, want a function (response_text) -> bool", fn.Name(), c.name, c.v.Type())
		}
		c.v.Freeze()
		*c.dst = f
	}
	if e.checkAnswer == nil && answer == starlark.None {
		return nil, fmt.Errorf("%s: give answer= (graded with grader=%q) or check_answer=", fn.Name(), grader)
	}
	if prefix != starlark.None {
		msgs, err := starrenderers.MessagesFromStarlark(prefix, fn.Name()+": convo_prefix")
		if err != nil {
			return nil, err
		}
		e.prefix = msgs
	}
	return e, nil
}

func (e *problemEnv) String() string        { return fmt.Sprintf("<rl.problem_env %q>", e.question) }
func (e *problemEnv) Type() string          { return "rl.problem_env" }
func (e *problemEnv) Freeze()               {}
func (e *problemEnv) Truth() starlark.Bool  { return true }
func (e *problemEnv) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: rl.problem_env") }
func (e *problemEnv) AttrNames() []string   { return []string{"answer", "question"} }
func (e *problemEnv) Attr(name string) (starlark.Value, error) {
	switch name {
	case "question":
		return starlark.String(e.question), nil
	case "answer":
		return starlark.String(e.answer), nil
	}
	return nil, nil
}

func (e *problemEnv) reset() goEnv { return e } // stateless

func (e *problemEnv) messages() []renderers.Message {
	msgs := append([]renderers.Message(nil), e.prefix...)
	return append(msgs, renderers.Message{Role: "user", Content: e.question})
}

func (e *problemEnv) initialObservation(ctx context.Context, _ *engine) ([]int, rollout.StopCondition, error) {
	ob, err := prompt(e.r, e.messages())
	if err != nil {
		return nil, rollout.StopCondition{}, fmt.Errorf("rl.problem_env: rendering the question: %w", err)
	}
	stop, err := stopFromRenderer(e.r)
	return ob, stop, err
}

func (e *problemEnv) grade(ctx context.Context, eng *engine, content string) (format, correct bool, given string, err error) {
	format = true
	switch e.grader {
	case "boxed":
		given, err = grading.ExtractBoxed(content)
		format, err = err == nil, nil
	case "gsm8k":
		given, err = grading.ExtractGSM8KFinalAnswer(content)
		format, err = err == nil, nil
	case "first_token":
		if f := strings.Fields(content); len(f) > 0 {
			given = f[0]
		}
	case "exact":
		given = strings.TrimSpace(content)
	}
	if e.checkFormat != nil {
		v, err := eng.call(ctx, e.checkFormat, starlark.Tuple{starlark.String(content)})
		if err != nil {
			return false, false, given, err
		}
		format = bool(v.Truth())
	}
	if e.checkAnswer != nil {
		v, err := eng.call(ctx, e.checkAnswer, starlark.Tuple{starlark.String(content)})
		if err != nil {
			return format, false, given, err
		}
		if f, ok := starlark.AsFloat(v); ok {
			return format, f > 0, given, nil
		}
		return format, bool(v.Truth()), given, nil
	}
	if given == "" {
		return format, false, given, nil
	}
	if e.grader == "first_token" || e.grader == "exact" {
		return format, given == e.answer || grading.GradeAnswer(given, e.answer), given, nil
	}
	return format, grading.GradeAnswer(given, e.answer), given, nil
}

func (e *problemEnv) step(ctx context.Context, eng *engine, a rollout.Action) (rollout.StepResult, error) {
	msg, term, err := e.r.ParseResponse(a.Tokens)
	if err != nil {
		return rollout.StepResult{}, fmt.Errorf("rl.problem_env: parsing the response: %w", err)
	}
	content := textOf(msg)
	parsed := term != renderers.Malformed
	format, correct, given, err := e.grade(ctx, eng, content)
	if err != nil {
		return rollout.StepResult{}, err
	}
	f, c := b2f(parsed && format), b2f(correct)
	return rollout.StepResult{
		Reward:      e.formatCoef*(f-1) + c,
		EpisodeDone: true,
		Metrics:     map[string]float64{"format": f, "correct": c, "stop/" + stopMetric(a): 1},
		Logs:        map[string]any{"question": e.question, "response": content, "reference": e.answer, "extracted": given},
	}, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// messageEnv is the cookbook's EnvFromMessageEnv over a message-level step
// function: parse failures and context overflow end the episode with fixed
// rewards.
type messageEnv struct {
	r                       renderers.Renderer
	initial                 []renderers.Message
	stepFn                  starlark.Callable
	twoArgs                 bool
	failedParse, ctxOverrun float64
	maxTokens               int
	history                 []renderers.Message
	stop                    rollout.StopCondition
}

func newMessageEnv(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		rv, msgsV, stepV starlark.Value
		failed           = host.Number(-1.0)
		overflow         = host.Number(-0.1)
		maxTokens        = 0
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "renderer", &rv, "messages", &msgsV, "step", &stepV,
		"failed_parse_reward?", &failed, "context_overflow_reward?", &overflow, "max_trajectory_tokens?", &maxTokens); err != nil {
		return nil, err
	}
	r, ok := starrenderers.AsRenderer(rv)
	if !ok {
		return nil, fmt.Errorf("%s: renderer: got %s, want a renderer", fn.Name(), rv.Type())
	}
	msgs, err := starrenderers.MessagesFromStarlark(msgsV, fn.Name()+": messages")
	if err != nil {
		return nil, err
	}
	step, ok := stepV.(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: step: got %s, want a function (message, messages) -> dict", fn.Name(), stepV.Type())
	}
	stepV.Freeze()
	two := false
	if f, ok := step.(*starlark.Function); ok && (f.NumParams() >= 2 || f.HasVarargs()) {
		two = true
	}
	if maxTokens < 0 {
		return nil, fmt.Errorf("%s: max_trajectory_tokens = %d must be ≥ 0", fn.Name(), maxTokens)
	}
	return &messageEnv{r: r, initial: msgs, stepFn: step, twoArgs: two, failedParse: float64(failed), ctxOverrun: float64(overflow), maxTokens: maxTokens}, nil
}

func (e *messageEnv) String() string {
	return fmt.Sprintf("<rl.message_env %d messages>", len(e.initial))
}
func (e *messageEnv) Type() string          { return "rl.message_env" }
func (e *messageEnv) Freeze()               {}
func (e *messageEnv) Truth() starlark.Bool  { return true }
func (e *messageEnv) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: rl.message_env") }

func (e *messageEnv) reset() goEnv {
	c := *e
	c.history = append([]renderers.Message(nil), e.initial...)
	return &c
}

func (e *messageEnv) initialObservation(ctx context.Context, _ *engine) ([]int, rollout.StopCondition, error) {
	ob, err := prompt(e.r, e.history)
	if err != nil {
		return nil, rollout.StopCondition{}, fmt.Errorf("rl.message_env: rendering the messages: %w", err)
	}
	e.stop, err = stopFromRenderer(e.r)
	return ob, e.stop, err
}

func messagesValue(ms []renderers.Message) *starlark.List {
	out := make([]starlark.Value, len(ms))
	for i, m := range ms {
		out[i] = starrenderers.MessageToStarlark(m)
	}
	return starlark.NewList(out)
}

func (e *messageEnv) step(ctx context.Context, eng *engine, a rollout.Action) (rollout.StepResult, error) {
	if a.StopReason == rl.StopContextOverflow {
		return rollout.StepResult{Reward: e.ctxOverrun, EpisodeDone: true, Metrics: map[string]float64{"context_overflow": 1, "stop/" + rl.StopContextOverflow: 1}}, nil
	}
	msg, term, err := e.r.ParseResponse(a.Tokens)
	if err != nil {
		return rollout.StepResult{}, fmt.Errorf("rl.message_env: parsing the response: %w", err)
	}
	if term == renderers.Malformed {
		return rollout.StepResult{Reward: e.failedParse, EpisodeDone: true,
			Metrics: map[string]float64{"parse_error": 1, "stop/" + rl.StopParseError: 1},
			Logs:    map[string]any{"response": textOf(msg)}}, nil
	}
	e.history = append(e.history, msg)
	args := starlark.Tuple{starrenderers.MessageToStarlark(msg)}
	if e.twoArgs {
		args = append(args, messagesValue(e.history))
	}
	v, err := eng.call(ctx, e.stepFn, args)
	if err != nil {
		return rollout.StepResult{}, err
	}
	what := "rl.message_env step()"
	var out rollout.StepResult
	rv, ok := member(v, "reward")
	if !ok {
		return out, fmt.Errorf("%s returned %s without reward; want a dict {reward, episode_done, next_messages, metrics, logs}", what, v.Type())
	}
	if out.Reward, ok = starlark.AsFloat(rv); !ok {
		return out, fmt.Errorf("%s: reward is %s, want a number", what, rv.Type())
	}
	out.EpisodeDone = true
	if dv, ok := member(v, "episode_done"); ok && dv != starlark.None {
		out.EpisodeDone = bool(dv.Truth())
	}
	if mv, ok := member(v, "metrics"); ok && mv != starlark.None {
		if out.Metrics, err = floatDict(mv, what+": metrics"); err != nil {
			return out, err
		}
	}
	if lv, ok := member(v, "logs"); ok && lv != starlark.None {
		if out.Logs, err = logsOf(lv, what); err != nil {
			return out, err
		}
	}
	if out.EpisodeDone {
		if out.Metrics == nil {
			out.Metrics = map[string]float64{}
		}
		out.Metrics["stop/"+stopMetric(a)] = 1
		return out, nil
	}
	if nv, ok := member(v, "next_messages"); ok && nv != starlark.None {
		next, err := starrenderers.MessagesFromStarlark(nv, what+": next_messages")
		if err != nil {
			return out, err
		}
		e.history = append(e.history, next...)
	}
	ob, err := prompt(e.r, e.history)
	if err != nil {
		return out, fmt.Errorf("rl.message_env: rendering the conversation: %w", err)
	}
	if e.maxTokens > 0 && len(ob) > e.maxTokens {
		out.Reward += e.ctxOverrun
		out.EpisodeDone = true
		if out.Metrics == nil {
			out.Metrics = map[string]float64{}
		}
		out.Metrics["context_overflow"] = 1
		out.Metrics["stop/"+rl.StopContextOverflow] = 1
		return out, nil
	}
	out.NextObservation = ob
	stop := e.stop
	out.NextStop = &stop
	return out, nil
}
