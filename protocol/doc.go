// Package protocol holds the Tinker wire protocol shared by the Go client
// (package tinker) and the local backend (package backend): one set of JSON
// request/response types, the protobuf codecs for forward_backward requests,
// ForwardBackwardOutput and SampleResponse, endpoint paths and headers, loss
// function names, the `name:reduction` metric reducer used when batches are
// chunked, and validation helpers.
//
// The wire format follows the official Python SDK (tinker 0.25); see
// /work/shared/reference/tinker-protocol.md. Conventions:
//
//   - JSON bodies omit None (Go: nil pointers / empty optional strings) but
//     always send defaults, including each request's literal "type"
//     discriminator, which MarshalJSON fills in when left empty.
//   - Types whose Python defaults are not Go zero values (AdamParams,
//     SamplingParams, LoraConfig, ClientConfigResponse) fill their defaults
//     in UnmarshalJSON, and have a Default… constructor for Go callers.
//   - Tensors keep their values in typed slices (TensorData.Float32 or
//     TensorData.Int64) so the protobuf path can copy raw little-endian
//     arrays without conversion.
//
// The protobuf messages of tinker_public (§4.2) are encoded by hand with
// google.golang.org/protobuf/encoding/protowire. Encoders emit fields in
// field-number order and map entries in sorted key order, so the output is
// deterministic and can be compared byte for byte.
package protocol
