package protocol

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ValidateDatum checks one datum before it is sent: the model input has a
// known length, every loss_fn_input is a consistent tensor whose leading
// dimension equals that length, target_tokens is int64, and (when lossFn is
// a built-in loss) the required inputs are present and no unknown input is
// given. Errors name the datum index and the field, e.g.
//
//	datum 3: loss_fn_inputs["weights"]: has 7 elements, model_input has 8 tokens
func ValidateDatum(i int, d *Datum, lossFn string) error {
	n, err := d.ModelInput.Length()
	if err != nil {
		return fmt.Errorf("datum %d: model_input: %w", i, err)
	}
	if n == 0 {
		return fmt.Errorf("datum %d: model_input is empty", i)
	}
	keys := make([]string, 0, len(d.LossFnInputs))
	for k := range d.LossFnInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := d.LossFnInputs[k]
		if err := t.Check(); err != nil {
			return fmt.Errorf("datum %d: loss_fn_inputs[%q]: %w", i, k, err)
		}
		if lead := t.LeadingDim(); lead != n {
			return fmt.Errorf("datum %d: loss_fn_inputs[%q]: has %d elements, model_input has %d tokens", i, k, lead, n)
		}
		if k == InputTargetTokens && t.DType != DTypeInt64 {
			return fmt.Errorf("datum %d: loss_fn_inputs[%q]: dtype %s, want int64", i, k, t.DType)
		}
	}
	spec, ok := lossSpecs[lossFn]
	if !ok {
		return nil
	}
	for _, r := range spec.Required {
		if _, ok := d.LossFnInputs[r]; !ok {
			return fmt.Errorf("datum %d: loss_fn_inputs lacks %q required by %s", i, r, lossFn)
		}
	}
	for _, k := range keys {
		if !slices.Contains(spec.Required, k) && !slices.Contains(spec.Optional, k) {
			return fmt.Errorf("datum %d: loss_fn_inputs[%q] is not an input of %s (takes %s)", i, k, lossFn,
				strings.Join(append(append([]string{}, spec.Required...), spec.Optional...), ", "))
		}
	}
	return nil
}

// ValidateForwardBackward checks a whole batch: it is non-empty, each datum
// passes ValidateDatum, and lossFn/config are known when lossFn is built in.
func ValidateForwardBackward(data []Datum, lossFn string, cfg map[string]float64) error {
	if lossFn == "" {
		return fmt.Errorf("loss_fn is empty")
	}
	if len(data) == 0 {
		return fmt.Errorf("forward_backward: no data")
	}
	if _, ok := lossSpecs[lossFn]; ok {
		if _, err := ResolveLossConfig(lossFn, cfg); err != nil {
			return err
		}
	}
	for i := range data {
		if err := ValidateDatum(i, &data[i], lossFn); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTokens checks that every token of the model input and every
// target token lies in [0, vocab).
func ValidateTokens(i int, d *Datum, vocab int) error {
	for j := range d.ModelInput.Chunks {
		for p, tok := range d.ModelInput.Chunks[j].Tokens {
			if tok < 0 || int(tok) >= vocab {
				return fmt.Errorf("datum %d: model_input chunk %d token %d = %d out of range [0,%d)", i, j, p, tok, vocab)
			}
		}
	}
	if t, ok := d.LossFnInputs[InputTargetTokens]; ok {
		for p, tok := range t.Int64 {
			if tok < 0 || int(tok) >= vocab {
				return fmt.Errorf("datum %d: loss_fn_inputs[%q][%d] = %d out of range [0,%d)", i, InputTargetTokens, p, tok, vocab)
			}
		}
	}
	return nil
}

// EstimateDatumBytes is the SDK's size estimate used for chunking: 4 bytes
// per model-input position plus the tensors' value bytes.
func EstimateDatumBytes(d *Datum) int {
	n := 0
	for j := range d.ModelInput.Chunks {
		c := &d.ModelInput.Chunks[j]
		switch c.Type {
		case ChunkImage:
			n += len(c.Data)
		case ChunkDmel:
			n += len(c.Dmel)
		default:
			n += 4 * len(c.Tokens)
		}
	}
	for _, t := range d.LossFnInputs {
		n += tensorValueBytes(&t) + 8*(len(t.SparseCrowIndices)+len(t.SparseColIndices))
	}
	return n
}

// ChunkData splits a batch into chunks of at most maxLen datums and about
// maxBytes bytes (EstimateDatumBytes); a single oversized datum gets its own
// chunk. It returns the [start,end) bounds of each chunk.
func ChunkData(data []Datum, maxLen, maxBytes int) [][2]int {
	if maxLen <= 0 {
		maxLen = 1024
	}
	if maxBytes <= 0 {
		maxBytes = 5000000
	}
	var out [][2]int
	start, bytes := 0, 0
	for i := range data {
		sz := EstimateDatumBytes(&data[i])
		if i > start && (i-start >= maxLen || bytes+sz > maxBytes) {
			out = append(out, [2]int{start, i})
			start, bytes = i, 0
		}
		bytes += sz
	}
	if start < len(data) {
		out = append(out, [2]int{start, len(data)})
	}
	return out
}
