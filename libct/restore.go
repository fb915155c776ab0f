package libct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// RestoreRequest is one "rt restore": a new container, from its bundle,
// whose processes come from a checkpoint.
type RestoreRequest struct {
	Start   StartRequest // the new container: ID, bundle, stdio, pid file...
	Options ckpt.Options // the command line's; recorded ones and defaults are added here
	Import  string       // an archive made by checkpoint --export (--import)
	Stats   io.Writer    // CRIU's statistics as JSON, when set (--print-stats)
	// ImportKnown: the image path already holds the pre-copy rounds of
	// the imported checkpoint (rt migrate streamed them while the
	// container ran; the archive leaves them out), with these digests
	// taken as they arrived. The caller owns the image path.
	ImportKnown map[string]string
	// LazyFrom, with --lazy: the lazy-pages daemon fetches the pages the
	// images lack from this page server (host:port), a post-copy dump's
	// (rt migrate --lazy), instead of reading them from the images.
	LazyFrom string
}

// Restore creates container req.Start.ID from its bundle and restores its
// processes from the checkpoint in the image path. The ID and bundle may
// differ from the checkpointed container's.
//
// Nothing is touched before the container's lock is held and its ID is
// known to be free. Every check that can refuse the restore (the image is
// complete and intact, was taken on a compatible host, the bundle matches
// the checkpointed one) runs before anything is created; with Import, the
// images are extracted and checked before the archive's rootfs changes are
// applied to the bundle. If anything fails, nothing of the new container
// is left under the root.
func (o *Runtime) Restore(req RestoreRequest) (int, error) {
	started := time.Now()
	if os.Geteuid() != 0 {
		logrus.Warn("rt restore is untested with rootless containers")
	}
	id := req.Start.ID
	if err := ValidateID(id); err != nil {
		return -1, err
	}
	if err := req.Options.Validate(); err != nil {
		return -1, err
	}
	if req.Options.Lazy() && req.Options.LazyPages() {
		return -1, errLazyWithLazyPages
	}
	bundle, spec, err := loadBundle(req.Start.Bundle)
	if err != nil {
		return -1, err
	}
	lock, err := o.Lock(id)
	if err != nil {
		return -1, err
	}
	defer lock.Unlock()
	if _, err := os.Lstat(o.StateDir(id)); err == nil {
		return -1, fmt.Errorf("container %s already exists", id)
	}
	cr := req.Options.Clone()
	var cleanupImport func()
	defer func() {
		if cleanupImport != nil {
			cleanupImport()
		}
	}()
	if req.Import != "" {
		cleanupImport, err = o.importImage(id, &cr, req.Import, bundle, spec, req.ImportKnown)
		if err != nil {
			return -1, fmt.Errorf("restore %s: %w", id, err)
		}
	} else if cr, err = o.checkRestore(id, cr, spec, bundle, nil); err != nil {
		return -1, fmt.Errorf("restore %s: %w", id, err)
	}
	var lazy *lazyRestore
	if cr.Lazy() {
		var own []string
		if cleanupImport != nil {
			// The daemon reads the extracted images until the copy
			// is over: the supervisor removes them then.
			dir, _ := cr.ImageDir()
			own = append(own, dir)
		}
		if lazy, err = o.startLazy(id, &cr, own, req.LazyFrom, started); err != nil {
			return -1, fmt.Errorf("restore %s: %w", id, err)
		}
		cleanupImport = nil
		// Runs after the failed restore's own cleanup; a no-op once
		// running was said.
		defer lazy.abort()
	}
	cleanupCriu, err := UseCriu(o.CriuPath)
	if err != nil {
		return -1, err
	}
	defer cleanupCriu()
	run, err := prepareCriu("restore", id, cr)
	if err != nil {
		return -1, err
	}
	defer run.done()
	start := req.Start
	start.Bundle, start.Action = bundle, ActRestore
	start.criu, start.lock, start.spec = run, lock, spec
	// Paths are absolute here: StartContainer changes into the bundle.
	dirs := []string{run.opts.WorkDirectory, run.opts.ImagesDirectory}
	var stats *ckpt.RestoreStats
	start.OnStarted = func(pid int) {
		if ownNetns(spec) {
			if err := loopbackUp(pid); err != nil {
				logrus.Warnf("restore %s: loopback: %v", id, err)
			}
		}
		toRunning := time.Since(started)
		logrus.Debugf("restore %s: running after %d ms", id, toRunning.Milliseconds())
		if req.Stats != nil {
			var err error
			if stats, err = ckpt.ReadRestoreStats(dirs...); err != nil {
				logrus.Warnf("--print-stats: %v", err)
				stats = &ckpt.RestoreStats{}
			}
			stats.TimeToRunningMs = toRunning.Milliseconds()
		}
		if lazy != nil {
			lazy.running(pid)
		}
		if req.Stats != nil && (lazy == nil || !req.Start.Detach) {
			_ = ckpt.WriteStatsJSON(req.Stats, stats)
		}
	}
	status, err := o.StartContainer(start)
	var ce *CriuError
	if errors.As(err, &ce) && (lazy != nil || req.Import != "" && run.opts.WorkDirectory == "" && req.Options.ImagePath() == "") {
		// The temporary import or work directory goes away: keep the log.
		ce.Report.Path = keepLog(ce.Report.Path)
	}
	if lazy != nil && err == nil && req.Stats != nil && req.Start.Detach && stats != nil {
		// The figures of a lazy restore are complete once the background
		// copy is.
		stats.Lazy = o.waitLazy(id, lazy.supervisor)
		_ = ckpt.WriteStatsJSON(req.Stats, stats)
	}
	return status, err
}

