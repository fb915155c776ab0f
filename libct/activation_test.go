package libct

import (
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenFiles(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"unset", map[string]string{}},
		{"other pid", map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "1"}},
		{"bad pid", map[string]string{"LISTEN_PID": "x", "LISTEN_FDS": "1"}},
		{"zero fds", map[string]string{"LISTEN_PID": "100", "LISTEN_FDS": "0"}},
		{"bad fds", map[string]string{"LISTEN_PID": "100", "LISTEN_FDS": "two"}},
	} {
		if got := listenFiles(env(tc.env), 100, 3); got != nil {
			t.Errorf("%s: got %d files, want none", tc.name, len(got))
		}
	}

	// Two fds in a row, as systemd passes them: a pipe's ends, moved so
	// that they are adjacent.
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		t.Fatal(err)
	}
	first, err := unix.FcntlInt(uintptr(p[0]), unix.F_DUPFD, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(first+1), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("fd %d is in use; cannot place the pipe's ends side by side", first+1)
	}
	if err := unix.Dup2(p[1], first+1); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	files := listenFiles(env(map[string]string{
		"LISTEN_PID": "100", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web",
	}), 100, first)
	if len(files) != 2 {
		t.Fatalf("got %d files, want 2", len(files))
	}
	defer files[0].Close()
	defer files[1].Close()
	if files[0].Name() != "web" || files[1].Name() != "LISTEN_FD_"+strconv.Itoa(first+1) {
		t.Errorf("names %q %q", files[0].Name(), files[1].Name())
	}
	for _, f := range files {
		flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: close-on-exec not set (flags %d, %v)", f.Name(), flags, err)
		}
	}
	// The fds are the pipe's ends: what goes in one comes out the other.
	if _, err := files[1].Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := files[0].Read(buf); err != nil || buf[0] != 'x' {
		t.Errorf("read %q, %v", buf, err)
	}
}
