package ckpt

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"google.golang.org/protobuf/proto"
)

func TestReadStats(t *testing.T) {
	dir := t.TempDir()
	frozen := uint32(1234)
	entry, err := proto.Marshal(&stats.StatsEntry{Dump: &stats.DumpStatsEntry{FrozenTime: &frozen, FreezingTime: proto.Uint32(1), MemdumpTime: proto.Uint32(2), MemwriteTime: proto.Uint32(3), PagesScanned: proto.Uint64(4), PagesSkippedParent: proto.Uint64(0), PagesWritten: proto.Uint64(5), PagesLazy: proto.Uint64(0)}})
	if err != nil {
		t.Fatal(err)
	}
	data := binary.LittleEndian.AppendUint32(nil, imgServiceMagic)
	data = binary.LittleEndian.AppendUint32(data, statsMagic)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(entry)))
	data = append(data, entry...)
	writeFile(t, filepath.Join(dir, "stats-dump"), string(data))
	d, err := ReadDumpStats(dir, "")
	if err != nil || d.FrozenTimeUs != 1234 || d.PagesWritten != 5 {
		t.Fatalf("%+v %v", d, err)
	}
	// With --work-path, CRIU writes its statistics there, not beside the
	// images: found in the work directory, reported for the image directory.
	images, work := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(work, "stats-dump"), string(data))
	d, err = ReadDumpStats(images, work)
	if err != nil || d.FrozenTimeUs != 1234 || d.ImageDirectory != images {
		t.Fatalf("stats in the work directory: %+v %v", d, err)
	}
	if _, err := ReadDumpStats(images, t.TempDir()); err == nil {
		t.Fatal("statistics found where there are none")
	}
	// truncated, wrong magic, length beyond the file: errors, no panic
	for _, bad := range [][]byte{data[:7], append([]byte{1, 2, 3, 4}, data[4:]...), data[:len(data)-1]} {
		writeFile(t, filepath.Join(dir, "stats-dump"), string(bad))
		if _, err := ReadDumpStats(dir, ""); err == nil {
			t.Fatalf("accepted %x", bad)
		}
	}
}
