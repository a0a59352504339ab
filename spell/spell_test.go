package spell

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"steps", "stpes", 2}, {"kitten", "sitting", 3}, {"héllo", "hello", 1}} {
		if got := Distance(tc.a, tc.b); got != tc.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"steps", "name", "workers", "Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B"}
	for _, tc := range []struct {
		in, want string
	}{
		{"stpes", "steps"},
		{"NAME", "name"},
		{"qwen3-8b", "Qwen/Qwen3-8B"},
		{"Llama-3.1-8B", "meta-llama/Llama-3.1-8B"},
		{"zzzzzz", ""},
	} {
		got := strings.Join(Closest(tc.in, names, 1), ",")
		if got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
