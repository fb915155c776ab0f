package libct

import (
	"errors"
	"fmt"
	"strings"
)

// MaxIDLength bounds container IDs: the ID names a directory under --root,
// and names longer than NAME_MAX cannot be created anyway.
const MaxIDLength = 255

// ErrEmptyID is returned when a command that needs a container ID got none.
var ErrEmptyID = errors.New("container id cannot be empty")

// ValidateID checks a container ID before it is used to build any path:
// only ASCII letters, digits and "_+-." are allowed, "." and ".." are
// refused, and the length is bounded. The error names the ID and the rule.
func ValidateID(id string) error {
	if id == "" {
		return ErrEmptyID
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("invalid container id %.32q...: longer than %d characters", id, MaxIDLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q: must not be %q", id, id)
	}
	if i := strings.IndexFunc(id, func(r rune) bool { return !validIDRune(r) }); i >= 0 {
		return fmt.Errorf("invalid container id %q: character %q at offset %d is not allowed (use letters, digits, '_', '+', '-', '.')", id, id[i], i)
	}
	return nil
}

func validIDRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r == '_', r == '+', r == '-', r == '.':
		return true
	}
	return false
}
