package libct

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
	"github.com/sirupsen/logrus"
)

// StartRequest describes create, run and restore: a new container from a
// bundle whose init process is started, or restored from a checkpoint.
type StartRequest struct {
	ID            string
	Bundle        string // empty: the current directory
	Action        Action
	Detach        bool
	Keep          bool // run: keep the container after its process exits
	NoSubreaper   bool
	PidFile       string
	ConsoleSocket string
	PidfdSocket   string
	PreserveFDs   int
	Create        CreateOptions
	// OnStarted, if set, runs once the container's process is up, with
	// its pid.
	OnStarted func(pid int)

	// Set by Restore: the CRIU operation, the container's lock (taken
	// before the restore touched anything) and the bundle's spec (read
	// once).
	criu *criuRun
	lock *ContainerLock
	spec *specs.Spec
}

// StartContainer creates container req.ID from its bundle and starts (or
// restores) its init. It returns the exit status of a foreground process.
// Whatever fails, nothing of the new container is left under the root.
func (o *Runtime) StartContainer(req StartRequest) (int, error) {
	if err := ValidateID(req.ID); err != nil {
		return -1, err
	}
	if req.PidFile != "" {
		abs, err := filepath.Abs(req.PidFile)
		if err != nil {
			return -1, err
		}
		req.PidFile = abs
	}
	// The bundle is the working directory from here on: relative paths in
	// config.json (root.path) are relative to it, and libcontainer records
	// it as the container's bundle.
	if req.Bundle != "" {
		if err := os.Chdir(req.Bundle); err != nil {
			return -1, fmt.Errorf("bundle %s: %w", req.Bundle, fsutil.UnwrapPathError(err))
		}
	}
	bundle, err := os.Getwd()
	if err != nil {
		return -1, err
	}
	spec := req.spec
	if spec == nil {
		if spec, err = LoadSpec(bundle); err != nil {
			return -1, err
		}
	}
	lock := req.lock
	if lock == nil {
		if lock, err = o.Lock(req.ID); err != nil {
			return -1, err
		}
	}
	// A failed create leaves not even the lock file behind (Unlock
	// removes it when there is no state directory).
	defer lock.Unlock()
	// A restore keeps the mounts the checkpoint recorded, so only new
	// containers get a notify socket.
	var notify *notifyRelay
	if req.Action == ActCreate || req.Action == ActRun {
		if notify = o.newNotifyRelay(req.ID); notify != nil {
			notify.addToSpec(spec)
		}
	}
	c, err := o.Create(req.ID, spec, req.Create)
	if err != nil {
		return -1, err
	}
	if notify != nil {
		// rt start binds the socket of a created container.
		err := notify.makeDir()
		if err == nil && req.Action == ActRun {
			err = notify.listen()
		}
		if err != nil {
			if derr := c.Destroy(); derr != nil {
				logrus.Warn(derr)
			}
			return -1, err
		}
		defer notify.close()
	}
	r := &Runner{
		Container:     c,
		Action:        req.Action,
		Init:          true,
		Detach:        req.Detach,
		Subreaper:     !req.NoSubreaper,
		Destroy:       !req.Keep,
		ConsoleSocket: req.ConsoleSocket,
		PidfdSocket:   req.PidfdSocket,
		PidFile:       req.PidFile,
		PreserveFDs:   req.PreserveFDs,
		ListenFDs:     ListenFDs(),
		Criu:          req.criu,
		Lock:          lock,
		Relock:        func() (*ContainerLock, error) { return o.Lock(req.ID) },
		OnStarted:     req.OnStarted,
		Notify:        notify,
	}
	return r.Run(spec.Process)
}
