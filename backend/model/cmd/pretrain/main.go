// Command pretrain makes the shipped checkpoint of tkx/local-base; see
// package backend/model/pretrain.
//
//	go run ./backend/model/cmd/pretrain            # the shipped stages
//	go run ./backend/model/cmd/pretrain -eval backend/model/pretrained/local-base.safetensors
package main

import (
	"os"

	"github.com/tkx-dev/tkx/backend/model/pretrain"
)

func main() { os.Exit(pretrain.Main(os.Args[1:], os.Stdout, os.Stderr)) }
