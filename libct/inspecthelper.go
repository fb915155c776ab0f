package libct

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// InspectHelper is the program that decodes checkpoints for
// "rt inspect-checkpoint" (cmd/rt-inspect).
const InspectHelper = "rt-inspect"

// findInspectHelper looks for rt-inspect next to the running rt (its
// symlinks resolved), then in PATH.
func findInspectHelper() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), InspectHelper)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(InspectHelper)
	if err != nil {
		return "", fmt.Errorf("%s not found next to rt or in PATH (make builds it; make install installs it next to rt)", InspectHelper)
	}
	return p, nil
}

// RunInspectHelper runs rt-inspect on path with rt's stdio and returns its
// exit status.
func RunInspectHelper(format, path string) (int, error) {
	helper, err := findInspectHelper()
	if err != nil {
		return -1, err
	}
	cmd := exec.Command(helper, "--format", format, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", helper, err)
	}
	return 0, nil
}
