package libct

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listenFDsStart is SD_LISTEN_FDS_START: socket activation hands its fds
// over from 3 up.
const listenFDsStart = 3

// ListenFDs returns the fds handed over by socket activation (LISTEN_PID,
// LISTEN_FDS, LISTEN_FDNAMES; see sd_listen_fds(3)), which rt passes on to
// the container. It is ours rather than go-systemd's activation package
// because that package imports crypto/tls for its TLS listeners, and the
// TLS stack's package init and relocations cost every rt exec (rt init
// included) about a tenth of its start-up.
func ListenFDs() []*os.File {
	return listenFiles(os.Getenv, os.Getpid(), listenFDsStart)
}

// listenFiles is ListenFDs with its inputs passed in, for tests.
func listenFiles(getenv func(string) string, pid, first int) []*os.File {
	if p, err := strconv.Atoi(getenv("LISTEN_PID")); err != nil || p != pid {
		// Not for us: the variables were meant for a parent.
		return nil
	}
	n, err := strconv.Atoi(getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
	}
	names := strings.Split(getenv("LISTEN_FDNAMES"), ":")
	files := make([]*os.File, 0, n)
	for i := range n {
		fd := first + i
		// rt hands these fds to the container explicitly; they must not
		// leak into anything else it starts (CRIU, hooks).
		unix.CloseOnExec(fd)
		name := "LISTEN_FD_" + strconv.Itoa(fd)
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	return files
}