// waitLazy waits until the background copy of a lazy restore is over (or
// its supervisor is gone) and returns its record.
func (o *Runtime) waitLazy(id string, supervisor int) *ckpt.LazyStatus {
	for {
		st, err := ckpt.ReadLazyStatus(o.StateDir(id))
		if err != nil {
			logrus.Warnf("restore %s: %v", id, err)
			return nil
		}
		// The supervisor writes its first record just after it was told
		// the container runs.
		if st != nil && st.State != ckpt.LazyCopying {
			return st
		}
		if !alive(supervisor) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadBundle makes the bundle path absolute and reads its spec, once.
func loadBundle(bundle string) (string, *specs.Spec, error) {
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return "", nil, err
	}
	spec, err := LoadSpec(abs)
	return abs, spec, err
}

// checkRestore runs the checks that can refuse a restore: the image can
// be restored on this host (ckpt.CheckImage) and the target bundle
// matches the checkpointed one. It returns the options completed by those
// the checkpoint recorded, or for images rt did not take, by the
// configured defaults. known holds ManifestDigest sums already computed
// (by an import).
func (o *Runtime) checkRestore(id string, cr ckpt.Options, spec *specs.Spec, bundle string, known map[string]string) (ckpt.Options, error) {
	dir, err := cr.ImageDir()
	if err != nil {
		return cr, err
	}
	here := ckpt.HostWithoutCriu()
	here.CriuVersion = ckpt.CriuVersionCached(ckpt.CriuVersionDir(), o.CriuPath)
	v := ckpt.CheckImage(dir, here, known)
	if err := v.Err(); err != nil {
		return cr, err
	}
	m := v.Manifest
	if m == nil {
		// Not taken by rt (runc, or an image without manifest): only the
		// configured defaults can help.
		logrus.Infof("image path %s has no %s: restoring without integrity and compatibility checks", dir, ckpt.ManifestFile)
		return cr.WithDefaults(spec.Annotations)
	}
	if d := ckpt.SpecDifferences(m.Spec, spec); len(d) > 0 {
		return cr, fmt.Errorf("bundle %s does not match the checkpointed container %s:%s", bundle, m.ContainerID, ckpt.JoinDifferences(d))
	}
	if added := cr.AddRecorded(m.Options); len(added) > 0 {
		logrus.Infof("restore %s: using %s as recorded in the checkpoint", id, strings.Join(added, " "))
	}
	return cr.WithRestoreDefaults(spec.Annotations)
}

// importImage extracts an exported checkpoint for a restore into the
// image path (or a temporary directory, removed by cleanup) and runs the
// restore's checks before the target rootfs is changed. cr is completed as
// checkRestore completes it, and points at the extracted images.
func (o *Runtime) importImage(id string, cr *ckpt.Options, file, bundle string, spec *specs.Spec, known map[string]string) (cleanup func(), err error) {
	if spec.Root == nil {
		return nil, fmt.Errorf("bundle %s: config.json has no root", bundle)
	}
	// undo removes what the import extracted when it fails, so that a
	// retry into the same --image-path is not refused.
	var undo func()
	if known != nil {
		if cr.ImagePath() == "" {
			return nil, errors.New("--import: pre-copy rounds received without an image path")
		}
	} else if cr.ImagePath() == "" {
		dir, err := os.MkdirTemp("", "rt-import-")
		if err != nil {
			return nil, err
		}
		cr.SetImagePath(dir)
		cleanup = func() { os.RemoveAll(dir) }
	} else {
		dir, err := cr.ImageDir()
		if err != nil {
			return nil, err
		}
		if ckpt.HasCheckpoint(dir) {
			return nil, fmt.Errorf("--import: image path %s already holds a checkpoint", dir)
		}
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("--import: image path %s is not empty", dir)
		}
		_, statErr := os.Stat(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("image path %s: %w", dir, fsutil.UnwrapPathError(err))
		}
		undo = func() {
			if os.IsNotExist(statErr) {
				os.RemoveAll(dir)
				return
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		cr.SetImagePath(dir)
	}
	defer func() {
		if err != nil && undo != nil {
			undo()
		}
	}()
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	dir, _ := cr.ImageDir()
	sums := map[string]string{}
	for f, s := range known {
		sums[f] = s
	}
	err = ckpt.Import(file, ckpt.ImportTarget{
		ImageDir: dir,
		Rootfs:   rootfs,
		Volumes:  ckpt.Volumes(spec),
		Sums:     sums,
		Check: func() error {
			checked, err := o.checkRestore(id, *cr, spec, bundle, sums)
			if err == nil {
				*cr = checked
			}
			return err
		},
	})
	return cleanup, err
}

// keepLog copies a CRIU log out of a directory about to be removed, next
// to the other temporary files, and returns its new path.
func keepLog(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	f, err := os.CreateTemp("", "rt-restore-*.log")
	if err != nil {
		return path
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return path
	}
	return f.Name()
}
