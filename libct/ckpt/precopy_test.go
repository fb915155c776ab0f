package ckpt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMorePreCopy(t *testing.T) {
	r := func(pages ...uint64) []Round {
		var out []Round
		for _, p := range pages {
			out = append(out, Round{PagesWritten: p})
		}
		return out
	}
	for _, c := range []struct {
		name   string
		rounds []Round
		max    int
		want   bool
	}{
		{"first round always", nil, 4, true},
		{"no rounds allowed", nil, 0, false},
		{"one big round", r(100000), 4, true},
		{"shrinking", r(100000, 5000), 4, true},
		{"stopped shrinking", r(100000, 5000, 4800), 4, false},
		{"grew", r(100000, 5000, 6000), 4, false},
		{"small enough", r(100000, 200), 4, false},
		{"max reached", r(100000, 50000, 20000), 3, false},
		{"max 1", r(100000), 1, false},
	} {
		if got := MorePreCopy(c.rounds, c.max); got != c.want {
			t.Errorf("%s: MorePreCopy = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCheckChain(t *testing.T) {
	mk := func(t *testing.T) string {
		dir := t.TempDir()
		for _, d := range []string{"pre-copy/1", "pre-copy/2"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("../1", filepath.Join(dir, "pre-copy/2/parent")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := mk(t)
	if err := os.Symlink("pre-copy/2", filepath.Join(dir, "parent")); err != nil {
		t.Fatal(err)
	}
	if err := CheckChain(dir); err != nil {
		t.Fatalf("good chain refused: %v", err)
	}
	for name, c := range map[string]struct{ link, target, want string }{
		"outside":      {"parent", "../../etc", "outside the image"},
		"absolute":     {"parent", "/etc", "outside the image"},
		"not parent":   {"pages-9.img", "pre-copy/1", "only CRIU's parent links"},
		"missing":      {"parent", "pre-copy/7", "not a directory of the image"},
		"round escape": {"pre-copy/1/parent", "../../..", "outside the image"},
	} {
		dir := mk(t)
		if err := os.Symlink(c.target, filepath.Join(dir, c.link)); err != nil {
			t.Fatal(err)
		}
		err := CheckChain(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckChain = %v, want an error with %q", name, err, c.want)
		}
	}
}

func TestPreCopyOptions(t *testing.T) {
	var o Options
	if o.PreCopyRounds() != DefaultPreCopyRounds {
		t.Fatalf("default rounds %d", o.PreCopyRounds())
	}
	if err := o.Set(Lookup("pre-copy-rounds"), 0); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--pre-copy-rounds") {
		t.Fatalf("0 rounds accepted: %v", err)
	}
	d, err := Defaults(&Config{}, map[string]string{AnnotationPrefix + "pre-copy": "true", AnnotationPrefix + "pre-copy-rounds": "2", AnnotationPrefix + "lazy": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if !d.PreCopy() || d.PreCopyRounds() != 2 || !d.Lazy() {
		t.Fatalf("annotations not taken: %q", d.Flags())
	}
}
