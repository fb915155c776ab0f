package libct

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
)

// lookPathAbs finds an executable like a shell does and makes it absolute.
func lookPathAbs(p string) (string, error) {
	abs, err := exec.LookPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(abs)
}

// Checkpoint dumps container id with CRIU into o.ImagePath. Unless the
// container is left running (or this is a pre-dump) it is destroyed
// afterwards, as with runc.
func (o *Options) Checkpoint(id string, cr CROptions) error {
	if os.Geteuid() != 0 {
		logrus.Warn("rt checkpoint is untested with rootless containers")
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.ImagesDirectory, 0o700); err != nil {
		return fmt.Errorf("image directory %s: %w", opts.ImagesDirectory, unwrapPathError(err))
	}
	if err := checkParentPath(opts.ImagesDirectory, opts.ParentImage); err != nil {
		return err
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
		if err := c.Checkpoint(opts); err != nil {
			return fmt.Errorf("checkpoint %s: %w", id, err)
		}
		if !opts.LeaveRunning && !opts.PreDump {
			if err := c.Destroy(); err != nil {
				logrus.Warn(err)
			}
		}
		return nil
	})
}

// Restore creates container req.ID from its bundle and restores its
// processes from the checkpoint described by cr.
func (o *Options) Restore(req StartRequest, cr CROptions) (int, error) {
	if os.Geteuid() != 0 {
		logrus.Warn("rt restore is untested with rootless containers")
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return -1, err
	}
	if _, err := os.Stat(opts.ImagesDirectory); err != nil {
		return -1, fmt.Errorf("restore %s: image directory: %w", req.ID, err)
	}
	cleanup, err := UseCriu(o.CriuPath)
	if err != nil {
		return -1, err
	}
	defer cleanup()
	req.Action = ActRestore
	req.CriuOpts = opts
	return o.StartContainer(req)
}
