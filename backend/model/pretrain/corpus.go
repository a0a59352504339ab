package pretrain

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
)

// The pretraining corpus is generated here, deterministically from a seed:
// chats in the role_colon format ("User: ...\n\nAssistant: ...\n\n"), each
// conversation ending with the stop overlap "User:" the way the renderer
// ends a training example, and separated by <|endoftext|>.
//
// Mix (by conversation): 55% arithmetic in the cookbook arithmetic
// environment's form ("What is X + Y?" with X, Y in [0, 100], answered with
// the bare number, sometimes after its few-shot example "What is 4 + 5?" →
// "9"), plus some subtraction and small multiplication; 30% simple Q&A
// (capitals, opposites, plurals, counting, spelling, parity, successors,
// colours, animal sounds); 15% small talk.

type turn struct{ q, a string }

func renderChat(turns []turn) string {
	var b strings.Builder
	for _, t := range turns {
		b.WriteString("User: ")
		b.WriteString(t.q)
		b.WriteString("\n\nAssistant: ")
		b.WriteString(t.a)
		b.WriteString("\n\n")
	}
	b.WriteString("User:")
	return b.String()
}

// addition is the cookbook arithmetic environment's question.
func addition(rng *rand.Rand) turn {
	x, y := rng.IntN(101), rng.IntN(101)
	return turn{fmt.Sprintf("What is %d + %d?", x, y), fmt.Sprint(x + y)}
}

func arithmetic(rng *rand.Rand) turn {
	switch r := rng.IntN(100); {
	case r < 80:
		return addition(rng)
	case r < 90:
		x, y := rng.IntN(101), rng.IntN(101)
		if x < y {
			x, y = y, x
		}
		return turn{fmt.Sprintf("What is %d - %d?", x, y), fmt.Sprint(x - y)}
	default:
		x, y := rng.IntN(13), rng.IntN(13)
		return turn{fmt.Sprintf("What is %d * %d?", x, y), fmt.Sprint(x * y)}
	}
}

var capitals = [][2]string{
	{"France", "Paris"}, {"Germany", "Berlin"}, {"Italy", "Rome"}, {"Spain", "Madrid"}, {"Japan", "Tokyo"},
	{"China", "Beijing"}, {"India", "New Delhi"}, {"Canada", "Ottawa"}, {"Australia", "Canberra"}, {"Brazil", "Brasilia"},
	{"Egypt", "Cairo"}, {"Kenya", "Nairobi"}, {"Mexico", "Mexico City"}, {"Russia", "Moscow"}, {"Norway", "Oslo"},
	{"Sweden", "Stockholm"}, {"Finland", "Helsinki"}, {"Poland", "Warsaw"}, {"Greece", "Athens"}, {"Portugal", "Lisbon"},
	{"Ireland", "Dublin"}, {"Austria", "Vienna"}, {"Peru", "Lima"}, {"Chile", "Santiago"}, {"Argentina", "Buenos Aires"},
	{"Turkey", "Ankara"}, {"Iran", "Tehran"}, {"Thailand", "Bangkok"}, {"Vietnam", "Hanoi"}, {"Cuba", "Havana"},
	{"Denmark", "Copenhagen"}, {"Hungary", "Budapest"}, {"Belgium", "Brussels"}, {"Netherlands", "Amsterdam"},
	{"Switzerland", "Bern"}, {"South Korea", "Seoul"}, {"Indonesia", "Jakarta"}, {"Nigeria", "Abuja"}, {"Morocco", "Rabat"},
	{"the United Kingdom", "London"}, {"the United States", "Washington, D.C."},
}

var opposites = [][2]string{
	{"hot", "cold"}, {"big", "small"}, {"up", "down"}, {"day", "night"}, {"fast", "slow"}, {"happy", "sad"},
	{"old", "new"}, {"open", "closed"}, {"light", "dark"}, {"left", "right"}, {"wet", "dry"}, {"early", "late"},
	{"full", "empty"}, {"hard", "soft"}, {"high", "low"}, {"strong", "weak"}, {"rich", "poor"}, {"loud", "quiet"},
	{"in", "out"}, {"yes", "no"}, {"win", "lose"}, {"true", "false"}, {"long", "short"}, {"clean", "dirty"},
}

