package libct

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSpecErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadSpec(dir)
	if err == nil || !strings.Contains(err.Error(), "config.json not found") {
		t.Fatalf("missing config: got %v", err)
	}
	cases := map[string]string{
		`{"process": `: "offset",
		`{"process": {"cwd": "/", "args": ["sh"]}} junk`: "unexpected data",
		`{"process": {"cwd": 5}}`:                        `field "process.cwd"`,
		`null`:                                           "config cannot be null",
		`{}`:                                             "process property must not be empty",
		`{"process": {"cwd": "rel", "args": ["sh"]}}`:       "Cwd must be an absolute path",
		`{"process": {"cwd": "/", "args": []}}`:             "args must not be empty",
		`{"process": {"cwd": "", "args": ["sh"]}}`:          "Cwd property must not be empty",
		`{"ociVersion": "1.0.0", "process": {"cwd": "/"}} `: "args must not be empty",
	}
	for content, want := range cases {
		if err := os.WriteFile(filepath.Join(dir, SpecConfig), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSpec(dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: got %v, want error containing %q", content, err, want)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, SpecConfig)) {
			t.Errorf("config %q: error %q does not name the file", content, err)
		}
	}
	good := `{"process": {"cwd": "/", "args": ["sh"]}, "root": {"path": "rootfs"}}`
	if err := os.WriteFile(filepath.Join(dir, SpecConfig), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(dir)
	if err != nil || s.Root.Path != "rootfs" || s.Process.Args[0] != "sh" {
		t.Fatalf("good config: %+v, %v", s, err)
	}
}

func TestParseProcess(t *testing.T) {
	p, err := ParseProcess([]byte(`{"cwd":"/","args":["ls","-l"],"env":["A=1"]}`))
	if err != nil || len(p.Args) != 2 || p.Env[0] != "A=1" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := ParseProcess([]byte(`{"cwd":"/"}`)); err == nil {
		t.Fatal("process without args accepted")
	}
}

func TestWriteExampleSpec(t *testing.T) {
	dir := t.TempDir()
	if err := WriteExampleSpec(dir, false); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSpec(dir); err != nil {
		t.Fatalf("example spec does not load: %v", err)
	}
	err := WriteExampleSpec(dir, false)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second write: %v, want 'exists' error", err)
	}
}
