package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// Protobuf enum values of tinker_public.
const (
	protoStopReasonStop   = 0
	protoStopReasonLength = 1

	protoDTypeUnspecified = 0
	protoDTypeFloat32     = 1
	protoDTypeInt64       = 2
	protoDTypeInt32       = 3
	protoDTypeBFloat16    = 4
)

// ProtoSchema is the .proto of the messages this file encodes by hand
// (tinker_public, proto3, rebuilt from the SDK's descriptor).
const ProtoSchema = `syntax = "proto3";
package tinker_public;
enum StopReason { STOP_REASON_STOP=0; STOP_REASON_LENGTH=1; }
enum DType { DTYPE_UNSPECIFIED=0; DTYPE_FLOAT32=1; DTYPE_INT64=2; DTYPE_INT32=3; DTYPE_BFLOAT16=4; }
message SampleResponse { repeated SampledSequence sequences=1; optional bytes prompt_logprobs=2;
  optional TopkPromptLogprobs topk_prompt_logprobs=3; int32 prompt_cache_hit_tokens=4; }
message SampledSequence { StopReason stop_reason=1; bytes tokens=2; optional bytes logprobs=3; }
message TopkPromptLogprobs { bytes token_ids=1; bytes logprobs=2; uint32 k=3; uint32 prompt_length=4; }
message SparseCsr { bytes values=1; bytes crow_indices=2; bytes col_indices=3; }
message Tensor { oneof encoding { bytes dense=1; SparseCsr sparse_csr=2; } DType dtype=3; repeated int64 shape=4; }
message BatchedTensor { bytes data=1; bytes offsets=2; DType dtype=3; repeated int64 trailing_shape=4; }
message ArrayRecord { string type_tag=1; map<string,BatchedTensor> fields=2; int64 num_datums=3; }
message ForwardBackwardOutput { string loss_fn_output_type=1; repeated ArrayRecord loss_fn_outputs=2; map<string,double> metrics=3; }
message ForwardBackwardRequest { string model_id=1; int32 seq_id=2; repeated Datum data=3; string loss_fn=4;
  map<string,double> loss_fn_config=5; bool forward_only=6; }
message Datum { repeated Chunk model_input=1; map<string,Tensor> loss_fn_inputs=2; }
message Chunk { oneof chunk { EncodedTextChunk encoded_text=1; ImageChunk image=2; DmelChunk dmel=3; } }
message EncodedTextChunk { bytes tokens=1; }
message ImageChunk { bytes data=1; string format=2; optional int32 expected_tokens=3; }
message DmelChunk { bytes dmel=1; }
`

// ---------------------------------------------------------------------------
// little-endian array helpers

var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func appendInt32s(b []byte, v []int32) []byte {
	if nativeLittleEndian && len(v) > 0 {
		return append(b, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))...)
	}
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func appendFloat32s(b []byte, v []float32) []byte {
	if nativeLittleEndian && len(v) > 0 {
		return append(b, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))...)
	}
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func appendInt64s(b []byte, v []int64) []byte {
	if nativeLittleEndian && len(v) > 0 {
		return append(b, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))...)
	}
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func readInt32s(b []byte) []int32 {
	out := make([]int32, len(b)/4)
	if nativeLittleEndian && len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*len(out)), b)
		return out
	}
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func readFloat32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	if nativeLittleEndian && len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*len(out)), b)
		return out
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func readInt64s(b []byte) []int64 {
	out := make([]int64, len(b)/8)
	if nativeLittleEndian && len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 8*len(out)), b)
		return out
	}
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// ---------------------------------------------------------------------------
// generic wire helpers

