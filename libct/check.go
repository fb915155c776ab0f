package libct

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// CheckFeature is one CRIU/kernel feature "rt check" probes, with the rt
// flag that needs it.
type CheckFeature struct {
	Name      string `json:"name"`      // CRIU's feature name
	NeededFor string `json:"neededFor"` // what uses it
	Supported bool   `json:"supported"`
}

// CheckReport is the verdict of "rt check".
type CheckReport struct {
	CriuPath    string         `json:"criuPath"`
	CriuFound   bool           `json:"criuFound"`
	CriuVersion string         `json:"criuVersion,omitempty"`
	Kernel      string         `json:"kernel"`
	Works       bool           `json:"works"`
	Problem     string         `json:"problem,omitempty"`
	Fix         string         `json:"fix,omitempty"`
	CriuErrors  []string       `json:"criuErrors,omitempty"`
	Features    []CheckFeature `json:"features,omitempty"`
	NetworkLock string         `json:"networkLock,omitempty"`
	Image       *ImageCheck    `json:"image,omitempty"`
}

// ImageCheck says whether a checkpoint can be restored here.
type ImageCheck struct {
	Path        string   `json:"path"`
	Complete    bool     `json:"complete"`
	HasManifest bool     `json:"hasManifest"`
	ContainerID string   `json:"containerID,omitempty"`
	Problems    []string `json:"problems,omitempty"`
	Restorable  bool     `json:"restorable"`
}

var checkedFeatures = []CheckFeature{
	{Name: "mem_dirty_track", NeededFor: "--pre-copy, --pre-dump (soft-dirty memory tracking)"},
	{Name: "uffd-noncoop", NeededFor: "restore --lazy, --lazy-pages (userfaultfd)"},
	{Name: "tcp_half_closed", NeededFor: "--tcp-established with half-closed connections"},
	{Name: "network_lock_nftables", NeededFor: "network locking with nftables"},
	{Name: "timens", NeededFor: "time namespaces"},
}

// runCriu runs criu with args, bounded in time, and returns its combined
// output.
func runCriu(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	return string(out), err
}

// Check examines CRIU on this host and, with imagePath, a checkpoint.
func Check(criuPath, imagePath string) *CheckReport {
	criuPath = ckpt.CriuName(criuPath)
	here := ckpt.CurrentHost(criuPath)
	r := &CheckReport{CriuPath: criuPath, Kernel: here.Kernel}
	abs, err := lookPathAbs(criuPath)
	if err != nil {
		r.Problem = "CRIU not found (" + err.Error() + ")"
		r.Fix = "install CRIU (Debian: apt-get install criu) or name it with --criu PATH"
	} else {
		r.CriuPath, r.CriuFound = abs, true
		if out, err := runCriu(abs, "--version"); err == nil {
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Version:"); ok {
					r.CriuVersion = strings.TrimSpace(v)
				}
			}
		}
		out, err := runCriu(abs, "check")
		if err == nil {
			r.Works = true
			for _, f := range checkedFeatures {
				fout, ferr := runCriu(abs, "check", "--feature", f.Name)
				f.Supported = ferr == nil && strings.Contains(fout, "supported") && !strings.Contains(fout, "not supported")
				r.Features = append(r.Features, f)
			}
		} else {
			rep := ReadCriuLogText(out)
			r.CriuErrors = rep.Errors
			r.Problem, r.Fix = rep.Explain(""), rep.Fix
			if r.Problem == "" {
				r.Problem = "'criu check' failed: CRIU cannot checkpoint on this kernel"
				r.Fix = "see the CRIU errors below; a CRIU release newer than the kernel usually fixes it"
			}
		}
	}
	r.NetworkLock = networkLockBackend()
	if imagePath != "" {
		r.Image = checkImage(imagePath, here)
	}
	return r
}

// networkLockBackend says which tool CRIU can lock the network with.
func networkLockBackend() string {
	var have []string
	for _, t := range []string{"iptables-restore", "nft"} {
		if _, err := exec.LookPath(t); err == nil {
			have = append(have, t)
		}
	}
	if len(have) == 0 {
		return "none (install iptables, or nftables with CRIU's 'network-lock nftables')"
	}
	return strings.Join(have, ", ")
}

func checkImage(path string, here ckpt.HostInfo) *ImageCheck {
	v := ckpt.CheckImage(path, here, nil)
	ic := &ImageCheck{Path: path, Complete: v.Complete, Restorable: v.Restorable()}
	for _, p := range v.Problems {
		ic.Problems = append(ic.Problems, p.Error())
	}
	if m := v.Manifest; m != nil {
		ic.HasManifest, ic.ContainerID = true, m.ContainerID
	} else if v.Complete {
		ic.Problems = append(ic.Problems, "no "+ckpt.ManifestFile+": integrity and compatibility cannot be checked")
	}
	return ic
}

// WriteText prints the report for people.
func (r *CheckReport) WriteText(w io.Writer) {
	if r.CriuFound {
		fmt.Fprintf(w, "criu:     %s (version %s)\n", r.CriuPath, orUnknown(r.CriuVersion))
	} else {
		fmt.Fprintf(w, "criu:     not found\n")
	}
	fmt.Fprintf(w, "kernel:   %s\n", r.Kernel)
	if r.Works {
		fmt.Fprintf(w, "verdict:  ok: CRIU can checkpoint and restore on this kernel\n")
	} else {
		fmt.Fprintf(w, "verdict:  NOT OK: %s\n", r.Problem)
		fmt.Fprintf(w, "fix:      %s\n", r.Fix)
		for _, e := range r.CriuErrors {
			fmt.Fprintf(w, "          %s\n", e)
		}
	}
	for _, f := range r.Features {
		state := "yes"
		if !f.Supported {
			state = "no"
		}
		fmt.Fprintf(w, "feature:  %-22s %-3s  (%s)\n", f.Name, state, f.NeededFor)
	}
	fmt.Fprintf(w, "netlock:  %s\n", r.NetworkLock)
	if ic := r.Image; ic != nil {
		verdict := "can be restored here"
		if !ic.Restorable {
			verdict = "can NOT be restored here"
		}
		fmt.Fprintf(w, "image:    %s: %s\n", ic.Path, verdict)
		for _, p := range ic.Problems {
			fmt.Fprintf(w, "          - %s\n", p)
		}
	}
}

// OK reports whether everything checked is fine.
func (r *CheckReport) OK() bool {
	return r.Works && (r.Image == nil || r.Image.Restorable)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
