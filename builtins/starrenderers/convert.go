package starrenderers

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/renderers"
)

// Messages are plain Starlark dicts, like the cookbook's TypedDicts:
//   {"role": "user", "content": "hi"}
//   {"role": "assistant", "content": [{"type": "thinking", "thinking": "..."},
//                                     {"type": "text", "text": "..."}],
//    "tool_calls": [{"id": "c1", "type": "function",
//                    "function": {"name": "f", "arguments": "{\"x\": 1}"}}]}
//   {"role": "tool", "content": "...", "tool_call_id": "c1", "name": "f"}
// Tool-call arguments may be a JSON string or a dict.

func toJSONValue(v starlark.Value, path string) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		return renderers.Number(x.String()), nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case *starlark.List:
		out := make([]any, x.Len())
		for i := 0; i < x.Len(); i++ {
			e, err := toJSONValue(x.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case starlark.Tuple:
		out := make([]any, len(x))
		for i, e := range x {
			v, err := toJSONValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *starlark.Dict:
		o := renderers.NewObject()
		for _, kv := range x.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: dict key %s is not a string", path, kv[0])
			}
			e, err := toJSONValue(kv[1], path+"."+string(k))
			if err != nil {
				return nil, err
			}
			o.Set(string(k), e)
		}
		return o, nil
	}
	return nil, fmt.Errorf("%s: %s is not JSON-like (want None, bool, int, float, string, list or dict)", path, v.Type())
}

func fromJSONValue(v any) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case string:
		return starlark.String(x)
	case float64:
		return starlark.Float(x)
	case renderers.Number:
		if n, ok := new(big.Int).SetString(string(x), 10); ok {
			return starlark.MakeBigInt(n)
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return starlark.Float(f)
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = fromJSONValue(e)
		}
		return starlark.NewList(l)
	case *renderers.Object:
		d := starlark.NewDict(x.Len())
		for _, k := range x.Keys {
			_ = d.SetKey(starlark.String(k), fromJSONValue(x.Values[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(v))
}

// messageFromStarlark converts one message dict.
func messageFromStarlark(v starlark.Value, path string) (renderers.Message, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return renderers.Message{}, fmt.Errorf("%s: want a message dict {\"role\": ..., \"content\": ...}, got %s", path, v.Type())
	}
	jv, err := toJSONValue(d, path)
	if err != nil {
		return renderers.Message{}, err
	}
	o := jv.(*renderers.Object)
	known := map[string]bool{"role": true, "content": true, "tool_calls": true, "unparsed_tool_calls": true, "trainable": true, "tool_call_id": true, "name": true}
	var unknown []string
	for _, k := range o.Keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return renderers.Message{}, fmt.Errorf("%s: unknown message field(s) %v (known: role, content, tool_calls, trainable, tool_call_id, name)", path, unknown)
	}
	m, err := renderers.MessageFromObject(o)
	if err != nil {
		return m, fmt.Errorf("%s: %v", path, err)
	}
	return m, nil
}

func messagesFromStarlark(v starlark.Value, fnName string) ([]renderers.Message, error) {
	return MessagesFromStarlark(v, fnName+": messages")
}

// MessagesFromStarlark converts a list of message dicts; errors name the
// element as what[i] (e.g. "supervised.datum: messages[2]: ...").
func MessagesFromStarlark(v starlark.Value, what string) ([]renderers.Message, error) {
	iter, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of message dicts, got %s", what, v.Type())
	}
	var out []renderers.Message
	it := iter.Iterate()
	defer it.Done()
	var x starlark.Value
	for i := 0; it.Next(&x); i++ {
		m, err := messageFromStarlark(x, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// MessageToStarlark converts a message to its dict form.
func MessageToStarlark(m renderers.Message) starlark.Value { return messageToStarlark(m) }

func messageToStarlark(m renderers.Message) starlark.Value {
	return fromJSONValue(m.ToObject())
}
