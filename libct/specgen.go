package libct

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/specconv"
)

// WriteExampleSpec writes a starter config.json into bundle ("" = current
// directory), refusing to overwrite an existing one.
func WriteExampleSpec(bundle string, rootless bool) error {
	spec := specconv.Example()
	if rootless {
		specconv.ToRootless(spec)
	}
	path := filepath.Join(bundle, SpecConfig)
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("File %s exists. Remove it first", path)
		}
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
