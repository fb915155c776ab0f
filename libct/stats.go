package libct

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
)

// DumpStats are CRIU's dump statistics in a stable JSON form (times in
// microseconds, as CRIU counts them).
type DumpStats struct {
	FreezingTimeUs uint32 `json:"freezingTimeUs"`
	FrozenTimeUs   uint32 `json:"frozenTimeUs"`
	MemdumpTimeUs  uint32 `json:"memdumpTimeUs"`
	MemwriteTimeUs uint32 `json:"memwriteTimeUs"`
	PagesScanned   uint64 `json:"pagesScanned"`
	PagesSkipped   uint64 `json:"pagesSkippedParent"`
	PagesWritten   uint64 `json:"pagesWritten"`
	PagesLazy      uint64 `json:"pagesLazy,omitempty"`
	ImageBytes     int64  `json:"imageBytes"`
	ImageDirectory string `json:"imageDirectory"`
	IrmapResolveUs uint32 `json:"irmapResolveUs,omitempty"`
	ShpagesScanned uint64 `json:"shpagesScanned,omitempty"`
	ShpagesWritten uint64 `json:"shpagesWritten,omitempty"`
}

// RestoreStats are CRIU's restore statistics.
type RestoreStats struct {
	ForkingTimeUs   uint32 `json:"forkingTimeUs"`
	RestoreTimeUs   uint32 `json:"restoreTimeUs"`
	PagesRestored   uint64 `json:"pagesRestored"`
	PagesCompared   uint64 `json:"pagesCompared,omitempty"`
	PagesSkippedCow uint64 `json:"pagesSkippedCow,omitempty"`
}

func dumpStatsJSON(s *stats.DumpStatsEntry) *DumpStats {
	return &DumpStats{
		FreezingTimeUs: s.GetFreezingTime(), FrozenTimeUs: s.GetFrozenTime(),
		MemdumpTimeUs: s.GetMemdumpTime(), MemwriteTimeUs: s.GetMemwriteTime(),
		PagesScanned: s.GetPagesScanned(), PagesSkipped: s.GetPagesSkippedParent(),
		PagesWritten: s.GetPagesWritten(), PagesLazy: s.GetPagesLazy(),
		IrmapResolveUs: s.GetIrmapResolve(),
		ShpagesScanned: s.GetShpagesScanned(), ShpagesWritten: s.GetShpagesWritten(),
	}
}

// ReadDumpStats reads the stats-dump file CRIU left in an image directory.
func ReadDumpStats(dir string) (*DumpStats, error) {
	s, err := crit.GetDumpStats(dir)
	if err != nil {
		return nil, err
	}
	d := dumpStatsJSON(s)
	d.ImageDirectory = dir
	d.ImageBytes = dirBytes(dir)
	return d, nil
}

// ReadRestoreStats reads stats-restore from the first directory holding one.
func ReadRestoreStats(dirs ...string) (*RestoreStats, error) {
	var err error
	for _, dir := range dirs {
		var s *stats.RestoreStatsEntry
		if s, err = crit.GetRestoreStats(dir); err == nil {
			return &RestoreStats{
				ForkingTimeUs: s.GetForkingTime(), RestoreTimeUs: s.GetRestoreTime(),
				PagesRestored: s.GetPagesRestored(), PagesCompared: s.GetPagesCompared(),
				PagesSkippedCow: s.GetPagesSkippedCow(),
			}, nil
		}
	}
	return nil, err
}

func dirBytes(dir string) int64 {
	var n int64
	matches, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// WriteStatsJSON writes v as one indented JSON document.
func WriteStatsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
