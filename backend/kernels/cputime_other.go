//go:build !unix

package kernels

// processCPUSeconds is not available here; CPU-time figures are reported as 0.
func processCPUSeconds() float64 { return 0 }
