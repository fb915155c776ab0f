package ckpt

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7"
	"github.com/sirupsen/logrus"
)

// Everything about CRIU's version: reading it from a log, asking a CRIU
// binary, remembering the answer per binary, and printing it.

// criuVersionFile, in CriuVersionDir, remembers the version of the CRIU
// binary last asked.
const criuVersionFile = "criu-version.json"

// CriuVersionDir is where criuVersionFile lives: not in --root, which
// holds containers only (a failed restore leaves nothing there), but in
// rt's own directory under /run (root) or $XDG_RUNTIME_DIR; "" when there
// is none (no record is kept).
func CriuVersionDir() string {
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

// CriuVersionCached is criuVersion, remembered in dir across runs for as
// long as the CRIU binary is the same file (device, inode, size, mtime,
// ctime). Asking CRIU costs a CRIU start, and libcontainer's Restore asks
// again for itself: without the record, rt restore would start CRIU once
// more than runc restore does (0.1-0.3 s under emulation). The record is
// a hint: any doubt (no record, another binary, an unreadable or
// unwritable dir) means asking CRIU.
func CriuVersionCached(dir, criuPath string) int {
	resolved, err := exec.LookPath(CriuName(criuPath))
	if err != nil {
		return QueryCriuVersion(criuPath)
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
		return QueryCriuVersion(criuPath)
	}
	if dir == "" {
		return QueryCriuVersion(resolved)
	}
	file := filepath.Join(dir, criuVersionFile)
	var rec criuVersionRecord
	if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &rec) == nil &&
		rec.Path == resolved && rec.Stat == st && rec.Version > 0 {
		logrus.Debugf("CRIU %s: version %d, as recorded in %s", resolved, rec.Version, file)
		return rec.Version
	}
	v := QueryCriuVersion(resolved)
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

// CriuVersionFromLog reads the version CRIU writes near the top of its
// log ("Version: 3.17.1 (gitid ...)"); 0 if there is none.
func CriuVersionFromLog(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for n := 0; n < 50 && s.Scan(); n++ {
		_, rest, ok := strings.Cut(s.Text(), "Version: ")
		if !ok {
			continue
		}
		return parseCriuVersion(strings.Fields(rest + " ")[0])
	}
	return 0
}

// parseCriuVersion turns "3.17.1" or "4.1" into go-criu's number (31701,
// 40100); 0 if it is not a version.
func parseCriuVersion(s string) int {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0
	}
	v := 0
	for i, mult := range []int{10000, 100, 1} {
		if i >= len(parts) {
			break
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n > 99 {
			return 0
		}
		v += n * mult
	}
	return v
}

func QueryCriuVersion(path string) int {
	c := criu.MakeCriu()
	if path != "" {
		c.SetCriuPath(path)
	}
	v, err := c.GetCriuVersion()
	if err != nil {
		return 0
	}
	return v
}

// CriuVersionString turns go-criu's version number (31701) into "3.17.1".
func CriuVersionString(v int) string {
	if v <= 0 {
		return "unknown"
	}
	major, minor, sub := v/10000, v/100%100, v%100
	s := strconv.Itoa(major) + "." + strconv.Itoa(minor)
	if sub > 0 {
		s += "." + strconv.Itoa(sub)
	}
	return s
}

// CriuName is the CRIU binary to run for a --criu value: "" (not given)
// is "criu" from PATH.
func CriuName(criuPath string) string {
	if criuPath == "" {
		return "criu"
	}
	return criuPath
}
