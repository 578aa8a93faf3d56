package dataitem

import (
	"errors"
	"fmt"
)

// FormatError says which part of an item or bundle is malformed and how.
type FormatError struct {
	Field  string // e.g. "signature type", "tags", "anchor", "bundle header"
	Reason string
}

func (e *FormatError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

// ErrBadSignature is returned by Verify when the structure is valid but the signature does not match.
var ErrBadSignature = errors.New("signature does not verify")

// ErrUnsigned is returned when an item that must be signed has no signature yet.
var ErrUnsigned = errors.New("item is not signed")
