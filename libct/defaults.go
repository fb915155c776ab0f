package libct

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Engines (docker checkpoint, containerd) pass no CRIU options, so users
// set them where engines cannot interfere: in the container's annotations
// or in rt's configuration file. Precedence, lowest first: the file, the
// annotations, the command line; a boolean set on the command line is
// never turned off.

// AnnotationPrefix starts the annotation keys rt reads C/R options from,
// e.g. "io.github.rt-runtime.checkpoint.tcp-established": "true".
const AnnotationPrefix = "io.github.rt-runtime.checkpoint."

// DefaultConfigFile holds rt's defaults; RT_CONFIG names another file.
const DefaultConfigFile = "/etc/rt/config.json"

// Config is rt's configuration file. Its "checkpoint" object takes the
// names of CROptions' JSON form: {"checkpoint": {"tcpEstablished": true}}.
type Config struct {
	Checkpoint CROptions `json:"checkpoint"`
}

// LoadConfig reads the configuration file; a missing file is no error.
func LoadConfig() (*Config, error) {
	path := os.Getenv("RT_CONFIG")
	if path == "" {
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rt config %s: %w", path, err)
	}
	var c Config
	if err := decodeJSON(data, &c); err != nil {
		return nil, fmt.Errorf("rt config %s: %w", path, err)
	}
	if bad := c.Checkpoint.notDefaultable(); len(bad) > 0 {
		return nil, fmt.Errorf("rt config %s: checkpoint.%s cannot be set as a default (allowed: tcpEstablished, tcpSkipInFlight, extUnixSk, shellJob, fileLocks, linkRemap, autoDedup, manageCgroupsMode, emptyNs)", path, strings.Join(bad, ", checkpoint."))
	}
	return &c, nil
}

// notDefaultable names the options set in o that only make sense per
// call (how and where to dump), not as defaults.
func (o CROptions) notDefaultable() []string {
	var bad []string
	for _, x := range []struct {
		set  bool
		name string
	}{
		{o.LeaveRunning, "leaveRunning"}, {o.PreDump, "preDump"}, {o.LazyPages, "lazyPages"},
		{o.ParentPath != "", "parentPath"}, {o.PageServer != "", "pageServer"},
		{o.LsmProfile != "", "lsmProfile"}, {o.LsmMountContext != "", "lsmMountContext"},
	} {
		if x.set {
			bad = append(bad, x.name)
		}
	}
	return bad
}

// optionDefaults computes the C/R options implied by the config file and
// the annotations, before the command line is applied.
func optionDefaults(cfg *Config, annotations map[string]string) (CROptions, error) {
	d := cfg.Checkpoint
	bools := map[string]*bool{
		"tcp-established":    &d.TCPEstablished,
		"tcp-skip-in-flight": &d.TCPSkipInFlight,
		"ext-unix-sk":        &d.ExtUnixSk,
		"shell-job":          &d.ShellJob,
		"file-locks":         &d.FileLocks,
		"link-remap":         &d.LinkRemap,
		"auto-dedup":         &d.AutoDedup,
	}
	for k, v := range annotations {
		name, ok := strings.CutPrefix(k, AnnotationPrefix)
		if !ok {
			continue
		}
		if p, ok := bools[name]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return d, fmt.Errorf("annotation %s: %q is not a boolean", k, v)
			}
			*p = b
			continue
		}
		switch name {
		case "manage-cgroups-mode":
			d.ManageCgroupsMode = v
		case "empty-ns":
			d.EmptyNs = strings.Split(v, ",")
		default:
			return d, fmt.Errorf("annotation %s: unknown checkpoint option %q", k, name)
		}
	}
	return d, nil
}

// withDefaults returns the command-line options o completed by the
// defaults from the config file and annotations.
func (o CROptions) withDefaults(annotations map[string]string) (CROptions, error) {
	cfg, err := LoadConfig()
	if err != nil {
		return o, err
	}
	d, err := optionDefaults(cfg, annotations)
	if err != nil {
		return o, err
	}
	o.addRecorded(d)
	if d.AutoDedup {
		o.AutoDedup = true
	}
	return o, nil
}