func sizeBytesField(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func sizePackedInt64(num protowire.Number, v []int64) int {
	if len(v) == 0 {
		return 0
	}
	n := 0
	for _, x := range v {
		n += protowire.SizeVarint(uint64(x))
	}
	return sizeBytesField(num, n)
}

func appendPackedInt64(b []byte, num protowire.Number, v []int64) []byte {
	if len(v) == 0 {
		return b
	}
	n := 0
	for _, x := range v {
		n += protowire.SizeVarint(uint64(x))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, x := range v {
		b = protowire.AppendVarint(b, uint64(x))
	}
	return b
}

func sizeVarintField(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func sizeStringField(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeBytesField(num, len(s))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sizeDoubleMap(num protowire.Number, m map[string]float64) int {
	n := 0
	for k := range m {
		e := sizeBytesField(1, len(k)) + protowire.SizeTag(2) + 8
		n += sizeBytesField(num, e)
	}
	return n
}

// appendDoubleMap writes map<string,double> entries in key order, each with
// both key and value.
func appendDoubleMap(b []byte, num protowire.Number, m map[string]float64) []byte {
	for _, k := range sortedKeys(m) {
		e := sizeBytesField(1, len(k)) + protowire.SizeTag(2) + 8
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(e))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(m[k]))
	}
	return b
}

// fieldIter walks the fields of one message.
type fieldIter struct {
	b   []byte
	err error
	num protowire.Number
	typ protowire.Type
	msg string // message name for errors
}

func (it *fieldIter) next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	num, typ, n := protowire.ConsumeTag(it.b)
	if n < 0 {
		it.err = fmt.Errorf("%s: bad tag: %w", it.msg, protowire.ParseError(n))
		return false
	}
	it.b = it.b[n:]
	it.num, it.typ = num, typ
	return true
}

func (it *fieldIter) fail(format string, args ...any) {
	if it.err == nil {
		it.err = fmt.Errorf("%s: "+format, append([]any{it.msg}, args...)...)
	}
}

func (it *fieldIter) bytes() []byte {
	if it.typ != protowire.BytesType {
		it.fail("field %d: wire type %d, want length-delimited", it.num, it.typ)
		return nil
	}
	v, n := protowire.ConsumeBytes(it.b)
	if n < 0 {
		it.fail("field %d: %v", it.num, protowire.ParseError(n))
		return nil
	}
	it.b = it.b[n:]
	return v
}

func (it *fieldIter) varint() uint64 {
	if it.typ != protowire.VarintType {
		it.fail("field %d: wire type %d, want varint", it.num, it.typ)
		return 0
	}
	v, n := protowire.ConsumeVarint(it.b)
	if n < 0 {
		it.fail("field %d: %v", it.num, protowire.ParseError(n))
		return 0
	}
	it.b = it.b[n:]
	return v
}

func (it *fieldIter) double() float64 {
	if it.typ != protowire.Fixed64Type {
		it.fail("field %d: wire type %d, want fixed64", it.num, it.typ)
		return 0
	}
	v, n := protowire.ConsumeFixed64(it.b)
	if n < 0 {
		it.fail("field %d: %v", it.num, protowire.ParseError(n))
		return 0
	}
	it.b = it.b[n:]
	return math.Float64frombits(v)
}

// int64s reads a repeated int64 field, packed or not, appending to dst.
func (it *fieldIter) int64s(dst []int64) []int64 {
	if it.typ == protowire.VarintType {
		return append(dst, int64(it.varint()))
	}
	p := it.bytes()
	for len(p) > 0 {
		v, n := protowire.ConsumeVarint(p)
		if n < 0 {
			it.fail("field %d: packed varint: %v", it.num, protowire.ParseError(n))
			return dst
		}
		dst = append(dst, int64(v))
		p = p[n:]
	}
	return dst
}

func (it *fieldIter) skip() {
	n := protowire.ConsumeFieldValue(it.num, it.typ, it.b)
	if n < 0 {
		it.fail("field %d: %v", it.num, protowire.ParseError(n))
		return
	}
	it.b = it.b[n:]
}

// ---------------------------------------------------------------------------
// Tensor

func protoDType(dt DType) (uint64, error) {
	switch dt {
	case DTypeFloat32:
		return protoDTypeFloat32, nil
	case DTypeInt64:
		return protoDTypeInt64, nil
	}
	return 0, fmt.Errorf("unsupported dtype %q for protobuf (want float32 or int64)", dt)
}

func tensorValueBytes(t *TensorData) int {
	if t.DType == DTypeInt64 {
		return 8 * len(t.Int64)
	}
	return 4 * len(t.Float32)
}

func appendTensorValues(b []byte, t *TensorData) []byte {
	if t.DType == DTypeInt64 {
		return appendInt64s(b, t.Int64)
	}
	return appendFloat32s(b, t.Float32)
}

func sizeSparse(t *TensorData) int {
	n := 0
	if v := tensorValueBytes(t); v > 0 {
		n += sizeBytesField(1, v)
	}
	if len(t.SparseCrowIndices) > 0 {
		n += sizeBytesField(2, 8*len(t.SparseCrowIndices))
	}
	if len(t.SparseColIndices) > 0 {
		n += sizeBytesField(3, 8*len(t.SparseColIndices))
	}
	return n
}

func sizeTensor(t *TensorData) int {
	n := 0
	if t.IsSparse() {
		n += sizeBytesField(2, sizeSparse(t))
	} else {
		n += sizeBytesField(1, tensorValueBytes(t)) // oneof: written even when empty
	}
	dt, _ := protoDType(t.DType)
	n += sizeVarintField(3, dt)
	n += sizePackedInt64(4, t.Shape)
	return n
}

func appendTensor(b []byte, t *TensorData) []byte {
	if t.IsSparse() {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeSparse(t)))
		if v := tensorValueBytes(t); v > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(v))
			b = appendTensorValues(b, t)
		}
		if len(t.SparseCrowIndices) > 0 {
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(8*len(t.SparseCrowIndices)))
			b = appendInt64s(b, t.SparseCrowIndices)
		}
		if len(t.SparseColIndices) > 0 {
			b = protowire.AppendTag(b, 3, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(8*len(t.SparseColIndices)))
			b = appendInt64s(b, t.SparseColIndices)
		}
	} else {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(tensorValueBytes(t)))
		b = appendTensorValues(b, t)
	}
	dt, _ := protoDType(t.DType)
	b = appendVarintField(b, 3, dt)
	return appendPackedInt64(b, 4, t.Shape)
}

