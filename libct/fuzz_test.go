package libct

import (
	"bytes"
	"path/filepath"
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
