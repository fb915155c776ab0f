package libct

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/intelrdt"
	"github.com/opencontainers/runc/types"
	"github.com/sirupsen/logrus"
)

// Events writes the container's events to w as JSON lines, in runc's
// format (types.Event): with once, a single "stats" record; otherwise a
// "stats" record every interval and an "oom" record on each OOM kill,
// until the container stops.
func (o *Runtime) Events(id string, interval time.Duration, once bool, w io.Writer) error {
	if interval <= 0 {
		return errors.New("duration interval must be greater than 0")
	}
	c, err := o.Load(id)
	if err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st == libcontainer.Stopped {
		return fmt.Errorf("container with id %s is not running", id)
	}
	enc := json.NewEncoder(w)
	emit := func(e *types.Event) {
		if err := enc.Encode(e); err != nil {
			logrus.Error(err)
		}
	}
	if once {
		s, err := c.Stats()
		if err != nil {
			return err
		}
		emit(&types.Event{Type: "stats", ID: id, Data: ConvertStats(s)})
		return nil
	}
	oom, err := c.NotifyOOM()
	if err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-oom:
			if !ok {
				// The notification source closes when the cgroup goes
				// away: the container has stopped.
				return nil
			}
			emit(&types.Event{Type: "oom", ID: id})
		case <-tick.C:
			s, err := c.Stats()
			if err != nil {
				logrus.Error(err)
				continue
			}
			emit(&types.Event{Type: "stats", ID: id, Data: ConvertStats(s)})
		}
	}
}

// ConvertStats turns libcontainer's statistics into the stable types.Stats
// JSON that runc's events command prints.
func ConvertStats(ls *libcontainer.Stats) *types.Stats {
	cg := ls.CgroupStats
	if cg == nil {
		return nil
	}
	var s types.Stats
	s.Pids.Current, s.Pids.Limit = cg.PidsStats.Current, cg.PidsStats.Limit

	u := cg.CpuStats.CpuUsage
	s.CPU.Usage = types.CpuUsage{
		Kernel: u.UsageInKernelmode, User: u.UsageInUsermode, Total: u.TotalUsage,
		Percpu: u.PercpuUsage, PercpuKernel: u.PercpuUsageInKernelmode, PercpuUser: u.PercpuUsageInUsermode,
	}
	t := cg.CpuStats.ThrottlingData
	s.CPU.Throttling = types.Throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledTime: t.ThrottledTime}
	s.CPU.PSI = cg.CpuStats.PSI
	s.CPUSet = types.CPUSet(cg.CPUSetStats)

	m := cg.MemoryStats
	s.Memory.Cache = m.Cache
	s.Memory.Kernel = memoryEntry(m.KernelUsage)
	s.Memory.KernelTCP = memoryEntry(m.KernelTCPUsage)
	s.Memory.Swap = memoryEntry(m.SwapUsage)
	s.Memory.Usage = memoryEntry(m.Usage)
	s.Memory.Raw = m.Stats
	s.Memory.PSI = m.PSI

	b := cg.BlkioStats
	s.Blkio.IoServiceBytesRecursive = blkioEntries(b.IoServiceBytesRecursive)
	s.Blkio.IoServicedRecursive = blkioEntries(b.IoServicedRecursive)
	s.Blkio.IoQueuedRecursive = blkioEntries(b.IoQueuedRecursive)
	s.Blkio.IoServiceTimeRecursive = blkioEntries(b.IoServiceTimeRecursive)
	s.Blkio.IoWaitTimeRecursive = blkioEntries(b.IoWaitTimeRecursive)
	s.Blkio.IoMergedRecursive = blkioEntries(b.IoMergedRecursive)
	s.Blkio.IoTimeRecursive = blkioEntries(b.IoTimeRecursive)
	s.Blkio.SectorsRecursive = blkioEntries(b.SectorsRecursive)
	s.Blkio.PSI = b.PSI

	s.Hugetlb = make(map[string]types.Hugetlb, len(cg.HugetlbStats))
	for k, v := range cg.HugetlbStats {
		s.Hugetlb[k] = types.Hugetlb{Usage: v.Usage, Max: v.MaxUsage, Failcnt: v.Failcnt}
	}

	if is := ls.IntelRdtStats; is != nil {
		if intelrdt.IsCATEnabled() && is.L3CacheInfo != nil {
			ci := types.L3CacheInfo(*is.L3CacheInfo)
			s.IntelRdt.L3CacheInfo = &ci
			s.IntelRdt.L3CacheSchemaRoot = is.L3CacheSchemaRoot
			s.IntelRdt.L3CacheSchema = is.L3CacheSchema
		}
		if intelrdt.IsMBAEnabled() && is.MemBwInfo != nil {
			mi := types.MemBwInfo(*is.MemBwInfo)
			s.IntelRdt.MemBwInfo = &mi
			s.IntelRdt.MemBwSchemaRoot = is.MemBwSchemaRoot
			s.IntelRdt.MemBwSchema = is.MemBwSchema
		}
		if intelrdt.IsMBMEnabled() {
			s.IntelRdt.MBMStats = is.MBMStats
		}
		if intelrdt.IsCMTEnabled() {
			s.IntelRdt.CMTStats = is.CMTStats
		}
		s.IntelRdt.Schemata = is.Schemata
	}
	s.NetworkInterfaces = ls.Interfaces
	return &s
}

func memoryEntry(c cgroups.MemoryData) types.MemoryEntry {
	return types.MemoryEntry{Limit: c.Limit, Usage: c.Usage, Max: c.MaxUsage, Failcnt: c.Failcnt}
}

func blkioEntries(in []cgroups.BlkioStatEntry) []types.BlkioEntry {
	var out []types.BlkioEntry
	for _, e := range in {
		out = append(out, types.BlkioEntry(e))
	}
	return out
}
