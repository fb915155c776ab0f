package libct

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/go-units"
	"github.com/rt-runtime/rt/libct/internal/jsonutil"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/intelrdt"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// UpdateRequest is "rt update": new resource limits for a container.
// Pointer and empty fields mean "unchanged", as containerd's shim expects
// (it sends zero values for what it does not change).
type UpdateRequest struct {
	Resources     specs.LinuxResources
	L3CacheSchema string
	MemBwSchema   string
}

// NewUpdateRequest returns a request whose sub-structs are allocated, so
// flag parsing can fill them in.
func NewUpdateRequest() *UpdateRequest {
	f := false
	return &UpdateRequest{Resources: specs.LinuxResources{
		Memory:  &specs.LinuxMemory{CheckBeforeUpdate: &f},
		CPU:     &specs.LinuxCPU{},
		BlockIO: &specs.LinuxBlockIO{},
		Pids:    &specs.LinuxPids{},
	}}
}

// DecodeResources reads a LinuxResources JSON (update --resources) into
// the request, on top of its allocated defaults.
func (u *UpdateRequest) DecodeResources(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := jsonutil.Decode(data, &u.Resources); err != nil {
		return err
	}
	// A JSON null for a section leaves it nil; allocate again.
	n := NewUpdateRequest().Resources
	if u.Resources.Memory == nil {
		u.Resources.Memory = n.Memory
	}
	if u.Resources.CPU == nil {
		u.Resources.CPU = n.CPU
	}
	if u.Resources.BlockIO == nil {
		u.Resources.BlockIO = n.BlockIO
	}
	if u.Resources.Pids == nil {
		u.Resources.Pids = n.Pids
	}
	return nil
}

// Update applies the request to the container's cgroups and saves it.
func (o *Runtime) Update(id string, u *UpdateRequest) error {
	return o.withContainer(id, func(c *libcontainer.Container) error {
		config := c.Config()
		if err := u.apply(&config); err != nil {
			return err
		}
		return c.Set(config)
	})
}

func (u *UpdateRequest) apply(config *configs.Config) error {
	r := &u.Resources
	res := config.Cgroups.Resources
	if r.Memory.Limit != nil && *r.Memory.Limit == -1 && r.Memory.Swap == nil {
		// Unlimited memory implies unlimited swap unless told otherwise.
		zero := int64(0)
		r.Memory.Swap = &zero
	}
	if r.CPU.Idle != nil && r.CPU.Shares == nil {
		zero := uint64(0)
		r.CPU.Shares = &zero
	}
	if r.Memory.Kernel != nil || r.Memory.KernelTCP != nil { //nolint:staticcheck // accepted and ignored, as runc does
		logrus.Warn("Kernel memory settings are ignored and will be removed")
	}

	if w := r.BlockIO.Weight; w != nil {
		res.BlkioWeight = *w
	}
	if w := r.BlockIO.LeafWeight; w != nil {
		res.BlkioLeafWeight = *w
	}
	for _, wd := range r.BlockIO.WeightDevice {
		res.BlkioWeightDevice = upsertWeightDevice(res.BlkioWeightDevice, wd)
	}
	res.BlkioThrottleReadBpsDevice = upsertThrottleDevices(res.BlkioThrottleReadBpsDevice, r.BlockIO.ThrottleReadBpsDevice)
	res.BlkioThrottleWriteBpsDevice = upsertThrottleDevices(res.BlkioThrottleWriteBpsDevice, r.BlockIO.ThrottleWriteBpsDevice)
	res.BlkioThrottleReadIOPSDevice = upsertThrottleDevices(res.BlkioThrottleReadIOPSDevice, r.BlockIO.ThrottleReadIOPSDevice)
	res.BlkioThrottleWriteIOPSDevice = upsertThrottleDevices(res.BlkioThrottleWriteIOPSDevice, r.BlockIO.ThrottleWriteIOPSDevice)

	// Period and quota go together; when only one is given the other
	// keeps its current value.
	var period uint64
	var quota int64
	if r.CPU.Period != nil {
		period = *r.CPU.Period
	}
	if r.CPU.Quota != nil {
		quota = *r.CPU.Quota
	}
	switch {
	case (period == 0) == (quota == 0):
		res.CpuPeriod, res.CpuQuota = period, quota
	case period != 0:
		res.CpuPeriod = period
	default:
		res.CpuQuota = quota
	}
	res.CpuBurst = r.CPU.Burst
	if s := r.CPU.Shares; s != nil {
		res.CpuShares = *s
		res.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*s)
	}
	if v := r.CPU.RealtimePeriod; v != nil {
		res.CpuRtPeriod = *v
	}
	if v := r.CPU.RealtimeRuntime; v != nil {
		res.CpuRtRuntime = *v
	}
	res.CpusetCpus = r.CPU.Cpus
	res.CpusetMems = r.CPU.Mems
	res.CPUIdle = r.CPU.Idle
	if v := r.Memory.Limit; v != nil {
		res.Memory = *v
	}
	if v := r.Memory.Reservation; v != nil {
		res.MemoryReservation = *v
	}
	if v := r.Memory.Swap; v != nil {
		res.MemorySwap = *v
	}
	if v := r.Memory.CheckBeforeUpdate; v != nil {
		res.MemoryCheckBeforeUpdate = *v
	}
	res.PidsLimit = r.Pids.Limit
	res.Unified = r.Unified

	if u.L3CacheSchema != "" && !intelrdt.IsCATEnabled() {
		return errors.New("Intel RDT/CAT: l3 cache schema is not enabled")
	}
	if u.MemBwSchema != "" && !intelrdt.IsMBAEnabled() {
		return errors.New("Intel RDT/MBA: memory bandwidth schema is not enabled")
	}
	if u.L3CacheSchema != "" || u.MemBwSchema != "" {
		if config.IntelRdt == nil {
			return errors.New("updating a non-existent Intel RDT configuration is not supported")
		}
		if u.L3CacheSchema != "" {
			config.IntelRdt.L3CacheSchema = u.L3CacheSchema
		}
		if u.MemBwSchema != "" {
			config.IntelRdt.MemBwSchema = u.MemBwSchema
		}
	}
	// Device rules are not part of an update; re-applying them would
	// briefly deny device access in cgroup v1.
	config.Cgroups.SkipDevices = true
	return nil
}

