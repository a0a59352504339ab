package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// DType is the element type of a TensorData on the public wire.
type DType string

// Public tensor dtypes. The wire only carries float32 and int64; int32 and
// bfloat16 arriving in protobuf outputs are widened to these.
const (
	DTypeFloat32 DType = "float32"
	DTypeInt64   DType = "int64"
)

// TensorData is a (possibly sparse CSR) tensor: flat row-major values with an
// optional shape. Exactly one of Float32/Int64 holds the values, according
// to DType. In CSR form the value slice holds only the non-zero values,
// Shape is required and SparseCrowIndices has Shape[0]+1 entries.
//
// JSON: {"data":[…],"dtype":"int64|float32","shape"?:[…],
// "sparse_crow_indices"?:[…],"sparse_col_indices"?:[…]}. NaN float values
// are written as null and null reads back as NaN.
type TensorData struct {
	DType             DType
	Float32           []float32
	Int64             []int64
	Shape             []int64
	SparseCrowIndices []int64
	SparseColIndices  []int64
}

// Float32Tensor wraps values as a 1-D float32 tensor (no shape).
func Float32Tensor(v []float32) TensorData { return TensorData{DType: DTypeFloat32, Float32: v} }

// Int64Tensor wraps values as a 1-D int64 tensor (no shape).
func Int64Tensor(v []int64) TensorData { return TensorData{DType: DTypeInt64, Int64: v} }

// Len is the number of stored values (non-zeros for a sparse tensor).
func (t TensorData) Len() int {
	if t.DType == DTypeInt64 {
		return len(t.Int64)
	}
	return len(t.Float32)
}

// IsSparse reports whether the tensor is in CSR form.
func (t TensorData) IsSparse() bool { return t.SparseCrowIndices != nil }

// LeadingDim is the tensor's first dimension: Shape[0] when a shape is
// given, otherwise the number of values (a 1-D tensor).
func (t TensorData) LeadingDim() int {
	if len(t.Shape) > 0 {
		return int(t.Shape[0])
	}
	return t.Len()
}

// MaxTensorElements bounds the dense size of a tensor (2^31 elements), so
// a hostile shape cannot make Dense allocate without limit.
const MaxTensorElements = 1 << 31

// NumElements is the product of the shape (dense element count), or Len()
// for a shapeless tensor; -1 when a dimension is negative or the product
// exceeds MaxTensorElements.
func (t TensorData) NumElements() int {
	if t.Shape == nil {
		return t.Len()
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > MaxTensorElements/d) {
			return -1
		}
		n *= d
	}
	if n > MaxTensorElements {
		return -1
	}
	return int(n)
}

// Floats returns the values as float64 (converting int64 values).
func (t TensorData) Floats() []float64 {
	out := make([]float64, t.Len())
	if t.DType == DTypeInt64 {
		for i, v := range t.Int64 {
			out[i] = float64(v)
		}
	} else {
		for i, v := range t.Float32 {
			out[i] = float64(v)
		}
	}
	return out
}

// Dense returns the values as a dense float32 slice of NumElements()
// entries, expanding CSR storage. Int64 values are converted.
func (t TensorData) Dense() ([]float32, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	val := func(i int) float32 {
		if t.DType == DTypeInt64 {
			return float32(t.Int64[i])
		}
		return t.Float32[i]
	}
	if !t.IsSparse() {
		out := make([]float32, t.Len())
		for i := range out {
			out[i] = val(i)
		}
		return out, nil
	}
	rows := int(t.Shape[0])
	cols := 1
	for _, d := range t.Shape[1:] {
		cols *= int(d)
	}
	out := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for j := t.SparseCrowIndices[r]; j < t.SparseCrowIndices[r+1]; j++ {
			out[r*cols+int(t.SparseColIndices[j])] = val(int(j))
		}
	}
	return out, nil
}