// tensorFromBytes decodes values of a proto dtype, widening int32 to int64
// and bfloat16 to float32 as the SDK does.
func tensorFromBytes(data []byte, dtype uint64) (TensorData, error) {
	switch dtype {
	case protoDTypeFloat32:
		if len(data)%4 != 0 {
			return TensorData{}, fmt.Errorf("float32 data of %d bytes is not a multiple of 4", len(data))
		}
		return TensorData{DType: DTypeFloat32, Float32: readFloat32s(data)}, nil
	case protoDTypeInt64:
		if len(data)%8 != 0 {
			return TensorData{}, fmt.Errorf("int64 data of %d bytes is not a multiple of 8", len(data))
		}
		return TensorData{DType: DTypeInt64, Int64: readInt64s(data)}, nil
	case protoDTypeInt32:
		if len(data)%4 != 0 {
			return TensorData{}, fmt.Errorf("int32 data of %d bytes is not a multiple of 4", len(data))
		}
		v := readInt32s(data)
		w := make([]int64, len(v))
		for i, x := range v {
			w[i] = int64(x)
		}
		return TensorData{DType: DTypeInt64, Int64: w}, nil
	case protoDTypeBFloat16:
		if len(data)%2 != 0 {
			return TensorData{}, fmt.Errorf("bfloat16 data of %d bytes is not a multiple of 2", len(data))
		}
		w := make([]float32, len(data)/2)
		for i := range w {
			w[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16)
		}
		return TensorData{DType: DTypeFloat32, Float32: w}, nil
	}
	return TensorData{}, fmt.Errorf("unsupported dtype enum %d", dtype)
}

func protoItemSize(dtype uint64) int {
	switch dtype {
	case protoDTypeInt64:
		return 8
	case protoDTypeBFloat16:
		return 2
	case protoDTypeFloat32, protoDTypeInt32:
		return 4
	}
	return 0
}

func decodeTensor(b []byte) (TensorData, error) {
	it := fieldIter{b: b, msg: "Tensor"}
	var dense, values, crow, col []byte
	var sparse, haveDense bool
	var dtype uint64
	var shape []int64
	for it.next() {
		switch it.num {
		case 1:
			dense, haveDense, sparse = it.bytes(), true, false
		case 2:
			sp := fieldIter{b: it.bytes(), msg: "SparseCsr"}
			sparse, haveDense = true, false
			for sp.next() {
				switch sp.num {
				case 1:
					values = sp.bytes()
				case 2:
					crow = sp.bytes()
				case 3:
					col = sp.bytes()
				default:
					sp.skip()
				}
			}
			if sp.err != nil {
				return TensorData{}, sp.err
			}
		case 3:
			dtype = it.varint()
		case 4:
			shape = it.int64s(shape)
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return TensorData{}, it.err
	}
	var t TensorData
	var err error
	switch {
	case sparse:
		t, err = tensorFromBytes(values, dtype)
		if err == nil {
			if len(crow)%8 != 0 || len(col)%8 != 0 {
				return TensorData{}, fmt.Errorf("Tensor: sparse indices are not int64 arrays")
			}
			t.SparseCrowIndices = readInt64s(crow)
			t.SparseColIndices = readInt64s(col)
		}
	case haveDense:
		t, err = tensorFromBytes(dense, dtype)
	default:
		t, err = tensorFromBytes(nil, dtype)
	}
	if err != nil {
		return TensorData{}, fmt.Errorf("Tensor: %w", err)
	}
	t.Shape = shape
	return t, nil
}

// ---------------------------------------------------------------------------
// Chunk / Datum

func sizeChunkBody(c *Chunk) int {
	switch c.Type {
	case ChunkEncodedText, "":
		if len(c.Tokens) == 0 {
			return 0
		}
		return sizeBytesField(1, 4*len(c.Tokens))
	case ChunkImage:
		n := 0
		if len(c.Data) > 0 {
			n += sizeBytesField(1, len(c.Data))
		}
		n += sizeStringField(2, c.Format)
		if c.ExpectedTokens != nil {
			n += protowire.SizeTag(3) + protowire.SizeVarint(uint64(int64(*c.ExpectedTokens)))
		}
		return n
	case ChunkDmel:
		if len(c.Dmel) == 0 {
			return 0
		}
		return sizeBytesField(1, len(c.Dmel))
	}
	return 0
}

func chunkField(c *Chunk) protowire.Number {
	switch c.Type {
	case ChunkImage:
		return 2
	case ChunkDmel:
		return 3
	}
	return 1
}

// sizeChunk is the size of the Chunk message (its oneof field).
func sizeChunk(c *Chunk) int { return sizeBytesField(chunkField(c), sizeChunkBody(c)) }

// appendChunk writes the Chunk message body (not its own tag/length).
func appendChunk(b []byte, c *Chunk) []byte {
	b = protowire.AppendTag(b, chunkField(c), protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeChunkBody(c)))
	switch c.Type {
	case ChunkEncodedText, "":
		if len(c.Tokens) > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(4*len(c.Tokens)))
			b = appendInt32s(b, c.Tokens)
		}
	case ChunkImage:
		if len(c.Data) > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, c.Data)
		}
		b = appendStringField(b, 2, c.Format)
		if c.ExpectedTokens != nil {
			b = protowire.AppendTag(b, 3, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(*c.ExpectedTokens)))
		}
	case ChunkDmel:
		if len(c.Dmel) > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, c.Dmel)
		}
	}
	return b
}

