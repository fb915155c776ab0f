package ckpt

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rt-runtime/rt/libct/internal/jsonutil"
)

// Engines (docker checkpoint, containerd) pass no CRIU options, so users
// set them where engines cannot interfere: in the container's annotations
// or in rt's configuration file. Precedence, lowest first: the file, the
// annotations, the command line. Which options may be set this way is the
// Default column of Table.

// AnnotationPrefix starts the annotation keys rt reads C/R options from,
// followed by the option's flag name, e.g.
// "io.github.rt-runtime.checkpoint.tcp-established": "true".
const AnnotationPrefix = "io.github.rt-runtime.checkpoint."

// DefaultConfigFile holds rt's defaults; RT_CONFIG names another file.
const DefaultConfigFile = "/etc/rt/config.json"

// Config is rt's configuration file. Its "checkpoint" object takes the
// options' JSON names: {"checkpoint": {"tcpEstablished": true}}.
type Config struct {
	Checkpoint Options `json:"checkpoint"`
}

// ConfigPath is the configuration file in use.
func ConfigPath() string {
	if p := os.Getenv("RT_CONFIG"); p != "" {
		return p
	}
	return DefaultConfigFile
}

// LoadConfig reads the configuration file; a missing file is no error.
func LoadConfig() (*Config, error) {
	path := ConfigPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rt config %s: %w", path, err)
	}
	var c Config
	if err := jsonutil.Decode(data, &c); err != nil {
		return nil, fmt.Errorf("rt config %s: %w", path, err)
	}
	var bad, allowed []string
	for _, o := range Table {
		if o.JSON == "" {
			continue
		}
		if o.Default {
			allowed = append(allowed, o.JSON)
		} else if _, set := c.Checkpoint.Get(o); set {
			bad = append(bad, o.JSON)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("rt config %s: checkpoint.%s cannot be set as a default (allowed: %s)", path, strings.Join(bad, ", checkpoint."), strings.Join(allowed, ", "))
	}
	if err := c.Checkpoint.Validate(); err != nil {
		return nil, fmt.Errorf("rt config %s: checkpoint: %w", path, err)
	}
	return &c, nil
}

// Defaults computes the options implied by the configuration file and the
// annotations, before the command line is applied.
func Defaults(cfg *Config, annotations map[string]string) (Options, error) {
	d := cfg.Checkpoint.Clone()
	for k, v := range annotations {
		name, ok := strings.CutPrefix(k, AnnotationPrefix)
		if !ok {
			continue
		}
		o := Lookup(name)
		if o == nil || !o.Default {
			return d, fmt.Errorf("annotation %s: unknown checkpoint option %q", k, name)
		}
		val, err := ParseValue(o, v)
		if err == nil {
			err = d.Set(o, val)
		}
		if err != nil {
			return d, fmt.Errorf("annotation %s: %w", k, err)
		}
	}
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("checkpoint defaults: %w", err)
	}
	return d, nil
}

// WithDefaults returns c completed by the defaults from the configuration
// file and the annotations: a value given on the command line wins, and a
// boolean set there is never turned off.
func (c Options) WithDefaults(annotations map[string]string) (Options, error) {
	return c.withDefaultsOf(annotations, func(*Option) bool { return true })
}

// WithRestoreDefaults is WithDefaults for the options only a restore
// takes (--lazy): a restore from rt's image takes the others from the
// checkpoint's record.
func (c Options) WithRestoreDefaults(annotations map[string]string) (Options, error) {
	return c.withDefaultsOf(annotations, func(o *Option) bool { return o.Commands == Restore })
}

func (c Options) withDefaultsOf(annotations map[string]string, take func(*Option) bool) (Options, error) {
	cfg, err := LoadConfig()
	if err != nil {
		return c, err
	}
	d, err := Defaults(cfg, annotations)
	if err != nil {
		return c, err
	}
	out := c.Clone()
	out.addFrom(d, func(o *Option) bool { return o.Default && take(o) })
	return out, nil
}
