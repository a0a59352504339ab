package protocol

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Chunk types of a ModelInput.
const (
	ChunkEncodedText       = "encoded_text"
	ChunkImage             = "image"
	ChunkImageAssetPointer = "image_asset_pointer" // JSON only; not in the protobuf
	ChunkDmel              = "dmel"
)

// Chunk is one piece of a ModelInput, discriminated by Type:
//
//	encoded_text:        Tokens
//	image:               Data (raw image bytes; base64 in JSON), Format ("png"|"jpeg"), ExpectedTokens
//	image_asset_pointer: Format, Location, ExpectedTokens
//	dmel:                Dmel (a TensorContainer; base64 in JSON)
type Chunk struct {
	Type           string `json:"type"`
	Tokens         []int32
	Data           []byte
	Format         string
	Location       string
	ExpectedTokens *int32
	Dmel           []byte
}

// TextChunk is an encoded_text chunk.
func TextChunk(tokens []int32) Chunk { return Chunk{Type: ChunkEncodedText, Tokens: tokens} }

// Length is the number of model positions the chunk occupies: the token
// count, an image's expected_tokens, or a dmel's leading dimension.
func (c *Chunk) Length() (int, error) {
	switch c.Type {
	case ChunkEncodedText:
		return len(c.Tokens), nil
	case ChunkImage, ChunkImageAssetPointer:
		if c.ExpectedTokens == nil {
			return 0, fmt.Errorf("%s chunk without expected_tokens has no known length", c.Type)
		}
		if *c.ExpectedTokens < 0 {
			return 0, fmt.Errorf("%s chunk: expected_tokens = %d is negative", c.Type, *c.ExpectedTokens)
		}
		return int(*c.ExpectedTokens), nil
	case ChunkDmel:
		return DmelLength(c.Dmel)
	}
	return 0, fmt.Errorf("unknown chunk type %q", c.Type)
}

// DmelLength reads the leading dimension of a dmel TensorContainer header:
// an optional marker byte 254, a dtype byte (0–7), a varint ndim, then
// varint dims.
func DmelLength(b []byte) (int, error) {
	if len(b) > 0 && b[0] == 254 {
		b = b[1:]
	}
	if len(b) < 1 || b[0] > 7 {
		return 0, fmt.Errorf("dmel: bad dtype byte")
	}
	b = b[1:]
	ndim, n := binary.Uvarint(b)
	if n <= 0 || ndim == 0 {
		return 0, fmt.Errorf("dmel: bad ndim")
	}
	dim, m := binary.Uvarint(b[n:])
	if m <= 0 || dim > 1<<31 {
		return 0, fmt.Errorf("dmel: bad dims")
	}
	return int(dim), nil
}

type chunkJSON struct {
	Type           string  `json:"type"`
	Tokens         []int32 `json:"tokens,omitempty"`
	Data           []byte  `json:"data,omitempty"`
	Format         string  `json:"format,omitempty"`
	Location       string  `json:"location,omitempty"`
	ExpectedTokens *int32  `json:"expected_tokens,omitempty"`
	Dmel           []byte  `json:"dmel,omitempty"`
}

// MarshalJSON writes the chunk with its "type" discriminator. An
// encoded_text chunk always carries "tokens" (possibly []).
func (c Chunk) MarshalJSON() ([]byte, error) {
	switch c.Type {
	case ChunkEncodedText, "":
		toks := c.Tokens
		if toks == nil {
			toks = []int32{}
		}
		return json.Marshal(struct {
			Tokens []int32 `json:"tokens"`
			Type   string  `json:"type"`
		}{toks, ChunkEncodedText})
	case ChunkImage, ChunkImageAssetPointer, ChunkDmel:
		return json.Marshal(chunkJSON(c))
	}
	return nil, fmt.Errorf("unknown chunk type %q", c.Type)
}

// UnmarshalJSON reads a chunk; a missing type means encoded_text.
func (c *Chunk) UnmarshalJSON(b []byte) error {
	var j chunkJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Type == "" {
		j.Type = ChunkEncodedText
	}
	switch j.Type {
	case ChunkEncodedText, ChunkImage, ChunkImageAssetPointer, ChunkDmel:
	default:
		return fmt.Errorf("unknown chunk type %q", j.Type)
	}
	*c = Chunk(j)
	return nil
}

// ModelInput is the model's input sequence: {"chunks":[…]}.
type ModelInput struct {
	Chunks []Chunk `json:"chunks"`
}

// FromTokens builds a ModelInput of one encoded_text chunk.
func FromTokens(tokens []int32) ModelInput {
	return ModelInput{Chunks: []Chunk{TextChunk(tokens)}}
}

// Length is the total number of positions, summed over chunks.
func (m *ModelInput) Length() (int, error) {
	n := 0
	for i := range m.Chunks {
		l, err := m.Chunks[i].Length()
		if err != nil {
			return 0, fmt.Errorf("chunk %d: %w", i, err)
		}
		n += l
	}
	return n, nil
}

// Tokens concatenates the tokens of all encoded_text chunks, and fails if
// the input holds any other chunk type.
func (m *ModelInput) Tokens() ([]int32, error) {
	n := 0
	for i := range m.Chunks {
		if m.Chunks[i].Type != ChunkEncodedText && m.Chunks[i].Type != "" {
			return nil, fmt.Errorf("chunk %d is %s, not encoded_text", i, m.Chunks[i].Type)
		}
		n += len(m.Chunks[i].Tokens)
	}
	out := make([]int32, 0, n)
	for i := range m.Chunks {
		out = append(out, m.Chunks[i].Tokens...)
	}
	return out, nil
}

// MarshalJSON always writes "chunks" as a list.
func (m ModelInput) MarshalJSON() ([]byte, error) {
	ch := m.Chunks
	if ch == nil {
		ch = []Chunk{}
	}
	return json.Marshal(struct {
		Chunks []Chunk `json:"chunks"`
	}{ch})
}

// Datum is one training example: {"model_input", "loss_fn_inputs"}.
type Datum struct {
	ModelInput   ModelInput            `json:"model_input"`
	LossFnInputs map[string]TensorData `json:"loss_fn_inputs"`
}
