package libct

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"google.golang.org/protobuf/proto"
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

func TestFilterPsOutput(t *testing.T) {
	out := "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\nroot 43 1 other\n"
	got, err := filterPsOutput(out, []int{42})
	if err != nil {
		t.Fatal(err)
	}
	if got != "UID PID PPID CMD\nroot 42 1 sleep\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := filterPsOutput("UID CMD\n", nil); err == nil {
		t.Fatal("missing PID column accepted")
	}
}

func TestParseSubCgroups(t *testing.T) {
	got, err := ParseSubCgroups([]string{"cpu,memory:sub", "pids:p"})
	want := map[string]string{"cpu": "sub", "memory": "sub", "pids": "p"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = ParseSubCgroups([]string{"only"})
	if err != nil || got[""] != "only" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][]string{{"a", "b"}, {":x"}, {"cpu:a", "cpu:b"}} {
		if _, err := ParseSubCgroups(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestUpdateRequest(t *testing.T) {
	u := NewUpdateRequest()
	for name, v := range map[string]string{"memory": "64m", "pids-limit": "10", "cpu-quota": "5000", "cpuset-cpus": "0"} {
		if err := u.SetFlag(name, v); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &configs.Config{Cgroups: &configs.Cgroup{Resources: &cgroups.Resources{CpuPeriod: 100000, Memory: 1}}}
	if err := u.apply(cfg); err != nil {
		t.Fatal(err)
	}
	r := cfg.Cgroups.Resources
	if r.Memory != 64<<20 || *r.PidsLimit != 10 || r.CpuQuota != 5000 || r.CpuPeriod != 100000 || r.CpusetCpus != "0" {
		t.Fatalf("applied resources wrong: %+v", r)
	}
	if !cfg.Cgroups.SkipDevices {
		t.Fatal("update must not re-apply device rules")
	}
	// Duplicates: the last entry for a device is the one that counts.
	u = NewUpdateRequest()
	u.Resources.BlockIO.ThrottleReadBpsDevice = []specs.LinuxThrottleDevice{{Rate: 10}}
	u.Resources.BlockIO.ThrottleReadBpsDevice[0].Major, u.Resources.BlockIO.ThrottleReadBpsDevice[0].Minor = 8, 0
	dup := []*cgroups.ThrottleDevice{cgroups.NewThrottleDevice(8, 0, 1), cgroups.NewThrottleDevice(8, 0, 1)}
	cfg = &configs.Config{Cgroups: &configs.Cgroup{Resources: &cgroups.Resources{BlkioThrottleReadBpsDevice: dup}}}
	if err := u.apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Cgroups.Resources.BlkioThrottleReadBpsDevice; len(got) != 2 || got[1].Rate != 10 {
		t.Fatalf("duplicate device: last entry not updated: %v %v", got[0], got[1])
	}
	u = NewUpdateRequest()
	if err := u.SetFlag("memory", "lots"); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("bad memory value: %v", err)
	}

	u = NewUpdateRequest()
	if err := u.DecodeResources(strings.NewReader(`{"memory":{"limit":-1},"cpu":null}`)); err != nil {
		t.Fatal(err)
	}
	cfg = &configs.Config{Cgroups: &configs.Cgroup{Resources: &cgroups.Resources{MemorySwap: 5}}}
	if err := u.apply(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Cgroups.Resources.Memory != -1 || cfg.Cgroups.Resources.MemorySwap != 0 {
		t.Fatalf("unlimited memory must reset swap: %+v", cfg.Cgroups.Resources)
	}
	if err := NewUpdateRequest().DecodeResources(strings.NewReader(`{"memory":`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestCROptions(t *testing.T) {
	dir := t.TempDir()
	o, err := CROptions{ImagePath: dir, PageServer: "10.0.0.1:27", EmptyNs: []string{"network"}, StatusFd: -1}.criuOpts()
	if err != nil {
		t.Fatal(err)
	}
	if o.PageServer.Address != "10.0.0.1" || o.PageServer.Port != 27 || o.EmptyNs != unix.CLONE_NEWNET {
		t.Fatalf("got %+v", o)
	}
	for _, bad := range []CROptions{
		{ImagePath: dir, PageServer: "nohost"},
		{ImagePath: dir, PageServer: "h:notaport"},
		{ImagePath: dir, EmptyNs: []string{"pid"}},
		{ImagePath: dir, ManageCgroupsMode: "sometimes"},
	} {
		if _, err := bad.criuOpts(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := checkParentPath(dir, "/abs"); err == nil {
		t.Error("absolute parent accepted")
	}
	if err := checkParentPath(dir, "../nope"); err == nil {
		t.Error("missing parent accepted")
	}
	os.Mkdir(filepath.Join(dir, "parent"), 0o700)
	if err := checkParentPath(dir, "parent"); err != nil {
		t.Error(err)
	}
}

func TestVersionText(t *testing.T) {
	v := VersionText("rt", "1.2.3", "abc")
	lines := strings.Split(v, "\n")
	if lines[0] != "rt version 1.2.3" || lines[1] != "commit: abc" || !strings.HasPrefix(lines[2], "spec: ") || !strings.HasPrefix(lines[3], "go: ") {
		t.Fatalf("version text:\n%s", v)
	}
}

func TestCriuVersionFromLog(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dump.log")
	writeFile(t, p, "(00.000000) Running kerndat\n(00.000001) Version: 3.17.1 (gitid 0)\n(00.000002) more\n")
	if v := criuVersionFromLog(p); v != 31701 {
		t.Fatalf("3.17.1: %d", v)
	}
	writeFile(t, p, "(00.000001) Version: 4.1 (gitid v4.1)\n")
	if v := criuVersionFromLog(p); v != 40100 {
		t.Fatalf("4.1: %d", v)
	}
	for _, bad := range []string{"no version here\n", "Version: x.y\n", "Version: 3\n", "Version: 3.170.1\n", ""} {
		writeFile(t, p, bad)
		if v := criuVersionFromLog(p); v != 0 {
			t.Fatalf("%q: %d", bad, v)
		}
	}
	if v := criuVersionFromLog(filepath.Join(dir, "missing")); v != 0 {
		t.Fatalf("missing log: %d", v)
	}
}

func TestReadStats(t *testing.T) {
	dir := t.TempDir()
	frozen := uint32(1234)
	entry, err := proto.Marshal(&stats.StatsEntry{Dump: &stats.DumpStatsEntry{FrozenTime: &frozen, FreezingTime: proto.Uint32(1), MemdumpTime: proto.Uint32(2), MemwriteTime: proto.Uint32(3), PagesScanned: proto.Uint64(4), PagesSkippedParent: proto.Uint64(0), PagesWritten: proto.Uint64(5), PagesLazy: proto.Uint64(0)}})
	if err != nil {
		t.Fatal(err)
	}
	data := binary.LittleEndian.AppendUint32(nil, imgServiceMagic)
	data = binary.LittleEndian.AppendUint32(data, statsMagic)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(entry)))
	data = append(data, entry...)
	writeFile(t, filepath.Join(dir, "stats-dump"), string(data))
	d, err := ReadDumpStats(dir, "")
	if err != nil || d.FrozenTimeUs != 1234 || d.PagesWritten != 5 {
		t.Fatalf("%+v %v", d, err)
	}
	// With --work-path, CRIU writes its statistics there, not beside the
	// images: found in the work directory, reported for the image directory.
	images, work := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(work, "stats-dump"), string(data))
	d, err = ReadDumpStats(images, work)
	if err != nil || d.FrozenTimeUs != 1234 || d.ImageDirectory != images {
		t.Fatalf("stats in the work directory: %+v %v", d, err)
	}
	if _, err := ReadDumpStats(images, t.TempDir()); err == nil {
		t.Fatal("statistics found where there are none")
	}
	// truncated, wrong magic, length beyond the file: errors, no panic
	for _, bad := range [][]byte{data[:7], append([]byte{1, 2, 3, 4}, data[4:]...), data[:len(data)-1]} {
		writeFile(t, filepath.Join(dir, "stats-dump"), string(bad))
		if _, err := ReadDumpStats(dir, ""); err == nil {
			t.Fatalf("accepted %x", bad)
		}
	}
}
