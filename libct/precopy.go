package libct

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// preCopyRounds runs CRIU pre-dumps into stage/pre-copy/N while the
// container runs, each writing only the pages dirtied since the round
// before (soft-dirty tracking), until ckpt.MorePreCopy says the next round
// is not worth it. It records the rounds in the manifest and returns the
// digests of their files, taken between rounds while the container runs,
// for the final manifest. On failure it returns the path of the failed
// round's CRIU log relative to stage (when it was written there); the
// container is as it was.
func (d *dump) preCopyRounds(stage string) (sums map[string]string, stats map[string]ckpt.FileStat, logName string, err error) {
	final := *d.run.opts
	defer func(log string) { d.run.log = log }(d.run.log)
	sums, stats = map[string]string{}, map[string]ckpt.FileStat{}
	var rounds []ckpt.Round
	for n := 1; ckpt.MorePreCopy(rounds, d.rounds); n++ {
		rel := ckpt.RoundDir(n)
		dir := filepath.Join(stage, rel)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, "", fmt.Errorf("pre-copy round %d: %w", n, fsutil.UnwrapPathError(err))
		}
		opts := final
		opts.PreDump = true
		opts.ImagesDirectory = dir
		opts.ParentImage = ""
		if n > 1 {
			opts.ParentImage = path.Join("..", fmt.Sprint(n-1))
		}
		d.run.log = filepath.Join(dir, ckpt.DumpLog)
		logName = path.Join(rel, ckpt.DumpLog)
		if final.WorkDirectory != "" {
			d.run.log = filepath.Join(final.WorkDirectory, ckpt.DumpLog)
			logName = ""
		}
		started := time.Now()
		if err := d.criuWith(&opts); err != nil {
			return nil, nil, logName, &roundError{n, err}
		}
		r := ckpt.Round{Dir: rel, DurationMs: time.Since(started).Milliseconds()}
		if st, err := ckpt.ReadDumpStats(dir, final.WorkDirectory); err == nil {
			r.PagesScanned, r.PagesWritten, r.FrozenTimeUs = st.PagesScanned, st.PagesWritten, st.FrozenTimeUs
		} else {
			// Without the count the rounds cannot converge: stop here.
			logrus.Warnf("checkpoint %s: pre-copy round %d: CRIU's statistics: %v; no further round", d.c.ID(), n, err)
			r.PagesWritten = 0
		}
		rounds = append(rounds, r)
		// The round's own manifest marks it as a pre-dump (never restored
		// on its own) and digests it now, while the container runs.
		m := &ckpt.Manifest{
			Kind: ckpt.KindPreDump, ContainerID: d.manifest.ContainerID, Bundle: d.manifest.Bundle,
			Host: d.manifest.Host, Started: started.UTC(), Finished: time.Now().UTC(),
		}
		if err := ckpt.WriteManifest(dir, m, nil, nil); err != nil {
			return nil, nil, "", fmt.Errorf("pre-copy round %d: %w", n, err)
		}
		for f, s := range m.Files {
			sums[path.Join(rel, f)] = s
		}
		for f, st := range m.FileStats {
			stats[path.Join(rel, f)] = st
		}
		if d.afterRound != nil {
			if err := d.afterRound(n, dir); err != nil {
				return nil, nil, "", &roundError{n, err}
			}
		}
		logrus.Debugf("checkpoint %s: pre-copy round %d: %d of %d pages written in %d ms, frozen %d us", d.c.ID(), n, r.PagesWritten, r.PagesScanned, r.DurationMs, r.FrozenTimeUs)
	}
	d.manifest.PreCopy = rounds
	return sums, stats, "", nil
}

// roundError names the pre-copy round an error happened in. Its message is
// built when printed: the CRIU log it names may be moved after the round
// failed.
type roundError struct {
	round int
	err   error
}

func (e *roundError) Error() string { return fmt.Sprintf("pre-copy round %d: %v", e.round, e.err) }
func (e *roundError) Unwrap() error { return e.err }
