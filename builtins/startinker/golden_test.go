package startinker

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/tkx-dev/tkx/host"
	"github.com/tkx-dev/tkx/host/startest"
	"github.com/tkx-dev/tkx/tinker/tinkertest"
)

// fakeModule lets golden scripts script the fake server:
// fake.script(path, status=200, body="", delay=0, drop=False, times=1) and
// fake.seq_ids(path) → the seq_ids of the requests to path, in order.
func fakeModule(srv *tinkertest.Server) starlark.Value {
	script := func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path, body string
		status, times := 200, 1
		delay := host.Number(0)
		drop := false
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path, "status?", &status, "body?", &body, "delay?", &delay, "drop?", &drop, "times?", &times); err != nil {
			return nil, err
		}
		for i := 0; i < times; i++ {
			srv.Script(path, tinkertest.Step{Status: status, Body: body, Delay: time.Duration(float64(delay) * float64(time.Second)), Drop: drop})
		}
		return starlark.None, nil
	}
	seqIDs := func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
			return nil, err
		}
		var out []starlark.Value
		for _, r := range srv.Requests(path) {
			out = append(out, starlark.MakeInt(r.SeqID))
		}
		return starlark.NewList(out), nil
	}
	return &starlarkstruct.Module{Name: "fake", Members: starlark.StringDict{
		"script":  starlark.NewBuiltin("fake.script", script),
		"seq_ids": starlark.NewBuiltin("fake.seq_ids", seqIDs),
	}}
}

// TestGolden runs testdata/tinker/*.star, each against a fresh fake server.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/tinker/*.star")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	sort.Strings(files)
	const key = "tml-golden-SECRET-key"
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".star"), func(t *testing.T) {
			srv := tinkertest.New()
			srv.APIKey = key
			defer srv.Close()
			t.Setenv("TINKER_BASE_URL", srv.URL)
			t.Setenv("TINKER_API_KEY", key)
			defer CloseAll()
			startest.RunFile(t, f, startest.Options{Modules: []*host.Module{Module}, Globals: starlark.StringDict{"fake": fakeModule(srv)}})
			for _, r := range srv.Requests("") {
				if r.Header.Get("X-API-Key") != key {
					t.Errorf("%s sent without the key", r.Path)
				}
			}
		})
	}
}

func TestModuleDocs(t *testing.T) {
	for _, f := range Module.Funcs {
		sig, _, _ := strings.Cut(f.Doc, "\n")
		if !strings.HasPrefix(sig, f.Name+"(") {
			t.Errorf("%s: doc must start with its signature, got %q", f.Name, sig)
		}
	}
	if !strings.Contains(Module.Help(), "tinker.service_client(") {
		t.Fatal(Module.Help())
	}
}
