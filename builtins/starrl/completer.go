package starrl

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/builtins/starrenderers"
	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/renderers"
	"github.com/tkx-dev/tkx/rl/rollout"
)

// message_completer: the cookbook's MessageCompleter over a token policy
// and a renderer (an LLM judge, the other player of a multi-agent env).

type messageCompleter struct {
	object
	pol rollout.TokenCompleter
	r   renderers.Renderer
}

func newMessageCompleter(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var polV, rV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "policy", &polV, "renderer", &rV); err != nil {
		return nil, err
	}
	p, ok := polV.(*policy)
	if !ok {
		return nil, fmt.Errorf("%s: policy: got %s, want an rl.token_completer", fn.Name(), polV.Type())
	}
	r, ok := starrenderers.AsRenderer(rV)
	if !ok {
		return nil, fmt.Errorf("%s: renderer: got %s, want a renderer", fn.Name(), rV.Type())
	}
	mc := &messageCompleter{pol: p.v, r: r}
	mc.object = object{
		typ:     "rl.message_completer",
		str:     func() string { return fmt.Sprintf("<rl.message_completer %s>", r.Name()) },
		methods: map[string]host.BuiltinFunc{"complete": messageComplete},
		self:    mc,
	}
	return mc, nil
}

func messageComplete(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	mc := fn.Receiver().(*messageCompleter)
	var msgsV starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "messages", &msgsV); err != nil {
		return nil, err
	}
	msgs, err := starrenderers.MessagesFromStarlark(msgsV, fn.Name()+": messages")
	if err != nil {
		return nil, err
	}
	ob, err := prompt(mc.r, msgs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	stop, err := stopFromRenderer(mc.r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	a, err := mc.pol.Complete(host.Context(thread), ob, stop)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	msg, _, err := mc.r.ParseResponse(a.Tokens)
	if err != nil {
		return nil, fmt.Errorf("%s: parsing the response: %w", fn.Name(), err)
	}
	return starrenderers.MessageToStarlark(msg), nil
}
