// Package synth generates tkx's own small conversation dataset: short,
// templated chats (capital cities, one-digit arithmetic, opposites,
// colours, spelling and counting instructions, greetings) that the local
// byte-level model can learn within a couple of minutes. Every
// conversation fits well inside the local model's 256-token context.
//
// The committed files testdata/sl/train.jsonl and testdata/sl/test.jsonl
// are Generate(DefaultSeed) written by WriteFiles; a test checks they match
// the generator. Regenerate with
//
//	go test ./datasets/synth -run TestCommittedFiles -update
package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tkx-dev/tkx/datasets"
)

// DefaultSeed, TrainSize and TestSize describe the committed split.
const (
	DefaultSeed = 20261122
	TrainSize   = 400
	TestSize    = 100
)

var capitals = [][2]string{
	{"France", "Paris"}, {"Germany", "Berlin"}, {"Italy", "Rome"}, {"Spain", "Madrid"},
	{"Portugal", "Lisbon"}, {"Japan", "Tokyo"}, {"China", "Beijing"}, {"India", "New Delhi"},
	{"Egypt", "Cairo"}, {"Kenya", "Nairobi"}, {"Peru", "Lima"}, {"Chile", "Santiago"},
	{"Canada", "Ottawa"}, {"Mexico", "Mexico City"}, {"Brazil", "Brasilia"}, {"Argentina", "Buenos Aires"},
	{"Norway", "Oslo"}, {"Sweden", "Stockholm"}, {"Finland", "Helsinki"}, {"Denmark", "Copenhagen"},
	{"Poland", "Warsaw"}, {"Austria", "Vienna"}, {"Greece", "Athens"}, {"Turkey", "Ankara"},
	{"Russia", "Moscow"}, {"Ireland", "Dublin"}, {"Belgium", "Brussels"}, {"Netherlands", "Amsterdam"},
	{"Hungary", "Budapest"}, {"Cuba", "Havana"}, {"Thailand", "Bangkok"}, {"Vietnam", "Hanoi"},
	{"Australia", "Canberra"}, {"Iran", "Tehran"}, {"Iraq", "Baghdad"}, {"Nigeria", "Abuja"},
	{"Ghana", "Accra"}, {"Morocco", "Rabat"}, {"Colombia", "Bogota"}, {"Switzerland", "Bern"},
}

var opposites = [][2]string{
	{"hot", "cold"}, {"big", "small"}, {"fast", "slow"}, {"up", "down"}, {"day", "night"},
	{"happy", "sad"}, {"open", "closed"}, {"light", "dark"}, {"old", "new"}, {"early", "late"},
	{"full", "empty"}, {"hard", "soft"}, {"high", "low"}, {"wet", "dry"}, {"rich", "poor"},
	{"left", "right"}, {"young", "old"}, {"strong", "weak"}, {"loud", "quiet"}, {"thick", "thin"},
}

var colours = [][2]string{
	{"the sky", "blue"}, {"grass", "green"}, {"snow", "white"}, {"coal", "black"}, {"a banana", "yellow"},
	{"a tomato", "red"}, {"an orange", "orange"}, {"a lemon", "yellow"}, {"milk", "white"}, {"a frog", "green"},
	{"the sea", "blue"}, {"a strawberry", "red"}, {"chocolate", "brown"}, {"an eggplant", "purple"},
}

var words = []string{
	"cat", "dog", "sun", "tree", "book", "fish", "star", "moon", "rain", "bird",
	"milk", "door", "lamp", "ship", "rock", "leaf", "frog", "cake", "king", "road",
	"apple", "house", "water", "green", "music", "river", "chair", "bread", "cloud", "smile",
}

var greetings = [][2]string{
	{"Hi!", "Hello! How can I help you today?"},
	{"Hello.", "Hello! How can I help you today?"},
	{"Good morning!", "Good morning! How can I help you today?"},
	{"Thank you!", "You're welcome!"},
	{"Thanks a lot.", "You're welcome!"},
	{"Bye!", "Goodbye! Have a nice day."},
	{"Who are you?", "I am a small assistant trained with tkx."},
	{"What can you do?", "I can answer simple questions."},
}

func msg(role, content string) map[string]any {
	return map[string]any{"role": role, "content": content}
}