// Check verifies the tensor is self-consistent: a known dtype whose slice
// holds the values (and the other slice is empty), the shape's product
// equals the value count for a dense tensor, and CSR indices are in range.
func (t TensorData) Check() error {
	switch t.DType {
	case DTypeFloat32:
		if len(t.Int64) != 0 {
			return fmt.Errorf("dtype float32 but %d int64 values set", len(t.Int64))
		}
	case DTypeInt64:
		if len(t.Float32) != 0 {
			return fmt.Errorf("dtype int64 but %d float32 values set", len(t.Float32))
		}
	default:
		return fmt.Errorf("unknown dtype %q (want float32 or int64)", t.DType)
	}
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("shape[%d] = %d is negative", i, d)
		}
	}
	if !t.IsSparse() {
		if t.SparseColIndices != nil {
			return fmt.Errorf("sparse_col_indices without sparse_crow_indices")
		}
		if t.Shape != nil && t.NumElements() != t.Len() {
			return fmt.Errorf("shape %v has %d elements but data has %d", t.Shape, t.NumElements(), t.Len())
		}
		return nil
	}
	if len(t.Shape) < 1 {
		return fmt.Errorf("sparse tensor needs a shape")
	}
	if t.NumElements() < 0 {
		return fmt.Errorf("shape %v has more than %d elements", t.Shape, MaxTensorElements)
	}
	rows := int(t.Shape[0])
	cols := 1
	for _, d := range t.Shape[1:] {
		cols *= int(d)
	}
	if len(t.SparseCrowIndices) != rows+1 {
		return fmt.Errorf("sparse_crow_indices has %d entries, want shape[0]+1 = %d", len(t.SparseCrowIndices), rows+1)
	}
	if len(t.SparseColIndices) != t.Len() {
		return fmt.Errorf("sparse_col_indices has %d entries but data has %d values", len(t.SparseColIndices), t.Len())
	}
	if t.SparseCrowIndices[0] != 0 || int(t.SparseCrowIndices[rows]) != t.Len() {
		return fmt.Errorf("sparse_crow_indices must run from 0 to %d", t.Len())
	}
	for r := 0; r < rows; r++ {
		if t.SparseCrowIndices[r+1] < t.SparseCrowIndices[r] {
			return fmt.Errorf("sparse_crow_indices decrease at row %d", r)
		}
	}
	for i, c := range t.SparseColIndices {
		if c < 0 || int(c) >= cols {
			return fmt.Errorf("sparse_col_indices[%d] = %d out of range [0,%d)", i, c, cols)
		}
	}
	return nil
}

// MarshalJSON writes the SDK's TensorData JSON.
func (t TensorData) MarshalJSON() ([]byte, error) {
	var b []byte
	b = append(b, `{"data":[`...)
	if t.DType == DTypeInt64 {
		for i, v := range t.Int64 {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
	} else {
		for i, v := range t.Float32 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, v)
		}
	}
	b = append(b, `],"dtype":`...)
	dt := t.DType
	if dt == "" {
		dt = DTypeFloat32
	}
	b = strconv.AppendQuote(b, string(dt))
	appendInts := func(name string, xs []int64) {
		if xs == nil {
			return
		}
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		for i, v := range xs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	}
	appendInts("shape", t.Shape)
	appendInts("sparse_crow_indices", t.SparseCrowIndices)
	appendInts("sparse_col_indices", t.SparseColIndices)
	b = append(b, '}')
	return b, nil
}

func appendFloat32(b []byte, v float32) []byte {
	switch {
	case math.IsNaN(float64(v)):
		return append(b, "null"...)
	case math.IsInf(float64(v), 1):
		return append(b, "1e999"...) // decodes as +Inf in Python; Go readers use UnmarshalJSON below
	case math.IsInf(float64(v), -1):
		return append(b, "-1e999"...)
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

type tensorJSON struct {
	Data              []json.RawMessage `json:"data"`
	DType             DType             `json:"dtype"`
	Shape             []int64           `json:"shape"`
	SparseCrowIndices []int64           `json:"sparse_crow_indices"`
	SparseColIndices  []int64           `json:"sparse_col_indices"`
}

// UnmarshalJSON reads the SDK's TensorData JSON. A missing dtype is taken
// as float32 when any value has a fraction or exponent, int64 otherwise.
func (t *TensorData) UnmarshalJSON(b []byte) error {
	var j tensorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	dt := j.DType
	if dt == "" {
		dt = DTypeInt64
		for _, r := range j.Data {
			if bytes.ContainsAny(r, ".eEn") { // n: null/NaN
				dt = DTypeFloat32
				break
			}
		}
	}
	*t = TensorData{DType: dt, Shape: j.Shape, SparseCrowIndices: j.SparseCrowIndices, SparseColIndices: j.SparseColIndices}
	switch dt {
	case DTypeInt64:
		t.Int64 = make([]int64, len(j.Data))
		for i, r := range j.Data {
			v, err := strconv.ParseInt(string(r), 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(string(r), 64)
				if ferr != nil || f != math.Trunc(f) {
					return fmt.Errorf("data[%d] = %s is not an int64", i, r)
				}
				v = int64(f)
			}
			t.Int64[i] = v
		}
	case DTypeFloat32:
		t.Float32 = make([]float32, len(j.Data))
		for i, r := range j.Data {
			s := string(r)
			if s == "null" || s == "NaN" {
				t.Float32[i] = float32(math.NaN())
				continue
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil && !math.IsInf(f, 0) {
				return fmt.Errorf("data[%d] = %s is not a number", i, r)
			}
			t.Float32[i] = float32(f)
		}
	default:
		return fmt.Errorf("unknown dtype %q (want float32 or int64)", dt)
	}
	return nil
}
