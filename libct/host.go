package libct

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7"
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
	h := hostWithoutCriu()
	h.CriuVersion = criuVersion(criuPath)
	return h
}

// hostWithoutCriu is CurrentHost without asking CRIU its version, which
// costs a CRIU start (0.2-0.5 s under emulation): a checkpoint reads the
// version from CRIU's log instead (criuVersionFromLog).
func hostWithoutCriu() HostInfo {
	h := HostInfo{Arch: runtime.GOARCH, CgroupVersion: cgroupVersion(), CPUFeatures: cpuFeatures()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return h
}

// criuVersionFromLog reads the version CRIU writes near the top of its
// log ("Version: 3.17.1 (gitid ...)"); 0 if there is none.
func criuVersionFromLog(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for n := 0; n < 50 && s.Scan(); n++ {
		_, rest, ok := strings.Cut(s.Text(), "Version: ")
		if !ok {
			continue
		}
		return parseCriuVersion(strings.Fields(rest + " ")[0])
	}
	return 0
}

// parseCriuVersion turns "3.17.1" or "4.1" into go-criu's number (31701,
// 40100); 0 if it is not a version.
func parseCriuVersion(s string) int {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0
	}
	v := 0
	for i, mult := range []int{10000, 100, 1} {
		if i >= len(parts) {
			break
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n > 99 {
			return 0
		}
		v += n * mult
	}
	return v
}

func criuVersion(path string) int {
	c := criu.MakeCriu()
	if path != "" {
		c.SetCriuPath(path)
	}
	v, err := c.GetCriuVersion()
	if err != nil {
		return 0
	}
	return v
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

// restoreBlockers lists why an image taken on host img cannot be restored
// on host here. Kernel and CRIU differences are not blockers by themselves:
// CRIU reads images of older versions, and its own checks run later.
func restoreBlockers(img, here HostInfo) []string {
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

// CriuVersionString turns go-criu's version number (31701) into "3.17.1".
func CriuVersionString(v int) string {
	if v <= 0 {
		return "unknown"
	}
	major, minor, sub := v/10000, v/100%100, v%100
	s := strconv.Itoa(major) + "." + strconv.Itoa(minor)
	if sub > 0 {
		s += "." + strconv.Itoa(sub)
	}
	return s
}
