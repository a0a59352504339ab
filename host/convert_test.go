package host_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/tkx-dev/tkx/host"
)

func eval(t *testing.T, src string) starlark.Value {
	t.Helper()
	v, err := starlark.EvalOptions(&syntax.FileOptions{Set: true}, &starlark.Thread{}, "x", src, starlark.StringDict{"set": starlark.Universe["set"]})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFromStarlarkKeepsDictOrder(t *testing.T) {
	v := eval(t, `{"z": 1, "a": [1, 2.5, "s", None, True], "m": {"y": 1, "b": 2}}`)
	g, err := host.FromStarlark(v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(g)
	if string(b) != `{"z":1,"a":[1,2.5,"s",null,true],"m":{"y":1,"b":2}}` {
		t.Fatalf("got %s", b)
	}
}

func TestPlainMaps(t *testing.T) {
	g, err := host.FromStarlark(eval(t, `{"z": [1, {"y": {"x": 2}}], "a": "s"}`))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := host.PlainMaps(g).(map[string]any)
	if !ok {
		t.Fatalf("PlainMaps gave %T, want map[string]any", host.PlainMaps(g))
	}
	inner, ok := m["z"].([]any)[1].(map[string]any)
	if !ok {
		t.Fatalf("nested dict is %T, want map[string]any", m["z"].([]any)[1])
	}
	if y, ok := inner["y"].(map[string]any); !ok || y["x"] != int64(2) || m["a"] != "s" || len(m) != 2 {
		t.Fatalf("got %#v", m)
	}
	if host.PlainMaps("s") != "s" || host.PlainMaps(nil) != nil {
		t.Fatal("scalars must pass through unchanged")
	}
}

func TestFromStarlarkRejects(t *testing.T) {
	for src, want := range map[string]string{
		`{"a": 1 << 70}`:  "overflows int64",
		`{1: 2}`:          "keys must be strings",
		`[{"x": [len]}]`:  "cannot convert builtin_function_or_method at [0].x[0]",
		`{"a": set([1])}`: "", // sets convert to lists
	} {
		_, err := host.FromStarlark(eval(t, src))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

func TestFromStarlarkDetectsCycles(t *testing.T) {
	l := starlark.NewList(nil)
	l.Append(l)
	if _, err := host.FromStarlark(l); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v, want a cycle error", err)
	}
	d := starlark.NewDict(1)
	d.SetKey(starlark.String("self"), d)
	if _, err := host.FromStarlark(d); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v, want a cycle error", err)
	}
	// The same list twice (no cycle) is fine.
	shared := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	if _, err := host.FromStarlark(starlark.NewList([]starlark.Value{shared, shared})); err != nil {
		t.Fatal(err)
	}
}

func TestToStarlark(t *testing.T) {
	type inner struct {
		Name  string  `json:"name"`
		Score float32 `json:"score,omitempty"`
		skip  int
	}
	om := &host.OrderedMap{}
	om.Set("z", 1)
	om.Set("a", []inner{{Name: "x", Score: 0.5}, {Name: "y"}})
	v, err := host.ToStarlark(map[string]any{
		"b":   []int{1, 2},
		"a":   uint64(math.MaxUint64),
		"om":  om,
		"nil": nil,
		"f":   []float32{0.25},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a": 18446744073709551615, "b": [1, 2], "f": [0.25], "nil": None, "om": {"z": 1, "a": [{"name": "x", "score": 0.5}, {"name": "y"}]}}`
	if v.String() != want {
		t.Fatalf("got  %s\nwant %s", v, want)
	}
	if _, err := host.ToStarlark(map[int]int{1: 2}); err == nil {
		t.Fatal("int-keyed map accepted")
	}
	if _, err := host.ToStarlark(make(chan int)); err == nil {
		t.Fatal("channel accepted")
	}
}

func TestTypedHelpers(t *testing.T) {
	if _, err := host.AsInts(eval(t, `[1, "x"]`), "tokens"); err == nil || !strings.Contains(err.Error(), "tokens[1]: want int, got string") {
		t.Fatalf("AsInts: %v", err)
	}
	fs, err := host.AsFloats(eval(t, `(1, 2.5)`), "w")
	if err != nil || len(fs) != 2 || fs[1] != 2.5 {
		t.Fatalf("AsFloats: %v %v", fs, err)
	}
	if _, err := host.AsStrings(eval(t, `"abc"`), "stop"); err == nil {
		t.Fatal("a string is not a list of strings")
	}
}
