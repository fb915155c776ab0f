package libct

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Action says what a Runner does with its process.
type Action int

const (
	// ActCreate starts the container's init and leaves it waiting for
	// "rt start".
	ActCreate Action = iota + 1
	// ActRun creates and starts the container (or, for exec, starts an
	// additional process).
	ActRun
	// ActRestore restores the container from a checkpoint image.
	ActRestore
)

// Runner starts one process in a container and, unless detached, waits for
// it and relays stdio and signals.
type Runner struct {
	Container     *libcontainer.Container
	Action        Action
	Init          bool // the container's init, not an exec'd process
	Detach        bool
	Subreaper     bool
	Destroy       bool // destroy the container when the process exits (run without --keep)
	ConsoleSocket string
	PidfdSocket   string
	PidFile       string
	PreserveFDs   int
	ListenFDs     []*os.File
	SubCgroups    map[string]string
	Criu          *criuRun // restore: the CRIU operation
	// Lock is released once the process has started: waiting for a
	// foreground process must not block other commands. Relock takes it
	// again to destroy the container when a foreground process ends.
	Lock   *ContainerLock
	Relock func() (*ContainerLock, error)
	// OnStarted runs once the process has started (or been restored),
	// before a foreground process is waited for.
	OnStarted func(pid int)
	// Notify, for rt run under NOTIFY_SOCKET, relays the container's
	// READY=1 to the host.
	Notify *notifyRelay
}

// Run starts the process described by spec and returns its exit status
// (0 when detached).
func (r *Runner) Run(spec *specs.Process) (status int, retErr error) {
	defer func() {
		if retErr != nil {
			r.destroy()
		}
		r.Lock.Unlock()
	}()
	detach := r.Detach || r.Action == ActCreate
	if detach && spec.Terminal && r.ConsoleSocket == "" {
		return -1, errors.New("cannot allocate tty if rt will detach without setting console socket")
	}
	if (!detach || !spec.Terminal) && r.ConsoleSocket != "" {
		return -1, errors.New("cannot use console socket if rt will not detach or allocate tty")
	}
	process, err := NewProcess(spec)
	if err != nil {
		return -1, err
	}
	process.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	process.Init = r.Init
	process.SubCgroupPaths = r.SubCgroups
	if len(r.ListenFDs) > 0 {
		process.Env = append(process.Env, "LISTEN_FDS="+strconv.Itoa(len(r.ListenFDs)), "LISTEN_PID=1")
		process.ExtraFiles = append(process.ExtraFiles, r.ListenFDs...)
	}
	base := 3 + len(process.ExtraFiles)
	for fd := base; fd < base+r.PreserveFDs; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return -1, fmt.Errorf("unable to stat preserved-fd %d (of %d): %w", fd-base, r.PreserveFDs, err)
		}
		process.ExtraFiles = append(process.ExtraFiles, os.NewFile(uintptr(fd), "PreserveFD:"+strconv.Itoa(fd)))
	}

	forwarderC := startSignalForwarder(r.Subreaper)
	io, err := setupStdio(process, r.Container, spec.Terminal, detach, r.ConsoleSocket)
	if err != nil {
		return -1, err
	}
	defer io.Close()

	if r.PidfdSocket != "" {
		closeConn, err := attachPidfdSocket(process, r.PidfdSocket)
		if err != nil {
			return -1, err
		}
		defer closeConn()
	}

	switch r.Action {
	case ActCreate:
		err = r.Container.Start(process)
	case ActRestore:
		if err = r.Container.Restore(process, r.Criu.opts); err != nil {
			err = r.Criu.failed(err)
		}
	case ActRun:
		err = r.Container.Run(process)
	default:
		err = fmt.Errorf("unknown action %d", r.Action)
	}
	if err != nil {
		return -1, err
	}
	if err := io.waitConsole(); err != nil {
		terminate(process)
		return -1, err
	}
	io.closePostStart()
	if r.PidFile != "" {
		if err := WritePidFile(r.PidFile, process); err != nil {
			terminate(process)
			return -1, err
		}
	}
	// The process is up: other commands (kill, pause, exec...) may run.
	r.Lock.Unlock()
	r.Lock = nil
	if r.OnStarted != nil {
		pid, _ := process.Pid()
		r.OnStarted(pid)
	}
	if r.Notify != nil && r.Action == ActRun {
		pid, err := process.Pid()
		if err != nil {
			return -1, err
		}
		if detach {
			// rt run -d returns once the container is ready; systemd
			// then watches the container's init.
			if err := r.Notify.forward(pid, pid); err != nil {
				logrus.Errorf("container %s is running, but its READY could not be passed on: %v", r.Container.ID(), err)
			}
			return 0, nil
		}
		// In the foreground rt itself is the process to watch, and
		// must relay signals meanwhile.
		go func() {
			if err := r.Notify.forward(pid, os.Getpid()); err != nil {
				logrus.Errorf("container %s: its READY could not be passed on: %v", r.Container.ID(), err)
			}
		}()
	}
	if detach {
		return 0, nil
	}
	forwarder := <-forwarderC
	status, err = forwarder.forward(process, io)
	if err != nil {
		terminate(process)
		return status, err
	}
	r.destroy()
	return status, nil
}

func (r *Runner) destroy() {
	if !r.Destroy {
		return
	}
	if r.Lock == nil && r.Relock != nil {
		l, err := r.Relock()
		if err != nil {
			logrus.Warn(err)
		}
		r.Lock = l
	}
	if err := r.Container.Destroy(); err != nil {
		logrus.Warn(err)
	}
}

func terminate(p *libcontainer.Process) {
	_ = p.Signal(unix.SIGKILL)
	_, _ = p.Wait()
}

// WritePidFile writes the process's pid to path atomically (temporary file
// and rename) and without a trailing newline: containerd's shim parses the
// whole file with strconv.Atoi.
func WritePidFile(path string, p *libcontainer.Process) error {
	pid, err := p.Pid()
	if err != nil {
		return err
	}
	return writePid(path, pid)
}

func writePid(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_SYNC, 0o666)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	_, err = f.WriteString(strconv.Itoa(pid))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}

func attachPidfdSocket(p *libcontainer.Process, path string) (func(), error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to pidfd socket %s: %w", path, err)
	}
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("pidfd socket %s: %w", path, err)
	}
	p.PidfdSocket = f
	return func() { conn.Close() }, nil
}
