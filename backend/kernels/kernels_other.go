//go:build !amd64 || purego

package kernels

// registerAsm: no assembly kernels on this platform; the generic path is used.
func registerAsm() {}
