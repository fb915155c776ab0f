package ckpt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// appendSlowly writes data to path in chunks, as CRIU fills a pages image.
func appendSlowly(t *testing.T, path string, data []byte, chunk int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	for off := 0; off < len(data); off += chunk {
		if _, err := f.Write(data[off:min(off+chunk, len(data))]); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// The digests of files followed while they grow are those of the whole
// files; other files are left to the manifest's own pass.
func TestDumpHasherFollowsGrowingFiles(t *testing.T) {
	dir := t.TempDir()
	d := StartDumpHasher(dir, DigestXXH64)
	one := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB
	two := bytes.Repeat([]byte("x"), 70_001)
	done := make(chan struct{})
	go func() {
		defer close(done)
		appendSlowly(t, filepath.Join(dir, "pages-1.img"), one, 100_000)
		appendSlowly(t, filepath.Join(dir, "pages-2.img"), two, 7_000)
		writeFile(t, filepath.Join(dir, "core-1.img"), "core")
	}()
	<-done
	sums, stats := d.Finish()
	if len(sums) != 2 || len(stats) != 2 {
		t.Fatalf("followed %v (stats %v), want pages-1.img and pages-2.img", sums, stats)
	}
	for _, n := range []string{"pages-1.img", "pages-2.img"} {
		p := filepath.Join(dir, n)
		want, err := hashFile(p, DigestXXH64)
		if err != nil {
			t.Fatal(err)
		}
		if sums[n] != want {
			t.Errorf("%s: followed digest %s, whole file %s", n, sums[n], want)
		}
		if st, _ := statOf(p); stats[n] != st {
			t.Errorf("%s: stat %+v, file has %+v", n, stats[n], st)
		}
	}
	// WriteManifest takes them as they are and hashes the rest.
	sums["pages-2.img"] = "0000000000000000" // a lie shows it was not re-read
	m := &Manifest{Kind: KindDump}
	if err := WriteManifest(dir, m, sums, stats); err != nil {
		t.Fatal(err)
	}
	if m.Files["pages-2.img"] != "0000000000000000" || m.Files["core-1.img"] == "" || len(m.FileStats) != 3 {
		t.Fatalf("manifest files %v, stats %d", m.Files, len(m.FileStats))
	}
}

// A followed file that shrinks or is replaced is not trusted.
func TestDumpHasherDropsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	d := StartDumpHasher(dir, DigestXXH64)
	shrunk, replaced := filepath.Join(dir, "pages-1.img"), filepath.Join(dir, "pages-2.img")
	writeFile(t, shrunk, string(bytes.Repeat([]byte("a"), 50_000)))
	writeFile(t, replaced, "first")
	// let the follower read both
	for deadline := time.Now().Add(10 * time.Second); d.read.Load() < 50_005; time.Sleep(dumpHashPoll) {
		if time.Now().After(deadline) {
			t.Fatalf("the follower read %d bytes of 50005", d.read.Load())
		}
	}
	if err := os.Truncate(shrunk, 10); err != nil {
		t.Fatal(err)
	}
	writeFile(t, replaced+".new", "second")
	if err := os.Rename(replaced+".new", replaced); err != nil {
		t.Fatal(err)
	}
	sums, _ := d.Finish()
	if len(sums) != 0 {
		t.Fatalf("trusted %v after a truncation and a replacement", sums)
	}
}

// abandon stops the follower and closes its files.
func TestDumpHasherAbandon(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pages-1.img"), "pages")
	d := StartDumpHasher(dir, DigestXXH64)
	time.Sleep(3 * dumpHashPoll)
	d.Abandon()
	for _, ff := range d.files {
		if _, err := ff.f.Stat(); err == nil {
			t.Fatal("a followed file is still open")
		}
	}
}
