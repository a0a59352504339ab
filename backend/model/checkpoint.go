package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// Checkpoints are safetensors files: an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}
// padded with spaces to a multiple of 8, then the raw little-endian tensor
// data in sorted name order. Writing is deterministic (sorted keys, fixed
// order), so equal states give equal bytes.
//
// A training checkpoint holds the base weights (HF Llama names such as
// "model.layers.0.self_attn.q_proj.weight"), the LoRA adapters
// ("<module>.lora_A.weight", "<module>.lora_B.weight") and, with the
// optimizer, "optimizer.exp_avg.<param>" / "optimizer.exp_avg_sq.<param>".
// Metadata: format=tkx, config (JSON), lora (JSON or empty), step.
// Gradients accumulated since the last optim_step are not saved.

type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

type stTensor struct {
	name  string
	shape []int
	f32   []float32
	f64   []float64
}

func writeSafetensors(w io.Writer, meta map[string]string, ts []stTensor) error {
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	off := 0
	for i, t := range ts {
		if i > 0 && ts[i-1].name == t.name {
			return fmt.Errorf("safetensors: duplicate tensor %q", t.name)
		}
		e := stEntry{DType: "F32", Shape: t.shape}
		size := 4 * len(t.f32)
		if t.f64 != nil {
			e.DType, size = "F64", 8*len(t.f64)
		}
		e.Offsets = [2]int{off, off + size}
		off += size
		header[t.name] = e
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(hb)))
	if _, err := w.Write(lenb[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, t := range ts {
		for _, v := range t.f32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) >= 1<<16 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for _, v := range t.f64 {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			if len(buf) >= 1<<16 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// safetensors is a parsed file.
type safetensors struct {
	meta    map[string]string
	entries map[string]stEntry
	data    []byte
}

func readSafetensors(raw []byte) (*safetensors, error) {
	if len(raw) < 8 {
		return nil, fmt.Errorf("safetensors: file too short (%d bytes)", len(raw))
	}
	hl := binary.LittleEndian.Uint64(raw[:8])
	if hl > uint64(len(raw)-8) || hl > 100<<20 {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the file size %d", hl, len(raw))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &header); err != nil {
		return nil, fmt.Errorf("safetensors: bad header: %v", err)
	}
	st := &safetensors{entries: map[string]stEntry{}, data: raw[8+hl:]}
	for k, v := range header {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &st.meta); err != nil {
				return nil, fmt.Errorf("safetensors: bad __metadata__: %v", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %v", k, err)
		}
		n := 1
		for _, s := range e.Shape {
			if s < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative shape", k)
			}
			n *= s
		}
		es := map[string]int{"F32": 4, "F64": 8, "BF16": 2, "F16": 2}[e.DType]
		if es == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", k, e.DType)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] > len(st.data) || e.Offsets[1]-e.Offsets[0] != n*es {
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets %v do not match shape %v (%s) in %d data bytes", k, e.Offsets, e.Shape, e.DType, len(st.data))
		}
		st.entries[k] = e
	}
	return st, nil
}

// load copies a tensor into dst, converting the stored dtype.
func stLoad[T Float](st *safetensors, name string, shape []int, dst []T) error {
	e, ok := st.entries[name]
	if !ok {
		return fmt.Errorf("checkpoint: tensor %q is missing", name)
	}
	if fmt.Sprint(e.Shape) != fmt.Sprint(shape) {
		return fmt.Errorf("checkpoint: tensor %q has shape %v, want %v", name, e.Shape, shape)
	}
	b := st.data[e.Offsets[0]:e.Offsets[1]]
	for i := range dst {
		var v float64
		switch e.DType {
		case "F32":
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		case "F64":
			v = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		case "BF16":
			v = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		case "F16":
			v = float64(halfToFloat(binary.LittleEndian.Uint16(b[2*i:])))
		}
		dst[i] = T(v)
	}
	return nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		f := float32(mant) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

func tensorOf[T Float](name string, shape []int, data []T) stTensor {
	t := stTensor{name: name, shape: shape}
	switch d := any(data).(type) {
	case []float32:
		t.f32 = d
	case []float64:
		t.f64 = d
	}
	return t
}

// Save writes the weights (base and adapters) and, when withOptimizer, the
// AdamW moments and step count.
func (n *Net[T]) Save(w io.Writer, withOptimizer bool) error {
	cfgJSON, _ := json.Marshal(n.Cfg)
	meta := map[string]string{"format": "tkx", "config": string(cfgJSON), "step": strconv.FormatInt(n.step, 10),
		"optimizer": strconv.FormatBool(withOptimizer)}
	if n.lora != nil {
		lj, _ := json.Marshal(n.lora)
		meta["lora"] = string(lj)
	}
	var ts []stTensor
	for _, t := range n.baseTensors() {
		ts = append(ts, tensorOf(t.name, t.shape, t.data))
	}
	for _, p := range n.params {
		if n.lora != nil {
			ts = append(ts, tensorOf(p.name, p.shape, p.data))
		}
		if withOptimizer {
			ts = append(ts, tensorOf("optimizer.exp_avg."+p.name, p.shape, p.m))
			ts = append(ts, tensorOf("optimizer.exp_avg_sq."+p.name, p.shape, p.v))
		}
	}
	return writeSafetensors(w, meta, ts)
}

// SaveBytes is Save into memory.
func (n *Net[T]) SaveBytes(withOptimizer bool) ([]byte, error) {
	var b bytes.Buffer
	err := n.Save(&b, withOptimizer)
	return b.Bytes(), err
}

// Load reads a checkpoint written by Save. Optimizer state is restored when
// present; otherwise it starts fresh (step 0).
func Load[T Float](raw []byte) (*Net[T], error) {
	st, err := readSafetensors(raw)
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := json.Unmarshal([]byte(st.meta["config"]), &cfg); err != nil {
		return nil, fmt.Errorf("checkpoint: metadata.config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	var lora *LoraConfig
	if s := st.meta["lora"]; s != "" {
		lora = &LoraConfig{}
		if err := json.Unmarshal([]byte(s), lora); err != nil {
			return nil, fmt.Errorf("checkpoint: metadata.lora: %v", err)
		}
		if err := lora.Validate(); err != nil {
			return nil, fmt.Errorf("checkpoint: %v", err)
		}
	}
	n := alloc[T](cfg)
	for _, t := range n.baseTensors() {
		if err := stLoad(st, t.name, t.shape, t.data); err != nil {
			return nil, err
		}
	}
	n.setTraining(lora)
	hasOpt := st.meta["optimizer"] == "true"
	for _, p := range n.params {
		if lora != nil {
			if err := stLoad(st, p.name, p.shape, p.data); err != nil {
				return nil, err
			}
		}
		if hasOpt {
			if err := stLoad(st, "optimizer.exp_avg."+p.name, p.shape, p.m); err != nil {
				return nil, err
			}
			if err := stLoad(st, "optimizer.exp_avg_sq."+p.name, p.shape, p.v); err != nil {
				return nil, err
			}
		}
	}
	if hasOpt {
		step, err := strconv.ParseInt(st.meta["step"], 10, 64)
		if err != nil || step < 0 {
			return nil, fmt.Errorf("checkpoint: metadata.step %q is not a step count", st.meta["step"])
		}
		n.step = step
	}
	for _, l := range n.linears() {
		l.merge()
	}
	return n, nil
}

// LoadBase reads only the base weights of a checkpoint (adapters and
// optimizer state are ignored) and sets the network up for full training.
func LoadBase[T Float](raw []byte) (*Net[T], error) {
	n, err := Load[T](raw)
	if err != nil {
		return nil, err
	}
	if n.lora != nil || n.step != 0 {
		return n.NewLoRA(nil)
	}
	return n, nil
}

// AdapterConfig is the PEFT adapter_config.json of the model's adapters.
func (n *Net[T]) AdapterConfig() ([]byte, error) {
	if n.lora == nil {
		return nil, fmt.Errorf("model %q has no LoRA adapters", n.Cfg.Name)
	}
	var targets []string
	if n.lora.TrainAttn {
		targets = append(targets, "q_proj", "k_proj", "v_proj", "o_proj")
	}
	if n.lora.TrainMLP {
		targets = append(targets, "gate_proj", "up_proj", "down_proj")
	}
	if n.lora.TrainUnembed {
		targets = append(targets, "lm_head")
	}
	cfg := map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": n.Cfg.Name,
		"r": n.lora.Rank, "lora_alpha": n.lora.alpha(), "lora_dropout": 0.0, "bias": "none",
		"target_modules": targets, "fan_in_fan_out": false, "inference_mode": true,
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// ExportAdapter writes adapter_model.safetensors (PEFT names
// "base_model.model.<module>.lora_A.weight", float32).
func (n *Net[T]) ExportAdapter(w io.Writer) error {
	if n.lora == nil {
		return fmt.Errorf("model %q has no LoRA adapters", n.Cfg.Name)
	}
	var ts []stTensor
	for _, p := range n.params {
		d := make([]float32, len(p.data))
		for i, v := range p.data {
			d[i] = float32(v)
		}
		ts = append(ts, stTensor{name: "base_model.model." + p.name, shape: p.shape, f32: d})
	}
	return writeSafetensors(w, map[string]string{"format": "pt"}, ts)
}
