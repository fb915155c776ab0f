package libct

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// CheckpointRequest is one "rt checkpoint".
type CheckpointRequest struct {
	ID      string
	Options ckpt.Options        // the command line's; defaults are added here
	Export  *ckpt.ExportOptions // also write an archive (--export)
	Stats   io.Writer           // CRIU's statistics as JSON, when set (--print-stats)
	// Check: run the preflight first, and refuse when it says the
	// checkpoint cannot work with these options (--check).
	Check bool
	// AfterRound, when set, is called after pre-copy round n was written
	// into dir (and digested), while the container runs: rt migrate sends
	// the round on. An error fails the checkpoint.
	AfterRound func(n int, dir string) error
	// FreezeForFinal freezes the container just before the final dump, so
	// that with --leave-running it stays frozen after it (rt migrate
	// thaws or deletes it). A failed checkpoint thaws it. Frozen, when
	// set, is called once it is frozen; an error thaws it and fails the
	// checkpoint.
	FreezeForFinal bool
	Frozen         func() error
	// PostCopy makes the final dump a post-copy one (rt migrate --lazy):
	// the pages the pre-copy rounds did not carry stay in the frozen
	// processes, and CRIU serves them from a page server on the loopback.
	// Once it listens, the final images (all but those pages) are
	// exported to Export.Path and PostCopy is called with a connection to
	// the page server. It returns nil once every page was copied: the
	// dump then completes and CRIU ends the processes. On an error the
	// page server is reset and the dump fails: the container is thawed,
	// unless keepFrozen (its memory may live on elsewhere). The images
	// are not published: without those pages they restore nothing here.
	PostCopy func(archive string, pageServer *net.TCPConn) (keepFrozen bool, err error)
	// NoPreCopy: --pre-copy=false was given. (Options cannot say so: a
	// false flag is an unset one, which defaults may turn on.)
	NoPreCopy bool
}

