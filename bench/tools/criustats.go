package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// criustats DIR: decode CRIU's stats-dump / stats-restore in DIR (the same
// numbers `crit show` and rt --print-stats give) without python's crit,
// which takes seconds to start under TCG. Prints
//
//	dump FREEZING_US FROZEN_US MEMDUMP_US MEMWRITE_US PAGES_SCANNED PAGES_WRITTEN
//	restore FORKING_US RESTORE_US PAGES_RESTORED
//
// for each file present.
func criuStatsCmd(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: criustats DIR")
	}
	found := false
	for _, name := range []string{"stats-dump", "stats-restore"} {
		data, err := os.ReadFile(filepath.Join(args[0], name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		found = true
		// Two magics (u32 each), then one entry: u32 length + StatsEntry.
		if len(data) < 12 {
			return fmt.Errorf("%s: too short", name)
		}
		n := int(binary.LittleEndian.Uint32(data[8:12]))
		if 12+n > len(data) {
			return fmt.Errorf("%s: truncated entry", name)
		}
		top, err := pbFields(data[12 : 12+n])
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		// StatsEntry { DumpStatsEntry dump = 1; RestoreStatsEntry restore = 2; }
		if b, ok := top[1]; ok {
			d, err := pbFields(b.([]byte))
			if err != nil {
				return err
			}
			// freezing_time=1 frozen_time=2 memdump_time=3 memwrite_time=4
			// pages_scanned=5 pages_skipped_parent=6 pages_written=7
			fmt.Printf("dump %d %d %d %d %d %d\n", u(d[1]), u(d[2]), u(d[3]), u(d[4]), u(d[5]), u(d[7]))
		}
		if b, ok := top[2]; ok {
			r, err := pbFields(b.([]byte))
			if err != nil {
				return err
			}
			// pages_compared=1 pages_skipped_cow=2 forking_time=3
			// restore_time=4 pages_restored=5
			fmt.Printf("restore %d %d %d\n", u(r[3]), u(r[4]), u(r[5]))
		}
	}
	if !found {
		return fmt.Errorf("no stats-dump or stats-restore in %s", args[0])
	}
	return nil
}

func u(v any) uint64 {
	x, _ := v.(uint64)
	return x
}

// pbFields decodes one protobuf message: varints and length-delimited
// fields (all CRIU's stats use), by field number.
func pbFields(b []byte) (map[int]any, error) {
	out := map[int]any{}
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("bad key")
		}
		b = b[n:]
		field, wire := int(key>>3), key&7
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("bad varint")
			}
			out[field] = v
			b = b[n:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || int(l) > len(b)-n {
				return nil, fmt.Errorf("bad length")
			}
			out[field] = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, fmt.Errorf("short fixed32")
			}
			out[field] = uint64(binary.LittleEndian.Uint32(b))
			b = b[4:]
		case 1:
			if len(b) < 8 {
				return nil, fmt.Errorf("short fixed64")
			}
			out[field] = binary.LittleEndian.Uint64(b)
			b = b[8:]
		default:
			return nil, fmt.Errorf("wire type %d", wire)
		}
	}
	return out, nil
}
