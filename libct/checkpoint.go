package libct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
)

// CRIU log file names, as libcontainer names them.
const (
	dumpLog    = "dump.log"
	restoreLog = "restore.log"
)

// lookPathAbs finds an executable like a shell does and makes it absolute.
func lookPathAbs(p string) (string, error) {
	abs, err := exec.LookPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(abs)
}

// Checkpoint dumps container id with CRIU into cr.ImagePath.
//
// The dump is written to a staging directory and published only when CRIU
// succeeded, so a failed checkpoint never leaves an image that looks
// complete, and an existing checkpoint is never overwritten. If the dump
// fails, the container is left as it was: running, or paused if it was
// paused before. Unless the container is left running (or this is a
// pre-dump) it is destroyed after a successful dump, as with runc.
//
// With stats, CRIU's dump statistics are written to it as JSON once the
// checkpoint is made. Statistics that cannot be read are reported as a
// warning: they never turn a checkpoint that succeeded into a failure.
func (o *Options) Checkpoint(id string, cr CROptions, export *ExportOptions, stats io.Writer) error {
	if os.Geteuid() != 0 {
		logrus.Warn("rt checkpoint is untested with rootless containers")
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return err
	}
	if err := checkParentPath(opts.ImagesDirectory, opts.ParentImage); err != nil {
		return err
	}
	if opts.WorkDirectory != "" {
		if err := os.MkdirAll(opts.WorkDirectory, 0o700); err != nil {
			return fmt.Errorf("work path %s: %w", opts.WorkDirectory, UnwrapPathError(err))
		}
	}
	if err := ValidateID(id); err != nil {
		return err
	}
	if export != nil {
		if cr.PreDump || cr.LazyPages || cr.PageServer != "" || cr.ParentPath != "" {
			return errors.New("--export needs a complete local checkpoint: it cannot be combined with --pre-dump, --parent-path, --lazy-pages or --page-server")
		}
		abs, err := filepath.Abs(export.Path)
		if err != nil {
			return err
		}
		export.Path = abs
		if err := CheckCompression(export.Compression); err != nil {
			return err
		}
	}
	cleanup, err := UseCriu(o.CriuPath)
	if err != nil {
		return err
	}
	defer cleanup()
	c, lock, err := o.lockAndLoad(id)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	err = func() error {
		st, err := c.Status()
		if err != nil {
			return err
		}
		if st == libcontainer.Created || st == libcontainer.Stopped {
			return fmt.Errorf("container %s cannot be checkpointed in %s state", id, st)
		}
		bundle, annotations := utils.Annotations(c.Config().Labels)
		cr, err := cr.withDefaults(annotations)
		if err != nil {
			return err
		}
		opts, err := cr.criuOpts()
		if err != nil {
			return err
		}
		m := &Manifest{
			Kind:        KindDump,
			ContainerID: id,
			Bundle:      bundle,
			Host:        hostWithoutCriu(), // CRIU's version: after the dump
			Options:     cr,
			Started:     time.Now().UTC(),
		}
		if cr.PreDump {
			m.Kind = KindPreDump
		}
		if spec, err := LoadSpec(bundle); err == nil {
			m.Spec = spec
		} else {
			logrus.Warnf("checkpoint %s: the manifest will not hold the bundle's spec: %v", id, err)
		}
		return checkpointLocked(c, o.StateDir(id), st, opts, m, export, stats)
	}()
	// A checkpoint that ended the container leaves nothing of it behind.
	if _, serr := os.Stat(o.StateDir(id)); os.IsNotExist(serr) {
		lock.Remove()
	}
	return err
}

