package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Runtime is rt's handle on its state root and global settings (the
// flags every command shares): the methods are the commands.
type Runtime struct {
	Root          string // --root, absolute
	CriuPath      string // --criu
	SystemdCgroup bool   // --systemd-cgroup
	Rootless      string // --rootless: "true", "false" or "auto"
	LockWait      time.Duration
}

func (o *Runtime) lockWait() time.Duration {
	if o.LockWait > 0 {
		return o.LockWait
	}
	return DefaultLockWait
}

// Lock takes the per-container lock (see ContainerLock).
func (o *Runtime) Lock(id string) (*ContainerLock, error) {
	return LockContainer(o.Root, id, o.lockWait())
}

// Load returns the container id. A missing container is reported with
// libcontainer.ErrNotExist wrapped, whose text ("does not exist") engines
// match on.
func (o *Runtime) Load(id string) (*libcontainer.Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(o.Root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil, &notExistError{id: id}
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return c, nil
}

// notExistError names the missing container and still matches
// libcontainer.ErrNotExist with errors.Is.
type notExistError struct{ id string }

func (e *notExistError) Error() string { return "container " + e.id + " does not exist" }
func (e *notExistError) Unwrap() error { return libcontainer.ErrNotExist }

// IsNotExist reports whether err means the container does not exist.
func IsNotExist(err error) bool {
	return errors.Is(err, libcontainer.ErrNotExist)
}

// CreateOptions are the per-command settings that shape a new container.
type CreateOptions struct {
	NoPivotRoot  bool
	NoNewKeyring bool
}

// rootlessCgroups decides whether cgroup permission errors are tolerated.
func (o *Runtime) rootlessCgroups() (bool, error) {
	switch strings.ToLower(o.Rootless) {
	case "", "auto":
	default:
		b, err := strconv.ParseBool(o.Rootless)
		if err != nil {
			return false, fmt.Errorf("invalid --rootless value %q: use true, false or auto", o.Rootless)
		}
		return b, nil
	}
	if os.Geteuid() != 0 {
		return true, nil
	}
	return userns.RunningInUserNS(), nil
}

// Create turns spec into a libcontainer configuration and registers the
// container under the root. The caller holds the container lock. On error
// nothing is left in the root.
func (o *Runtime) Create(id string, spec *specs.Spec, co CreateOptions) (*libcontainer.Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	rootlessCg, err := o.rootlessCgroups()
	if err != nil {
		return nil, err
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       id,
		UseSystemdCgroup: o.SystemdCgroup,
		NoPivotRoot:      co.NoPivotRoot,
		NoNewKeyring:     co.NoNewKeyring,
		Spec:             spec,
		RootlessEUID:     os.Geteuid() != 0,
		RootlessCgroups:  rootlessCg,
	})
	if err != nil {
		return nil, err
	}
	normalizeDevices(config)
	if err := ensureRoot(o.Root); err != nil {
		return nil, err
	}
	c, err := libcontainer.Create(o.Root, id, config)
	if err != nil {
		if errors.Is(err, libcontainer.ErrExist) {
			return nil, fmt.Errorf("container %s already exists", id)
		}
		return nil, err
	}
	// libcontainer makes the state directory 0711; nothing outside root
	// needs to traverse it (the init opens its exec fifo through an
	// inherited fd), and state names processes and checkpoint paths.
	if err := os.Chmod(o.StateDir(id), 0o700); err != nil {
		_ = c.Destroy()
		return nil, err
	}
	return c, nil
}

// StateDir is where libcontainer keeps the state of container id.
func (o *Runtime) StateDir(id string) string {
	return filepath.Join(o.Root, id)
}

// Delete removes container id. Without force only a stopped or created
// container is deleted; with force a running one is killed first. A
// missing container is an error unless force is set, as in runc, because
// containerd's shim runs "delete --force" after the container is gone.
func (o *Runtime) Delete(id string, force bool) error {
	lock, err := o.Lock(id)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// Before anything may remove the state directory recursively.
	if err := releaseCriuRoot(o.StateDir(id)); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	c, err := o.Load(id)
	if err != nil {
		if IsNotExist(err) {
			// A half-created state dir (crash during create) has no
			// state.json: remove it so the ID can be used again.
			_ = os.RemoveAll(o.StateDir(id))
			if force {
				return nil
			}
		}
		return err
	}
	if force {
		err = killAndDestroy(c)
	} else {
		var st libcontainer.Status
		st, err = c.Status()
		if err != nil {
			return err
		}
		switch st {
		case libcontainer.Stopped:
			err = c.Destroy()
		case libcontainer.Created:
			err = killAndDestroy(c)
		default:
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
		}
	}
	return err
}

// killAndDestroy sends SIGKILL to the container and destroys it once its
// init is gone (up to 10 s).
func killAndDestroy(c *libcontainer.Container) error {
	_ = c.Signal(unix.SIGKILL)
	for range 100 {
		if err := c.Signal(unix.Signal(0)); err != nil {
			return c.Destroy()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("container %s: init still running 10s after SIGKILL", c.ID())
}
