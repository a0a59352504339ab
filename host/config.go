package host

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Field is one declared configuration field.
type Field struct {
	Default starlark.Value
	Doc     string
	Kind    string // "int", "float", "bool", "string", "list", "dict", "config", or "any"
	Choices []starlark.Value
}

// fieldValue is the Starlark value returned by field(...).
type fieldValue struct{ *Field }

var _ starlark.Value = (*fieldValue)(nil)

func (f *fieldValue) String() string {
	return fmt.Sprintf("field(%s, doc=%q)", f.Default.String(), f.Doc)
}
func (f *fieldValue) Type() string         { return "field" }
func (f *fieldValue) Freeze()              { f.Default.Freeze() }
func (f *fieldValue) Truth() starlark.Bool { return true }
func (f *fieldValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: field")
}

// Config is a recipe configuration: ordered named fields with defaults and
// docs. It is a starlark.Value with attribute and key access.
type Config struct {
	names  []string
	fields map[string]*configEntry
	pos    syntax.Position // where config(...) was called, for errors
	frozen bool
}

type configEntry struct {
	field  *Field
	value  starlark.Value // current (possibly overridden) value
	nested *Config
}

var (
	_ starlark.HasAttrs        = (*Config)(nil)
	_ starlark.IterableMapping = (*Config)(nil)
)

// NewConfig returns an empty config (for scripts that declare none).
func NewConfig() *Config { return &Config{fields: map[string]*configEntry{}} }

func (c *Config) String() string {
	var b strings.Builder
	b.WriteString("config(")
	for i, n := range c.names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteString("=")
		b.WriteString(c.Value(n).String())
	}
	b.WriteString(")")
	return b.String()
}
func (c *Config) Type() string         { return "config" }
func (c *Config) Truth() starlark.Bool { return len(c.names) > 0 }
func (c *Config) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: config")
}
func (c *Config) Freeze() {
	if c.frozen {
		return
	}
	c.frozen = true
	for _, e := range c.fields {
		e.value.Freeze()
	}
}

// Value returns the current value of a top-level field.
func (c *Config) Value(name string) starlark.Value {
	e := c.fields[name]
	if e == nil {
		return nil
	}
	if e.nested != nil {
		return e.nested
	}
	return e.value
}

// Names returns the field names in declaration order.
func (c *Config) Names() []string { return append([]string(nil), c.names...) }

func (c *Config) Attr(name string) (starlark.Value, error) {
	if v := c.Value(name); v != nil {
		return v, nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("config has no field %q%s", name, DidYouMean(name, c.names)))
}

func (c *Config) AttrNames() []string {
	names := c.Names()
	sort.Strings(names)
	return names
}

func (c *Config) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("config keys are strings, got %s", k.Type())
	}
	v := c.Value(string(s))
	return v, v != nil, nil
}

func (c *Config) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(c.names))
	for i, n := range c.names {
		out[i] = starlark.Tuple{starlark.String(n), c.Value(n)}
	}
	return out
}

func (c *Config) Iterate() starlark.Iterator {
	keys := make([]starlark.Value, len(c.names))
	for i, n := range c.names {
		keys[i] = starlark.String(n)
	}
	return starlark.NewList(keys).Iterate()
}

func (c *Config) Len() int { return len(c.names) }

// MarshalJSON-style export: ToGo returns the config as ordered Go data
// (OrderedMap) for config.json.
func (c *Config) ToGo() (*OrderedMap, error) {
	m := &OrderedMap{}
	for _, n := range c.names {
		e := c.fields[n]
		if e.nested != nil {
			sub, err := e.nested.ToGo()
			if err != nil {
				return nil, err
			}
			m.Set(n, sub)
			continue
		}
		v, err := FromStarlark(e.value)
		if err != nil {
			return nil, fmt.Errorf("config field %s: %w", n, err)
		}
		m.Set(n, v)
	}
	return m, nil
}

func configBuiltin(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("config: fields are keyword arguments, e.g. config(lr=field(1e-4, \"learning rate\"))")
	}
	c := NewConfig()
	if thread.CallStackDepth() > 1 {
		c.pos = thread.CallFrame(1).Pos
	}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		e := &configEntry{}
		switch v := kv[1].(type) {
		case *fieldValue:
			e.field = v.Field
			e.value = v.Default
			if v.Kind == "config" {
				e.nested = v.Default.(*Config)
			}
		case *Config:
			e.field = &Field{Default: v, Kind: "config"}
			e.nested = v
			e.value = v
		default:
			t, err := typeOfDefault(v)
			if err != nil {
				return nil, fmt.Errorf("config: field %s: %w", name, err)
			}
			e.field = &Field{Default: v, Kind: t}
			e.value = v
		}
		c.names = append(c.names, name)
		c.fields[name] = e
	}
	return c, nil
}

