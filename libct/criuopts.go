package libct

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CROptions are the checkpoint/restore flags, named as runc names them.
// The JSON form is what a manifest records; local paths and fds are not
// recorded.
type CROptions struct {
	ImagePath         string   `json:"-"`                    // --image-path; default ./checkpoint
	WorkPath          string   `json:"-"`                    // --work-path
	ParentPath        string   `json:"parentPath,omitempty"` // --parent-path, relative to ImagePath
	LeaveRunning      bool     `json:"leaveRunning,omitempty"`
	TCPEstablished    bool     `json:"tcpEstablished,omitempty"`
	TCPSkipInFlight   bool     `json:"tcpSkipInFlight,omitempty"`
	LinkRemap         bool     `json:"linkRemap,omitempty"`
	ExtUnixSk         bool     `json:"extUnixSk,omitempty"`
	ShellJob          bool     `json:"shellJob,omitempty"`
	FileLocks         bool     `json:"fileLocks,omitempty"`
	PreDump           bool     `json:"preDump,omitempty"`
	AutoDedup         bool     `json:"autoDedup,omitempty"`
	LazyPages         bool     `json:"lazyPages,omitempty"`
	StatusFd          int      `json:"-"`
	PageServer        string   `json:"pageServer,omitempty"` // ADDRESS:PORT
	ManageCgroupsMode string   `json:"manageCgroupsMode,omitempty"`
	EmptyNs           []string `json:"emptyNs,omitempty"`
	LsmProfile        string   `json:"lsmProfile,omitempty"`
	LsmMountContext   string   `json:"lsmMountContext,omitempty"`
}

// addRecorded adds to o the options recorded at checkpoint (rec) that a
// restore must repeat (CRIU refuses, for example, to restore established
// TCP connections without being told) and returns the flags it added.
// Engines restore without passing any option, so this is what makes
// their restores work.
func (o *CROptions) addRecorded(rec CROptions) []string {
	var added []string
	or := func(dst *bool, src bool, flag string) {
		if src && !*dst {
			*dst = true
			added = append(added, flag)
		}
	}
	or(&o.TCPEstablished, rec.TCPEstablished, "--tcp-established")
	or(&o.ExtUnixSk, rec.ExtUnixSk, "--ext-unix-sk")
	or(&o.ShellJob, rec.ShellJob, "--shell-job")
	or(&o.FileLocks, rec.FileLocks, "--file-locks")
	or(&o.TCPSkipInFlight, rec.TCPSkipInFlight, "--tcp-skip-in-flight")
	or(&o.LinkRemap, rec.LinkRemap, "--link-remap")
	if o.ManageCgroupsMode == "" && rec.ManageCgroupsMode != "" {
		o.ManageCgroupsMode = rec.ManageCgroupsMode
		added = append(added, "--manage-cgroups-mode "+rec.ManageCgroupsMode)
	}
	if len(o.EmptyNs) == 0 && len(rec.EmptyNs) > 0 {
		o.EmptyNs = rec.EmptyNs
		for _, ns := range rec.EmptyNs {
			added = append(added, "--empty-ns "+ns)
		}
	}
	return added
}

// criuOpts converts the flags into libcontainer's CriuOpts, checking them.
func (o CROptions) criuOpts() (*libcontainer.CriuOpts, error) {
	image, err := o.ImageDir()
	if err != nil {
		return nil, err
	}
	work := o.WorkPath
	if work != "" {
		if work, err = filepath.Abs(work); err != nil {
			return nil, err
		}
	}
	switch o.ManageCgroupsMode {
	case "", "soft", "full", "strict", "ignore":
	default:
		return nil, fmt.Errorf("invalid --manage-cgroups-mode %q: use soft, full, strict or ignore", o.ManageCgroupsMode)
	}
	opts := &libcontainer.CriuOpts{
		ImagesDirectory:         image,
		WorkDirectory:           work,
		ParentImage:             o.ParentPath,
		LeaveRunning:            o.LeaveRunning,
		TcpEstablished:          o.TCPEstablished,
		TcpSkipInFlight:         o.TCPSkipInFlight,
		LinkRemap:               o.LinkRemap,
		ExternalUnixConnections: o.ExtUnixSk,
		ShellJob:                o.ShellJob,
		FileLocks:               o.FileLocks,
		PreDump:                 o.PreDump,
		AutoDedup:               o.AutoDedup,
		LazyPages:               o.LazyPages,
		StatusFd:                o.StatusFd,
		LsmProfile:              o.LsmProfile,
		LsmMountContext:         o.LsmMountContext,
		ManageCgroupsMode:       o.ManageCgroupsMode,
	}
	if o.PageServer != "" {
		host, port, err := net.SplitHostPort(o.PageServer)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("invalid --page-server %q: use ADDRESS:PORT", o.PageServer)
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid --page-server port %q", port)
		}
		opts.PageServer = libcontainer.CriuPageServerInfo{Address: host, Port: int32(n)}
	}
	// The network namespace is always external to CRIU: the runtime
	// creates it (or joins the engine's) before restore.
	mask := uint32(unix.CLONE_NEWNET)
	for _, ns := range o.EmptyNs {
		if specs.LinuxNamespaceType(ns) != specs.NetworkNamespace {
			return nil, fmt.Errorf("--empty-ns: namespace %q is not supported (only %q)", ns, specs.NetworkNamespace)
		}
	}
	opts.EmptyNs = mask
	return opts, nil
}

// checkParentPath verifies that --parent-path names an existing directory
// relative to the image directory, as CRIU expects.
func checkParentPath(image, parent string) error {
	if parent == "" {
		return nil
	}
	if filepath.IsAbs(parent) {
		return errors.New("--parent-path must be relative to --image-path")
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

// ImageDir is the absolute image directory the options name.
func (o CROptions) ImageDir() (string, error) {
	if o.ImagePath == "" {
		return filepath.Abs("checkpoint")
	}
	return filepath.Abs(o.ImagePath)
}
