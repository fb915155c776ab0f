package ckpt

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for what an image brings in from outside: manifests and
// imported archives. Run one with e.g.
//   go test -run '^$' -fuzz FuzzImportArchive -fuzztime 10m ./libct/ckpt
// Seed corpora live in testdata/fuzz/<target>.

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"manifestVersion":1,"kind":"dump","containerID":"c","files":{"inventory.img":"00"}}`))
	f.Add([]byte(`{"manifestVersion":2,"kind":"dump","digest":"xxh64","files":{"pages-1.img":"0123456789abcdef"}}`))
	f.Add([]byte(`{"manifestVersion":1,"kind":"pre-dump","files":{"a/b.img":"ff"},"options":{"tcpEstablished":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for name := range m.Files {
			if !filepath.IsLocal(filepath.FromSlash(name)) {
				t.Fatalf("accepted file name %q", name)
			}
		}
		// Verification must stay inside the directory it is given.
		_ = m.Verify(t.TempDir())
	})
}

// FuzzImportArchive feeds arbitrary archives to the importer and checks
// that nothing is ever created outside the three targets.
func FuzzImportArchive(f *testing.F) {
	for _, entries := range [][][2]string{
		{{"checkpoint/inventory.img", "x"}, {"config.dump", "{}"}},
		{{"checkpoint/../escape", "x"}},
		{{"checkpoint/inventory.img", "x"}, {"deleted.files", `["a","../b"]`}},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range entries {
			addBytes(tw, e[0], []byte(e[1]))
		}
		tw.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		sentinel := filepath.Join(base, "outside")
		os.WriteFile(sentinel, []byte("keep"), 0o600)
		dirs := map[string]string{"img": "", "rootfs": "", "vol": ""}
		for k := range dirs {
			dirs[k] = filepath.Join(base, "t", k)
			os.MkdirAll(dirs[k], 0o700)
		}
		archive := filepath.Join(base, "a.tar")
		os.WriteFile(archive, data, 0o600)
		_ = Import(archive, ImportTarget{
			ImageDir: dirs["img"], Rootfs: dirs["rootfs"],
			Volumes: map[string]string{"data": dirs["vol"]},
		})
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if n := e.Name(); n != "outside" && n != "t" && n != "a.tar" {
				t.Fatalf("import created %s outside its targets", n)
			}
		}
		if b, err := os.ReadFile(sentinel); err != nil || string(b) != "keep" {
			t.Fatal("import touched a file outside its targets")
		}
		tEntries, _ := os.ReadDir(filepath.Join(base, "t"))
		for _, e := range tEntries {
			if _, ok := dirs[e.Name()]; !ok {
				t.Fatalf("import created t/%s", e.Name())
			}
		}
		filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type()&(os.ModeDevice|os.ModeCharDevice) != 0 && !strings.HasSuffix(p, "outside") {
				t.Fatalf("device file %s extracted", p)
			}
			return nil
		})
	})
}