func fieldBuiltin(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var def starlark.Value
	var doc, typ string
	var choices *starlark.List
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "default", &def, "doc?", &doc, "type?", &typ, "choices?", &choices); err != nil {
		return nil, err
	}
	f := &Field{Default: def, Doc: doc}
	if typ != "" {
		switch typ {
		case "int", "float", "bool", "string", "list", "dict":
		default:
			return nil, fmt.Errorf("field: unknown type %q (want int, float, bool, string, list or dict)", typ)
		}
		f.Kind = typ
		if def != starlark.None {
			if err := checkType(def, typ); err != nil {
				return nil, fmt.Errorf("field: default %s: %w", def, err)
			}
		}
	} else {
		t, err := typeOfDefault(def)
		if err != nil {
			return nil, fmt.Errorf("field: %w", err)
		}
		f.Kind = t
	}
	if choices != nil {
		for i := 0; i < choices.Len(); i++ {
			f.Choices = append(f.Choices, choices.Index(i))
		}
		if def != starlark.None && !containsValue(f.Choices, def) {
			return nil, fmt.Errorf("field: default %s is not one of the choices %s", def, choices)
		}
	}
	return &fieldValue{f}, nil
}

func typeOfDefault(v starlark.Value) (string, error) {
	switch v.(type) {
	case starlark.Int:
		return "int", nil
	case starlark.Float:
		return "float", nil
	case starlark.Bool:
		return "bool", nil
	case starlark.String:
		return "string", nil
	case *starlark.List, starlark.Tuple:
		return "list", nil
	case *starlark.Dict:
		return "dict", nil
	case *Config:
		return "config", nil
	case starlark.NoneType:
		return "any", nil
	}
	return "", fmt.Errorf("a default of type %s cannot be set from the command line; use int, float, bool, string, list, dict, None or config", v.Type())
}

func checkType(v starlark.Value, typ string) error {
	got, err := typeOfDefault(v)
	if err != nil {
		return err
	}
	if got == typ || typ == "any" || (typ == "float" && got == "int") {
		return nil
	}
	return fmt.Errorf("want %s, got %s", typ, v.Type())
}

func containsValue(list []starlark.Value, v starlark.Value) bool {
	for _, c := range list {
		if eq, err := starlark.Equal(c, v); err == nil && eq {
			return true
		}
	}
	return false
}

// Clone returns an unfrozen deep copy of the config's structure (values are
// shared; they are replaced, never mutated, by overrides).
func (c *Config) Clone() *Config {
	out := &Config{names: append([]string(nil), c.names...), fields: map[string]*configEntry{}, pos: c.pos}
	for n, e := range c.fields {
		ne := *e
		if e.nested != nil {
			ne.nested = e.nested.Clone()
			ne.value = ne.nested
		}
		out.fields[n] = &ne
	}
	return out
}

// OverrideError is a bad key=value override; it names the config's
// declaration position.
type OverrideError struct {
	Pos syntax.Position
	Msg string
}

func (e *OverrideError) Error() string {
	if e.Pos.IsValid() {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return e.Msg
}

// Apply sets one override "a.b=value", parsing value by the field's type.
func (c *Config) Apply(override string) error {
	if c.frozen {
		return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("override %q: the config is frozen (apply overrides before main runs)", override)}
	}
	key, raw, ok := strings.Cut(override, "=")
	if !ok || key == "" {
		return &OverrideError{Msg: fmt.Sprintf("override %q: want key=value", override)}
	}
	return c.set(strings.Split(key, "."), key, raw)
}

func (c *Config) set(path []string, full, raw string) error {
	name := path[0]
	e := c.fields[name]
	if e == nil {
		var hint string
		if len(c.names) == 0 {
			hint = " (this recipe declares no config)"
		} else {
			hint = DidYouMean(full, c.allPaths(full, path))
			if hint == "" {
				hint = " (fields: " + strings.Join(c.names, ", ") + ")"
			}
		}
		return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("unknown config key %q%s", full, hint)}
	}
	if len(path) > 1 {
		if e.nested == nil {
			return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("config key %q: %s is a %s, not a nested config", full, name, e.field.Kind)}
		}
		return e.nested.set(path[1:], full, raw)
	}
	if e.nested != nil {
		return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("config key %q is a nested config; set its fields as %s.FIELD=value", full, full)}
	}
	v, err := parseOverride(e.field, raw)
	if err != nil {
		return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("config key %s=%s: %v", full, raw, err)}
	}
	if len(e.field.Choices) > 0 && !containsValue(e.field.Choices, v) {
		return &OverrideError{Pos: c.pos, Msg: fmt.Sprintf("config key %s=%s: not one of %s", full, raw, starlark.NewList(e.field.Choices))}
	}
	e.value = v
	return nil
}

