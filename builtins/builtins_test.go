package builtins

import (
	"strings"
	"testing"
)

// Every module is documented the way `tkx doc` shows it: a module
// paragraph, for each function an implementation and a doc whose first
// line is its Starlark signature, for each constant a value and a doc;
// member names are unique.
func TestModuleDocs(t *testing.T) {
	modules := map[string]bool{}
	for _, m := range All() {
		if modules[m.Name] {
			t.Errorf("module %s listed twice", m.Name)
		}
		modules[m.Name] = true
		if strings.TrimSpace(m.Doc) == "" {
			t.Errorf("module %s: no doc", m.Name)
		}
		funcs := map[string]bool{}
		for _, f := range m.Funcs {
			if funcs[f.Name] {
				t.Errorf("%s.%s defined twice", m.Name, f.Name)
			}
			funcs[f.Name] = true
			if f.Impl == nil {
				t.Errorf("%s.%s: no implementation", m.Name, f.Name)
			}
			if sig, _, _ := strings.Cut(f.Doc, "\n"); !strings.HasPrefix(sig, f.Name+"(") {
				t.Errorf("%s.%s: doc must start with its signature, got %q", m.Name, f.Name, sig)
			}
		}
		for _, c := range m.Consts {
			if funcs[c.Name] {
				t.Errorf("%s.%s defined twice", m.Name, c.Name)
			}
			funcs[c.Name] = true
			if c.Value == nil || strings.TrimSpace(c.Doc) == "" {
				t.Errorf("%s.%s: a constant needs a value and a doc", m.Name, c.Name)
			}
		}
		if len(m.Funcs) == 0 {
			t.Errorf("module %s: no functions", m.Name)
		}
	}
}