// Checkpoint dumps container req.ID with CRIU into the image path.
//
// The dump is written to a staging directory and published only when CRIU
// succeeded, so a failed checkpoint never leaves an image that looks
// complete, and an existing checkpoint is never overwritten. If the dump
// fails, the container is left as it was: running, or paused if it was
// paused before. Unless the container is left running (or this is a
// pre-dump) it is destroyed after a successful dump, as with runc.
// Statistics that cannot be read are a warning: they never turn a
// checkpoint that succeeded into a failure.
func (o *Runtime) Checkpoint(req CheckpointRequest) error {
	if os.Geteuid() != 0 {
		logrus.Warn("rt checkpoint is untested with rootless containers")
	}
	id := req.ID
	if err := ValidateID(id); err != nil {
		return err
	}
	// What can be refused without the container is refused before the
	// lock is taken.
	if err := req.Options.Validate(); err != nil {
		return err
	}
	image, err := req.Options.ImageDir()
	if err != nil {
		return err
	}
	if err := checkParentPath(image, req.Options.ParentPath()); err != nil {
		return err
	}
	if req.Export != nil {
		if err := checkExportable(req.Options, req.Export); err != nil {
			return err
		}
	}
	if req.PostCopy != nil && (req.Export == nil || !req.FreezeForFinal || req.Options.LeaveRunning()) {
		return errors.New("checkpoint: a post-copy dump needs an export, the freeze before the final dump, and no --leave-running")
	}
	if req.Options.PreCopy() {
		if err := checkPreCopy(req.Options); err != nil {
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
	// Unlock removes the lock file when the checkpoint ended the container.
	defer lock.Unlock()
	st, err := c.Status()
	if err != nil {
		return err
	}
	if st == libcontainer.Created || st == libcontainer.Stopped {
		return fmt.Errorf("container %s cannot be checkpointed in %s state", id, st)
	}
	bundle, annotations := utils.Annotations(c.Config().Labels)
	cr, err := req.Options.WithDefaults(annotations)
	if err != nil {
		return err
	}
	if req.NoPreCopy {
		cr.SetPreCopy(false)
	}
	if cr.PreCopy() && !req.Options.PreCopy() {
		// A default (configuration file, annotation) never turns a
		// checkpoint that works into one that is refused.
		if err := checkPreCopy(cr); err != nil {
			logrus.Warnf("checkpoint %s: not using the pre-copy default: %v", id, err)
			cr.SetPreCopy(false)
		}
	}
	if req.Check {
		p, err := o.preflight(c, cr)
		if err != nil {
			return fmt.Errorf("checkpoint %s: --check: %w", id, err)
		}
		if err := p.Err(); err != nil {
			return err
		}
	}
	started := time.Now()
	run, err := prepareCriu("checkpoint", id, cr)
	if err != nil {
		return err
	}
	defer run.done()
	m := &ckpt.Manifest{
		Kind:        ckpt.KindDump,
		ContainerID: id,
		Bundle:      bundle,
		Host:        ckpt.HostWithoutCriu(), // CRIU's version: from its log, after the dump
		Options:     cr,
		Started:     time.Now().UTC(),
	}
	if cr.PreDump() {
		m.Kind = ckpt.KindPreDump
	}
	if spec, err := LoadSpec(bundle); err == nil {
		m.Spec = spec
	} else {
		logrus.Warnf("checkpoint %s: the manifest will not hold the bundle's spec: %v", id, err)
	}
	d := &dump{c: c, stateDir: o.StateDir(id), before: st, run: run, manifest: m, preCopy: cr.PreCopy(), rounds: cr.PreCopyRounds(),
		afterRound: req.AfterRound, freeze: req.FreezeForFinal, frozen: req.Frozen}
	if req.PostCopy != nil {
		d.postCopy = &postCopyDump{serve: req.PostCopy, export: *req.Export, created: createdAt(c)}
	}
	if err := d.write(); err != nil {
		return err
	}
	if d.postCopy != nil {
		// CRIU ended the processes once their pages were all copied.
		if err := c.Destroy(); err != nil {
			logrus.Warn(err)
		}
		return nil
	}
	if !cr.PreCopy() && cr.PartialDump() == "" {
		// A plain dump: a sample of this host's speed for rt check's
		// estimate.
		o.recordSpeed(image, time.Since(started))
	}
	if req.Stats != nil {
		writeDumpStats(req.Stats, image, run.opts.WorkDirectory, m.PreCopy)
	}
	var exportErr error
	if req.Export != nil {
		// Before the container is destroyed: its rootfs (an engine's
		// overlay mount) may go with it.
		if err := ckpt.Export(image, c.Config().Rootfs, createdAt(c), m, *req.Export); err != nil {
			exportErr = fmt.Errorf("checkpoint %s: the checkpoint in %s is complete, but the export failed: %w", id, image, err)
		}
	}
	if !cr.LeaveRunning() && !cr.PreDump() {
		if err := c.Destroy(); err != nil {
			logrus.Warn(err)
		}
	}
	return exportErr
}

// createdAt is when the container was created, for an export's record;
// zero if its state cannot be read.
func createdAt(c *libcontainer.Container) time.Time {
	if s, err := c.State(); err == nil {
		return s.BaseState.Created
	}
	return time.Time{}
}

// checkPreCopy refuses --pre-copy where it cannot work: with options that
// take over the same CRIU calls, or on a kernel without soft-dirty
// tracking. Nothing has run yet.
func checkPreCopy(cr ckpt.Options) error {
	if flag := cr.PartialDump(); flag != "" {
		return fmt.Errorf("--pre-copy cannot be combined with %s: rt chains the pre-dumps itself", flag)
	}
	return softDirtyProbe()
}

// softDirtyProbe is probeSoftDirty; tests replace it.
var softDirtyProbe = probeSoftDirty

// checkExportable refuses --export with options whose images are not all
// local and complete, and an unknown compression, before anything runs.
func checkExportable(cr ckpt.Options, export *ckpt.ExportOptions) error {
	if cr.PartialDump() != "" {
		return errors.New("--export needs a complete local checkpoint: it cannot be combined with --pre-dump, --parent-path, --lazy-pages or --page-server")
	}
	abs, err := filepath.Abs(export.Path)
	if err != nil {
		return err
	}
	export.Path = abs
	return ckpt.CheckCompression(export.Compression)
}

// dump is one CRIU dump of a locked container, published with its
// manifest.
type dump struct {
	c        *libcontainer.Container
	stateDir string
	before   libcontainer.Status
	run      *criuRun
	manifest *ckpt.Manifest
	preCopy  bool // run pre-copy rounds before the final dump
	rounds   int  // at most this many
	// See CheckpointRequest.
	afterRound func(n int, dir string) error
	freeze     bool
	frozen     func() error
	postCopy   *postCopyDump
}

type postCopyDump struct {
	serve   func(archive string, ps *net.TCPConn) (bool, error)
	export  ckpt.ExportOptions
	created time.Time
	// keepFrozen: serve failed after the memory may have come to life
	// elsewhere; the failed dump must not thaw the container. Set before
	// the page server is reset, read once CRIU has failed.
	keepFrozen atomic.Bool
}

// write runs CRIU into a staging directory next to the image path and
// publishes the images with their manifest. Lazy pages and page-server
// dumps are read by their peer while CRIU still runs, so they are written
// in place.
func (d *dump) write() error {
	opts := d.run.opts
	if opts.LazyPages || opts.PageServer.Address != "" {
		return d.writeInPlace()
	}
	final := d.run.imageDir
	stage, err := ckpt.NewStage(final)
	if err != nil {
		return err
	}
	// failed discards the stage, keeping CRIU's log (logName, relative to
	// the stage) when it was written there.
	failed := func(err error, logName string) error {
		keep := ""
		var ce *CriuError
		if opts.WorkDirectory == "" && errors.As(err, &ce) {
			keep = filepath.Join(final, ckpt.DumpLog)
			ce.Report.Path = keep
		}
		stage.Discard(logName, keep)
		return err
	}
	var known map[string]string
	var knownStats map[string]ckpt.FileStat
	if d.preCopy {
		var logName string
		if known, knownStats, logName, err = d.preCopyRounds(stage.Dir()); err != nil {
			return failed(err, logName)
		}
		opts.ParentImage = ckpt.RoundDir(len(d.manifest.PreCopy))
	}
	opts.ImagesDirectory = stage.Dir()
	if opts.WorkDirectory == "" {
		d.run.log = filepath.Join(stage.Dir(), ckpt.DumpLog)
	}
	if d.freeze && d.before == libcontainer.Running {
		// Under the checkpoint's lock, not through Runtime.Pause. d.before
		// stays Running: a failure from here on thaws it.
		if err := d.c.Pause(); err != nil {
			restoreRunState(d.c, d.before)
			return failed(fmt.Errorf("checkpoint %s: freeze: %w", d.c.ID(), err), "")
		}
		if d.frozen != nil {
			if err := d.frozen(); err != nil {
				restoreRunState(d.c, d.before)
				return failed(fmt.Errorf("checkpoint %s: %w", d.c.ID(), err), "")
			}
		}
	}
	if d.postCopy != nil {
		err := d.postCopyFinal(stage.Dir(), known, knownStats)
		stage.Discard("", "")
		return err
	}
	if err := d.criu(); err != nil {
		return failed(err, ckpt.DumpLog)
	}
	d.finish()
	// The images are digested once CRIU is done: the container is then
	// running again (--leave-running) or gone, so rt's own work never
	// lengthens the freeze. (Digesting while CRIU wrote made the frozen
	// time 20-40% longer in the 2-CPU lane: docs/benchmarks.md.)
	err = ckpt.WriteManifest(stage.Dir(), d.manifest, known, knownStats)
	if err == nil {
		err = stage.Publish()
	}
	if err == nil {
		return nil
	}
	id := d.c.ID()
	if opts.LeaveRunning || opts.PreDump {
		// The container still runs: nothing is lost.
		stage.Discard("", "")
		restoreRunState(d.c, d.before)
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	// CRIU has ended the processes: these images are the only copy of
	// them. Keep them under a name stale-stage cleanup leaves alone, and
	// say where.
	kept := stage.Keep()
	return fmt.Errorf("checkpoint %s: CRIU's dump succeeded but rt could not publish it at %s: %w; the images are kept in %s (restore with --image-path %s)", id, final, err, kept, kept)
}

func (d *dump) writeInPlace() error {
	final := d.run.imageDir
	if ckpt.HasCheckpoint(final) {
		return fmt.Errorf("image path %s already holds a checkpoint: remove it or choose another --image-path", final)
	}
	if err := os.MkdirAll(final, 0o700); err != nil {
		return fmt.Errorf("image path %s: %w", final, fsutil.UnwrapPathError(err))
	}
	if err := d.criu(); err != nil {
		return err
	}
	d.finish()
	if err := ckpt.WriteManifest(final, d.manifest, nil, nil); err != nil {
		return fmt.Errorf("checkpoint %s: %w", d.c.ID(), err)
	}
	return nil
}

// criu runs CRIU's dump. A failure leaves the container as it was.
func (d *dump) criu() error { return d.criuWith(d.run.opts) }

// criuWith runs one CRIU call of the dump (a pre-copy round, the dump)
// with opts.
func (d *dump) criuWith(opts *libcontainer.CriuOpts) error {
	unmark := markCheckpoint(d.c, d.stateDir, d.before)
	err := d.c.Checkpoint(opts)
	unmark()
	if err != nil {
		if d.postCopy != nil && d.postCopy.keepFrozen.Load() {
			return d.run.failed(err)
		}
		restoreRunState(d.c, d.before)
		return d.run.failed(err)
	}
	return nil
}

// finish records what is known once CRIU is done.
func (d *dump) finish() {
	d.manifest.Finished = time.Now().UTC()
	if d.manifest.Host.CriuVersion = ckpt.CriuVersionFromLog(d.run.log); d.manifest.Host.CriuVersion == 0 {
		d.manifest.Host.CriuVersion = ckpt.QueryCriuVersion("") // criu from PATH: UseCriu put --criu there
	}
}

// writeDumpStats prints the statistics of the checkpoint published in
// imageDir; a failure to find or read them is only a warning.
func writeDumpStats(w io.Writer, imageDir, workDir string, rounds []ckpt.Round) {
	st, err := ckpt.ReadDumpStats(imageDir, workDir)
	if err == nil {
		st.PreCopyRounds = rounds
		err = ckpt.WriteStatsJSON(w, st)
	}
	if err != nil {
		logrus.Warnf("--print-stats: the checkpoint in %s is complete, but CRIU's statistics could not be read: %v", imageDir, fsutil.UnwrapPathError(err))
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
