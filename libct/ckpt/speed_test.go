package ckpt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEstimateTime(t *testing.T) {
	const mib = 1 << 20
	ms, basis := EstimateTime(nil, 150*mib)
	if ms != defaultFixedMs+1000 || !strings.Contains(basis, "no checkpoint measured") {
		t.Fatalf("defaults: %d ms (%s)", ms, basis)
	}
	// one size: anchored at it, the default rate for the difference
	ms, basis = EstimateTime([]SpeedSample{{Bytes: 20 * mib, Ms: 1700}}, 170*mib)
	if ms != 2700 || !strings.Contains(basis, "of about 20 MiB") {
		t.Fatalf("one size: %d ms (%s)", ms, basis)
	}
	// two sizes: 1000 ms + 100 MiB/s fitted exactly
	s := []SpeedSample{{Bytes: 100 * mib, Ms: 2000}, {Bytes: 500 * mib, Ms: 6000}}
	ms, basis = EstimateTime(s, 1000*mib)
	if ms < 10990 || ms > 11010 || !strings.Contains(basis, "fitted to 2") {
		t.Fatalf("fit: %d ms (%s)", ms, basis)
	}
}

func TestSpeedFileBesideRoot(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range maxSpeedSamples + 5 {
		if err := RecordSpeed(root, SpeedSample{Bytes: int64(i + 1), Ms: 1}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadSpeed(root)
	if err != nil || len(got) != maxSpeedSamples || got[len(got)-1].Bytes != maxSpeedSamples+5 {
		t.Fatalf("samples %d %v", len(got), err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("the root holds %v: it is for containers only", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, ".root-checkpoint-speed.json")); err != nil {
		t.Fatal(err)
	}
}
