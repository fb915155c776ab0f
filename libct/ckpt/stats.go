package ckpt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"google.golang.org/protobuf/proto"
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
	// PreCopyRounds are the rounds of a --pre-copy checkpoint; the fields
	// above are its final dump's.
	PreCopyRounds []Round `json:"preCopyRounds,omitempty"`
}

// RestoreStats are CRIU's restore statistics.
type RestoreStats struct {
	ForkingTimeUs   uint32 `json:"forkingTimeUs"`
	RestoreTimeUs   uint32 `json:"restoreTimeUs"`
	PagesRestored   uint64 `json:"pagesRestored"`
	PagesCompared   uint64 `json:"pagesCompared,omitempty"`
	PagesSkippedCow uint64 `json:"pagesSkippedCow,omitempty"`
	// TimeToRunningMs is rt's: from the start of the restore command to
	// the container running.
	TimeToRunningMs int64 `json:"timeToRunningMs"`
	// Lazy is the background copy of a --lazy restore, once it is over.
	Lazy *LazyStatus `json:"lazy,omitempty"`
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

// ReadDumpStats reads the stats-dump file CRIU left for the checkpoint in
// imageDir. CRIU writes it into its work directory, which is workDir when
// one was given (engines pass --work-path apart from --image-path) and the
// image directory otherwise; both are looked at, work directory first.
func ReadDumpStats(imageDir, workDir string) (*DumpStats, error) {
	var s *stats.StatsEntry
	var err error
	for _, dir := range []string{workDir, imageDir} {
		if dir == "" {
			continue
		}
		if s, err = readStats(filepath.Join(dir, "stats-dump")); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	d := dumpStatsJSON(s.GetDump())
	d.ImageDirectory = imageDir
	d.ImageBytes = DirBytes(imageDir)
	return d, nil
}

// ReadRestoreStats reads stats-restore from the first directory holding one.
func ReadRestoreStats(dirs ...string) (*RestoreStats, error) {
	var err error
	for _, dir := range dirs {
		var s *stats.RestoreStatsEntry
		if s, err = readRestoreStats(dir); err == nil {
			return &RestoreStats{
				ForkingTimeUs: s.GetForkingTime(), RestoreTimeUs: s.GetRestoreTime(),
				PagesRestored: s.GetPagesRestored(), PagesCompared: s.GetPagesCompared(),
				PagesSkippedCow: s.GetPagesSkippedCow(),
			}, nil
		}
	}
	return nil, err
}

// DirBytes is the size of the regular files under dir (a --pre-copy
// checkpoint's rounds included).
func DirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// WriteStatsJSON writes v as one indented JSON document.
func WriteStatsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// CRIU's image magics (criu/include/magic.h): a stats file starts with the
// service-image magic, then its own.
const (
	imgServiceMagic = 0x55105940
	statsMagic      = 0x57093306
)

// readStats decodes a CRIU stats file (stats-dump, stats-restore): two
// magics, then one entry, a 32-bit little-endian length and a protobuf
// StatsEntry. rt reads it itself rather than with go-criu's crit, whose
// registry of every image type would be initialised at each exec of rt.
func readStats(path string) (*stats.StatsEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 12 {
		return nil, fmt.Errorf("%s: too short for a CRIU stats image", path)
	}
	if m0, m1 := binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:]); m0 != imgServiceMagic || m1 != statsMagic {
		return nil, fmt.Errorf("%s: not a CRIU stats image (magic %#x %#x)", path, m0, m1)
	}
	n := binary.LittleEndian.Uint32(data[8:])
	if uint64(n) > uint64(len(data)-12) {
		return nil, fmt.Errorf("%s: entry of %d bytes in a file of %d", path, n, len(data))
	}
	var e stats.StatsEntry
	if err := proto.Unmarshal(data[12:12+n], &e); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &e, nil
}

func readRestoreStats(dir string) (*stats.RestoreStatsEntry, error) {
	s, err := readStats(filepath.Join(dir, "stats-restore"))
	if err != nil {
		return nil, err
	}
	return s.GetRestore(), nil
}
