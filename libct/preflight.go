package libct

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// Verdicts of a preflight.
const (
	VerdictOK        = "ok"
	VerdictWithFlags = "ok with flags"
	VerdictCannot    = "cannot"
)

// Preflight says whether a checkpoint of a container would work, and how:
// "rt check ID" and "rt checkpoint --check". It is found by reading /proc,
// the cgroup and the mount table only: the container is never frozen and
// CRIU does not run.
type Preflight struct {
	ID        string `json:"id"`
	Verdict   string `json:"verdict"`
	Processes int    `json:"processes"`
	// Flags are the options the checkpoint needs that neither the command
	// line nor the defaults give, in the order of the option table.
	Flags []string `json:"flags,omitempty"`
	// Covered are the options it needs that the defaults (configuration
	// file, annotations) or the command line already give.
	Covered  []string  `json:"covered,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	Memory   Memory    `json:"memory"`
	// EstimatedMs is the checkpoint's expected time, from this host's
	// measured checkpoints (EstimateBasis says how).
	EstimatedMs   int64  `json:"estimatedMs"`
	EstimateBasis string `json:"estimateBasis"`
	TookUs        int64  `json:"tookUs"`
	// missing are the options of Flags.
	missing []*ckpt.Option
}

// Finding is one thing of a process that matters to a checkpoint.
type Finding struct {
	Pid  int    `json:"pid"`
	Comm string `json:"comm"`
	What string `json:"what"`
	// Option is the option (flag name) that allows it; "" when none is
	// needed or none can.
	Option string `json:"option,omitempty"`
	// Cannot: CRIU cannot checkpoint it, whatever the options.
	Cannot bool `json:"cannot,omitempty"`
	// Note: allowed, but worth knowing (what changes across a restore).
	Note bool   `json:"note,omitempty"`
	Why  string `json:"why,omitempty"`
}

// Memory is what a dump would write, in bytes.
type Memory struct {
	Anonymous int64 `json:"anonymous"` // private memory in RAM, the bulk of the pages images
	Swap      int64 `json:"swap"`      // swapped out: CRIU reads it back in to dump it
	Shared    int64 `json:"shared"`    // shared memory (shmem), proportional share
	Tmpfs     int64 `json:"tmpfs"`     // files in tmpfs mounts, which CRIU archives
	Image     int64 `json:"image"`     // the estimate of the image directory
}

// perProcessImage is the metadata CRIU writes for a process beyond its
// memory (core, mm, files, pagemap): a few KiB to tens of KiB.
const perProcessImage = 32 << 10

// Preflight analyses container id as a checkpoint with options cr (the
// command line's; defaults are added) would see it.
func (o *Runtime) Preflight(id string, cr ckpt.Options) (*Preflight, error) {
	c, err := o.Load(id)
	if err != nil {
		return nil, err
	}
	return o.preflight(c, cr)
}

func (o *Runtime) preflight(c *libcontainer.Container, cr ckpt.Options) (*Preflight, error) {
	start := time.Now()
	st, err := c.Status()
	if err != nil {
		return nil, err
	}
	if st != libcontainer.Running && st != libcontainer.Paused {
		return nil, fmt.Errorf("container %s is %s: only a running or paused container can be checkpointed", c.ID(), st)
	}
	_, annotations := utils.Annotations(c.Config().Labels)
	withDefaults, err := cr.WithDefaults(annotations)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, err
	}
	state, err := c.State()
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	scan := scanContainer(&cfg, state, pids, withDefaults.GhostLimit())
	p := &Preflight{ID: c.ID(), Processes: len(pids), Findings: scan.findings, Memory: scan.mem}
	p.Memory.Image = p.Memory.Anonymous + p.Memory.Swap + p.Memory.Shared + p.Memory.Tmpfs + int64(len(pids))*perProcessImage
	samples, _ := ckpt.ReadSpeed(o.Root)
	p.EstimatedMs, p.EstimateBasis = ckpt.EstimateTime(samples, p.Memory.Image)
	p.judge(withDefaults, annotations)
	p.TookUs = time.Since(start).Microseconds()
	return p, nil
}

// judge sets the verdict and the flags from the findings: what cannot be
// done, and which needed options the given ones (defaults included) lack.
func (p *Preflight) judge(given ckpt.Options, annotations map[string]string) {
	need := map[string]bool{}
	cannot := false
	for _, f := range p.Findings {
		cannot = cannot || f.Cannot
		if f.Option != "" {
			need[f.Option] = true
		}
	}
	for _, o := range ckpt.Table {
		if !need[o.Name] {
			continue
		}
		if _, ok := given.Get(o); ok {
			by := "the command line or rt's configuration file"
			if _, ok := annotations[ckpt.AnnotationPrefix+o.Name]; ok {
				by = "annotation " + ckpt.AnnotationPrefix + o.Name
			}
			p.Covered = append(p.Covered, o.Flag()+" ("+by+")")
			continue
		}
		p.missing = append(p.missing, o)
		p.Flags = append(p.Flags, flagWithValue(o))
	}
	switch {
	case cannot:
		p.Verdict = VerdictCannot
	case len(p.Flags) > 0:
		p.Verdict = VerdictWithFlags
	default:
		p.Verdict = VerdictOK
	}
}

// flagWithValue is o's flag as it would be typed, with a value that works
// when it takes one.
func flagWithValue(o *ckpt.Option) string {
	if o.Kind == ckpt.Bool {
		return o.Flag()
	}
	return o.Flag() + " " + o.Example
}

// Err is nil when a checkpoint can go ahead with the options given; else
// the reason, with what to set (for rt checkpoint --check, and for engines
// that pass no options: the annotation and the configuration entry).
func (p *Preflight) Err() error {
	var b strings.Builder
	switch p.Verdict {
	case VerdictOK:
		return nil
	case VerdictCannot:
		fmt.Fprintf(&b, "checkpoint %s would fail: CRIU cannot checkpoint it:", p.ID)
		for _, f := range p.Findings {
			if f.Cannot {
				fmt.Fprintf(&b, "\n  pid %d (%s): %s: %s", f.Pid, f.Comm, f.What, f.Why)
			}
		}
	default:
		fmt.Fprintf(&b, "checkpoint %s would fail without %s", p.ID, strings.Join(p.Flags, " "))
		for _, f := range p.Findings {
			if f.Option != "" && slices.ContainsFunc(p.missing, func(o *ckpt.Option) bool { return o.Name == f.Option }) {
				fmt.Fprintf(&b, "\n  pid %d (%s): %s: needs --%s", f.Pid, f.Comm, f.What, f.Option)
			}
		}
		b.WriteString("\nengines (docker, containerd, kubelet) pass no options: set them as defaults with")
		for _, o := range p.missing {
			fmt.Fprintf(&b, "\n  %s", defaultsFor(o))
		}
	}
	return fmt.Errorf("%s", b.String())
}

// WriteText prints the preflight for people.
func (p *Preflight) WriteText(w io.Writer) {
	fmt.Fprintf(w, "container: %s (%d processes)\n", p.ID, p.Processes)
	switch p.Verdict {
	case VerdictWithFlags:
		fmt.Fprintf(w, "verdict:   ok with flags: %s\n", strings.Join(p.Flags, " "))
	case VerdictCannot:
		fmt.Fprintf(w, "verdict:   CANNOT be checkpointed\n")
	default:
		fmt.Fprintf(w, "verdict:   ok\n")
	}
	for _, c := range p.Covered {
		fmt.Fprintf(w, "covered:   %s\n", c)
	}
	sort.SliceStable(p.Findings, func(i, j int) bool { return rank(p.Findings[i]) < rank(p.Findings[j]) })
	for _, f := range p.Findings {
		tail := ""
		switch {
		case f.Cannot:
			tail = "cannot: " + f.Why
		case f.Option != "":
			tail = "needs --" + f.Option
		case f.Why != "":
			tail = f.Why
		}
		fmt.Fprintf(w, "  pid %d (%s): %s: %s\n", f.Pid, f.Comm, f.What, tail)
	}
	m := p.Memory
	fmt.Fprintf(w, "memory:    %s to dump (anonymous %s, swapped %s, shared %s, tmpfs files %s)\n",
		mib(m.Anonymous+m.Swap+m.Shared+m.Tmpfs), mib(m.Anonymous), mib(m.Swap), mib(m.Shared), mib(m.Tmpfs))
	fmt.Fprintf(w, "estimate:  image ~%s, checkpoint ~%.1f s (%s)\n", mib(m.Image), float64(p.EstimatedMs)/1000, p.EstimateBasis)
	fmt.Fprintf(w, "took:      %.1f ms, reading /proc only (the container was not frozen)\n", float64(p.TookUs)/1000)
}

func rank(f Finding) int {
	switch {
	case f.Cannot:
		return 0
	case f.Option != "":
		return 1
	}
	return 2
}

func mib(b int64) string {
	if b < 10<<20 {
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// recordSpeed adds a checkpoint's size and time to the host's samples.
func (o *Runtime) recordSpeed(imageDir string, took time.Duration) {
	bytes := ckpt.DirBytes(imageDir)
	if bytes <= 0 {
		return
	}
	_ = ckpt.RecordSpeed(o.Root, ckpt.SpeedSample{Bytes: bytes, Ms: took.Milliseconds(), When: time.Now().UTC()})
}
