package libct

import (
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

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
