package ckpt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rt-runtime/rt/libct/internal/fsutil"
	"golang.org/x/sys/unix"
)

// CRIU's log files, as libcontainer names them: in the work directory, or
// beside the images when there is none. They are not part of the image.
const (
	DumpLog    = "dump.log"
	RestoreLog = "restore.log"
)

// inventoryFile is the CRIU image file written at the end of a dump; an
// image directory without it does not hold a complete checkpoint.
const inventoryFile = "inventory.img"

// HasCheckpoint reports whether dir holds a complete checkpoint image:
// one with rt's manifest, or one made without rt (runc) that has CRIU's
// inventory.
func HasCheckpoint(dir string) bool {
	for _, f := range []string{ManifestFile, inventoryFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// CheckRestorable refuses, before anything is created, an image directory
// that cannot be restored from.
func CheckRestorable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("image path %s: %w", dir, fsutil.UnwrapPathError(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("image path %s is not a directory", dir)
	}
	if !HasCheckpoint(dir) {
		return fmt.Errorf("image path %s holds no complete checkpoint (neither %s nor %s)", dir, ManifestFile, inventoryFile)
	}
	return nil
}

// Stage is where a dump is written before it is published at its
// final path: a sibling directory, so relative --parent-path links and
// CRIU's "parent" symlink resolve the same from both places, and the
// final rename stays on one filesystem.
type Stage struct {
	final string
	dir   string
	// lock is the staging directory itself, flocked while this rt works
	// on it: a stage whose lock can be taken was left by a dead rt.
	lock *os.File
}

const stageInfix = ".rt-partial-"

// Dir is the staging directory: where CRIU writes the dump.
func (s *Stage) Dir() string { return s.dir }

// removeStaleStages deletes staging directories for final that no live
// rt holds: what a checkpoint killed with SIGKILL leaves behind.
func removeStaleStages(final string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+stageInfix+"*"))
	for _, dir := range matches {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			_ = os.RemoveAll(dir)
		}
		f.Close()
	}
}

// NewStage checks the final image path and creates the staging dir.
// An existing complete checkpoint at the final path is never overwritten.
func NewStage(final string) (*Stage, error) {
	if fi, err := os.Stat(final); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("image path %s exists and is not a directory", final)
	}
	if HasCheckpoint(final) {
		return nil, fmt.Errorf("image path %s already holds a checkpoint: remove it or choose another --image-path", final)
	}
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("image path %s: %w", final, fsutil.UnwrapPathError(err))
	}
	removeStaleStages(final)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	dir := filepath.Join(parent, "."+filepath.Base(final)+stageInfix+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("image path %s: cannot create staging directory: %w", final, fsutil.UnwrapPathError(err))
	}
	lock, err := os.Open(dir)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return nil, fmt.Errorf("image path %s: cannot lock staging directory: %w", final, err)
	}
	return &Stage{final: final, dir: dir, lock: lock}, nil
}

func (s *Stage) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// publish moves the staged images to the final path. When the final
// directory does not exist or is empty this is one rename; otherwise
// (for example a containerd-made directory with a work subdirectory) the
// files are moved one by one, inventory.img and the manifest last, so the
// directory only looks complete once it is.
func (s *Stage) Publish() error {
	defer s.unlock()
	// Another checkpoint may have published here meanwhile.
	if HasCheckpoint(s.final) {
		return fmt.Errorf("image path %s already holds a checkpoint: remove it or choose another --image-path", s.final)
	}
	if err := os.Remove(s.final); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Not empty (ENOTEMPTY/EEXIST): merge.
		return s.merge()
	}
	if err := os.Rename(s.dir, s.final); err != nil {
		return fmt.Errorf("publish checkpoint at %s: %w", s.final, err)
	}
	return os.Chmod(s.final, 0o700)
}

func (s *Stage) merge() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Name() != inventoryFile && e.Name() != ManifestFile {
			names = append(names, e.Name())
		}
	}
	for _, n := range append(names, inventoryFile, ManifestFile) {
		err := os.Rename(filepath.Join(s.dir, n), filepath.Join(s.final, n))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("publish checkpoint at %s: %w", s.final, err)
		}
	}
	return os.Remove(s.dir)
}

// keep renames the stage to a visible name that stale-stage cleanup does
// not touch, and returns it.
func (s *Stage) Keep() string {
	defer s.unlock()
	suffix := s.dir[strings.LastIndex(s.dir, stageInfix)+len(stageInfix):]
	kept := s.final + ".rt-unpublished-" + suffix
	if err := os.Rename(s.dir, kept); err != nil {
		return s.dir
	}
	return kept
}

// discard removes the staged images. A CRIU log in them is kept, moved to
// logDest, so the failure can be examined.
func (s *Stage) Discard(logName, logDest string) {
	defer s.unlock()
	if logDest != "" {
		if err := os.MkdirAll(filepath.Dir(logDest), 0o700); err == nil {
			_ = os.Rename(filepath.Join(s.dir, logName), logDest)
		}
	}
	_ = os.RemoveAll(s.dir)
}

// Verdict says whether a checkpoint can be restored on this host.
type Verdict struct {
	Dir      string
	Complete bool      // a checkpoint is there (manifest or CRIU inventory)
	Manifest *Manifest // nil when there is none (images made by runc)
	// Problems are why it cannot be restored, the most basic first;
	// none when it can.
	Problems []error
}

// Restorable reports whether v says the checkpoint can be restored.
func (v Verdict) Restorable() bool { return v.Complete && len(v.Problems) == 0 }

// Err is the first problem, nil when the checkpoint can be restored.
func (v Verdict) Err() error {
	if len(v.Problems) > 0 {
		return v.Problems[0]
	}
	return nil
}

// CheckImage says, without running CRIU, whether the checkpoint in dir can
// be restored on a host described by here: it is complete, its manifest is
// readable, it is a dump (not a pre-dump), every file is intact, and the
// host has what the processes were using. Restore, "rt check --image" and
// inspect-checkpoint all judge an image by this. known holds ManifestDigest
// sums of files already read (by Import); the others are read now. Whether
// the target bundle fits is the restore's own check.
func CheckImage(dir string, here HostInfo, known map[string]string) Verdict {
	v := Verdict{Dir: dir}
	if err := CheckRestorable(dir); err != nil {
		v.Problems = append(v.Problems, err)
		return v
	}
	v.Complete = true
	m, err := ReadManifest(dir)
	if err != nil {
		v.Problems = append(v.Problems, fmt.Errorf("image path %s: %w", dir, err))
		return v
	}
	if m == nil {
		return v // runc's images: nothing more to judge before CRIU
	}
	v.Manifest = m
	if m.Kind == KindPreDump {
		v.Problems = append(v.Problems, fmt.Errorf("image path %s holds a pre-dump: restore from the dump that names it with --parent-path", dir))
	}
	if err := m.VerifyImported(dir, known); err != nil {
		v.Problems = append(v.Problems, err)
	}
	if len(m.PreCopy) > 0 {
		if err := CheckChain(dir); err != nil {
			v.Problems = append(v.Problems, err)
		}
	}
	if b := RestoreBlockers(m.Host, here); len(b) > 0 {
		v.Problems = append(v.Problems, fmt.Errorf("checkpoint in %s cannot be restored on this host:%s", dir, JoinDifferences(b)))
	}
	return v
}