func sizeTensorEntry(k string, t *TensorData) int {
	return sizeBytesField(1, len(k)) + sizeBytesField(2, sizeTensor(t))
}

func sizeDatum(d *Datum) int {
	n := 0
	for i := range d.ModelInput.Chunks {
		n += sizeBytesField(1, sizeChunk(&d.ModelInput.Chunks[i]))
	}
	for k, t := range d.LossFnInputs {
		n += sizeBytesField(2, sizeTensorEntry(k, &t))
	}
	return n
}

func appendDatum(b []byte, d *Datum) []byte {
	for i := range d.ModelInput.Chunks {
		c := &d.ModelInput.Chunks[i]
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeChunk(c)))
		b = appendChunk(b, c)
	}
	keys := sortedKeys(d.LossFnInputs)
	for _, k := range keys {
		t := d.LossFnInputs[k]
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeTensorEntry(k, &t)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeTensor(&t)))
		b = appendTensor(b, &t)
	}
	return b
}

func checkEncodable(i int, d *Datum) error {
	for j := range d.ModelInput.Chunks {
		switch d.ModelInput.Chunks[j].Type {
		case ChunkEncodedText, "", ChunkImage, ChunkDmel:
		case ChunkImageAssetPointer:
			return fmt.Errorf("datum %d: model_input chunk %d: image_asset_pointer chunks cannot be sent in forward_backward (JSON only)", i, j)
		default:
			return fmt.Errorf("datum %d: model_input chunk %d: unknown chunk type %q", i, j, d.ModelInput.Chunks[j].Type)
		}
	}
	for k, t := range d.LossFnInputs {
		if _, err := protoDType(t.DType); err != nil {
			return fmt.Errorf("datum %d: loss_fn_inputs[%q]: %w", i, k, err)
		}
	}
	return nil
}

func decodeChunk(b []byte) (Chunk, error) {
	it := fieldIter{b: b, msg: "Chunk"}
	var c Chunk
	for it.next() {
		switch it.num {
		case 1:
			c = Chunk{Type: ChunkEncodedText}
			in := fieldIter{b: it.bytes(), msg: "EncodedTextChunk"}
			for in.next() {
				if in.num == 1 {
					p := in.bytes()
					if len(p)%4 != 0 {
						return Chunk{}, fmt.Errorf("EncodedTextChunk: tokens of %d bytes is not an int32 array", len(p))
					}
					c.Tokens = readInt32s(p)
				} else {
					in.skip()
				}
			}
			if in.err != nil {
				return Chunk{}, in.err
			}
			if c.Tokens == nil {
				c.Tokens = []int32{}
			}
		case 2:
			c = Chunk{Type: ChunkImage}
			in := fieldIter{b: it.bytes(), msg: "ImageChunk"}
			for in.next() {
				switch in.num {
				case 1:
					c.Data = append([]byte(nil), in.bytes()...)
				case 2:
					c.Format = string(in.bytes())
				case 3:
					v := int32(in.varint())
					c.ExpectedTokens = &v
				default:
					in.skip()
				}
			}
			if in.err != nil {
				return Chunk{}, in.err
			}
		case 3:
			c = Chunk{Type: ChunkDmel}
			in := fieldIter{b: it.bytes(), msg: "DmelChunk"}
			for in.next() {
				if in.num == 1 {
					c.Dmel = append([]byte(nil), in.bytes()...)
				} else {
					in.skip()
				}
			}
			if in.err != nil {
				return Chunk{}, in.err
			}
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return Chunk{}, it.err
	}
	if c.Type == "" {
		return Chunk{}, fmt.Errorf("Chunk: no chunk set")
	}
	return c, nil
}

func decodeDatum(b []byte) (Datum, error) {
	it := fieldIter{b: b, msg: "Datum"}
	d := Datum{LossFnInputs: map[string]TensorData{}}
	for it.next() {
		switch it.num {
		case 1:
			c, err := decodeChunk(it.bytes())
			if err != nil {
				return Datum{}, err
			}
			d.ModelInput.Chunks = append(d.ModelInput.Chunks, c)
		case 2:
			e := fieldIter{b: it.bytes(), msg: "Datum.loss_fn_inputs entry"}
			var key string
			var val []byte
			for e.next() {
				switch e.num {
				case 1:
					key = string(e.bytes())
				case 2:
					val = e.bytes()
				default:
					e.skip()
				}
			}
			if e.err != nil {
				return Datum{}, e.err
			}
			t, err := decodeTensor(val)
			if err != nil {
				return Datum{}, fmt.Errorf("loss_fn_inputs[%q]: %w", key, err)
			}
			d.LossFnInputs[key] = t
		default:
			it.skip()
		}
	}
	return d, it.err
}

// ---------------------------------------------------------------------------
// ForwardBackwardRequest

// EncodeForwardBackwardRequest encodes r as tinker_public.ForwardBackwardRequest
// (Content-Type application/x-protobuf). Fields are written in number order
// and map entries sorted by key. Chunks that the protobuf cannot carry
// (image_asset_pointer) and dtypes other than float32/int64 are errors.
func EncodeForwardBackwardRequest(r *ForwardBackwardRequest) ([]byte, error) {
	return AppendForwardBackwardRequest(nil, r)
}

// AppendForwardBackwardRequest is EncodeForwardBackwardRequest appending to
// dst (which is grown once to the exact size).
func AppendForwardBackwardRequest(dst []byte, r *ForwardBackwardRequest) ([]byte, error) {
	for i := range r.Data {
		if err := checkEncodable(i, &r.Data[i]); err != nil {
			return nil, err
		}
	}
	size := sizeStringField(1, r.ModelID) + sizeVarintField(2, uint64(int64(r.SeqID)))
	for i := range r.Data {
		size += sizeBytesField(3, sizeDatum(&r.Data[i]))
	}
	size += sizeStringField(4, r.LossFn) + sizeDoubleMap(5, r.LossFnConfig)
	if r.ForwardOnly {
		size += 2
	}
	b := dst
	if cap(b)-len(b) < size {
		nb := make([]byte, len(b), len(b)+size)
		copy(nb, b)
		b = nb
	}
	b = appendStringField(b, 1, r.ModelID)
	b = appendVarintField(b, 2, uint64(int64(r.SeqID)))
	for i := range r.Data {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeDatum(&r.Data[i])))
		b = appendDatum(b, &r.Data[i])
	}
	b = appendStringField(b, 4, r.LossFn)
	b = appendDoubleMap(b, 5, r.LossFnConfig)
	if r.ForwardOnly {
		b = appendVarintField(b, 6, 1)
	}
	return b, nil
}

