package libct

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestImageStagePublish(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(final string)
	}{
		{"missing", func(string) {}},
		{"empty", func(f string) { os.Mkdir(f, 0o755) }},
		{"non-empty", func(f string) { writeFile(t, filepath.Join(f, "work", "x"), "w") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "ck")
			tc.prepare(final)
			s, err := newImageStage(final)
			if err != nil {
				t.Fatal(err)
			}
			if HasCheckpoint(final) {
				t.Fatal("final looks complete before publish")
			}
			writeFile(t, filepath.Join(s.dir, "pages-1.img"), "pages")
			writeFile(t, filepath.Join(s.dir, inventoryFile), "inv")
			if err := s.publish(); err != nil {
				t.Fatal(err)
			}
			if !HasCheckpoint(final) {
				t.Fatal("not complete after publish")
			}
			if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
				t.Fatal("staging dir left behind")
			}
			fi, _ := os.Stat(final)
			if tc.name != "non-empty" && fi.Mode().Perm() != 0o700 {
				t.Fatalf("image dir mode %o, want 700", fi.Mode().Perm())
			}
			// A second checkpoint to the same path is refused.
			if _, err := newImageStage(final); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
				t.Fatalf("overwrite: %v", err)
			}
		})
	}
}

func TestImageStageDiscardKeepsLog(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	s, err := newImageStage(final)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, inventoryFile), "partial")
	writeFile(t, filepath.Join(s.dir, dumpLog), "Error (x): boom")
	s.discard(dumpLog, filepath.Join(final, dumpLog))
	if HasCheckpoint(final) {
		t.Fatal("a failed dump left a complete-looking image")
	}
	if data, err := os.ReadFile(filepath.Join(final, dumpLog)); err != nil || !strings.Contains(string(data), "boom") {
		t.Fatalf("log not kept: %q %v", data, err)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Fatal("staging dir left behind")
	}
}

func TestCheckRestorable(t *testing.T) {
	dir := t.TempDir()
	if err := CheckRestorable(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing dir accepted")
	}
	if err := CheckRestorable(dir); err == nil || !strings.Contains(err.Error(), inventoryFile) {
		t.Fatalf("empty dir: %v", err)
	}
	writeFile(t, filepath.Join(dir, inventoryFile), "x")
	if err := CheckRestorable(dir); err != nil {
		t.Fatal(err)
	}
}

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
	e := &criuError{op: "checkpoint", id: "c1", err: errors.New("criu failed: type NOTIFY errno 0"), report: r}
	first := strings.SplitN(e.Error(), "\n", 2)[0]
	if !strings.Contains(first, "checkpoint c1") || !strings.Contains(first, "CRIU >= 4.1") {
		t.Fatalf("first line %q lacks the cause and fix", first)
	}
	if !strings.Contains(e.Error(), "Unexpected rt vDSO area bounds") || !strings.Contains(e.Error(), path) {
		t.Fatalf("error lacks quoted lines or path:\n%s", e)
	}

	writeFile(t, path, "(00.1) Error (criu/sk-inet.c:1): inet: Connected TCP socket, consider using --tcp-established option.\n")
	if r := ReadCriuLog(path); !strings.Contains(r.Fix, "--tcp-established") {
		t.Fatalf("tcp hint missing: %+v", r)
	}
	writeFile(t, path, "(00.1) Error (criu/x.c:1): something new\n")
	r = ReadCriuLog(path)
	e = &criuError{op: "restore", id: "c2", err: errors.New("criu failed"), report: r}
	if r.Cause != "" || !strings.HasPrefix(e.Error(), "restore c2: criu failed: something new") {
		t.Fatalf("unknown failure: %q", e.Error())
	}
	if r := ReadCriuLog(filepath.Join(dir, "missing.log")); len(r.Errors) != 0 || r.Path == "" {
		t.Fatalf("missing log: %+v", r)
	}
}

func TestStaleStagesRemoved(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	live, err := newImageStage(final)
	if err != nil {
		t.Fatal(err)
	}
	// A stage left by a killed rt: nobody holds its lock.
	dead := filepath.Join(filepath.Dir(final), ".ck"+stageInfix+"dead")
	writeFile(t, filepath.Join(dead, "pages-1.img"), "x")
	other, err := newImageStage(final)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("stale stage kept")
	}
	if _, err := os.Stat(live.dir); err != nil {
		t.Fatal("a live stage was removed")
	}
	// Two checkpoints racing for one path: the second to publish fails.
	writeFile(t, filepath.Join(live.dir, inventoryFile), "a")
	writeFile(t, filepath.Join(other.dir, inventoryFile), "b")
	if err := live.publish(); err != nil {
		t.Fatal(err)
	}
	if err := other.publish(); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("second publish: %v", err)
	}
	other.discard("", "")
	if b, _ := os.ReadFile(filepath.Join(final, inventoryFile)); string(b) != "a" {
		t.Fatalf("first checkpoint overwritten: %q", b)
	}
}

func TestImageStageKeep(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	s, err := newImageStage(final)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, inventoryFile), "only copy")
	kept := s.keep()
	if !strings.HasPrefix(kept, final+".rt-unpublished-") || !HasCheckpoint(kept) {
		t.Fatalf("kept at %s", kept)
	}
	removeStaleStages(final)
	if !HasCheckpoint(kept) {
		t.Fatal("stale-stage cleanup removed kept images")
	}
}