var plurals = [][2]string{
	{"cat", "cats"}, {"dog", "dogs"}, {"box", "boxes"}, {"child", "children"}, {"mouse", "mice"}, {"foot", "feet"},
	{"tooth", "teeth"}, {"city", "cities"}, {"leaf", "leaves"}, {"man", "men"}, {"woman", "women"}, {"book", "books"},
	{"bus", "buses"}, {"baby", "babies"}, {"sheep", "sheep"}, {"knife", "knives"}, {"apple", "apples"}, {"car", "cars"},
}

var colours = [][2]string{
	{"the sky", "blue"}, {"grass", "green"}, {"snow", "white"}, {"a banana", "yellow"}, {"coal", "black"},
	{"a tomato", "red"}, {"an orange", "orange"}, {"the sun", "yellow"}, {"a lemon", "yellow"}, {"milk", "white"},
	{"a strawberry", "red"}, {"chocolate", "brown"}, {"a leaf", "green"}, {"the sea", "blue"},
}

var sounds = [][2]string{
	{"dog", "Woof"}, {"cat", "Meow"}, {"cow", "Moo"}, {"duck", "Quack"}, {"sheep", "Baa"}, {"lion", "Roar"},
	{"owl", "Hoot"}, {"pig", "Oink"}, {"horse", "Neigh"}, {"frog", "Ribbit"}, {"bee", "Buzz"}, {"snake", "Hiss"},
}

var words = []string{"cat", "dog", "sun", "tree", "house", "apple", "river", "green", "music", "water", "book",
	"light", "stone", "bird", "cloud", "river", "chair", "table", "bread", "smile", "ocean", "happy", "train"}

var numberWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func qa(rng *rand.Rand) turn {
	switch rng.IntN(12) {
	case 0, 1:
		c := pick(rng, capitals)
		if rng.IntN(2) == 0 {
			return turn{fmt.Sprintf("What is the capital of %s?", c[0]), fmt.Sprintf("The capital of %s is %s.", c[0], c[1])}
		}
		return turn{fmt.Sprintf("What is the capital of %s?", c[0]), c[1]}
	case 2:
		o := pick(rng, opposites)
		if rng.IntN(2) == 0 {
			o[0], o[1] = o[1], o[0]
		}
		return turn{fmt.Sprintf("What is the opposite of %s?", o[0]), fmt.Sprintf("The opposite of %s is %s.", o[0], o[1])}
	case 3:
		p := pick(rng, plurals)
		return turn{fmt.Sprintf("What is the plural of %s?", p[0]), fmt.Sprintf("The plural of %s is %s.", p[0], p[1])}
	case 4:
		a := rng.IntN(20)
		b := a + 2 + rng.IntN(6)
		nums := make([]string, 0, b-a+1)
		for i := a; i <= b; i++ {
			nums = append(nums, fmt.Sprint(i))
		}
		return turn{fmt.Sprintf("Count from %d to %d.", a, b), strings.Join(nums, ", ")}
	case 5:
		w := pick(rng, words)
		return turn{fmt.Sprintf("Spell the word %s.", w), strings.Join(strings.Split(w, ""), "-")}
	case 6:
		x := rng.IntN(1000)
		par := "even"
		if x%2 == 1 {
			par = "odd"
		}
		return turn{fmt.Sprintf("Is %d even or odd?", x), fmt.Sprintf("%d is %s.", x, par)}
	case 7:
		x := rng.IntN(1000)
		if rng.IntN(2) == 0 {
			return turn{fmt.Sprintf("What number comes after %d?", x), fmt.Sprint(x + 1)}
		}
		return turn{fmt.Sprintf("What number comes before %d?", x+1), fmt.Sprint(x)}
	case 8:
		c := pick(rng, colours)
		return turn{fmt.Sprintf("What color is %s?", c[0]), fmt.Sprintf("%s is %s.", capitalize(c[0]), c[1])}
	case 9:
		s := pick(rng, sounds)
		return turn{fmt.Sprintf("What sound does a %s make?", s[0]), fmt.Sprintf("A %s says %s!", s[0], strings.ToLower(s[1]))}
	case 10:
		i := rng.IntN(len(numberWords))
		return turn{fmt.Sprintf("Write the number %d in words.", i), numberWords[i]}
	default:
		w := pick(rng, words)
		r := []rune(w)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return turn{fmt.Sprintf("Reverse the word %s.", w), string(r)}
	}
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

var smallTalk = []turn{
	{"Hello!", "Hello! How can I help you today?"},
	{"Hi", "Hi there! What can I do for you?"},
	{"How are you?", "I am doing well, thank you. How can I help?"},
	{"Thank you!", "You're welcome!"},
	{"Thanks for your help.", "Happy to help!"},
	{"Who are you?", "I am a small assistant. I can answer simple questions and do arithmetic."},
	{"What can you do?", "I can answer simple questions, count, spell words and add numbers."},
	{"Goodbye!", "Goodbye! Have a nice day."},
	{"Tell me a joke.", "Why did the math book look sad? Because it had too many problems."},
	{"Good morning.", "Good morning! What would you like to know?"},
	{"Can you help me?", "Of course. What do you need?"},
	{"What is your name?", "I am the tkx assistant."},
	{"Say something nice.", "You are doing great today!"},
	{"Are you a robot?", "I am a small language model."},
}

// conversation generates one chat; arithPct is the percentage of
// arithmetic conversations (55 by default).
func conversation(rng *rand.Rand, arithPct int) string {
	var turns []turn
	nt := 1 + rng.IntN(4)
	qaEnd := arithPct + (100-arithPct)*2/3
	switch r := rng.IntN(100); {
	case r < arithPct:
		if rng.IntN(2) == 0 {
			turns = append(turns, turn{"What is 4 + 5?", "9"}) // the cookbook's few-shot prefix
		}
		for i := 0; i < nt; i++ {
			turns = append(turns, arithmetic(rng))
		}
	case r < qaEnd:
		for i := 0; i < nt; i++ {
			turns = append(turns, qa(rng))
		}
	default:
		turns = append(turns, pick(rng, smallTalk))
		for i := 1; i < nt; i++ {
			if rng.IntN(2) == 0 {
				turns = append(turns, qa(rng))
			} else {
				turns = append(turns, pick(rng, smallTalk))
			}
		}
	}
	return renderChat(turns)
}

const eos = 256

// batcher packs whole conversations (byte ids, <|endoftext|> after each)
// into sequences of at most maxLen tokens, every sequence starting at the
// start of a conversation.
type batcher struct {
	rng         *rand.Rand
	pending     []int
	pendingMask []bool
	maxLen      int
	arithPct    int
}

func (b *batcher) nextConv() ([]int, []bool) {
	s := conversation(b.rng, b.arithPct)
	ids := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); i++ {
		ids = append(ids, int(s[i]))
	}
	return append(ids, eos), answerMask(s)
}

var arithTurnRE = regexp.MustCompile(`User: What is \d+ [-+*] \d+\?\n\nAssistant: (\d+)\n\n`)

// answerMask marks the bytes of arithmetic answers in a rendered
// conversation (one extra false for the trailing <|endoftext|>).
func answerMask(s string) []bool {
	m := make([]bool, len(s)+1)
	for _, loc := range arithTurnRE.FindAllStringSubmatchIndex(s, -1) {
		for i := loc[2]; i < loc[3]; i++ {
			m[i] = true
		}
	}
	return m
}

// sequence returns the next packed sequence and its arithmetic-answer mask.
func (b *batcher) sequence() ([]int, []bool) {
	var seq []int
	var mask []bool
	for {
		if b.pending == nil {
			b.pending, b.pendingMask = b.nextConv()
		}
		if len(b.pending) > b.maxLen {
			b.pending = nil
			continue
		}
		if len(seq)+len(b.pending) > b.maxLen {
			return seq, mask
		}
		seq = append(seq, b.pending...)
		mask = append(mask, b.pendingMask...)
		b.pending = nil
	}
}