// DecodeForwardBackwardRequest parses tinker_public.ForwardBackwardRequest.
// Unknown fields (e.g. a newer loss_fn_config_v2) are skipped.
func DecodeForwardBackwardRequest(b []byte) (*ForwardBackwardRequest, error) {
	it := fieldIter{b: b, msg: "ForwardBackwardRequest"}
	r := &ForwardBackwardRequest{}
	for it.next() {
		switch it.num {
		case 1:
			r.ModelID = string(it.bytes())
		case 2:
			r.SeqID = int32(it.varint())
		case 3:
			d, err := decodeDatum(it.bytes())
			if err != nil {
				return nil, fmt.Errorf("ForwardBackwardRequest: data[%d]: %w", len(r.Data), err)
			}
			r.Data = append(r.Data, d)
		case 4:
			r.LossFn = string(it.bytes())
		case 5:
			k, v, err := decodeDoubleEntry(it.bytes())
			if err != nil {
				return nil, fmt.Errorf("ForwardBackwardRequest: loss_fn_config: %w", err)
			}
			if r.LossFnConfig == nil {
				r.LossFnConfig = map[string]float64{}
			}
			r.LossFnConfig[k] = v
		case 6:
			r.ForwardOnly = it.varint() != 0
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	return r, nil
}

func decodeDoubleEntry(b []byte) (string, float64, error) {
	e := fieldIter{b: b, msg: "map entry"}
	var k string
	var v float64
	for e.next() {
		switch e.num {
		case 1:
			k = string(e.bytes())
		case 2:
			v = e.double()
		default:
			e.skip()
		}
	}
	return k, v, e.err
}

// ---------------------------------------------------------------------------
// ForwardBackwardOutput

type batched struct {
	name     string
	dtype    uint64
	trailing []int64
	data     []byte
	offsets  []int64
}

// EncodeForwardBackwardOutput encodes out as tinker_public.ForwardBackwardOutput
// with a single ArrayRecord. Every datum must carry the same fields with the
// same dtype and trailing shape; sparse outputs are densified.
func EncodeForwardBackwardOutput(out *ForwardBackwardOutput) ([]byte, error) {
	var fields []*batched
	if len(out.LossFnOutputs) > 0 {
		for _, k := range sortedKeys(out.LossFnOutputs[0]) {
			fields = append(fields, &batched{name: k, offsets: []int64{0}})
		}
	}
	for i, m := range out.LossFnOutputs {
		if len(m) != len(fields) {
			return nil, fmt.Errorf("loss_fn_outputs[%d] has %d fields, datum 0 has %d", i, len(m), len(fields))
		}
		for _, f := range fields {
			t, ok := m[f.name]
			if !ok {
				return nil, fmt.Errorf("loss_fn_outputs[%d] lacks field %q", i, f.name)
			}
			dt, err := protoDType(t.DType)
			if err != nil {
				return nil, fmt.Errorf("loss_fn_outputs[%d][%q]: %w", i, f.name, err)
			}
			var trailing []int64
			if len(t.Shape) > 1 {
				trailing = t.Shape[1:]
			}
			if i == 0 {
				f.dtype, f.trailing = dt, trailing
			} else if f.dtype != dt || !slices.Equal(f.trailing, trailing) {
				return nil, fmt.Errorf("loss_fn_outputs[%d][%q]: dtype/trailing shape differ from datum 0", i, f.name)
			}
			if t.IsSparse() {
				dense, err := t.Dense()
				if err != nil {
					return nil, fmt.Errorf("loss_fn_outputs[%d][%q]: %w", i, f.name, err)
				}
				if t.DType == DTypeInt64 {
					iv := make([]int64, len(dense))
					for j, v := range dense {
						iv[j] = int64(v)
					}
					t = TensorData{DType: DTypeInt64, Int64: iv}
				} else {
					t = TensorData{DType: DTypeFloat32, Float32: dense}
				}
			}
			f.data = appendTensorValues(f.data, &t)
			f.offsets = append(f.offsets, int64(len(f.data)))
		}
	}
	sizeBT := func(f *batched) int {
		n := 0
		if len(f.data) > 0 {
			n += sizeBytesField(1, len(f.data))
		}
		n += sizeBytesField(2, 8*len(f.offsets)) + sizeVarintField(3, f.dtype) + sizePackedInt64(4, f.trailing)
		return n
	}
	sizeEntry := func(f *batched) int { return sizeBytesField(1, len(f.name)) + sizeBytesField(2, sizeBT(f)) }
	rec := 0
	for _, f := range fields {
		rec += sizeBytesField(2, sizeEntry(f))
	}
	rec += sizeVarintField(3, uint64(len(out.LossFnOutputs)))
	typ := out.LossFnOutputType
	if typ == "" {
		typ = "ArrayRecord"
	}
	b := make([]byte, 0, sizeStringField(1, typ)+sizeBytesField(2, rec)+sizeDoubleMap(3, out.Metrics))
	b = appendStringField(b, 1, typ)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(rec))
	for _, f := range fields {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeEntry(f)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, f.name)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeBT(f)))
		if len(f.data) > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, f.data)
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(8*len(f.offsets)))
		b = appendInt64s(b, f.offsets)
		b = appendVarintField(b, 3, f.dtype)
		b = appendPackedInt64(b, 4, f.trailing)
	}
	b = appendVarintField(b, 3, uint64(len(out.LossFnOutputs)))
	b = appendDoubleMap(b, 3, out.Metrics)
	return b, nil
}

