package ckpt

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// HostInfo is what a checkpoint depends on in the machine it was taken
// on, recorded in its manifest and compared at restore.
type HostInfo struct {
	Arch          string   `json:"arch"`
	Kernel        string   `json:"kernel"`
	CriuVersion   int      `json:"criuVersion,omitempty"` // e.g. 31701 for 3.17.1
	CgroupVersion string   `json:"cgroupVersion"`         // "v1", "v2" or "hybrid"
	CPUFeatures   []string `json:"cpuFeatures,omitempty"`
}

// relevantCPUFlags are the /proc/cpuinfo flags whose absence on the restore
// host breaks restored processes: code chooses instruction sets once, at
// start-up, and keeps using them after restore (an AVX-512 memcpy dies
// with SIGILL on a CPU without it), and the FPU state size depends on the
// xsave features.
var relevantCPUFlags = []string{
	"sse", "sse2", "ssse3", "sse4_1", "sse4_2", "popcnt", "aes", "pclmulqdq",
	"avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "adx", "sha_ni",
	"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni",
	"amx_tile", "amx_bf16", "amx_int8",
	"xsave", "xsaveopt", "xsavec", "xsaves", "pku", "ospke",
}

// CurrentHost describes this machine. CRIU's version is asked with
// criuPath ("" = criu from PATH); a missing CRIU leaves it 0.
func CurrentHost(criuPath string) HostInfo {
	h := HostWithoutCriu()
	h.CriuVersion = QueryCriuVersion(criuPath)
	return h
}

// HostWithoutCriu is CurrentHost without asking CRIU its version, which
// costs a CRIU start (0.2-0.5 s under emulation): a checkpoint reads the
// version from CRIU's log instead (CriuVersionFromLog).
func HostWithoutCriu() HostInfo {
	h := HostInfo{Arch: runtime.GOARCH, CgroupVersion: cgroupVersion(), CPUFeatures: cpuFeatures()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return h
}

func cgroupVersion() string {
	switch {
	case cgroups.IsCgroup2UnifiedMode():
		return "v2"
	case cgroups.IsCgroup2HybridMode():
		return "hybrid"
	default:
		return "v1"
	}
}

func cpuFeatures() []string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		have := strings.Fields(val)
		var out []string
		for _, flag := range relevantCPUFlags {
			if slices.Contains(have, flag) {
				out = append(out, flag)
			}
		}
		return out
	}
	return nil
}

// RestoreBlockers lists why an image taken on host img cannot be restored
// on host here. Kernel and CRIU differences are not blockers by themselves:
// CRIU reads images of older versions, and its own checks run later.
func RestoreBlockers(img, here HostInfo) []string {
	var out []string
	if img.Arch != "" && img.Arch != here.Arch {
		out = append(out, "architecture "+img.Arch+" (this host: "+here.Arch+")")
	}
	var missing []string
	for _, f := range img.CPUFeatures {
		if !slices.Contains(here.CPUFeatures, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		out = append(out, "CPU features missing on this host: "+strings.Join(missing, " "))
	}
	if img.CriuVersion > 0 && here.CriuVersion > 0 && img.CriuVersion/10000 > here.CriuVersion/10000 {
		out = append(out, "images written by CRIU "+CriuVersionString(img.CriuVersion)+", this host has CRIU "+CriuVersionString(here.CriuVersion))
	}
	return out
}