func checkpointLocked(c *libcontainer.Container, stateDir string, before libcontainer.Status, opts *libcontainer.CriuOpts, m *Manifest, export *ExportOptions, stats io.Writer) error {
	id := c.ID()
	final := opts.ImagesDirectory
	// Lazy pages and page-server dumps are read by their peer while CRIU
	// still runs, so they cannot be staged.
	staged := !opts.LazyPages && opts.PageServer.Address == ""
	var stage *imageStage
	if staged {
		var err error
		if stage, err = newImageStage(final); err != nil {
			return err
		}
		opts.ImagesDirectory = stage.dir
	} else {
		if HasCheckpoint(final) {
			return fmt.Errorf("image path %s already holds a checkpoint: remove it or choose another --image-path", final)
		}
		if err := os.MkdirAll(final, 0o700); err != nil {
			return fmt.Errorf("image path %s: %w", final, UnwrapPathError(err))
		}
	}
	logPath := filepath.Join(opts.ImagesDirectory, dumpLog)
	if opts.WorkDirectory != "" {
		logPath = filepath.Join(opts.WorkDirectory, dumpLog)
	}

	var hasher *dumpHasher
	if staged {
		hasher = startDumpHasher(opts.ImagesDirectory, manifestDigest)
	}
	unmark := markCheckpoint(c, stateDir, before)
	err := c.Checkpoint(opts)
	unmark()
	if err != nil {
		if hasher != nil {
			hasher.abandon()
		}
		report := ReadCriuLog(logPath)
		if staged {
			keep := ""
			if opts.WorkDirectory == "" {
				keep = filepath.Join(final, dumpLog)
				report.Path = keep
			}
			stage.discard(dumpLog, keep)
		}
		restoreRunState(c, before)
		return &criuError{op: "checkpoint", id: id, err: err, report: report, imageDir: final}
	}
	m.Finished = time.Now().UTC()
	if m.Host.CriuVersion = criuVersionFromLog(logPath); m.Host.CriuVersion == 0 {
		m.Host.CriuVersion = criuVersion("") // criu from PATH: UseCriu put --criu there
	}
	if staged {
		sums, stats := hasher.finish()
		logrus.Debugf("checkpoint %s: %d pages images (%d MiB) digested while CRIU wrote them", id, len(sums), hasher.read.Load()>>20)
		err := writeManifest(stage.dir, m, sums, stats)
		if err == nil {
			err = stage.publish()
		}
		if err != nil {
			if opts.LeaveRunning || opts.PreDump {
				// The container still runs: nothing is lost.
				stage.discard("", "")
				restoreRunState(c, before)
				return fmt.Errorf("checkpoint %s: %w", id, err)
			}
			// CRIU has ended the processes: these images are the only
			// copy of them. Keep them under a name stale-stage cleanup
			// leaves alone, and say where.
			kept := stage.keep()
			return fmt.Errorf("checkpoint %s: CRIU's dump succeeded but rt could not publish it at %s: %w; the images are kept in %s (restore with --image-path %s)", id, final, err, kept, kept)
		}
	} else if err := writeManifest(final, m, nil, nil); err != nil {
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	if stats != nil {
		writeDumpStats(stats, final, opts.WorkDirectory)
	}
	var exportErr error
	if export != nil {
		// Before the container is destroyed: its rootfs (an engine's
		// overlay mount) may go with it.
		created := time.Time{}
		if st, err := c.State(); err == nil {
			created = st.BaseState.Created
		}
		if err := exportCheckpoint(final, c.Config().Rootfs, created, m, *export); err != nil {
			exportErr = fmt.Errorf("checkpoint %s: the checkpoint in %s is complete, but the export failed: %w", id, final, err)
		}
	}
	if !opts.LeaveRunning && !opts.PreDump {
		if err := c.Destroy(); err != nil {
			logrus.Warn(err)
		}
	}
	return exportErr
}

// writeDumpStats prints the statistics of the checkpoint published in
// imageDir; a failure to find or read them is only a warning.
func writeDumpStats(w io.Writer, imageDir, workDir string) {
	st, err := ReadDumpStats(imageDir, workDir)
	if err == nil {
		err = WriteStatsJSON(w, st)
	}
	if err != nil {
		logrus.Warnf("--print-stats: the checkpoint in %s is complete, but CRIU's statistics could not be read: %v", imageDir, UnwrapPathError(err))
	}
}

// restoreRunState undoes what a failed dump may have left: a container
// that was running must not stay frozen.
func restoreRunState(c *libcontainer.Container, before libcontainer.Status) {
	now, err := c.Status()
	if err != nil {
		logrus.Warnf("container %s: status after failed checkpoint: %v", c.ID(), err)
		return
	}
	if before == libcontainer.Running && now == libcontainer.Paused {
		if err := c.Resume(); err != nil {
			logrus.Errorf("container %s was left frozen by the failed checkpoint and could not be thawed: %v", c.ID(), err)
		}
	}
}

// Restore creates container req.ID from its bundle and restores its
// processes from the checkpoint in cr.ImagePath. The ID and bundle may
// differ from the checkpointed container's. If anything fails, nothing of
// the new container is left under the root.
//
// With importFile, the checkpoint comes from an archive made with
// checkpoint --export: its images are extracted (into cr.ImagePath, or a
// temporary directory removed afterwards), checked, and its rootfs
// changes applied to the target bundle's rootfs before CRIU runs.
//
// With stats, CRIU's restore statistics are written to it as JSON once the
// container is restored.
func (o *Options) Restore(req StartRequest, cr CROptions, importFile string, stats io.Writer) (int, error) {
	if os.Geteuid() != 0 {
		logrus.Warn("rt restore is untested with rootless containers")
	}
	if err := ValidateID(req.ID); err != nil {
		return -1, err
	}
	var err error
	tempImport := false
	if importFile != "" {
		var cleanupImport func()
		cr, cleanupImport, err = o.importForRestore(req, cr, importFile)
		if cleanupImport != nil {
			tempImport = true
			defer cleanupImport()
		}
	} else {
		cr, err = o.prepareRestore(req, cr, nil)
	}
	if err != nil {
		return -1, fmt.Errorf("restore %s: %w", req.ID, err)
	}
	opts, err := cr.criuOpts()
	if err != nil {
		return -1, err
	}
	if opts.WorkDirectory != "" {
		if err := os.MkdirAll(opts.WorkDirectory, 0o700); err != nil {
			return -1, fmt.Errorf("work path %s: %w", opts.WorkDirectory, UnwrapPathError(err))
		}
	}
	cleanup, err := UseCriu(o.CriuPath)
	if err != nil {
		return -1, err
	}
	defer cleanup()
	req.Action = ActRestore
	req.CriuOpts = opts
	if stats != nil {
		// Paths are absolute here: StartContainer changes into the bundle.
		dirs := []string{opts.WorkDirectory, opts.ImagesDirectory}
		req.OnStarted = func() {
			st, err := ReadRestoreStats(dirs...)
			if err != nil {
				logrus.Warnf("--print-stats: %v", err)
				return
			}
			_ = WriteStatsJSON(stats, st)
		}
	}
	status, err := o.StartContainer(req)
	if err != nil && isCriuFailure(err) {
		logDir := opts.ImagesDirectory
		if opts.WorkDirectory != "" {
			logDir = opts.WorkDirectory
		}
		report := ReadCriuLog(filepath.Join(logDir, restoreLog))
		if tempImport && opts.WorkDirectory == "" {
			// The temporary import directory goes away: keep the log.
			report.Path = keepLog(report.Path)
		}
		err = &criuError{op: "restore", id: req.ID, err: err, report: report, imageDir: opts.ImagesDirectory}
	}
	return status, err
}

// prepareRestore runs every check that can refuse a restore before
// anything is created: the image is complete and intact, was taken on a
// compatible host, and the target bundle matches the checkpointed one. It
// returns the options completed by those the checkpoint recorded.
//
// known holds manifestDigest sums already computed for files of the image
// (by an import, as they streamed in); the others are read and hashed.
func (o *Options) prepareRestore(req StartRequest, cr CROptions, known map[string]string) (CROptions, error) {
	dir, err := cr.ImageDir()
	if err != nil {
		return cr, err
	}
	if err := CheckRestorable(dir); err != nil {
		return cr, err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return cr, fmt.Errorf("image path %s: %w", dir, err)
	}
	bundle := req.Bundle
	if bundle == "" {
		bundle = "."
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return cr, err
	}
	if m == nil {
		// Not taken by rt (runc, or an image without manifest): only the
		// configured defaults can help.
		logrus.Infof("image path %s has no %s: restoring without integrity and compatibility checks", dir, ManifestFile)
		return cr.withDefaults(spec.Annotations)
	}
	if m.Kind == KindPreDump {
		return cr, fmt.Errorf("image path %s holds a pre-dump: restore from the dump that names it with --parent-path", dir)
	}
	if err := m.verify(dir, known, manifestDigest); err != nil {
		return cr, err
	}
	here := hostWithoutCriu()
	here.CriuVersion = criuVersionCached(criuVersionDir(), o.CriuPath)
	if b := restoreBlockers(m.Host, here); len(b) > 0 {
		return cr, fmt.Errorf("checkpoint in %s cannot be restored on this host:%s", dir, joinDifferences(b))
	}
	if d := SpecDifferences(m.Spec, spec); len(d) > 0 {
		return cr, fmt.Errorf("bundle %s does not match the checkpointed container %s:%s", bundle, m.ContainerID, joinDifferences(d))
	}
	if added := cr.addRecorded(m.Options); len(added) > 0 {
		logrus.Infof("restore %s: using %s as recorded in the checkpoint", req.ID, strings.Join(added, " "))
	}
	return cr, nil
}

// importForRestore extracts an exported checkpoint for a restore and runs
// the restore checks before the target rootfs is changed.
func (o *Options) importForRestore(req StartRequest, cr CROptions, file string) (_ CROptions, _ func(), err error) {
	var cleanup func()
	// undo removes what the import extracted when it fails, so that a
	// retry into the same --image-path is not refused.
	var undo func()
	if cr.ImagePath == "" {
		dir, err := os.MkdirTemp("", "rt-import-")
		if err != nil {
			return cr, nil, err
		}
		cr.ImagePath = dir
		cleanup = func() { os.RemoveAll(dir) }
	} else {
		dir, err := cr.ImageDir()
		if err != nil {
			return cr, nil, err
		}
		if HasCheckpoint(dir) {
			return cr, nil, fmt.Errorf("--import: image path %s already holds a checkpoint", dir)
		}
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return cr, nil, fmt.Errorf("--import: image path %s is not empty", dir)
		}
		_, statErr := os.Stat(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return cr, nil, fmt.Errorf("image path %s: %w", dir, UnwrapPathError(err))
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
		cr.ImagePath = dir
	}
	bundle := req.Bundle
	if bundle == "" {
		bundle = "."
	}
	bundle, err = filepath.Abs(bundle)
	if err != nil {
		return cr, cleanup, err
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return cr, cleanup, err
	}
	if spec.Root == nil {
		return cr, cleanup, fmt.Errorf("bundle %s: config.json has no root", bundle)
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	volumes := map[string]string{}
	for _, m := range spec.Mounts {
		if isBindMount(m.Type, m.Options) {
			volumes[volumeKey(m.Destination)] = m.Source
		}
	}
	checked := cr
	sums := map[string]string{}
	defer func() {
		if err != nil && undo != nil {
			undo()
		}
	}()
	err = importArchive(file, importTarget{
		imageDir: cr.ImagePath,
		rootfs:   rootfs,
		volumes:  volumes,
		sums:     sums,
		beforeRootfs: func() error {
			var err error
			checked, err = o.prepareRestore(req, cr, sums)
			return err
		},
	})
	return checked, cleanup, err
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

// isCriuFailure tells CRIU's own failures from rt's checks that ran
// before CRIU, which need no log quoting.
func isCriuFailure(err error) bool {
	var ce *criuError
	if errors.As(err, &ce) {
		return false
	}
	return containsAny(err.Error(), []string{"criu failed", "CRIU", "criu "})
}
