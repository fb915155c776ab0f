package libct

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
)

// CRIU log file names, as libcontainer names them.
const (
	dumpLog    = "dump.log"
	restoreLog = "restore.log"
)

// lookPathAbs finds an executable like a shell does and makes it absolute.
func lookPathAbs(p string) (string, error) {
	abs, err := exec.LookPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(abs)
}

// Checkpoint dumps container id with CRIU into cr.ImagePath.
//
// The dump is written to a staging directory and published only when CRIU
// succeeded, so a failed checkpoint never leaves an image that looks
// complete, and an existing checkpoint is never overwritten. If the dump
// fails, the container is left as it was: running, or paused if it was
// paused before. Unless the container is left running (or this is a
// pre-dump) it is destroyed after a successful dump, as with runc.
func (o *Options) Checkpoint(id string, cr CROptions) error {
	if os.Geteuid() != 0 {
		logrus.Warn("rt checkpoint is untested with rootless containers")
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return err
	}
	if err := checkParentPath(opts.ImagesDirectory, opts.ParentImage); err != nil {
		return err
	}
	if opts.WorkDirectory != "" {
		if err := os.MkdirAll(opts.WorkDirectory, 0o700); err != nil {
			return fmt.Errorf("work path %s: %w", opts.WorkDirectory, unwrapPathError(err))
		}
	}
	cleanup, err := UseCriu(o.CriuPath)
	if err != nil {
		return err
	}
	defer cleanup()
	return o.withContainer(id, func(c *libcontainer.Container) error {
		st, err := c.Status()
		if err != nil {
			return err
		}
		if st == libcontainer.Created || st == libcontainer.Stopped {
			return fmt.Errorf("container %s cannot be checkpointed in %s state", id, st)
		}
		return checkpointLocked(c, st, opts)
	})
}

func checkpointLocked(c *libcontainer.Container, before libcontainer.Status, opts *libcontainer.CriuOpts) error {
	id := c.ID()
	final := opts.ImagesDirectory
	// Lazy pages and page-server dumps are read by their peer while CRIU
	// still runs, so they cannot be staged.
	staged := !opts.LazyPages && opts.PageServer.Address == ""
	var stage *imageStage
	if staged {
		var err error
		if stage, err = newImageStage(final); err != nil {
			return err
		}
		opts.ImagesDirectory = stage.dir
	} else {
		if HasCheckpoint(final) {
			return fmt.Errorf("image path %s already holds a checkpoint: remove it or choose another --image-path", final)
		}
		if err := os.MkdirAll(final, 0o700); err != nil {
			return fmt.Errorf("image path %s: %w", final, unwrapPathError(err))
		}
	}
	logPath := filepath.Join(opts.ImagesDirectory, dumpLog)
	if opts.WorkDirectory != "" {
		logPath = filepath.Join(opts.WorkDirectory, dumpLog)
	}

	err := c.Checkpoint(opts)
	if err != nil {
		report := ReadCriuLog(logPath)
		if staged {
			keep := ""
			if opts.WorkDirectory == "" {
				keep = filepath.Join(final, dumpLog)
				report.Path = keep
			}
			stage.discard(dumpLog, keep)
		}
		restoreRunState(c, before)
		return &criuError{op: "checkpoint", id: id, err: err, report: report}
	}
	if staged {
		if err := stage.publish(); err != nil {
			stage.discard("", "")
			restoreRunState(c, before)
			return fmt.Errorf("checkpoint %s: %w", id, err)
		}
	}
	if !opts.LeaveRunning && !opts.PreDump {
		if err := c.Destroy(); err != nil {
			logrus.Warn(err)
		}
	}
	return nil
}

// restoreRunState undoes what a failed dump may have left: a container
// that was running must not stay frozen.
func restoreRunState(c *libcontainer.Container, before libcontainer.Status) {
	now, err := c.Status()
	if err != nil {
		logrus.Warnf("container %s: status after failed checkpoint: %v", c.ID(), err)
		return
	}
	if before == libcontainer.Running && now == libcontainer.Paused {
		if err := c.Resume(); err != nil {
			logrus.Errorf("container %s was left frozen by the failed checkpoint and could not be thawed: %v", c.ID(), err)
		}
	}
}

// Restore creates container req.ID from its bundle and restores its
// processes from the checkpoint in cr.ImagePath. The ID and bundle may
// differ from the checkpointed container's. If anything fails, nothing of
// the new container is left under the root.
func (o *Options) Restore(req StartRequest, cr CROptions) (int, error) {
	if os.Geteuid() != 0 {
		logrus.Warn("rt restore is untested with rootless containers")
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return -1, err
	}
	if err := checkRestorable(opts.ImagesDirectory); err != nil {
		return -1, fmt.Errorf("restore %s: %w", req.ID, err)
	}
	if opts.WorkDirectory != "" {
		if err := os.MkdirAll(opts.WorkDirectory, 0o700); err != nil {
			return -1, fmt.Errorf("work path %s: %w", opts.WorkDirectory, unwrapPathError(err))
		}
	}
	cleanup, err := UseCriu(o.CriuPath)
	if err != nil {
		return -1, err
	}
	defer cleanup()
	req.Action = ActRestore
	req.CriuOpts = opts
	status, err := o.StartContainer(req)
	if err != nil && isCriuFailure(err) {
		logDir := opts.ImagesDirectory
		if opts.WorkDirectory != "" {
			logDir = opts.WorkDirectory
		}
		err = &criuError{op: "restore", id: req.ID, err: err, report: ReadCriuLog(filepath.Join(logDir, restoreLog))}
	}
	return status, err
}

// isCriuFailure tells CRIU's own failures from rt's checks that ran
// before CRIU, which need no log quoting.
func isCriuFailure(err error) bool {
	var ce *criuError
	if errors.As(err, &ce) {
		return false
	}
	return containsAny(err.Error(), []string{"criu failed", "CRIU", "criu "})
}