// DecodeForwardBackwardOutput parses tinker_public.ForwardBackwardOutput into
// per-datum tensors, concatenating several ArrayRecords, widening int32 and
// bfloat16, giving datum i the shape [elems/prod(trailing), *trailing], and
// keeping what follows the last ':' of loss_fn_output_type.
func DecodeForwardBackwardOutput(b []byte) (*ForwardBackwardOutput, error) {
	it := fieldIter{b: b, msg: "ForwardBackwardOutput"}
	out := &ForwardBackwardOutput{Metrics: map[string]float64{}}
	type fieldMeta struct {
		dtype    DType
		trailing []int64
	}
	perField := map[string][]TensorData{}
	meta := map[string]fieldMeta{}
	var order []string
	numDatums := 0
	records := 0
	for it.next() {
		switch it.num {
		case 1:
			out.LossFnOutputType = string(it.bytes())
		case 2:
			records++
			rec := fieldIter{b: it.bytes(), msg: "ArrayRecord"}
			for rec.next() {
				switch rec.num {
				case 2:
					e := fieldIter{b: rec.bytes(), msg: "ArrayRecord.fields entry"}
					var name string
					var bt []byte
					for e.next() {
						switch e.num {
						case 1:
							name = string(e.bytes())
						case 2:
							bt = e.bytes()
						default:
							e.skip()
						}
					}
					if e.err != nil {
						return nil, e.err
					}
					parts, dt, trailing, err := decodeBatchedTensor(bt)
					if err != nil {
						return nil, fmt.Errorf("ForwardBackwardOutput: field %q: %w", name, err)
					}
					if _, ok := meta[name]; !ok {
						meta[name] = fieldMeta{dt, trailing}
						order = append(order, name)
					}
					perField[name] = append(perField[name], parts...)
				case 3:
					numDatums += int(rec.varint())
				default:
					rec.skip()
				}
			}
			if rec.err != nil {
				return nil, rec.err
			}
		case 3:
			k, v, err := decodeDoubleEntry(it.bytes())
			if err != nil {
				return nil, fmt.Errorf("ForwardBackwardOutput: metrics: %w", err)
			}
			out.Metrics[k] = v
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	if records == 0 {
		if out.LossFnOutputType == "" {
			out.LossFnOutputType = "ArrayRecord"
		}
		out.LossFnOutputs = []map[string]TensorData{}
		return out, nil
	}
	if i := lastIndexByte(out.LossFnOutputType, ':'); i >= 0 {
		out.LossFnOutputType = out.LossFnOutputType[i+1:]
	}
	if numDatums == 0 && len(order) > 0 {
		numDatums = len(perField[order[0]])
	}
	out.LossFnOutputs = make([]map[string]TensorData, numDatums)
	for i := range out.LossFnOutputs {
		m := make(map[string]TensorData, len(order))
		for _, name := range order {
			parts := perField[name]
			if i >= len(parts) {
				return nil, fmt.Errorf("ForwardBackwardOutput: field %q has %d datums, num_datums is %d", name, len(parts), numDatums)
			}
			t := parts[i]
			fm := meta[name]
			trailingElems := int64(1)
			for _, s := range fm.trailing {
				trailingElems *= s
			}
			lead := int64(0)
			if trailingElems != 0 {
				lead = int64(t.Len()) / trailingElems
			}
			t.Shape = append([]int64{lead}, fm.trailing...)
			m[name] = t
		}
		out.LossFnOutputs[i] = m
	}
	return out, nil
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func decodeBatchedTensor(b []byte) ([]TensorData, DType, []int64, error) {
	it := fieldIter{b: b, msg: "BatchedTensor"}
	var data, offs []byte
	var dtype uint64
	var trailing []int64
	for it.next() {
		switch it.num {
		case 1:
			data = it.bytes()
		case 2:
			offs = it.bytes()
		case 3:
			dtype = it.varint()
		case 4:
			trailing = it.int64s(trailing)
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return nil, "", nil, it.err
	}
	item := protoItemSize(dtype)
	if item == 0 {
		return nil, "", nil, fmt.Errorf("unsupported dtype enum %d", dtype)
	}
	if len(offs)%8 != 0 {
		return nil, "", nil, fmt.Errorf("offsets of %d bytes is not an int64 array", len(offs))
	}
	offsets := readInt64s(offs)
	var parts []TensorData
	for i := 0; i+1 < len(offsets); i++ {
		s, e := offsets[i], offsets[i+1]
		if s < 0 || e < s || e > int64(len(data)) || s%int64(item) != 0 || e%int64(item) != 0 {
			return nil, "", nil, fmt.Errorf("offsets[%d..%d] = %d..%d out of range for %d data bytes", i, i+1, s, e, len(data))
		}
		t, err := tensorFromBytes(data[s:e], dtype)
		if err != nil {
			return nil, "", nil, err
		}
		parts = append(parts, t)
	}
	dt := DTypeFloat32
	if dtype == protoDTypeInt64 || dtype == protoDTypeInt32 {
		dt = DTypeInt64
	}
	return parts, dt, trailing, nil
}

// ---------------------------------------------------------------------------
// SampleResponse

func stopReasonEnum(s string) (uint64, error) {
	switch s {
	case StopReasonStop:
		return protoStopReasonStop, nil
	case StopReasonLength:
		return protoStopReasonLength, nil
	}
	return 0, fmt.Errorf("unknown stop_reason %q (want stop or length)", s)
}

func sizeSeq(s *SampledSequence, sr uint64) int {
	n := sizeVarintField(1, sr)
	if len(s.Tokens) > 0 {
		n += sizeBytesField(2, 4*len(s.Tokens))
	}
	if s.Logprobs != nil {
		n += sizeBytesField(3, 4*len(s.Logprobs))
	}
	return n
}

func sizeTopk(t *TopkPromptLogprobs) int {
	n := 0
	if len(t.TokenIDs) > 0 {
		n += sizeBytesField(1, 4*len(t.TokenIDs))
	}
	if len(t.Logprobs) > 0 {
		n += sizeBytesField(2, 4*len(t.Logprobs))
	}
	n += sizeVarintField(3, uint64(t.K)) + sizeVarintField(4, uint64(t.PromptLength))
	return n
}

// EncodeSampleResponse encodes r as tinker_public.SampleResponse. A nil
// Logprobs/PromptLogprobs/TopkPromptLogprobs is left out; a non-nil one is
// written even when empty (optional fields).
func EncodeSampleResponse(r *SampleResponse) ([]byte, error) {
	srs := make([]uint64, len(r.Sequences))
	size := 0
	for i := range r.Sequences {
		sr, err := stopReasonEnum(r.Sequences[i].StopReason)
		if err != nil {
			return nil, fmt.Errorf("sequences[%d]: %w", i, err)
		}
		srs[i] = sr
		size += sizeBytesField(1, sizeSeq(&r.Sequences[i], sr))
	}
	if r.PromptLogprobs != nil {
		size += sizeBytesField(2, 4*len(r.PromptLogprobs))
	}
	if t := r.TopkPromptLogprobs; t != nil {
		if len(t.TokenIDs) != t.K*t.PromptLength || len(t.Logprobs) != t.K*t.PromptLength {
			return nil, fmt.Errorf("topk_prompt_logprobs: want %d×%d entries, have %d ids and %d logprobs", t.PromptLength, t.K, len(t.TokenIDs), len(t.Logprobs))
		}
		size += sizeBytesField(3, sizeTopk(t))
	}
	size += sizeVarintField(4, uint64(int64(r.PromptCacheHitTokens)))
	b := make([]byte, 0, size)
	for i := range r.Sequences {
		s := &r.Sequences[i]
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeSeq(s, srs[i])))
		b = appendVarintField(b, 1, srs[i])
		if len(s.Tokens) > 0 {
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(4*len(s.Tokens)))
			b = appendInt32s(b, s.Tokens)
		}
		if s.Logprobs != nil {
			b = protowire.AppendTag(b, 3, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(4*len(s.Logprobs)))
			b = appendFloat32s(b, s.Logprobs)
		}
	}
	if r.PromptLogprobs != nil {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(4*len(r.PromptLogprobs)))
		b = appendFloat32s(b, r.PromptLogprobs)
	}
	if t := r.TopkPromptLogprobs; t != nil {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeTopk(t)))
		if len(t.TokenIDs) > 0 {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(4*len(t.TokenIDs)))
			b = appendInt32s(b, t.TokenIDs)
		}
		if len(t.Logprobs) > 0 {
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(4*len(t.Logprobs)))
			b = appendFloat32s(b, t.Logprobs)
		}
		b = appendVarintField(b, 3, uint64(t.K))
		b = appendVarintField(b, 4, uint64(t.PromptLength))
	}
	b = appendVarintField(b, 4, uint64(int64(r.PromptCacheHitTokens)))
	return b, nil
}

