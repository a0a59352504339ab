package renderers

import (
	"fmt"
	"sort"
	"strings"
)

// TypeScript-style tool declarations of Kimi K2.5/K2.6
// (kimi_k2_5_tool_declaration_ts.py).

const tsIndent = "  "

type tsError struct{ error }

func tsFail(format string, a ...any) { panic(tsError{fmt.Errorf(format, a...)}) }

type tsRegistry struct {
	defs    *Object
	selfRef bool
}

func (r *tsRegistry) resolve(ref string) *Object {
	if ref == "#" {
		r.selfRef = true
		return nil
	}
	if strings.HasPrefix(ref, "#/$defs/") {
		name := ref[strings.LastIndex(ref, "/")+1:]
		v, ok := r.defs.Get(name)
		if !ok {
			tsFail("Reference not found: %s", ref)
		}
		o, _ := v.(*Object)
		return o
	}
	tsFail("Unsupported reference format: %s", ref)
	return nil
}

type tsType struct {
	kind        string // scalar, object, array, enum, anyof, union, ref
	scalar      string
	description string
	constraints [][2]string
	props       []tsParam
	addl        any // nil, bool, *tsType
	item        *tsType
	enum        []any
	types       []*tsType
	unionNames  []string
	refName     string
}

type tsParam struct {
	name     string
	typ      *tsType
	optional bool
	dflt     any
	hasDflt  bool
}

func tsBase(o *Object, allowed ...string) *tsType {
	t := &tsType{}
	t.description = o.GetString("description")
	if o != nil {
		for _, k := range o.Keys {
			for _, a := range allowed {
				if a == k {
					t.constraints = append(t.constraints, [2]string{k, PyStr(o.Values[k])})
				}
			}
		}
	}
	sort.Slice(t.constraints, func(i, j int) bool { return t.constraints[i][0] < t.constraints[j][0] })
	return t
}

func tsFormatDescription(d, indent string) string {
	lines := strings.Split(d, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = indent + "// " + l
		}
	}
	return strings.Join(lines, "\n")
}

