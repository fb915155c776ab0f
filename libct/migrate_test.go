package libct

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/migwire"
)

func TestParseDestination(t *testing.T) {
	good := map[string]Destination{
		"ssh://host":                 {Host: "host"},
		"ssh://root@10.0.0.2":        {User: "root", Host: "10.0.0.2"},
		"ssh://u@h.example.org:2222": {User: "u", Host: "h.example.org", Port: 2222},
		"ssh://[fd00::2]:22":         {Host: "fd00::2", Port: 22},
		"ssh://host/":                {Host: "host"},
	}
	for in, want := range good {
		d, err := ParseDestination(in)
		if err != nil || d != want {
			t.Errorf("ParseDestination(%q) = %+v, %v; want %+v", in, d, err, want)
			continue
		}
		if back, err := ParseDestination(d.String()); err != nil || back != d {
			t.Errorf("%q: String() %q does not parse back: %+v, %v", in, d.String(), back, err)
		}
	}
	bad := map[string]string{
		"host":                 "not an ssh:// URL",
		"http://host":          "not an ssh:// URL",
		"ssh://u:pw@host":      "passwords",
		"ssh://host/tmp":       "path",
		"ssh://host:0":         "invalid port",
		"ssh://host:99999":     "invalid port",
		"ssh://-oProxyCommand": "invalid host",
		"ssh://-x@host":        "invalid user",
		"ssh://":               "invalid host",
	}
	for in, want := range bad {
		_, err := ParseDestination(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ssh://[user@]host[:port]") {
			t.Errorf("ParseDestination(%q) = %v; want an error about %q with the syntax", in, err, want)
		}
	}
}

// The remote command line survives the remote shell: every argument
// comes out as it went in.
func TestShellQuoteRoundTrip(t *testing.T) {
	args := []string{"plain", "", "with space", "it's", `"dq"`, "$HOME", "a;rm -rf /", "*", "new\nline", "--root=/run/rt"}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+strings.Join(quoted, " ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(args) {
		t.Fatalf("%d arguments came out of %d: %q", len(got), len(args), got)
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("argument %d: %q came out as %q", i, args[i], got[i])
		}
	}
}

func TestDestinationCommand(t *testing.T) {
	d := Destination{User: "u", Host: "h", Port: 2222}
	cmd := d.command(nil, "/usr/bin/rt", "--root", "/run/my rt", "migrate-receive")
	got := strings.Join(cmd.Args, " ")
	for _, want := range []string{"ssh -o BatchMode=yes", "-p 2222 -- u@h", "/usr/bin/rt --root '/run/my rt' migrate-receive"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	cmd = d.command([]string{"wrapper", "cut", "ssh"}, "rt")
	if cmd.Args[0] != "wrapper" || cmd.Args[1] != "cut" || cmd.Args[2] != "ssh" || cmd.Args[len(cmd.Args)-1] != "rt" {
		t.Errorf("--rsh: %q", cmd.Args)
	}
}

// receiveOver runs MigrateReceive on the far end of a pipe pair and
// returns the source's end and the receive's result.
func receiveOver(t *testing.T, o *Runtime) (*migwire.Conn, func() error) {
	t.Helper()
	toRecv, fromSrc := io.Pipe()
	toSrc, fromRecv := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := o.MigrateReceive(migwire.New(toRecv, fromRecv))
		fromRecv.Close()
		toRecv.Close()
		done <- err
	}()
	return migwire.New(toSrc, fromSrc), func() error {
		fromSrc.Close()
		// What the receive still sends (its error) is read, or it
		// would block on the pipe.
		go io.Copy(io.Discard, toSrc)
		return <-done
	}
}

