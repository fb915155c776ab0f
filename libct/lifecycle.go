package libct

import (
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// withContainer loads container id under its lock and calls fn.
func (o *Runtime) withContainer(id string, fn func(*libcontainer.Container) error) error {
	c, lock, err := o.lockAndLoad(id)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return fn(c)
}

// lockAndLoad takes the lock of container id and loads it. When the
// container does not exist, the lock file just created is removed again:
// a command on a missing container leaves nothing under the root.
func (o *Runtime) lockAndLoad(id string) (*libcontainer.Container, *ContainerLock, error) {
	if err := ValidateID(id); err != nil {
		return nil, nil, err
	}
	lock, err := o.Lock(id)
	if err != nil {
		return nil, nil, err
	}
	c, err := o.Load(id)
	if err != nil {
		lock.Unlock() // removes the lock file of a container that does not exist
		return nil, nil, err
	}
	recoverInterruptedCheckpoint(c, o.StateDir(id))
	return c, lock, nil
}

// Start runs the user process of a created container.
func (o *Runtime) Start(id string) error {
	// Under NOTIFY_SOCKET, start returns once the container reported
	// READY (or ended), as runc's does; the lock is not held meanwhile.
	notify := o.newNotifyRelay(id)
	pid := 0
	err := o.withContainer(id, func(c *libcontainer.Container) error {
		st, err := c.Status()
		if err != nil {
			return err
		}
		switch st {
		case libcontainer.Created:
			if notify == nil {
				return c.Exec()
			}
			if err := notify.listen(); err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
			if err := c.Exec(); err != nil {
				return err
			}
			s, err := c.State()
			if err != nil {
				return err
			}
			pid = s.InitProcessPid
			return nil
		case libcontainer.Stopped:
			return errors.New("cannot start a container that has stopped")
		case libcontainer.Running:
			return errors.New("cannot start an already running container")
		default:
			return fmt.Errorf("cannot start a container in the %s state", st)
		}
	})
	if notify == nil {
		return err
	}
	defer notify.close()
	if err != nil {
		return err
	}
	if err := notify.forward(pid, pid); err != nil {
		return fmt.Errorf("start %s: the container runs, but its READY could not be passed on: %w", id, err)
	}
	return nil
}

// Kill sends sig to the container's init, or with all to every process of
// the container. Engines map "container not running" to "process already
// finished", so that text is kept.
func (o *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	return o.withContainer(id, func(c *libcontainer.Container) error {
		var err error
		if all && sig != unix.SIGKILL {
			err = signalAll(c, sig)
		} else {
			err = c.Signal(sig)
		}
		if errors.Is(err, libcontainer.ErrNotRunning) {
			if all {
				return nil
			}
			// "container not running" verbatim: containerd maps it to
			// "process already finished".
			return fmt.Errorf("kill %s: %w", id, libcontainer.ErrNotRunning)
		}
		return err
	})
}

func signalAll(c *libcontainer.Container, sig unix.Signal) error {
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st == libcontainer.Stopped {
		return libcontainer.ErrNotRunning
	}
	pids, err := c.Processes()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			logrus.Warnf("kill %d: %v", pid, err)
		}
	}
	return nil
}

// Pause freezes all processes of the container.
func (o *Runtime) Pause(id string) error {
	return o.withContainer(id, func(c *libcontainer.Container) error {
		return c.Pause()
	})
}

// Resume thaws a paused container.
func (o *Runtime) Resume(id string) error {
	return o.withContainer(id, func(c *libcontainer.Container) error {
		return c.Resume()
	})
}

// ContainerState is the JSON of "rt state" and "rt list --format json",
// field for field runc's.
type ContainerState struct {
	Version        string            `json:"ociVersion"`
	ID             string            `json:"id"`
	InitProcessPid int               `json:"pid"`
	Status         string            `json:"status"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Owner          string            `json:"owner"`
	// LazyPages is the background copy of a --lazy restore (rt's own).
	LazyPages *ckpt.LazyStatus `json:"lazyPages,omitempty"`
}

// State returns the state of container id. It takes no lock: state files
// are replaced atomically, so a reader never sees a torn one.
func (o *Runtime) State(id string) (*ContainerState, error) {
	c, err := o.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := stateOf(c)
	if err == nil {
		s.LazyPages, _ = ckpt.ReadLazyStatus(o.StateDir(id))
	}
	return s, err
}

func stateOf(c *libcontainer.Container) (*ContainerState, error) {
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	s, err := c.State()
	if err != nil {
		return nil, err
	}
	pid := s.BaseState.InitProcessPid
	if st == libcontainer.Stopped {
		pid = 0
	}
	bundle, annotations := utils.Annotations(s.Config.Labels)
	return &ContainerState{
		Version:        s.BaseState.Config.Version,
		ID:             s.BaseState.ID,
		InitProcessPid: pid,
		Status:         st.String(),
		Bundle:         bundle,
		Rootfs:         s.BaseState.Config.Rootfs,
		Created:        s.BaseState.Created,
		Annotations:    annotations,
	}, nil
}
