package starrenderers

import (
	"go.starlark.net/starlark"

	"github.com/tkx-dev/tkx/renderers"
)

// MessagesFromStarlark reads a list of message dicts (for other builtin
// modules such as supervised and rl).
func MessagesFromStarlark(v starlark.Value, what string) ([]renderers.Message, error) {
	return messagesFromStarlark(v, what)
}

// MessageToStarlark converts a message to a Starlark dict.
func MessageToStarlark(m renderers.Message) starlark.Value { return messageToStarlark(m) }
