package libct

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestReadyLine(t *testing.T) {
	for msg, want := range map[string]string{
		"READY=1":                  "READY=1",
		"STATUS=up\nREADY=1\n":     "READY=1",
		"STATUS=READY=1":           "",
		"STATUS=starting\nX=READY": "",
	} {
		if got := string(readyLine([]byte(msg))); got != want {
			t.Errorf("readyLine(%q) = %q, want %q", msg, got, want)
		}
	}
}

// fakeSystemd receives datagrams on a socket and answers a barrier by
// closing its fd, or by writing into it if rude.
func fakeSystemd(t *testing.T, rude bool) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 4)
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 256)
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			got <- string(buf[:n])
			msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
			for _, m := range msgs {
				fds, _ := syscall.ParseUnixRights(&m)
				for _, fd := range fds {
					if rude {
						syscall.Write(fd, []byte("x"))
					}
					syscall.Close(fd)
				}
			}
		}
	}()
	return path, got
}

func TestNotifyHost(t *testing.T) {
	path, got := fakeSystemd(t, false)
	if err := notifyHost(path, []byte("READY=1"), 4242); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "READY=1\nMAINPID=4242\n" {
		t.Errorf("first message %q", m)
	}
	if m := <-got; m != "BARRIER=1" {
		t.Errorf("second message %q", m)
	}

	path, _ = fakeSystemd(t, true)
	if err := notifyHost(path, []byte("READY=1"), 1); err == nil || !strings.Contains(err.Error(), "barrier") {
		t.Errorf("a host writing into the barrier pipe: %v", err)
	}
	if err := notifyHost(filepath.Join(t.TempDir(), "none"), []byte("READY=1"), 1); err == nil {
		t.Error("no host socket: no error")
	}
}

// A relay waiting for a process that became a zombie stops waiting.
func TestProcessEndedZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for !processEnded(pid) {
		if time.Now().After(deadline) {
			data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			t.Fatalf("exited (unreaped) child %d not seen as ended: %s", pid, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if processEnded(os.Getpid()) {
		t.Error("this process is seen as ended")
	}
	cmd.Wait()
	if !processEnded(pid) {
		t.Errorf("reaped child %d not seen as ended", pid)
	}
}

func TestNotifyRelayForward(t *testing.T) {
	host, got := fakeSystemd(t, false)
	n := &notifyRelay{host: host, dir: t.TempDir()}
	if err := n.listen(); err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if fi, err := os.Stat(n.socketPath()); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("socket %v, %v", fi, err)
	}
	go func() {
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socketPath(), Net: "unixgram"})
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("STATUS=not yet"))
		c.Write([]byte("STATUS=now\nREADY=1"))
	}()
	if err := n.forward(os.Getpid(), 77); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "READY=1\nMAINPID=77\n" {
		t.Errorf("relayed %q", m)
	}

	spec := &specs.Spec{Process: &specs.Process{Env: []string{"A=1"}}}
	n.addToSpec(spec)
	if len(spec.Mounts) != 1 || spec.Mounts[0].Destination != "/run/notify" || spec.Mounts[0].Source != n.dir ||
		!strings.Contains(strings.Join(spec.Mounts[0].Options, ","), "ro") {
		t.Errorf("mounts %+v", spec.Mounts)
	}
	if spec.Process.Env[1] != "NOTIFY_SOCKET=/run/notify/notify.sock" {
		t.Errorf("env %v", spec.Process.Env)
	}
}
