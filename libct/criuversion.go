package libct

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sirupsen/logrus"
)

// criuVersionFile, in criuVersionDir, remembers the version of the CRIU
// binary last asked.
const criuVersionFile = "criu-version.json"

// criuVersionDir is where criuVersionFile lives: not in --root, which
// holds containers only (a failed restore leaves nothing there), but in
// rt's own directory under /run (root) or $XDG_RUNTIME_DIR; "" when there
// is none (no record is kept).
func criuVersionDir() string {
	if os.Geteuid() == 0 {
		return "/run/rt"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "rt")
	}
	return ""
}

// criuVersionRecord is criuVersionFile's content: the version of the
// binary at Path while it is the same file (FileStat).
type criuVersionRecord struct {
	Path    string   `json:"path"`
	Stat    FileStat `json:"stat"`
	Version int      `json:"version"`
}

// criuVersionCached is criuVersion, remembered in dir across runs for as
// long as the CRIU binary is the same file (device, inode, size, mtime,
// ctime). Asking CRIU costs a CRIU start, and libcontainer's Restore asks
// again for itself: without the record, rt restore would start CRIU once
// more than runc restore does (0.1-0.3 s under emulation). The record is
// a hint: any doubt (no record, another binary, an unreadable or
// unwritable dir) means asking CRIU.
func criuVersionCached(dir, criuPath string) int {
	name := criuPath
	if name == "" {
		name = "criu"
	}
	resolved, err := exec.LookPath(name)
	if err != nil {
		return criuVersion(criuPath)
	}
	// The binary itself: --criu is reached through a symlink in a
	// temporary directory (UseCriu).
	if real, err := filepath.EvalSymlinks(resolved); err == nil {
		resolved = real
	}
	if abs, err := filepath.Abs(resolved); err == nil {
		resolved = abs
	}
	st, ok := statOf(resolved)
	if !ok {
		return criuVersion(criuPath)
	}
	if dir == "" {
		return criuVersion(resolved)
	}
	file := filepath.Join(dir, criuVersionFile)
	var rec criuVersionRecord
	if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &rec) == nil &&
		rec.Path == resolved && rec.Stat == st && rec.Version > 0 {
		logrus.Debugf("CRIU %s: version %d, as recorded in %s", resolved, rec.Version, file)
		return rec.Version
	}
	v := criuVersion(resolved)
	if v > 0 {
		if err := writeCriuVersionRecord(file, criuVersionRecord{Path: resolved, Stat: st, Version: v}); err != nil {
			logrus.Debugf("CRIU %s: version %d not recorded: %v", resolved, v, err)
		}
	}
	return v
}

// writeCriuVersionRecord replaces file with rec, atomically.
func writeCriuVersionRecord(file string, rec criuVersionRecord) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+"-")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
