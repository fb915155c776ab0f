package libct

import (
	"testing"

	"github.com/opencontainers/runc/libcontainer/devices"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestNormalizeDevicesFifo(t *testing.T) {
	spec := specconv.Example()
	spec.Root.Path = t.TempDir()
	spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/test3", Type: "p", Major: 8, Minor: 666},
		{Path: "/dev/test1", Type: "c", Major: 1, Minor: 3},
		{Path: "/dev/test2", Type: "b", Major: 8, Minor: 1},
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: "t", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	normalizeDevices(config)
	want := map[string][3]int64{
		"/dev/test3": {int64(devices.FifoDevice), 0, 0},
		"/dev/test1": {int64(devices.CharDevice), 1, 3},
		"/dev/test2": {int64(devices.BlockDevice), 8, 1},
	}
	seen := 0
	for _, d := range config.Devices {
		w, ok := want[d.Path]
		if !ok {
			continue
		}
		seen++
		if got := [3]int64{int64(d.Type), d.Major, d.Minor}; got != w {
			t.Errorf("%s: type/major/minor %c %d:%d, want %c %d:%d", d.Path, rune(got[0]), got[1], got[2], rune(w[0]), w[1], w[2])
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of the spec's %d devices in the config", seen, len(want))
	}
}
