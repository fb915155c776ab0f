package ckpt

import (
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
			s, err := NewStage(final)
			if err != nil {
				t.Fatal(err)
			}
			if HasCheckpoint(final) {
				t.Fatal("final looks complete before publish")
			}
			writeFile(t, filepath.Join(s.dir, "pages-1.img"), "pages")
			writeFile(t, filepath.Join(s.dir, inventoryFile), "inv")
			if err := s.Publish(); err != nil {
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
			if _, err := NewStage(final); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
				t.Fatalf("overwrite: %v", err)
			}
		})
	}
}

func TestImageStageDiscardKeepsLog(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	s, err := NewStage(final)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, inventoryFile), "partial")
	writeFile(t, filepath.Join(s.dir, DumpLog), "Error (x): boom")
	s.Discard(DumpLog, filepath.Join(final, DumpLog))
	if HasCheckpoint(final) {
		t.Fatal("a failed dump left a complete-looking image")
	}
	if data, err := os.ReadFile(filepath.Join(final, DumpLog)); err != nil || !strings.Contains(string(data), "boom") {
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

func TestStaleStagesRemoved(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	live, err := NewStage(final)
	if err != nil {
		t.Fatal(err)
	}
	// A stage left by a killed rt: nobody holds its lock.
	dead := filepath.Join(filepath.Dir(final), ".ck"+stageInfix+"dead")
	writeFile(t, filepath.Join(dead, "pages-1.img"), "x")
	other, err := NewStage(final)
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
	if err := live.Publish(); err != nil {
		t.Fatal(err)
	}
	if err := other.Publish(); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("second publish: %v", err)
	}
	other.Discard("", "")
	if b, _ := os.ReadFile(filepath.Join(final, inventoryFile)); string(b) != "a" {
		t.Fatalf("first checkpoint overwritten: %q", b)
	}
}

func TestImageStageKeep(t *testing.T) {
	final := filepath.Join(t.TempDir(), "ck")
	s, err := NewStage(final)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, inventoryFile), "only copy")
	kept := s.Keep()
	if !strings.HasPrefix(kept, final+".rt-unpublished-") || !HasCheckpoint(kept) {
		t.Fatalf("kept at %s", kept)
	}
	removeStaleStages(final)
	if !HasCheckpoint(kept) {
		t.Fatal("stale-stage cleanup removed kept images")
	}
}
