package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// checkpointMarker is written into the container's state directory while
// a checkpoint runs, holding the status the container had before. If the
// checkpointing rt dies (SIGKILL, OOM, a crashed host process), CRIU may
// leave the container's cgroup frozen; the next rt command that takes the
// container's lock finds the marker and undoes that.
const checkpointMarker = "rt-checkpoint-in-progress"

func markCheckpoint(c *libcontainer.Container, stateDir string, before libcontainer.Status) func() {
	path := filepath.Join(stateDir, checkpointMarker)
	if err := os.WriteFile(path, []byte(before.String()), 0o600); err != nil {
		logrus.Warnf("container %s: %v", c.ID(), err)
	}
	return func() { _ = os.Remove(path) }
}

// recoverInterruptedCheckpoint runs with the container's lock held, so the
// rt that wrote the marker is gone.
func recoverInterruptedCheckpoint(c *libcontainer.Container, stateDir string) {
	path := filepath.Join(stateDir, checkpointMarker)
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	before := string(data)
	if now, err := c.Status(); err == nil && now == libcontainer.Paused && before == libcontainer.Running.String() {
		if err := c.Resume(); err != nil {
			logrus.Errorf("container %s: an interrupted checkpoint left it frozen and it could not be thawed: %v", c.ID(), err)
			return
		}
		logrus.Warnf("container %s: thawed after an interrupted checkpoint", c.ID())
	}
	_ = os.Remove(path)
}

// criuRootDir is where libcontainer bind-mounts the container's rootfs
// while CRIU restores it (CRIU needs its root to be a mount point). If the
// restoring rt is killed, the bind mount outlives it.
const criuRootDir = "criu-root"

// releaseCriuRoot unmounts a bind mount left at <stateDir>/criu-root by an
// interrupted restore and removes the directory. It must run before the
// state directory is removed: removing it recursively with the mount in
// place would delete the files of the container's rootfs through it.
func releaseCriuRoot(stateDir string) error {
	dir := filepath.Join(stateDir, criuRootDir)
	for range 16 { // stacked mounts, one per interrupted restore at most
		err := unix.Unmount(dir, unix.MNT_DETACH)
		if err == nil {
			continue
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break // not (or no longer) a mount point
		}
		return fmt.Errorf("unmount %s left by an interrupted restore: %w", dir, err)
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s left by an interrupted restore: %w", dir, err)
	}
	return nil
}
