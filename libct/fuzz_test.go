package libct

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets cover everything rt parses from outside: config.json,
// exec --process JSON, update --resources JSON, checkpoint manifests and
// imported archives. Run one with e.g.
//   go test -tags seccomp -run '^$' -fuzz FuzzImportArchive -fuzztime 10m ./libct
// Seed corpora live in testdata/fuzz/<target>.

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.0","process":{"cwd":"/","args":["sh"]},"root":{"path":"rootfs"}}`))
	f.Add([]byte(`{"process":{"cwd":"/","args":["sh"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec(data)
		if err == nil {
			if spec.Process == nil || len(spec.Process.Args) == 0 {
				t.Fatal("accepted a spec without process args")
			}
			_, _ = NewProcess(spec.Process)
		}
	})
}

func FuzzParseProcess(f *testing.F) {
	f.Add([]byte(`{"cwd":"/","args":["ls"],"env":["A=1"],"user":{"uid":1,"gid":2,"additionalGids":[3]}}`))
	f.Add([]byte(`{"cwd":"/","args":["ls"],"capabilities":{"bounding":["CAP_KILL"]},"consoleSize":{"height":10,"width":80}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ParseProcess(data); err == nil {
			if !filepath.IsAbs(p.Cwd) {
				t.Fatal("accepted a relative cwd")
			}
			_, _ = NewProcess(p)
		}
	})
}

func FuzzUpdateResources(f *testing.F) {
	f.Add([]byte(`{"memory":{"limit":1048576,"swap":-1},"cpu":{"shares":10,"quota":1000,"period":100000,"cpus":"0"},"pids":{"limit":10}}`))
	f.Add([]byte(`{"blockIO":{"weight":100,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u := NewUpdateRequest()
		_ = u.DecodeResources(bytes.NewReader(data))
	})
}

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
		_ = importArchive(archive, importTarget{
			imageDir: dirs["img"], rootfs: dirs["rootfs"],
			volumes: map[string]string{"data": dirs["vol"]},
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
