// Package stdlib embeds tkx's Starlark standard library: the training loops
// (supervised, RL, DPO, distillation) that recipes load as "@stdlib/….star".
// They are Starlark so that researchers can read and fork them.
package stdlib

import "embed"

// FS holds every .star file of the library.
//
//go:embed *.star
var FS embed.FS