func chat(turns ...string) datasets.Row {
	list := make([]any, len(turns))
	for i, t := range turns {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		list[i] = msg(role, t)
	}
	return datasets.Row{"messages": list}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func one(g *datasets.PCG64) datasets.Row {
	pick := func(n int) int { return int(g.Interval(uint64(n - 1))) }
	switch pick(9) {
	case 0, 1:
		c := capitals[pick(len(capitals))]
		q := []string{"What is the capital of %s?", "What's the capital city of %s?", "Name the capital of %s."}[pick(3)]
		return chat(fmt.Sprintf(q, c[0]), fmt.Sprintf("The capital of %s is %s.", c[0], c[1]))
	case 2, 3:
		a, b := pick(10), pick(10)
		if pick(3) == 0 && a >= b {
			return chat(fmt.Sprintf("What is %d - %d?", a, b), fmt.Sprintf("%d - %d = %d.", a, b, a-b))
		}
		return chat(fmt.Sprintf("What is %d + %d?", a, b), fmt.Sprintf("%d + %d = %d.", a, b, a+b))
	case 4:
		o := opposites[pick(len(opposites))]
		return chat(fmt.Sprintf("What is the opposite of %s?", o[0]), fmt.Sprintf("The opposite of %s is %s.", o[0], o[1]))
	case 5:
		c := colours[pick(len(colours))]
		return chat(fmt.Sprintf("What color is %s?", c[0]), fmt.Sprintf("%s is %s.", strings.ToUpper(c[0][:1])+c[0][1:], c[1]))
	case 6:
		w := words[pick(len(words))]
		switch pick(3) {
		case 0:
			return chat(fmt.Sprintf("Spell %s backwards.", w), reverse(w))
		case 1:
			return chat(fmt.Sprintf("Write %s in capital letters.", w), strings.ToUpper(w))
		default:
			return chat(fmt.Sprintf("Repeat after me: %s", w), w)
		}
	case 7:
		a := 1 + pick(6)
		b := a + 2 + pick(4)
		nums := make([]string, 0, b-a+1)
		for i := a; i <= b; i++ {
			nums = append(nums, fmt.Sprint(i))
		}
		return chat(fmt.Sprintf("Count from %d to %d.", a, b), strings.Join(nums, ", ")+".")
	default:
		gr := greetings[pick(len(greetings))]
		if pick(4) == 0 { // a two-exchange chat
			c := capitals[pick(len(capitals))]
			return chat(gr[0], gr[1], fmt.Sprintf("What is the capital of %s?", c[0]), fmt.Sprintf("The capital of %s is %s.", c[0], c[1]))
		}
		return chat(gr[0], gr[1])
	}
}

func key(r datasets.Row) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Generate returns trainSize training and testSize held-out conversations
// drawn with NewPCG64(seed). No test conversation appears in the training
// set; duplicates inside the training set are allowed (like real data).
func Generate(seed uint64, trainSize, testSize int) (train, test []datasets.Row) {
	g := datasets.NewPCG64(seed)
	seen := map[string]bool{}
	for len(test) < testSize {
		r := one(g)
		if k := key(r); !seen[k] {
			seen[k] = true
			test = append(test, r)
		}
	}
	for len(train) < trainSize {
		r := one(g)
		if !seen[key(r)] {
			train = append(train, r)
		}
	}
	return train, test
}

// WriteFiles writes Generate(DefaultSeed, TrainSize, TestSize) as
// dir/train.jsonl and dir/test.jsonl.
func WriteFiles(dir string) error {
	train, test := Generate(DefaultSeed, TrainSize, TestSize)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, rows := range map[string][]datasets.Row{"train.jsonl": train, "test.jsonl": test} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := writeConversations(f, rows); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeConversations writes rows with "role" before "content", the way
// chat datasets are usually written.
func writeConversations(f *os.File, rows []datasets.Row) error {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		msgs, err := datasets.Messages(r)
		if err != nil {
			return err
		}
		out := struct {
			Messages []message `json:"messages"`
		}{}
		for _, m := range msgs {
			out.Messages = append(out.Messages, message{m.Role, m.Content.(string)})
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
	_, err := f.WriteString(buf.String())
	return err
}
