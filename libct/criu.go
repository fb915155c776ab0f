package libct

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// criuRun is one CRIU operation prepared from a request's options: the
// options as libcontainer takes them, where CRIU's log will be, and the
// CRIU configuration file for the options CriuOpts cannot carry.
type criuRun struct {
	op   string // "checkpoint" or "restore"
	id   string
	opts *libcontainer.CriuOpts
	log  string // CRIU's log: in the work directory, else beside the images
	// imageDir is the image path the caller named. A staged dump points
	// opts.ImagesDirectory at its staging directory; errors name this one.
	imageDir string
	confDir  string // holds the CRIU configuration file; removed by done
	// prevConfig is the caller's CRIU_CONFIG_FILE, put back by done.
	prevConfig    string
	hadPrevConfig bool
}

// toCriuOpts converts the request's options into libcontainer's
// CriuOpts, by the option table: each option with a CriuField is checked
// and stored there.
func toCriuOpts(cr ckpt.Options) (*libcontainer.CriuOpts, error) {
	image, err := cr.ImageDir()
	if err != nil {
		return nil, err
	}
	work, err := cr.WorkDir()
	if err != nil {
		return nil, err
	}
	opts := &libcontainer.CriuOpts{
		ImagesDirectory: image,
		WorkDirectory:   work,
		StatusFd:        -1,
		// The network namespace is always external to CRIU: the runtime
		// creates it (or joins the engine's) before restore.
		EmptyNs: unix.CLONE_NEWNET,
	}
	dst := reflect.ValueOf(opts).Elem()
	for _, o := range ckpt.Table {
		v, set, err := cr.CriuValue(o)
		if err != nil {
			return nil, err
		}
		if !set || o.CriuField == "" {
			continue
		}
		f := dst.FieldByName(o.CriuField)
		val := reflect.ValueOf(v)
		if !f.IsValid() || !val.Type().ConvertibleTo(f.Type()) {
			return nil, fmt.Errorf("option %s: libcontainer's CriuOpts has no field %s of type %T", o.Flag(), o.CriuField, v)
		}
		f.Set(val.Convert(f.Type()))
	}
	return opts, nil
}

// prepareCriu converts the options and makes the work directory. With
// options that only a CRIU configuration file can carry, it writes one
// and points CRIU at it through CRIU_CONFIG_FILE, which CRIU reads in
// every mode, the swrk mode libcontainer starts included.
func prepareCriu(op, id string, cr ckpt.Options) (*criuRun, error) {
	opts, err := toCriuOpts(cr)
	if err != nil {
		return nil, err
	}
	r := &criuRun{op: op, id: id, opts: opts, imageDir: opts.ImagesDirectory}
	logName := ckpt.DumpLog
	if op == "restore" {
		logName = ckpt.RestoreLog
	}
	r.log = filepath.Join(opts.ImagesDirectory, logName)
	if opts.WorkDirectory != "" {
		if err := os.MkdirAll(opts.WorkDirectory, 0o700); err != nil {
			return nil, fmt.Errorf("work path %s: %w", opts.WorkDirectory, fsutil.UnwrapPathError(err))
		}
		r.log = filepath.Join(opts.WorkDirectory, logName)
	}
	if lines := cr.CriuConfigLines(); len(lines) > 0 {
		if r.confDir, err = os.MkdirTemp("", "rt-criu-conf-"); err != nil {
			return nil, err
		}
		conf := filepath.Join(r.confDir, "criu.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			r.done()
			return nil, err
		}
		r.prevConfig, r.hadPrevConfig = os.LookupEnv("CRIU_CONFIG_FILE")
		os.Setenv("CRIU_CONFIG_FILE", conf)
	}
	return r, nil
}

// done removes what prepareCriu made for CRIU alone.
func (r *criuRun) done() {
	if r.confDir != "" {
		if r.hadPrevConfig {
			os.Setenv("CRIU_CONFIG_FILE", r.prevConfig)
		} else {
			os.Unsetenv("CRIU_CONFIG_FILE")
		}
		os.RemoveAll(r.confDir)
		r.confDir = ""
	}
}

// failed wraps an error of libcontainer's CRIU call into a CriuError with
// what CRIU's log says.
func (r *criuRun) failed(err error) error {
	return &CriuError{Op: r.op, ID: r.id, Err: err, Report: ReadCriuLog(r.log), ImageDir: r.imageDir}
}

// checkParentPath verifies that --parent-path names an existing directory
// relative to the image directory, as CRIU expects. (That it is relative
// is the option table's check, run before.)
func checkParentPath(image, parent string) error {
	if parent == "" {
		return nil
	}
	real := filepath.Join(image, parent)
	fi, err := os.Stat(real)
	if err == nil && !fi.IsDir() {
		err = &os.PathError{Op: "stat", Path: real, Err: unix.ENOTDIR}
	}
	if err != nil {
		return fmt.Errorf("invalid --parent-path: %w", err)
	}
	return nil
}

// UseCriu makes libcontainer, which always runs "criu" from PATH, run the
// binary named by --criu: a private directory holding a "criu" symlink is
// put first in PATH.
func UseCriu(path string) (cleanup func(), err error) {
	if path == "" || path == "criu" {
		return func() {}, nil
	}
	abs, err := lookPathAbs(path)
	if err != nil {
		return nil, fmt.Errorf("--criu %s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "rt-criu-")
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(abs, filepath.Join(dir, "criu")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() { os.RemoveAll(dir) }, nil
}

// lookPathAbs finds an executable like a shell does and makes it absolute.
func lookPathAbs(p string) (string, error) {
	abs, err := exec.LookPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(abs)
}
