package ckpt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// rt learns how fast this host checkpoints from the checkpoints it takes:
// each successful dump adds (image bytes, wall time) to a small file beside
// the root, and "rt check ID" estimates a checkpoint's time from them.

// SpeedFile is where the samples of root are kept: beside it, not in it,
// so that the root holds containers only (/run/rt: /run/.rt-checkpoint-speed.json).
func SpeedFile(root string) string {
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+"-checkpoint-speed.json")
}

// maxSpeedSamples bounds the file: the newest samples describe the host.
const maxSpeedSamples = 32

// SpeedSample is one checkpoint as measured.
type SpeedSample struct {
	Bytes int64     `json:"bytes"`
	Ms    int64     `json:"ms"`
	When  time.Time `json:"when"`
}

// RecordSpeed adds a sample to root's speed file (best effort: losing a
// sample to a concurrent writer costs nothing).
func RecordSpeed(root string, s SpeedSample) error {
	path := SpeedFile(root)
	samples, _ := ReadSpeed(root)
	samples = append(samples, s)
	if len(samples) > maxSpeedSamples {
		samples = samples[len(samples)-maxSpeedSamples:]
	}
	data, err := json.Marshal(samples)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	tmp.Close()
	return os.Rename(tmp.Name(), path)
}

// ReadSpeed reads root's samples.
func ReadSpeed(root string) ([]SpeedSample, error) {
	data, err := os.ReadFile(SpeedFile(root))
	if err != nil {
		return nil, err
	}
	var s []SpeedSample
	return s, json.Unmarshal(data, &s)
}

// Without samples: CRIU's fixed cost for a small container and a copy
// rate, both from the slow end of what the lane measured (docs/benchmarks.md);
// a host with samples replaces them.
const (
	defaultFixedMs     = 1500
	defaultBytesPerSec = 150 << 20
)

// EstimateTime estimates a checkpoint of bytes from samples: time = fixed
// + bytes/rate, fitted by least squares when the samples differ in size
// enough to tell the two apart, else the defaults' fixed cost with the
// samples' rate. basis says which.
func EstimateTime(samples []SpeedSample, bytes int64) (ms int64, basis string) {
	n := float64(len(samples))
	if n == 0 {
		return defaultFixedMs + bytes*1000/defaultBytesPerSec,
			fmt.Sprintf("no checkpoint measured on this host yet: assumed %d ms + %d MiB/s", defaultFixedMs, defaultBytesPerSec>>20)
	}
	var sx, sy, sxx, sxy float64
	minB, maxB := samples[0].Bytes, samples[0].Bytes
	for _, s := range samples {
		x, y := float64(s.Bytes), float64(s.Ms)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		minB, maxB = min(minB, s.Bytes), max(maxB, s.Bytes)
	}
	if den := n*sxx - sx*sx; maxB >= 2*minB+(16<<20) && den > 0 {
		slope := (n*sxy - sx*sy) / den // ms per byte
		fixed := (sy - slope*sx) / n
		if slope > 0 && fixed >= 0 {
			return int64(fixed + slope*float64(bytes)),
				fmt.Sprintf("fitted to %d checkpoints on this host: %.0f ms + %.0f MiB/s", len(samples), fixed, 1000/slope/(1<<20))
		}
	}
	// One size only: anchored at it, with the assumed copy rate for the
	// difference (a small checkpoint is mostly fixed cost and says little
	// about the rate).
	var mb, mms float64
	for _, s := range samples {
		mb, mms = mb+float64(s.Bytes)/n, mms+float64(s.Ms)/n
	}
	est := int64(mms + (float64(bytes)-mb)*1000/defaultBytesPerSec)
	return max(est, int64(mms/4)),
		fmt.Sprintf("from %d checkpoint(s) of about %d MiB on this host, and %d MiB/s assumed for the difference", len(samples), int64(mb)>>20, defaultBytesPerSec>>20)
}
