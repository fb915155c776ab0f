package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// DefaultRoot is the state root used when --root is not given.
func DefaultRoot() string {
	return "/run/rt"
}

// PrepareRoot checks the --root value. It is made absolute so that commands
// that chdir (to the bundle) still find it; "/" is refused because deleting a
// container removes root/<id>. The directory itself is created lazily, mode
// 0700, by the first command that stores state there.
func PrepareRoot(root string, explicit bool) error {
	if !explicit {
		return nil
	}
	if root == "" {
		return errors.New("--root: empty path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("--root %s: %w", root, err)
	}
	if abs == "/" {
		return errors.New("option --root argument should not be set to /")
	}
	return nil
}

// AbsRoot returns root as an absolute path.
func AbsRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("--root %s: %w", root, err)
	}
	return abs, nil
}

// ensureRoot creates the state root (0700: state files name processes and
// checkpoint locations) and reports a failure naming the directory.
func ensureRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("cannot create state root %s: %w", root, fsutil.UnwrapPathError(err))
	}
	return nil
}
