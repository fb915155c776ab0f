package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lockSuffix makes lock file names impossible to confuse with container
// state directories: '@' is not allowed in container IDs.
const lockSuffix = "@lock"

// DefaultLockWait is how long a command waits for another command on the
// same container before it gives up with a "busy" error. A checkpoint of a
// large container can legitimately hold the lock for a long time.
var DefaultLockWait = lockWaitFromEnv()

func lockWaitFromEnv() time.Duration {
	if s := os.Getenv("RT_LOCK_TIMEOUT"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
		if n, err := strconv.Atoi(s); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return 2 * time.Minute
}

// ErrBusy is returned when the container lock could not be taken in time.
var ErrBusy = errors.New("container is busy: another rt command is operating on it")

// ContainerLock serialises rt commands that change one container. It is a
// flock(2) on <root>/<id>@lock, so it is released by the kernel when the
// holder dies, even by SIGKILL: a crashed command never leaves a stale lock.
type ContainerLock struct {
	f    *os.File
	path string
}

// LockContainer takes the exclusive lock of container id under root,
// waiting up to wait. The root directory is created if needed.
func LockContainer(root, id string, wait time.Duration) (*ContainerLock, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := ensureRoot(root); err != nil {
		return nil, err
	}
	path := filepath.Join(root, id+lockSuffix)
	deadline := time.Now().Add(wait)
	delay := 5 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock container %s: %w", id, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			// The previous holder may have removed the file (container
			// deleted) after we opened it: then we hold a lock nobody
			// else can see, so start over on the current file.
			if sameFile(f, path) {
				return &ContainerLock{f: f, path: path}, nil
			}
			f.Close()
			continue
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock container %s: %w", id, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: %w", id, ErrBusy)
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

func sameFile(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	if err != nil {
		return false
	}
	a, ok1 := fi.Sys().(*syscall.Stat_t)
	b, ok2 := pi.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Dev == b.Dev && a.Ino == b.Ino
}

// Unlock releases the lock. When the container's state directory is gone
// by then (deleted, destroyed by a checkpoint, a create or restore that
// failed), the lock file goes too: whatever path a command took, and
// whatever failed after libcontainer removed the state (a poststop hook,
// a cgroup), nothing of a container that no longer exists stays in the
// root. Waiters notice the file changed and retry.
func (l *ContainerLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	if _, err := os.Lstat(strings.TrimSuffix(l.path, lockSuffix)); errors.Is(err, os.ErrNotExist) {
		_ = os.Remove(l.path)
	}
	l.f.Close()
	l.f = nil
}
