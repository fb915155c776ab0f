package ckpt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// preCopyImage lays out a --pre-copy checkpoint as rt writes it: two
// rounds and the final dump, linked by parent symlinks.
func preCopyImage(t *testing.T) (string, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	for n, parent := range map[int]string{1: "", 2: "../1"} {
		rd := filepath.Join(dir, RoundDir(n))
		writeFile(t, filepath.Join(rd, inventoryFile), "inventory")
		writeFile(t, filepath.Join(rd, "pages-1.img"), strings.Repeat("r", 4096*n))
		if parent != "" {
			if err := os.Symlink(parent, filepath.Join(rd, "parent")); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteManifest(rd, &Manifest{Kind: KindPreDump, ContainerID: "c1"}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, inventoryFile), "inventory")
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("f", 4096))
	if err := os.Symlink(RoundDir(2), filepath.Join(dir, "parent")); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Kind: KindDump, ContainerID: "c1", PreCopy: []Round{{Dir: RoundDir(1), PagesWritten: 1}, {Dir: RoundDir(2), PagesWritten: 2}}}
	if err := WriteManifest(dir, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func TestPreCopyImageVerifiedExportedImported(t *testing.T) {
	img, m := preCopyImage(t)
	if m.Files["pre-copy/2/pages-1.img"] == "" || m.Files["pre-copy/1/rt-manifest.json"] != "" {
		t.Fatalf("the manifest must cover the rounds' images, not their manifests: %v", m.Files)
	}
	if v := CheckImage(img, HostWithoutCriu(), nil); !v.Restorable() {
		t.Fatalf("pre-copy image refused: %v", v.Err())
	}
	// a round on its own is a pre-dump, never a checkpoint
	if v := CheckImage(filepath.Join(img, RoundDir(2)), HostWithoutCriu(), nil); v.Restorable() || !strings.Contains(v.Err().Error(), "pre-dump") {
		t.Fatalf("a round alone: %v", v.Err())
	}
	// a changed round is found
	writeFile(t, filepath.Join(img, RoundDir(1), "pages-1.img"), strings.Repeat("x", 4096))
	if v := CheckImage(img, HostWithoutCriu(), nil); v.Restorable() {
		t.Fatal("a corrupted round was not found")
	}
	writeFile(t, filepath.Join(img, RoundDir(1), "pages-1.img"), strings.Repeat("r", 4096))

	archive := filepath.Join(t.TempDir(), "pc.tar")
	if err := Export(img, "", time.Now(), m, ExportOptions{Path: archive, Compression: CompressZstd}); err != nil {
		t.Fatalf("export of a pre-copy chain: %v", err)
	}
	out := t.TempDir()
	sums := map[string]string{}
	if err := Import(archive, ImportTarget{ImageDir: out, Sums: sums}); err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(filepath.Join(out, RoundDir(2), "parent")); l != "../1" {
		t.Fatalf("round 2's parent link after import: %q", l)
	}
	if v := CheckImage(out, HostWithoutCriu(), sums); !v.Restorable() {
		t.Fatalf("imported chain refused: %v", v.Err())
	}
	// a chain that leaves the image is refused after an import
	os.Remove(filepath.Join(out, "parent"))
	os.Symlink("/etc", filepath.Join(out, "parent"))
	if v := CheckImage(out, HostWithoutCriu(), sums); v.Restorable() || !strings.Contains(v.Err().Error(), "outside the image") {
		t.Fatalf("escaping parent link: %v", v.Err())
	}
}

func TestParentPathImageStillNotExported(t *testing.T) {
	img, m := sampleImage(t)
	os.Symlink("../pre", filepath.Join(img, "parent"))
	err := Export(img, "", time.Now(), m, ExportOptions{Path: filepath.Join(t.TempDir(), "x.tar"), Compression: CompressNone})
	if err == nil || !strings.Contains(err.Error(), "--parent-path") {
		t.Fatalf("export of a --parent-path image: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"1048576": 1 << 20, "512K": 512 << 10, "64M": 64 << 20, "1G": 1 << 30, "10000000000": 10000000000} {
		if n, err := ParseSize(s); err != nil || n != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for _, s := range []string{"", "G", "1KM", "1T", "-1", "9223372036854775807G"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
}
