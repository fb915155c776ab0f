package ckpt

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The record is used while the binary is the same file, and only then.
func TestCriuVersionCached(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rt") // created on first record
	// A "criu" that cannot answer: asking it gives 0.
	fake := filepath.Join(t.TempDir(), "criu")
	writeFile(t, fake, "#!/bin/sh\nexit 1\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	if v := CriuVersionCached(root, fake); v != 0 {
		t.Fatalf("version of a CRIU that cannot answer: %d", v)
	}
	if _, err := os.Stat(filepath.Join(root, criuVersionFile)); err == nil {
		t.Fatal("a failed query was recorded")
	}
	// A record for this very file is believed (the fake cannot answer).
	st, _ := statOf(fake)
	writeRecord := func(rec criuVersionRecord) {
		data, _ := json.Marshal(rec)
		writeFile(t, filepath.Join(root, criuVersionFile), string(data))
	}
	writeRecord(criuVersionRecord{Path: fake, Stat: st, Version: 31701})
	if v := CriuVersionCached(root, fake); v != 31701 {
		t.Fatalf("recorded version not used: %d", v)
	}
	// The binary changes (a package upgrade): the record no longer holds.
	writeFile(t, fake, "#!/bin/sh\nexit 22\n") // another size: timestamps may not move within one clock tick
	if v := CriuVersionCached(root, fake); v != 0 {
		t.Fatalf("record of a replaced binary used: %d", v)
	}
	// Another binary, same record: not used either.
	writeRecord(criuVersionRecord{Path: "/usr/sbin/criu-other", Stat: st, Version: 31701})
	if v := CriuVersionCached(root, fake); v != 0 {
		t.Fatalf("record of another path used: %d", v)
	}
}

// With a real CRIU, the first query is recorded and the next is read from
// the record.
func TestCriuVersionCachedRecords(t *testing.T) {
	criu, err := exec.LookPath("criu")
	if err != nil {
		t.Skip("no criu in PATH")
	}
	root := filepath.Join(t.TempDir(), "rt") // created on first record
	v := CriuVersionCached(root, criu)
	if v <= 0 {
		t.Skipf("criu in PATH does not answer a version query here")
	}
	data, err := os.ReadFile(filepath.Join(root, criuVersionFile))
	if err != nil {
		t.Fatalf("version %d not recorded: %v", v, err)
	}
	var rec criuVersionRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Version != v {
		t.Fatalf("record %s: %v", data, err)
	}
	rec.Version = 99999 // a changed record shows the next call reads it
	data, _ = json.Marshal(rec)
	writeFile(t, filepath.Join(root, criuVersionFile), string(data))
	if got := CriuVersionCached(root, criu); got != 99999 {
		t.Fatalf("second query did not use the record: %d", got)
	}
	if got := CriuVersionCached(root, ""); got != 99999 {
		t.Fatalf("criu from PATH did not use the record: %d", got)
	}
}

func TestCriuVersionFromLog(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dump.log")
	writeFile(t, p, "(00.000000) Running kerndat\n(00.000001) Version: 3.17.1 (gitid 0)\n(00.000002) more\n")
	if v := CriuVersionFromLog(p); v != 31701 {
		t.Fatalf("3.17.1: %d", v)
	}
	writeFile(t, p, "(00.000001) Version: 4.1 (gitid v4.1)\n")
	if v := CriuVersionFromLog(p); v != 40100 {
		t.Fatalf("4.1: %d", v)
	}
	for _, bad := range []string{"no version here\n", "Version: x.y\n", "Version: 3\n", "Version: 3.170.1\n", ""} {
		writeFile(t, p, bad)
		if v := CriuVersionFromLog(p); v != 0 {
			t.Fatalf("%q: %d", bad, v)
		}
	}
	if v := CriuVersionFromLog(filepath.Join(dir, "missing")); v != 0 {
		t.Fatalf("missing log: %d", v)
	}
}
