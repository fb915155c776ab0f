// Command crhelper is a small, static test helper for rt's checkpoint/restore
// suite (tests/cr). Standard library only; build it with CGO_ENABLED=0 so it
// can also be copied into a busybox rootfs.
//
//	crhelper flock FILE CMD [ARGS...]
//	    Open FILE (created if missing), take an exclusive flock(2) on it and
//	    exec CMD with the locked descriptor left open as fd 9, so CMD holds
//	    the lock for as long as it lives (Debian's busybox has no flock).
//	crhelper dgram-listen SOCKET OUT
//	    Bind the unix datagram socket SOCKET, like syslog's /dev/log, and
//	    append every datagram received to OUT. Runs until killed.
//	crhelper dgram-connect SOCKET CMD [ARGS...]
//	    Create a unix datagram socket connected to SOCKET and exec CMD with
//	    its stdout and stderr on it: every write is one datagram to SOCKET
//	    (stdin is left alone). CRIU can checkpoint such a socket whose peer
//	    is outside the container with --ext-unix-sk (it cannot do that for
//	    a stream socket) and reconnects it to SOCKET on restore.
//	crhelper memhog MIB WS_MIB RATE_MIBPS [PORT]
//	    Hold MIB MiB of memory, rewrite WS_MIB of it at RATE_MIBPS; on
//	    SIGUSR1 verify every page and write the verdict to /tmp/verify
//	    (see memhog.go). With PORT, answer each TCP line with "pong N".
//	crhelper unix-pair CMD [ARGS...]
//	    Exec CMD with a connected pair of unix stream sockets as fds 3, 4.
//	crhelper stream-connect SOCKET CMD [ARGS...]
//	    Exec CMD with a unix stream socket connected to SOCKET as fd 3.
//	crhelper stream-listen SOCKET
//	    Accept unix stream connections on SOCKET and hold them.
//	crhelper wirecut OP N CMD [ARGS...]
//	    Run CMD (rt migrate's ssh) with this process's stdin passed on to
//	    it frame by frame (rt's migration protocol, libct/migwire); at the
//	    Nth message OP, pass on that message and part of the data after
//	    it, then kill CMD and exit 255: a connection cut at a known point
//	    (see wirecut.go).
//	crhelper ask PORT
//	    Ask memhog's server on 127.0.0.1:PORT (retrying until it listens);
//	    print its answer.
//	crhelper pinger HOST:PORT
//	    One TCP connection to memhog's server, never remade: send "ping",
//	    print the answer ("pong N"), once a second; on any error print
//	    "error ..." and exit 1 (see memhog.go).
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crhelper: "+format+"\n", args...)
	os.Exit(111)
}

// execve replaces this process with argv, looked up in PATH.
func execve(argv []string) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		die("%v", err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	die("exec %s: %v", path, err)
}

func doFlock(file string, argv []string) {
	fd, err := syscall.Open(file, syscall.O_RDWR|syscall.O_CREAT, 0o644)
	if err != nil {
		die("open %s: %v", file, err)
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
		die("flock %s: %v", file, err)
	}
	// dup2 clears close-on-exec: fd 9 survives the exec and keeps the lock.
	if fd != 9 {
		if err := syscall.Dup2(fd, 9); err != nil {
			die("dup2: %v", err)
		}
		syscall.Close(fd)
	}
	execve(argv)
}

func doListen(sock, out string) {
	_ = os.Remove(sock)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		die("listen %s: %v", sock, err)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		die("open %s: %v", out, err)
	}
	buf := make([]byte, 65536)
	for {
		n, _, err := c.ReadFromUnix(buf)
		if err != nil {
			die("read: %v", err)
		}
		if _, err := f.Write(buf[:n]); err != nil {
			die("write %s: %v", out, err)
		}
	}
}

func doConnect(sock string, argv []string) {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		die("connect %s: %v", sock, err)
	}
	f, err := c.File() // a blocking duplicate
	if err != nil {
		die("socket fd: %v", err)
	}
	for _, to := range []int{1, 2} {
		if err := syscall.Dup2(int(f.Fd()), to); err != nil {
			die("dup2: %v", err)
		}
	}
	execve(argv)
}

func main() {
	a := os.Args[1:]
	switch {
	case len(a) >= 3 && a[0] == "flock":
		doFlock(a[1], a[2:])
	case len(a) == 3 && a[0] == "dgram-listen":
		doListen(a[1], a[2])
	case len(a) >= 3 && a[0] == "dgram-connect":
		doConnect(a[1], a[2:])
	case (len(a) == 4 || len(a) == 5) && a[0] == "memhog":
		doMemhog(a[1:])
	case len(a) == 2 && a[0] == "ask":
		doAsk(a[1])
	case len(a) == 2 && a[0] == "pinger":
		doPinger(a[1])
	case len(a) >= 2 && a[0] == "unix-pair":
		doUnixPair(a[1:])
	case len(a) >= 3 && a[0] == "stream-connect":
		doStreamConnect(a[1], a[2:])
	case len(a) >= 4 && a[0] == "wirecut":
		doWirecut(a[1], a[2], a[3:])
	case len(a) == 2 && a[0] == "stream-listen":
		doStreamListen(a[1])
	default:
		fmt.Fprintln(os.Stderr, "usage: crhelper flock FILE CMD [ARGS...] | dgram-listen SOCKET OUT | dgram-connect SOCKET CMD [ARGS...] | memhog MIB WS_MIB RATE_MIBPS [PORT] | ask PORT | unix-pair CMD [ARGS...] | stream-connect SOCKET CMD [ARGS...] | stream-listen SOCKET")
		os.Exit(2)
	}
}
