// Package fsutil holds small file-system helpers shared by rt's packages.
package fsutil

import (
	"errors"
	"os"
)

// UnwrapPathError drops the *os.PathError wrapper when the caller already
// names the path, so that messages do not repeat it.
func UnwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