func TestMigrateReceiveRefusesBeforeAnything(t *testing.T) {
	o := &Runtime{Root: t.TempDir()}
	src, wait := receiveOver(t, o)
	hello, _ := json.Marshal(migrateHello{ID: "c1", Bundle: filepath.Join(t.TempDir(), "nothing")})
	if err := src.Send(migwire.Message{Op: opHello, Data: hello}); err != nil {
		t.Fatal(err)
	}
	_, err := src.Expect(opReady)
	var re *migwire.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "bundle is missing") {
		t.Fatalf("hello with no bundle here: %v", err)
	}
	if err := wait(); err == nil {
		t.Fatal("MigrateReceive returned no error")
	}
	if left, _ := os.ReadDir(o.Root); len(left) > 0 {
		t.Fatalf("the root holds %v", left)
	}

	// Not the protocol at all: an error, nothing made.
	src, wait = receiveOver(t, o)
	_ = src.Send(migwire.Message{Op: opFinal})
	if _, err := src.Recv(); !errors.As(err, &re) || !strings.Contains(re.Msg, `"hello"`) {
		t.Fatalf("a stream without hello: the answer: %v", err)
	}
	if err := wait(); err == nil || !strings.Contains(err.Error(), `"hello"`) {
		t.Fatalf("a stream without hello: %v", err)
	}
}

// What an interrupted receive left (its rt killed) is removed by the
// source's abort, or by the next receive of that ID; a receive still
// running is left alone.
func TestMigrateAbortRemovesLeftovers(t *testing.T) {
	o := &Runtime{Root: t.TempDir()}
	if err := o.MigrateAbort("c1"); err != nil {
		t.Fatalf("nothing to abort: %v", err)
	}
	r, err := o.startReceive("c1")
	if err != nil {
		t.Fatal(err)
	}
	r.rec.Dir = t.TempDir()
	writeFile(t, filepath.Join(r.rec.Dir, "images", "pages-1.img"), "x")
	if err := r.save(); err != nil {
		t.Fatal(err)
	}
	if err := o.MigrateAbort("c1"); err == nil || !strings.Contains(err.Error(), "being received") {
		t.Fatalf("abort during a live receive: %v", err)
	}
	if _, err := os.Stat(r.rec.Dir); err != nil {
		t.Fatal("a live receive's directory was removed")
	}
	// The receive dies: its lock goes with its descriptor.
	r.lock.Close()
	if err := o.MigrateAbort("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.rec.Dir); !os.IsNotExist(err) {
		t.Fatalf("the interrupted receive's directory is still there: %v", err)
	}
	if left, _ := os.ReadDir(o.Root); len(left) > 0 {
		t.Fatalf("the root holds %v", left)
	}
	if err := o.MigrateAbort("../x"); err == nil {
		t.Fatal("an invalid ID was taken")
	}
}