// The upserts change the LAST entry for a device: with duplicates in the
// config, the last one is what the kernel ends up with.

func upsertWeightDevice(devs []*cgroups.WeightDevice, wd specs.LinuxWeightDevice) []*cgroups.WeightDevice {
	i := lastIndex(devs, func(d *cgroups.WeightDevice) bool { return d.Major == wd.Major && d.Minor == wd.Minor })
	if i < 0 {
		devs = append(devs, cgroups.NewWeightDevice(wd.Major, wd.Minor, 0, 0))
		i = len(devs) - 1
	}
	if wd.Weight != nil {
		devs[i].Weight = *wd.Weight
	}
	if wd.LeafWeight != nil {
		devs[i].LeafWeight = *wd.LeafWeight
	}
	return devs
}

func upsertThrottleDevices(devs []*cgroups.ThrottleDevice, in []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
	for _, td := range in {
		i := lastIndex(devs, func(d *cgroups.ThrottleDevice) bool { return d.Major == td.Major && d.Minor == td.Minor })
		if i < 0 {
			devs = append(devs, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate))
		} else {
			devs[i].Rate = td.Rate
		}
	}
	return devs
}

// SetFlag applies one "rt update" command-line flag to the request. Memory
// values accept units ("512m") and -1 for unlimited.
func (u *UpdateRequest) SetFlag(name, value string) error {
	r := &u.Resources
	bad := func(err error) error { return fmt.Errorf("invalid value for %s: %w", name, err) }
	setUint := func(dst **uint64) error {
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return bad(err)
		}
		*dst = &v
		return nil
	}
	setInt := func(dst **int64) error {
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return bad(err)
		}
		*dst = &v
		return nil
	}
	setBytes := func(dst **int64) error {
		v := int64(-1)
		if value != "-1" {
			var err error
			if v, err = units.RAMInBytes(value); err != nil {
				return bad(err)
			}
		}
		*dst = &v
		return nil
	}
	switch name {
	case "blkio-weight":
		v, err := strconv.ParseUint(value, 10, 16)
		if err != nil {
			return bad(err)
		}
		if v != 0 {
			w := uint16(v)
			r.BlockIO.Weight = &w
		}
	case "cpuset-cpus":
		r.CPU.Cpus = value
	case "cpuset-mems":
		r.CPU.Mems = value
	case "cpu-idle":
		return setInt(&r.CPU.Idle)
	case "cpu-burst":
		return setUint(&r.CPU.Burst)
	case "cpu-period":
		return setUint(&r.CPU.Period)
	case "cpu-rt-period":
		return setUint(&r.CPU.RealtimePeriod)
	case "cpu-share":
		return setUint(&r.CPU.Shares)
	case "cpu-quota":
		return setInt(&r.CPU.Quota)
	case "cpu-rt-runtime":
		return setInt(&r.CPU.RealtimeRuntime)
	case "memory":
		return setBytes(&r.Memory.Limit)
	case "memory-swap":
		return setBytes(&r.Memory.Swap)
	case "memory-reservation":
		return setBytes(&r.Memory.Reservation)
	case "kernel-memory":
		return setBytes(&r.Memory.Kernel) //nolint:staticcheck // accepted and ignored
	case "kernel-memory-tcp":
		return setBytes(&r.Memory.KernelTCP)
	case "pids-limit":
		return setInt(&r.Pids.Limit)
	case "l3-cache-schema":
		u.L3CacheSchema = value
	case "mem-bw-schema":
		u.MemBwSchema = value
	default:
		return fmt.Errorf("unknown update flag %q", name)
	}
	return nil
}

func lastIndex[T any](s []T, match func(T) bool) int {
	for i := len(s) - 1; i >= 0; i-- {
		if match(s[i]) {
			return i
		}
	}
	return -1
}
