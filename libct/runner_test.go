package libct

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWritePidNoNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "init.pid")
	if err := writePid(path, 4242); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "4242" {
		t.Fatalf("pid file %q, %v; want exactly 4242", data, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), ".init.pid")); !os.IsNotExist(err) {
		t.Fatal("temporary pid file left behind")
	}
}
