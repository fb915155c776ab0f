package libct

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCriuLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.log")
	writeFile(t, path, `(00.001) Version: 3.17.1
(00.002) Warn  (criu/kerndat.c:1): something harmless about pty
(00.010) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds
(00.011) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.
`)
	r := ReadCriuLog(path)
	if len(r.Errors) != 2 || !strings.Contains(r.Cause, "too old") || !strings.Contains(r.Fix, "4.1") {
		t.Fatalf("report %+v", r)
	}
	e := &CriuError{Op: "checkpoint", ID: "c1", Err: errors.New("criu failed: type NOTIFY errno 0"), Report: r}
	first := strings.SplitN(e.Error(), "\n", 2)[0]
	if !strings.Contains(first, "checkpoint c1") || !strings.Contains(first, "CRIU >= 4.1") {
		t.Fatalf("first line %q lacks the cause and fix", first)
	}
	if !strings.Contains(e.Error(), "Unexpected rt vDSO area bounds") || !strings.Contains(e.Error(), path) {
		t.Fatalf("error lacks quoted lines or path:\n%s", e)
	}

	writeFile(t, path, "(00.1) Error (criu/sk-inet.c:1): inet: Connected TCP socket, consider using --tcp-established option.\n")
	if r := ReadCriuLog(path); !strings.Contains(r.Fix, "--tcp-established") ||
		!strings.Contains(r.Fix, "annotation io.github.rt-runtime.checkpoint.tcp-established=true") || !strings.Contains(r.Fix, `"tcpEstablished": true`) {
		t.Fatalf("tcp hint (with the engine defaults) missing: %+v", r)
	}
	writeFile(t, path, "(00.1) Error (criu/files-reg.c:1031): Can't dump ghost file /tmp/big of 3149824 size, increase limit\n")
	if r := ReadCriuLog(path); !strings.Contains(r.Fix, "--ghost-limit") || !strings.Contains(r.Fix, `"ghostLimit": "1G"`) {
		t.Fatalf("ghost-limit hint missing: %+v", r)
	}
	// as CRIU 3.17 said it for a Go 1.24 server in the lane
	writeFile(t, path, "(00.302324) Error (criu/sk-inet.c:128): inet: Unsupported proto 262 for socket 3112\n")
	if r := ReadCriuLog(path); !strings.Contains(r.Cause, "MPTCP") || !strings.Contains(r.Fix, "GODEBUG=multipathtcp=0") {
		t.Fatalf("MPTCP hint missing: %+v", r)
	}
	writeFile(t, path, "(00.1) Error (criu/x.c:1): something new\n")
	r = ReadCriuLog(path)
	e = &CriuError{Op: "restore", ID: "c2", Err: errors.New("criu failed"), Report: r}
	if r.Cause != "" || !strings.HasPrefix(e.Error(), "restore c2: criu failed: something new") {
		t.Fatalf("unknown failure: %q", e.Error())
	}
	if r := ReadCriuLog(filepath.Join(dir, "missing.log")); len(r.Errors) != 0 || r.Path == "" {
		t.Fatalf("missing log: %+v", r)
	}
}

// The texts rt check and errors print are filled in: no format verbs, the
// image directory named only where it is known.
func TestCriuHintsFilledIn(t *testing.T) {
	for _, h := range criuHints {
		if strings.Contains(h.cause+h.fix, "%") {
			t.Errorf("hint %q holds a format verb", h.cause)
		}
	}
	r := ReadCriuLogText("(00.1) Error (criu/image.c:1): Unable to write: No space left on device\n")
	if got := r.Explain(""); got != "no space left on device for the images" {
		t.Fatalf("without a directory: %q", got)
	}
	e := &CriuError{Op: "checkpoint", ID: "c1", Err: errors.New("criu failed"), Report: r, ImageDir: "/ck/img"}
	if first := strings.SplitN(e.Error(), "\n", 2)[0]; !strings.Contains(first, "no space left on device for the images in /ck/img; free space") {
		t.Fatalf("first line %q", first)
	}
}