func (t *tsType) docstring(indent string) string {
	var lines []string
	if t.description != "" {
		lines = append(lines, tsFormatDescription(t.description, indent))
	}
	if len(t.constraints) > 0 {
		parts := make([]string, len(t.constraints))
		for i, c := range t.constraints {
			parts[i] = c[0] + ": " + c[1]
		}
		lines = append(lines, indent+"// "+strings.Join(parts, ", "))
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func tsScalar(typ string, o *Object) *tsType {
	var allowed []string
	switch typ {
	case "string":
		allowed = []string{"maxLength", "minLength", "pattern"}
	case "number", "integer":
		allowed = []string{"maximum", "minimum"}
	}
	t := tsBase(o, allowed...)
	t.kind, t.scalar = "scalar", typ
	return t
}

func tsObject(o *Object, reg *tsRegistry) *tsType {
	t := tsBase(o)
	t.kind = "object"
	if o.Len() == 0 {
		return t
	}
	if dv, ok := o.Get("$defs"); ok && reg != nil {
		if d, ok := dv.(*Object); ok {
			for _, k := range d.Keys {
				reg.defs.Set(k, d.Values[k])
			}
		}
	}
	if av, ok := o.Get("additionalProperties"); ok && av != nil {
		if ao, ok := av.(*Object); ok {
			t.addl = tsParse(ao, reg)
		} else {
			t.addl = av
		}
	}
	pv, ok := o.Get("properties")
	if !ok {
		return t
	}
	props, _ := pv.(*Object)
	required := map[string]bool{}
	if rv, ok := o.Get("required"); ok {
		if arr, ok := rv.([]any); ok {
			for _, x := range arr {
				if s, ok := x.(string); ok {
					required[s] = true
				}
			}
		}
	}
	for _, name := range props.Keys {
		p := tsParam{name: name, typ: tsParseAny(props.Values[name], reg), optional: !required[name]}
		if po, ok := props.Values[name].(*Object); ok {
			if d, ok := po.Get("default"); ok && d != nil {
				p.dflt, p.hasDflt = d, true
			}
		}
		t.props = append(t.props, p)
	}
	return t
}

func tsParseAny(v any, reg *tsRegistry) *tsType {
	switch x := v.(type) {
	case bool:
		if x {
			return tsScalar("any", nil)
		}
		return tsScalar("null", nil)
	case *Object:
		return tsParse(x, reg)
	}
	tsFail("Invalid JSON Schema object: %s", PyDumps(v))
	return nil
}

func tsParse(o *Object, reg *tsRegistry) *tsType {
	if rv, ok := o.Get("$ref"); ok && reg != nil {
		t := tsBase(o)
		t.kind = "ref"
		ref, _ := rv.(string)
		if reg.resolve(ref) == nil && ref == "#" {
			t.refName = "parameters"
		} else {
			t.refName = ref[strings.LastIndex(ref, "/")+1:]
		}
		return t
	}
	if av, ok := o.Get("anyOf"); ok {
		t := tsBase(o)
		t.kind = "anyof"
		arr, _ := av.([]any)
		for _, x := range arr {
			t.types = append(t.types, tsParseAny(x, reg))
		}
		return t
	}
	if ev, ok := o.Get("enum"); ok {
		t := tsBase(o)
		t.kind = "enum"
		t.enum, _ = ev.([]any)
		return t
	}
	if tv, ok := o.Get("type"); ok {
		switch typ := tv.(type) {
		case []any:
			t := tsBase(o)
			t.kind = "union"
			mapping := map[string]string{"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "null": "null", "object": "{}", "array": "Array<any>"}
			for _, x := range typ {
				s, _ := x.(string)
				n, ok := mapping[s]
				if !ok {
					tsFail("unsupported type %q in union", s)
				}
				t.unionNames = append(t.unionNames, n)
			}
			return t
		case string:
			switch typ {
			case "object":
				return tsObject(o, reg)
			case "array":
				t := tsBase(o, "minItems", "maxItems")
				t.kind = "array"
				if iv, ok := o.Get("items"); ok && iv != nil && !(isEmptyObject(iv)) {
					t.item = tsParseAny(iv, reg)
				} else {
					t.item = tsScalar("any", nil)
				}
				return t
			}
			return tsScalar(typ, o)
		}
	}
	if o.Len() == 0 {
		return tsScalar("any", nil)
	}
	tsFail("Invalid JSON Schema object: %s", PyDumps(o))
	return nil
}

func isEmptyObject(v any) bool {
	o, ok := v.(*Object)
	return ok && o.Len() == 0
}

func (t *tsType) ts(indent string) string {
	switch t.kind {
	case "scalar":
		if t.scalar == "integer" {
			return "number"
		}
		return t.scalar
	case "object":
		var req, opt []tsParam
		for _, p := range t.props {
			if p.optional {
				opt = append(opt, p)
			} else {
				req = append(req, p)
			}
		}
		sort.SliceStable(req, func(i, j int) bool { return req[i].name < req[j].name })
		sort.SliceStable(opt, func(i, j int) bool { return opt[i].name < opt[j].name })
		var strs []string
		for _, p := range append(req, opt...) {
			strs = append(strs, p.ts(indent+tsIndent))
		}
		if t.addl != nil {
			ap := "any"
			switch a := t.addl.(type) {
			case bool:
				if !a {
					ap = "never"
				}
			case *tsType:
				ap = a.ts(indent + tsIndent)
			default:
				tsFail("Unknown additionalProperties: %v", a)
			}
			strs = append(strs, indent+tsIndent+"[k: string]: "+ap)
		}
		if len(strs) == 0 {
			return "{}"
		}
		return "{\n" + strings.Join(strs, ",\n") + "\n" + indent + "}"
	case "array":
		if d := t.item.docstring(indent + tsIndent); d != "" {
			return "Array<\n" + d + indent + tsIndent + t.item.ts(indent+tsIndent) + "\n" + indent + ">"
		}
		return "Array<" + t.item.ts(indent) + ">"
	case "enum":
		parts := make([]string, len(t.enum))
		for i, e := range t.enum {
			if s, ok := e.(string); ok {
				parts[i] = `"` + s + `"`
			} else {
				parts[i] = PyStr(e)
			}
		}
		return strings.Join(parts, " | ")
	case "anyof":
		parts := make([]string, len(t.types))
		for i, x := range t.types {
			parts[i] = x.ts(indent)
		}
		return strings.Join(parts, " | ")
	case "union":
		return strings.Join(t.unionNames, " | ")
	case "ref":
		return t.refName
	}
	return "any"
}

func (p tsParam) ts(indent string) string {
	comments := p.typ.docstring(indent)
	if p.hasDflt {
		var repr string
		switch d := p.dflt.(type) {
		case bool, Number:
			repr = PyStr(d)
		default:
			repr = DumpJSON(d, DumpOptions{ItemSep: ", ", KeySep: ": "})
		}
		comments += indent + "// Default: " + repr + "\n"
	}
	q := ""
	if p.optional {
		q = "?"
	}
	return comments + indent + p.name + q + ": " + p.typ.ts(indent)
}

func tsFunction(fn *Object) string {
	reg := &tsRegistry{defs: NewObject()}
	params, _ := fn.Values["parameters"].(*Object)
	if params == nil {
		params = NewObject()
	}
	parsed := tsObject(params, reg)
	var interfaces []string
	root := ""
	if reg.selfRef {
		root = "parameters"
		var strs []string
		for _, p := range parsed.props {
			strs = append(strs, p.ts(tsIndent))
		}
		ps := ""
		if len(strs) > 0 {
			ps = "\n" + strings.Join(strs, ",\n") + "\n"
		}
		interfaces = append(interfaces, "interface "+root+" {"+ps+"}")
	}
	defs := reg.defs
	for _, name := range append([]string(nil), defs.Keys...) {
		ds, _ := defs.Values[name].(*Object)
		if ds == nil {
			ds = NewObject()
		}
		ot := tsParse(ds, reg)
		desc := ""
		if d := ds.GetString("description"); d != "" {
			desc = tsFormatDescription(d, "") + "\n"
		}
		interfaces = append(interfaces, desc+"interface "+name+" "+ot.ts(""))
	}
	name := fn.GetString("name")
	if _, ok := fn.Get("name"); !ok {
		name = "function"
	}
	var typeDef string
	if root != "" {
		typeDef = "type " + name + " = (_: " + root + ") => any;"
	} else {
		typeDef = "type " + name + " = (_: " + parsed.ts("") + ") => any;"
	}
	var out []string
	for _, s := range []string{strings.Join(interfaces, "\n"), tsFormatDescriptionOrEmpty(fn.GetString("description")), typeDef} {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func tsFormatDescriptionOrEmpty(d string) string {
	if d == "" {
		return ""
	}
	return tsFormatDescription(d, "")
}

// encodeToolsTypeScript is encode_tools_to_typescript_style.
func encodeToolsTypeScript(tools []any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(tsError)
			if !ok {
				panic(r)
			}
			out, err = "", e.error
		}
	}()
	var fns []string
	for _, tv := range tools {
		t, _ := tv.(*Object)
		if t.GetString("type") != "function" {
			continue
		}
		if f, ok := t.Values["function"].(*Object); ok && f.Len() > 0 {
			fns = append(fns, tsFunction(f))
		}
	}
	if len(fns) == 0 {
		return "", nil
	}
	return "# Tools\n\n## functions\nnamespace functions {\n" + strings.Join(fns, "\n") + "\n}\n", nil
}