// allPaths lists dotted keys at the level of the failing key, for hints.
func (c *Config) allPaths(full string, path []string) []string {
	prefix := strings.TrimSuffix(full, strings.Join(path, "."))
	out := make([]string, len(c.names))
	for i, n := range c.names {
		out[i] = prefix + n
	}
	// Compare the typed key against full dotted names.
	return out
}

func parseOverride(f *Field, raw string) (starlark.Value, error) {
	switch f.Kind {
	case "int":
		s := strings.ReplaceAll(raw, "_", "")
		n, ok := new(big.Int).SetString(s, 0)
		if !ok {
			// Accept 1e3-style integers when exact.
			if fl, err := strconv.ParseFloat(s, 64); err == nil && fl == float64(int64(fl)) && strings.ContainsAny(s, "eE") {
				return starlark.MakeInt64(int64(fl)), nil
			}
			return nil, fmt.Errorf("want int, got %q", raw)
		}
		return starlark.MakeBigInt(n), nil
	case "float":
		x, err := strconv.ParseFloat(strings.ReplaceAll(raw, "_", ""), 64)
		if err != nil {
			return nil, fmt.Errorf("want float, got %q", raw)
		}
		return starlark.Float(x), nil
	case "bool":
		switch strings.ToLower(raw) {
		case "true", "1", "yes", "on":
			return starlark.True, nil
		case "false", "0", "no", "off":
			return starlark.False, nil
		}
		return nil, fmt.Errorf("want bool (true/false), got %q", raw)
	case "string":
		return starlark.String(raw), nil
	case "list":
		return parseList(f, raw)
	case "dict":
		v, err := evalLiteral(raw)
		if err != nil {
			return nil, fmt.Errorf("want a dict literal like {\"a\": 1}: %v", err)
		}
		if _, ok := v.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("want dict, got %s", v.Type())
		}
		return v, nil
	default: // "any": a literal if it parses as one, else a string
		if v, err := evalLiteral(raw); err == nil {
			return v, nil
		}
		return starlark.String(raw), nil
	}
}

// parseList accepts a Starlark list literal ("[1, 2]") or comma-separated
// items ("1,2") typed like the default's first element.
func parseList(f *Field, raw string) (starlark.Value, error) {
	elemType := "any"
	if seq, ok := f.Default.(starlark.Indexable); ok && seq.Len() > 0 {
		elemType, _ = typeOfDefault(seq.Index(0))
	}
	var items []starlark.Value
	if strings.HasPrefix(strings.TrimSpace(raw), "[") {
		v, err := evalLiteral(raw)
		if err != nil {
			return nil, fmt.Errorf("want a list: %v", err)
		}
		l, ok := v.(*starlark.List)
		if !ok {
			return nil, fmt.Errorf("want list, got %s", v.Type())
		}
		for i := 0; i < l.Len(); i++ {
			x := l.Index(i)
			if elemType != "any" {
				if err := checkType(x, elemType); err != nil {
					return nil, fmt.Errorf("element %d: %v", i, err)
				}
			}
			items = append(items, x)
		}
		return starlark.NewList(items), nil
	}
	if strings.TrimSpace(raw) != "" {
		for i, part := range strings.Split(raw, ",") {
			x, err := parseOverride(&Field{Kind: elemType}, strings.TrimSpace(part))
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", i, err)
			}
			items = append(items, x)
		}
	}
	return starlark.NewList(items), nil
}

// evalLiteral evaluates a Starlark literal with no globals (so no names,
// no calls of builtins).
func evalLiteral(src string) (starlark.Value, error) {
	thread := &starlark.Thread{Name: "override"}
	thread.SetMaxExecutionSteps(10000)
	return starlark.EvalOptions(&syntax.FileOptions{}, thread, "<override>", src, nil)
}

// FieldInfo describes one field for --help.
type FieldInfo struct {
	Key, Type, Default, Doc string
}

// Fields lists every field, nested ones as dotted keys, in declaration order.
func (c *Config) Fields() []FieldInfo {
	var out []FieldInfo
	c.walk("", func(key string, e *configEntry) {
		out = append(out, FieldInfo{Key: key, Type: e.field.Kind, Default: e.value.String(), Doc: e.field.Doc})
	})
	return out
}

func (c *Config) walk(prefix string, fn func(string, *configEntry)) {
	for _, n := range c.names {
		e := c.fields[n]
		if e.nested != nil {
			e.nested.walk(prefix+n+".", fn)
			continue
		}
		fn(prefix+n, e)
	}
}
