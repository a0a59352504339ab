package kernels

//go:generate go run asmgen.go
