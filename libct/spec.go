package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
	"github.com/rt-runtime/rt/libct/internal/jsonutil"
)

// SpecConfig is the name of the OCI configuration file in a bundle.
const SpecConfig = "config.json"

// LoadSpec reads and checks <bundle>/config.json. Errors name the file and,
// for JSON syntax errors, the byte offset, so a user can find the fault.
func LoadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, SpecConfig)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("JSON specification file %s not found", path)
		}
		return nil, fmt.Errorf("read %s: %w", path, fsutil.UnwrapPathError(err))
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
}

// ParseSpec decodes an OCI runtime spec and validates its process.
func ParseSpec(data []byte) (*specs.Spec, error) {
	var spec *specs.Spec
	if err := jsonutil.Decode(data, &spec); err != nil {
		return nil, err
	}
	if spec == nil {
		return nil, errors.New("config cannot be null")
	}
	if err := ValidateProcessSpec(spec.Process); err != nil {
		return nil, err
	}
	return spec, nil
}

// ParseProcess decodes a process JSON (exec --process) and validates it.
func ParseProcess(data []byte) (*specs.Process, error) {
	var p *specs.Process
	if err := jsonutil.Decode(data, &p); err != nil {
		return nil, err
	}
	if err := ValidateProcessSpec(p); err != nil {
		return nil, err
	}
	return p, nil
}

// ValidateProcessSpec checks what libcontainer would otherwise trip over
// later with a less clear message.
func ValidateProcessSpec(p *specs.Process) error {
	if p == nil {
		return errors.New("process property must not be empty")
	}
	if p.Cwd == "" {
		return errors.New("Cwd property must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return errors.New("Cwd must be an absolute path")
	}
	if len(p.Args) == 0 {
		return errors.New("args must not be empty")
	}
	if p.SelinuxLabel != "" && !selinux.GetEnabled() {
		return errors.New("selinux label is specified in config, but selinux is disabled or not supported")
	}
	return nil
}
