package datasets

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Row is one record: column name → JSON-like value (string, bool, int64,
// float64, nil, []any, map[string]any).
type Row = map[string]any

// Message is one chat message of a conversation row.
type Message struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // a string, or a list of content parts
}

// Messages returns the "messages" column of a conversation row, checked:
// a non-empty list of objects, each with a string "role" and a "content"
// that is a string or a list.
func Messages(r Row) ([]Message, error) {
	raw, ok := r["messages"]
	if !ok {
		return nil, fmt.Errorf("row has no \"messages\" field (fields: %s)", fieldList(r))
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("\"messages\" is %s, want a list of {\"role\", \"content\"} objects", typeName(raw))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("\"messages\" is empty")
	}
	out := make([]Message, len(list))
	for i, m := range list {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("messages[%d] is %s, want an object", i, typeName(m))
		}
		role, ok := obj["role"].(string)
		if !ok {
			return nil, fmt.Errorf("messages[%d].role is %s, want a string", i, typeName(obj["role"]))
		}
		content, ok := obj["content"]
		if !ok {
			return nil, fmt.Errorf("messages[%d] has no \"content\"", i)
		}
		switch content.(type) {
		case string, []any:
		default:
			return nil, fmt.Errorf("messages[%d].content is %s, want a string or a list of parts", i, typeName(content))
		}
		out[i] = Message{Role: role, Content: content}
	}
	return out, nil
}

func fieldList(r Row) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// normalize converts decoded JSON (with UseNumber) into row values:
// integers that fit become int64, other numbers float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil { // out of float64 range: keep the text
			return x.String()
		}
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	}
	return v
}