// Pre-copy rounds arrive as tar streams, one after the other, and a
// source that goes away before the final dump leaves nothing here.
func TestMigrateReceiveRoundsThenSourceGone(t *testing.T) {
	defer func(f func(string) error) { migrateCriuCheck = f }(migrateCriuCheck)
	migrateCriuCheck = func(string) error { return nil }
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	o := &Runtime{Root: filepath.Join(tmp, "root")}
	bundle := filepath.Join(tmp, "bundle")
	writeFile(t, filepath.Join(bundle, "config.json"), "{}")
	writeFile(t, filepath.Join(bundle, "rootfs", "bin", "sh"), "x")

	src, wait := receiveOver(t, o)
	hello, _ := json.Marshal(migrateHello{ID: "c1", Bundle: bundle})
	if err := src.Send(migwire.Message{Op: opHello, Data: hello}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Expect(opReady); err != nil {
		t.Fatal(err)
	}
	var dir string
	for n := 1; n <= 2; n++ {
		round := filepath.Join(tmp, "src", fmt.Sprint(n))
		writeFile(t, filepath.Join(round, "pages-1.img"), strings.Repeat("p", 5000*n))
		if n > 1 {
			if err := os.Symlink("../1", filepath.Join(round, "parent")); err != nil {
				t.Fatal(err)
			}
		}
		if err := src.Send(migwire.Message{Op: opRound, N: n}); err != nil {
			t.Fatal(err)
		}
		if err := src.SendStream(func(w io.Writer) error {
			tw := tar.NewWriter(w)
			if _, err := ckpt.WriteTreeChanges(tw, round, "", nil); err != nil {
				return err
			}
			return tw.Close()
		}); err != nil {
			t.Fatal(err)
		}
		if m, err := src.Expect(opOK); err != nil || m.N != n {
			t.Fatalf("round %d: %+v, %v", n, m, err)
		}
		if dir == "" {
			matches, _ := filepath.Glob(filepath.Join(tmp, "rt-migrate-in-*"))
			if len(matches) != 1 {
				t.Fatalf("receive directories: %v", matches)
			}
			dir = matches[0]
		}
		got, err := os.ReadFile(filepath.Join(dir, "images", ckpt.RoundDir(n), "pages-1.img"))
		if err != nil || len(got) != 5000*n {
			t.Fatalf("round %d as received: %d bytes, %v", n, len(got), err)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "images", ckpt.RoundDir(2), "parent")); err != nil || l != "../1" {
		t.Fatalf("round 2's parent link: %q, %v", l, err)
	}
	// The source goes away.
	err := wait()
	if err == nil || !strings.Contains(err.Error(), "before the final dump") {
		t.Fatalf("receive after the source went away: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the received rounds are still there: %v", err)
	}
	if left, _ := os.ReadDir(o.Root); len(left) > 0 {
		t.Fatalf("the root holds %v", left)
	}
}

func TestTailBufferMessages(t *testing.T) {
	tb := &tailBuffer{max: 200}
	_, _ = tb.Write([]byte("noise\n" + `time="2026-12-06T20:55:56Z" level=error msg="receiving pre-copy round 1: write \"x\": no space left on device"` + "\n"))
	if got, want := tb.lastLines(1), `receiving pre-copy round 1: write "x": no space left on device`; got != want {
		t.Errorf("lastLines(1) = %q, want %q", got, want)
	}
	_, _ = tb.Write([]byte(strings.Repeat("y", 300)))
	if got := tb.lastLines(5); len(got) > 200 {
		t.Errorf("kept %d bytes, more than 200", len(got))
	}
}

// --copy-bundle --rootfs-base: the bundle is made from the base and the
// changes; a source that goes away before the end takes it away again.
func TestMigrateReceiveBundleOnBase(t *testing.T) {
	defer func(f func(string) error) { migrateCriuCheck = f }(migrateCriuCheck)
	migrateCriuCheck = func(string) error { return nil }
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	o := &Runtime{Root: filepath.Join(tmp, "root")}
	base := filepath.Join(tmp, "base")
	writeFile(t, filepath.Join(base, "bin", "sh"), "shell")
	writeFile(t, filepath.Join(base, "etc", "gone"), "x")
	baseIdx, err := ckpt.IndexTree(base)
	if err != nil {
		t.Fatal(err)
	}
	// the source's rootfs: the base, one file changed, one added, one gone
	rootfs := filepath.Join(tmp, "src", "rootfs")
	if err := os.Mkdir(filepath.Dir(rootfs), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", base, rootfs).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	writeFile(t, filepath.Join(rootfs, "etc", "new"), "new")
	os.Remove(filepath.Join(rootfs, "etc", "gone"))
	writeFile(t, filepath.Join(tmp, "src", "config.json"), `{"ociVersion": "1.0.2", "process": {"cwd": "/", "args": ["sh"]}, "root": {"path": "/elsewhere/rootfs"}}`)
	state := &ContainerState{Bundle: filepath.Join(tmp, "src"), Rootfs: rootfs}
	bundle := filepath.Join(tmp, "dst", "b")
	if err := os.MkdirAll(filepath.Dir(bundle), 0o755); err != nil {
		t.Fatal(err)
	}

	hello := migrateHello{ID: "c1", Bundle: bundle, CopyBundle: true, BaseDir: base, BaseDigest: "other"}
	src, wait := receiveOver(t, o)
	data, _ := json.Marshal(hello)
	_ = src.Send(migwire.Message{Op: opHello, Data: data})
	if _, err := src.Expect(opReady); err == nil || !strings.Contains(err.Error(), "is not the same as the source's") {
		t.Fatalf("a base that differs: %v", err)
	}
	wait()

	hello.BaseDigest = baseIdx.Digest()
	src, wait = receiveOver(t, o)
	data, _ = json.Marshal(hello)
	_ = src.Send(migwire.Message{Op: opHello, Data: data})
	if _, err := src.Expect(opReady); err != nil {
		t.Fatal(err)
	}
	sent, size, err := sendBundle(src, state, base)
	if err != nil {
		t.Fatal(err)
	}
	if size <= 0 || size > 16<<10 || sent["etc/new"].Size != 3 {
		t.Errorf("sent %d bytes, index %v", size, sent)
	}
	for name, want := range map[string]string{"rootfs/bin/sh": "shell", "rootfs/etc/new": "new"} {
		if got, err := os.ReadFile(filepath.Join(bundle, name)); err != nil || string(got) != want {
			t.Errorf("%s on the destination: %q, %v", name, got, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(bundle, "rootfs", "etc", "gone")); !os.IsNotExist(err) {
		t.Errorf("etc/gone was not deleted: %v", err)
	}
	spec, err := LoadSpec(bundle)
	if err != nil || spec.Root.Path != "rootfs" {
		t.Errorf("config.json on the destination: %+v, %v", spec, err)
	}
	// The source goes away before the final dump: the bundle goes too.
	if err := wait(); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Lstat(bundle); !os.IsNotExist(err) {
		t.Fatalf("the bundle is still there: %v", err)
	}

	// A bundle that exists is refused.
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	src, wait = receiveOver(t, o)
	_ = src.Send(migwire.Message{Op: opHello, Data: data})
	if _, err := src.Expect(opReady); err == nil || !strings.Contains(err.Error(), "exists on this host") {
		t.Fatalf("an existing bundle: %v", err)
	}
	wait()
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("the existing bundle was touched: %v", err)
	}
}

// The source's CPU image is checked with `criu cpuinfo check` before
// anything is frozen; a mismatch is refused with CRIU's reason.
func TestMigrateHelloChecksCPU(t *testing.T) {
	defer func(f func(string) error) { migrateCriuCheck = f }(migrateCriuCheck)
	migrateCriuCheck = func(string) error { return nil }
	tmp := t.TempDir()
	criu := filepath.Join(tmp, "criu")
	// A CRIU that dumps a fixed image and refuses any other in its check.
	writeFile(t, criu, `#!/bin/sh
case "$1 $2" in
"cpuinfo dump") echo here >"$4/cpuinfo.img" ;;
"cpuinfo check") grep -qx here "$4/cpuinfo.img" || { echo "Error (criu/cpu.c:1): cpu: CPU has no avx512f" >&2; exit 1; } ;;
*) exit 2 ;;
esac
`)
	if err := os.Chmod(criu, 0o755); err != nil {
		t.Fatal(err)
	}
	img := dumpCPUInfo(criu)
	if string(img) != "here\n" {
		t.Fatalf("dumpCPUInfo = %q", img)
	}
	if err := checkCPUInfo(criu, img); err != nil {
		t.Fatalf("the same CPU: %v", err)
	}
	err := checkCPUInfo(criu, []byte("elsewhere\n"))
	if err == nil || !strings.Contains(err.Error(), "CPU has no avx512f") || !strings.Contains(err.Error(), "lacks features") {
		t.Fatalf("another CPU: %v", err)
	}
	if err := checkCPUInfo(criu, nil); err != nil {
		t.Fatalf("no image (the source could not make one): %v", err)
	}
	// A source whose CRIU cannot dump: no image, a warning, no refusal.
	if img := dumpCPUInfo(filepath.Join(tmp, "missing-criu")); img != nil {
		t.Fatalf("dumpCPUInfo with no CRIU = %q", img)
	}

	// Through the protocol: refused before ready.
	o := &Runtime{Root: filepath.Join(tmp, "root"), CriuPath: criu}
	bundle := filepath.Join(tmp, "bundle")
	writeFile(t, filepath.Join(bundle, "config.json"), "{}")
	writeFile(t, filepath.Join(bundle, "rootfs", "bin", "sh"), "x")
	src, wait := receiveOver(t, o)
	data, _ := json.Marshal(migrateHello{ID: "c1", Bundle: bundle, CPUInfo: []byte("elsewhere\n")})
	_ = src.Send(migwire.Message{Op: opHello, Data: data})
	if _, err := src.Expect(opReady); err == nil || !strings.Contains(err.Error(), "avx512f") {
		t.Fatalf("hello from another CPU: %v", err)
	}
	wait()
}

// The network lock is rt's only without --lazy and in a namespace joined
// by path; --lazy in the host's namespace is refused.
func TestMigrateNetLock(t *testing.T) {
	bundle := func(ns *specs.LinuxNamespace) string {
		dir := t.TempDir()
		spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"}, Linux: &specs.Linux{}}
		if ns != nil {
			spec.Linux.Namespaces = []specs.LinuxNamespace{*ns}
		}
		data, _ := json.Marshal(spec)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	host := bundle(nil)
	private := bundle(&specs.LinuxNamespace{Type: specs.NetworkNamespace})
	joined := bundle(&specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/x"})
	for _, tc := range []struct {
		name      string
		bundle    string
		lazy, tcp bool
		lock      bool
		refused   bool
	}{
		{"no --tcp-established", joined, false, false, false, false},
		{"joined", joined, false, true, true, false},
		{"joined --lazy (CRIU's lock stays)", joined, true, true, false, false},
		{"private (goes with the container)", private, false, true, false, false},
		{"host", host, false, true, false, false},
		{"host --lazy", host, true, true, false, true},
	} {
		lock, err := migrateNetLock(tc.bundle, "c", tc.lazy, tc.tcp)
		if lock != tc.lock || (err != nil) != tc.refused {
			t.Errorf("%s: lock %v, err %v; want lock %v, refused %v", tc.name, lock, err, tc.lock, tc.refused)
		}
	}
}

// After the commit of a post-copy, the destination reports the end of
// the background copy: "copied" when the daemon got every page, an error
// when it failed (its supervisor killed the container); a source gone
// first closes the daemon's connection.
func TestAwaitCopy(t *testing.T) {
	for _, tc := range []struct {
		state   string
		copied  bool
		wantErr string
	}{
		{ckpt.LazyDone, true, ""},
		{ckpt.LazyEnded, true, ""},
		{ckpt.LazyFailed, false, "the container was killed"},
	} {
		o := &Runtime{Root: t.TempDir()}
		r := &receive{o: o, id: "c1"}
		if err := os.MkdirAll(o.StateDir("c1"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := ckpt.WriteLazyStatus(o.StateDir("c1"), &ckpt.LazyStatus{State: ckpt.LazyCopying, SupervisorPid: os.Getpid()}); err != nil {
			t.Fatal(err)
		}
		srcR, srcW := io.Pipe() // source -> destination, kept open
		var out bytes.Buffer
		conn := migwire.New(srcR, &out)
		conn.OpenChannel(io.Discard)
		conn.Demux()
		relay := &destPageRelay{closed: make(chan struct{})}
		relay.ln, _ = net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		done := make(chan error, 1)
		go func() { done <- r.awaitCopy(conn, relay) }()
		time.Sleep(150 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("%s: awaitCopy returned while the copy went on: %v", tc.state, err)
		default:
		}
		st := &ckpt.LazyStatus{State: tc.state, SupervisorPid: os.Getpid()}
		if tc.state == ckpt.LazyFailed {
			st.Error = "criu lazy-pages: exit status 1: the container was killed, its memory was incomplete"
		}
		if err := ckpt.WriteLazyStatus(o.StateDir("c1"), st); err != nil {
			t.Fatal(err)
		}
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: awaitCopy did not return", tc.state)
		}
		srcW.Close()
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: awaitCopy = %v, want error %q", tc.state, err, tc.wantErr)
		}
		m, rerr := migwire.New(&out, io.Discard).Recv()
		if tc.copied != (rerr == nil && m.Op == opCopied) {
			t.Errorf("%s: sent %+v, %v; copied should be %v", tc.state, m, rerr, tc.copied)
		}
	}
}
