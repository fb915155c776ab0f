package libct

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// The sd_notify relay: when rt runs with NOTIFY_SOCKET set (a systemd
// unit of Type=notify, podman's --sdnotify=container), the container
// gets a socket of its own at notifyPathInContainer, and rt passes the
// container's READY=1 on to the host's socket with MAINPID set to the
// process systemd should watch, as runc does. The container cannot reach
// the host's socket itself: it lives in another mount namespace.
const (
	notifyDirInContainer  = "/run/notify"
	notifySocketName      = "notify.sock"
	notifyPathInContainer = notifyDirInContainer + "/" + notifySocketName
	// notifyPoll is how often the relay checks that the process it
	// waits for still lives.
	notifyPoll = 100 * time.Millisecond
	// notifyBarrierTimeout bounds the wait for the host to confirm it
	// has read the messages (sd_notify_barrier).
	notifyBarrierTimeout = 30 * time.Second
)

// notifyRelay is the container's notify socket and the host's address.
type notifyRelay struct {
	host string // the host's NOTIFY_SOCKET (a path, or @abstract)
	dir  string // in the container's state directory, mounted at notifyDirInContainer
	conn *net.UnixConn
}

// newNotifyRelay returns the relay for container id if rt was given a
// NOTIFY_SOCKET, else nil.
func (o *Runtime) newNotifyRelay(id string) *notifyRelay {
	host := os.Getenv("NOTIFY_SOCKET")
	if host == "" {
		return nil
	}
	return &notifyRelay{host: host, dir: filepath.Join(o.StateDir(id), "notify")}
}

func (n *notifyRelay) socketPath() string { return filepath.Join(n.dir, notifySocketName) }

// addToSpec mounts the relay's directory into the container, read-only
// (a datagram socket needs no write access to its file), and tells the
// container's process where the socket is.
func (n *notifyRelay) addToSpec(spec *specs.Spec) {
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: notifyDirInContainer,
		Source:      n.dir,
		Type:        "bind",
		Options:     []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	if spec.Process != nil {
		spec.Process.Env = append(spec.Process.Env, "NOTIFY_SOCKET="+notifyPathInContainer)
	}
}

// makeDir creates the directory the container's spec mounts; the
// container's state directory must exist.
func (n *notifyRelay) makeDir() error {
	if err := os.Mkdir(n.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("notify socket directory: %w", err)
	}
	return nil
}

// listen binds the container's socket. The container's user may be
// anyone, so the socket is writable by all; the directory is reachable
// only through the container's mount.
func (n *notifyRelay) listen() error {
	if _, err := os.Stat(n.dir); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET is set, but the container was created without it (%s: %w): create and start it with the same environment", n.dir, fsutil.UnwrapPathError(err))
	}
	path := n.socketPath()
	_ = os.Remove(path) // a socket left by an earlier, interrupted start
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		return fmt.Errorf("notify socket: %w", err)
	}
	n.conn = conn
	return nil
}

// close stops listening; the socket file stays for a later start or
// goes with the state directory.
func (n *notifyRelay) close() {
	if n.conn != nil {
		n.conn.Close()
	}
}

// forward waits for the container to report READY=1 and passes it on
// to the host with MAINPID=mainPid. It returns early, sending nothing,
// once process watch is gone (the container ended without being
// ready).
func (n *notifyRelay) forward(watch, mainPid int) error {
	ready := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := n.conn.Read(buf)
			if err != nil {
				return // closed
			}
			if line := readyLine(buf[:k]); line != nil {
				ready <- line
				return
			}
		}
	}()
	tick := time.NewTicker(notifyPoll)
	defer tick.Stop()
	for {
		select {
		case line := <-ready:
			return notifyHost(n.host, line, mainPid)
		case <-tick.C:
			if processEnded(watch) {
				logrus.Debugf("notify: process %d ended before it reported READY", watch)
				return nil
			}
		}
	}
}

// readyLine returns the READY= line of a notify datagram, or nil. A
// datagram holds newline-separated assignments (STATUS=..., READY=1).
func readyLine(msg []byte) []byte {
	for _, line := range bytes.Split(msg, []byte{'\n'}) {
		if bytes.HasPrefix(line, []byte("READY=")) {
			return bytes.Clone(line)
		}
	}
	return nil
}

// notifyHost sends READY and MAINPID to the host's socket in one
// datagram, then waits for the host to confirm it read them
// (BARRIER=1): systemd attributes a message to a unit by its sender,
// so rt must not exit before it was read.
func notifyHost(host string, ready []byte, mainPid int) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: host, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", host, err)
	}
	defer conn.Close()
	msg := fmt.Sprintf("%s\nMAINPID=%d\n", ready, mainPid)
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", host, err)
	}
	return notifyBarrier(conn)
}

// notifyBarrier is sd_notify_barrier: send BARRIER=1 with the write end
// of a pipe, and wait until the host closes it.
func notifyBarrier(conn *net.UnixConn) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// WriteMsgUnix refuses a connected datagram socket: sendmsg directly.
	raw, err := conn.SyscallConn()
	if err != nil {
		w.Close()
		return err
	}
	var sendErr error
	err = raw.Write(func(fd uintptr) bool {
		sendErr = unix.Sendmsg(int(fd), []byte("BARRIER=1"), unix.UnixRights(int(w.Fd())), nil, 0)
		return sendErr != unix.EAGAIN
	})
	w.Close()
	if err == nil {
		err = sendErr
	}
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET barrier: %w", err)
	}
	if err := r.SetReadDeadline(time.Now().Add(notifyBarrierTimeout)); err != nil {
		return nil // cannot wait: the message was sent
	}
	var b [1]byte
	switch _, err := r.Read(b[:]); {
	case errors.Is(err, io.EOF):
		return nil // closed: the host has read the messages
	case errors.Is(err, os.ErrDeadlineExceeded):
		logrus.Warnf("NOTIFY_SOCKET: no answer to BARRIER=1 within %s; going on", notifyBarrierTimeout)
		return nil
	case err != nil:
		return fmt.Errorf("NOTIFY_SOCKET barrier: %w", err)
	default:
		return errors.New("NOTIFY_SOCKET barrier: the host wrote into the barrier pipe instead of closing it")
	}
}

// processEnded tells whether pid has exited. A zombie has: rt run -d is
// the parent of the container's init and reaps it only when it exits.
func processEnded(pid int) bool {
	if unix.Kill(pid, 0) == unix.ESRCH {
		return true
	}
	st, err := system.Stat(pid)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	return st.State == system.Zombie || st.State == system.Dead
}
