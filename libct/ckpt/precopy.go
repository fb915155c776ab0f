package ckpt

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
)

// A --pre-copy checkpoint is one image directory: the final dump at its
// top, the rounds copied while the container ran below it, each a CRIU
// pre-dump whose "parent" symlink names the round before:
//
//	image/           final dump, parent -> pre-copy/3
//	image/pre-copy/1 first round: all of the memory
//	image/pre-copy/2 parent -> ../1: pages dirtied during round 1
//	image/pre-copy/3 parent -> ../2
//
// The links are relative and stay inside the image directory, so the
// directory can be moved, exported and imported whole. Every round holds a
// pre-dump manifest: a round on its own is refused as a checkpoint.

// PreCopyDir is the subdirectory of an image directory holding the rounds.
const PreCopyDir = "pre-copy"

// RoundDir is round n's directory, relative to the image directory.
func RoundDir(n int) string { return path.Join(PreCopyDir, strconv.Itoa(n)) }

// Round is what one pre-copy round did, from CRIU's statistics and rt's
// clock.
type Round struct {
	Dir          string `json:"dir"` // relative to the image directory
	PagesScanned uint64 `json:"pagesScanned"`
	PagesWritten uint64 `json:"pagesWritten"`
	FrozenTimeUs uint32 `json:"frozenTimeUs"` // CRIU's: the pre-dump freezes to collect the pages
	DurationMs   int64  `json:"durationMs"`   // the round, as rt timed it
}

// minDirtyPages: a round that wrote fewer pages (1 MiB) leaves a final
// dump as short as another round would be.
const minDirtyPages = 256

// MorePreCopy says whether another round is worth it after rounds: not
// when max rounds are done, when the last one wrote little, or when the
// dirty set stopped shrinking (by less than a tenth): the container dirties
// pages as fast as a round copies them, and a further round only repeats
// the work.
func MorePreCopy(rounds []Round, max int) bool {
	n := len(rounds)
	if n == 0 {
		return max > 0
	}
	if n >= max {
		return false
	}
	last := rounds[n-1].PagesWritten
	if last <= minDirtyPages {
		return false
	}
	if n >= 2 && last*10 >= rounds[n-2].PagesWritten*9 {
		return false
	}
	return true
}

// CheckChain verifies that every symlink in the image directory dir is a
// CRIU "parent" link that resolves, through relative paths only, to a
// directory inside dir. CRIU follows these links when it reads the memory;
// an imported archive must not make it read outside the image.
func CheckChain(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Name() != "parent" {
			return fmt.Errorf("image %s: %s is a symbolic link; only CRIU's parent links are allowed", dir, rel)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		resolved := filepath.Join(filepath.Dir(rel), target)
		if filepath.IsAbs(target) || !filepath.IsLocal(resolved) {
			return fmt.Errorf("image %s: %s points to %s, outside the image", dir, rel, target)
		}
		fi, err := os.Lstat(filepath.Join(dir, resolved))
		if err != nil || !fi.IsDir() {
			return fmt.Errorf("image %s: %s points to %s, which is not a directory of the image", dir, rel, target)
		}
		return nil
	})
}
