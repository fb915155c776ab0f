// Package jsonutil decodes the JSON rt reads from users and images with
// errors that say where the fault is.
package jsonutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Decode decodes exactly one JSON value and reports syntax and type errors
// with the offset at which they were found.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return fmt.Errorf("invalid JSON: unexpected end of data at offset %d (truncated?)", len(data))
		case errors.As(err, &se):
			return fmt.Errorf("invalid JSON at offset %d: %w", se.Offset, err)
		case errors.As(err, &te):
			return fmt.Errorf("invalid JSON at offset %d: field %q: cannot use %s as %s", te.Offset, te.Field, te.Value, te.Type)
		default:
			return fmt.Errorf("invalid JSON: %w", err)
		}
	}
	if dec.More() {
		return fmt.Errorf("invalid JSON at offset %d: unexpected data after the top-level value", dec.InputOffset())
	}
	return nil
}
