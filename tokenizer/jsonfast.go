package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A minimal JSON scanner for the big parts of tokenizer.json (model.vocab
// and model.merges hold hundreds of thousands of entries; encoding/json
// takes seconds on them). Everything else still goes through encoding/json.
type jscan struct {
	b []byte
	i int
}

type jsonSyntaxError struct {
	off  int
	line int
	msg  string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d (line %d): %s", e.off, e.line, e.msg)
}

func (s *jscan) errf(format string, args ...any) error {
	off := min(s.i, len(s.b))
	return &jsonSyntaxError{off: off, line: 1 + bytes.Count(s.b[:off], []byte("\n")), msg: fmt.Sprintf(format, args...)}
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jscan) expect(c byte) error {
	if s.peek() != c {
		if s.i >= len(s.b) {
			return s.errf("unexpected end of input, want %q", c)
		}
		return s.errf("found %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// str reads a string value.
func (s *jscan) str() (string, error) {
	if s.peek() != '"' {
		return "", s.errf("want a string")
	}
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c == '"':
			s.i++
			if !escaped {
				return string(s.b[start+1 : s.i-1]), nil
			}
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				s.i = start
				return "", s.errf("bad string: %v", err)
			}
			return out, nil
		case c < 0x20:
			return "", s.errf("control character in string")
		}
		s.i++
	}
	return "", s.errf("unterminated string")
}

// strBytes reads a string value without allocating when it has no
// escapes (the result then aliases the input).
func (s *jscan) strBytes() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errf("want a string")
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], nil
		case c == '\\':
			str, err := s.str()
			return []byte(str), err
		case c < 0x20:
			s.i = j
			return nil, s.errf("control character in string")
		}
	}
	s.i = len(s.b)
	return nil, s.errf("unterminated string")
}

func (s *jscan) integer() (int, error) {
	s.ws()
	start := s.i
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	n := 0
	digits := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		if n > 1<<40 {
			return 0, s.errf("number too large")
		}
		s.i++
		digits++
	}
	if digits == 0 || (s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E')) {
		s.i = start
		return 0, s.errf("want an integer")
	}
	if neg {
		n = -n
	}
	return n, nil
}

// skip moves past one value (not validated: the caller hands the span to
// encoding/json).
func (s *jscan) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, err := s.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return s.errf("unterminated %q", c)
	case 0:
		return s.errf("unexpected end of input")
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

// object calls fn for every key; fn must consume the value.
func (s *jscan) object(fn func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errf("want ',' or '}' after the value of %q", k)
		}
	}
}

// array calls fn for every element; fn must consume it.
func (s *jscan) array(fn func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errf("want ',' or ']' in array")
		}
	}
}

type vocabEntry struct {
	tok string
	id  int
}

// splitTopLevel returns the raw members of a JSON object except the
// ones handled by fns (which consume their values).
func splitObject(s *jscan, fns map[string]func() error) (json.RawMessage, error) {
	var rest bytes.Buffer
	rest.WriteByte('{')
	err := s.object(func(key string) error {
		if fn, ok := fns[key]; ok {
			return fn()
		}
		s.ws()
		start := s.i
		if err := s.skip(); err != nil {
			return err
		}
		if rest.Len() > 1 {
			rest.WriteByte(',')
		}
		kb, _ := json.Marshal(key)
		rest.Write(kb)
		rest.WriteByte(':')
		rest.Write(s.b[start:s.i])
		return nil
	})
	rest.WriteByte('}')
	return rest.Bytes(), err
}

// parseModelFast reads "vocab" of the model object with the fast scanner,
// notes where "merges" is (parsed later, once the vocabulary is known, by
// forEachMerge) and returns the rest of the object.
func parseModelFast(s *jscan) (rest json.RawMessage, vocab []vocabEntry, mergesAt int, err error) {
	mergesAt = -1
	rest, err = splitObject(s, map[string]func() error{
		"vocab": func() error {
			if s.peek() != '{' {
				return fmt.Errorf("model.vocab: want an object")
			}
			vocab = make([]vocabEntry, 0, 1<<17)
			return s.object(func(k string) error {
				id, err := s.integer()
				if err != nil {
					return fmt.Errorf("model.vocab[%q]: %w", k, err)
				}
				vocab = append(vocab, vocabEntry{k, id})
				return nil
			})
		},
		"merges": func() error {
			if s.peek() == 'n' {
				return s.skip()
			}
			mergesAt = s.i
			return s.skip()
		},
	})
	return
}

// forEachMerge calls fn for every merge of the list at data[at:], in
// either form ("a b" or ["a", "b"]). a and b may alias data.
func forEachMerge(data []byte, at int, fn func(i int, a, b []byte) error) error {
	s := &jscan{b: data, i: at}
	if s.peek() != '[' {
		return fmt.Errorf("model.merges: want a list")
	}
	return s.array(func(i int) error {
		switch s.peek() {
		case '"':
			l, err := s.strBytes()
			if err != nil {
				return fmt.Errorf("model.merges[%d]: %w", i, err)
			}
			sp := bytes.IndexByte(l, ' ')
			if sp < 0 || bytes.IndexByte(l[sp+1:], ' ') >= 0 {
				return fmt.Errorf("model.merges[%d]: %q is not two tokens separated by one space", i, l)
			}
			return fn(i, l[:sp], l[sp+1:])
		case '[':
			var pair [2][]byte
			n := 0
			err := s.array(func(j int) error {
				t, err := s.strBytes()
				if err != nil {
					return fmt.Errorf("model.merges[%d][%d]: %w", i, j, err)
				}
				if j < 2 {
					pair[j] = t
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n != 2 {
				return fmt.Errorf("model.merges[%d]: want 2 tokens, got %d", i, n)
			}
			return fn(i, pair[0], pair[1])
		}
		return fmt.Errorf("model.merges[%d]: want \"a b\" or [\"a\", \"b\"]", i)
	})
}