// DecodeSampleResponse parses tinker_public.SampleResponse. As in the SDK,
// empty logprobs/prompt_logprobs decode as absent (nil), and top-k is kept
// only when prompt_length and k are both positive.
func DecodeSampleResponse(b []byte) (*SampleResponse, error) {
	it := fieldIter{b: b, msg: "SampleResponse"}
	r := &SampleResponse{Sequences: []SampledSequence{}}
	for it.next() {
		switch it.num {
		case 1:
			s := SampledSequence{StopReason: StopReasonStop, Tokens: []int32{}}
			in := fieldIter{b: it.bytes(), msg: "SampledSequence"}
			for in.next() {
				switch in.num {
				case 1:
					switch v := in.varint(); v {
					case protoStopReasonStop:
						s.StopReason = StopReasonStop
					case protoStopReasonLength:
						s.StopReason = StopReasonLength
					default:
						in.fail("unknown stop_reason enum value %d", v)
					}
				case 2:
					p := in.bytes()
					if len(p)%4 != 0 {
						in.fail("tokens of %d bytes is not an int32 array", len(p))
					}
					s.Tokens = readInt32s(p)
				case 3:
					p := in.bytes()
					if len(p)%4 != 0 {
						in.fail("logprobs of %d bytes is not a float32 array", len(p))
					}
					if len(p) > 0 {
						s.Logprobs = readFloat32s(p)
					}
				default:
					in.skip()
				}
			}
			if in.err != nil {
				return nil, fmt.Errorf("sequences[%d]: %w", len(r.Sequences), in.err)
			}
			r.Sequences = append(r.Sequences, s)
		case 2:
			p := it.bytes()
			if len(p)%4 != 0 {
				return nil, fmt.Errorf("SampleResponse: prompt_logprobs of %d bytes is not a float32 array", len(p))
			}
			if len(p) > 0 {
				r.PromptLogprobs = readFloat32s(p)
			}
		case 3:
			var t TopkPromptLogprobs
			var ids, lps []byte
			in := fieldIter{b: it.bytes(), msg: "TopkPromptLogprobs"}
			for in.next() {
				switch in.num {
				case 1:
					ids = in.bytes()
				case 2:
					lps = in.bytes()
				case 3:
					t.K = int(uint32(in.varint()))
				case 4:
					t.PromptLength = int(uint32(in.varint()))
				default:
					in.skip()
				}
			}
			if in.err != nil {
				return nil, in.err
			}
			if t.K > 0 && t.PromptLength > 0 {
				if uint64(t.K)*uint64(t.PromptLength) > uint64(len(ids)) {
					return nil, fmt.Errorf("TopkPromptLogprobs: %d×%d entries but only %d id bytes", t.PromptLength, t.K, len(ids))
				}
				n := t.K * t.PromptLength
				if len(ids) != 4*n || len(lps) != 4*n {
					return nil, fmt.Errorf("TopkPromptLogprobs: want %d×%d entries, have %d id bytes and %d logprob bytes", t.PromptLength, t.K, len(ids), len(lps))
				}
				t.TokenIDs, t.Logprobs = readInt32s(ids), readFloat32s(lps)
				r.TopkPromptLogprobs = &t
			}
		case 4:
			r.PromptCacheHitTokens = int32(it.varint())
		default:
			it.skip()
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	return r, nil
}
