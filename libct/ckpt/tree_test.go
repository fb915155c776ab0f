package ckpt

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	return names
}

// A second pass against the first pass's index carries only what changed,
// and the deletions; applied to a copy, the copy then matches.
func TestWriteTreeChangesSinceIndex(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "etc/keep"), "same")
	writeFile(t, filepath.Join(src, "etc/edit"), "before")
	writeFile(t, filepath.Join(src, "gone/file"), "x")
	if err := os.Symlink("etc/keep", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}

	var first bytes.Buffer
	tw := tar.NewWriter(&first)
	sent, err := WriteTreeChanges(tw, src, "rootfs", nil)
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	if names := tarNames(t, first.Bytes()); !slices.Contains(names, "rootfs/etc/keep") || !slices.Contains(names, "rootfs/link") {
		t.Fatalf("a pass without base must carry everything: %v", names)
	}
	dst := t.TempDir()
	if err := ExtractTar(dst, bytes.NewReader(first.Bytes()), nil, ""); err != nil {
		t.Fatal(err)
	}

	// Change one file (with a time surely apart), add one, remove a tree.
	writeFile(t, filepath.Join(src, "etc/edit"), "after!")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(src, "etc/edit"), later, later); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "new"), "n")
	if err := os.RemoveAll(filepath.Join(src, "gone")); err != nil {
		t.Fatal(err)
	}

	var second bytes.Buffer
	tw = tar.NewWriter(&second)
	now, err := WriteTreeChanges(tw, src, "rootfs", sent)
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	names := tarNames(t, second.Bytes())
	for _, want := range []string{"rootfs/etc/edit", "rootfs/new"} {
		if !slices.Contains(names, want) {
			t.Errorf("changes lack %s: %v", want, names)
		}
	}
	for _, unwanted := range []string{"rootfs/etc/keep", "rootfs/link"} {
		if slices.Contains(names, unwanted) {
			t.Errorf("changes carry the unchanged %s: %v", unwanted, names)
		}
	}
	deleted := now.DeletedSince(sent)
	if !slices.Equal(deleted, []string{"gone"}) {
		t.Fatalf("deleted = %v, want [gone] (its file goes with it)", deleted)
	}
	if err := ExtractTar(dst, bytes.NewReader(second.Bytes()), nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := ApplyDeletions(filepath.Join(dst, "rootfs"), deleted); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "rootfs/etc/edit")); string(got) != "after!" {
		t.Errorf("etc/edit = %q after the changes", got)
	}
	if _, err := os.Stat(filepath.Join(dst, "rootfs/gone")); !os.IsNotExist(err) {
		t.Errorf("gone/ is still there: %v", err)
	}
	if err := ApplyDeletions(dst, []string{"../outside"}); err == nil {
		t.Error("a deletion leaving the directory was accepted")
	}
}

func TestTreeIndexDigest(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for i, d := range []string{a, b} {
		writeFile(t, filepath.Join(d, "f"), "x")
		// b's copy kept the time in whole seconds (as tar does)
		ts := time.Unix(1700000000, int64(1-i)*123456789)
		if err := os.Chtimes(filepath.Join(d, "f"), ts, ts); err != nil {
			t.Fatal(err)
		}
		// a symlink's own time is not kept by every copier
		if err := os.Symlink("f", filepath.Join(d, "l")); err != nil {
			t.Fatal(err)
		}
		lt := time.Unix(1600000000+int64(i)*1000, 0)
		if err := unix.Lutimes(filepath.Join(d, "l"), []unix.Timeval{unix.NsecToTimeval(lt.UnixNano()), unix.NsecToTimeval(lt.UnixNano())}); err != nil {
			t.Fatal(err)
		}
	}
	ia, _ := IndexTree(a)
	ib, _ := IndexTree(b)
	if ia.Digest() != ib.Digest() {
		t.Fatal("two equal trees (but for sub-second and symlink times) have different digests")
	}
	ts := time.Unix(1700000001, 0)
	_ = os.Chtimes(filepath.Join(b, "f"), ts, ts)
	ib, _ = IndexTree(b)
	if ia.Digest() == ib.Digest() {
		t.Fatal("a changed time left the digest unchanged")
	}
	writeFile(t, filepath.Join(b, "f"), "y2")
	ib, _ = IndexTree(b)
	if ia.Digest() == ib.Digest() {
		t.Fatal("a changed size left the digest unchanged")
	}
}

// Export with RootfsSince carries only the rootfs changes since the index
// and lists what went; SkipPreCopy leaves the rounds out.
func TestExportSinceIndexSkippingRounds(t *testing.T) {
	img, m := sampleImage(t)
	writeFile(t, filepath.Join(img, PreCopyDir, "1", "pages-1.img"), "round one")
	rootfs := t.TempDir()
	writeFile(t, filepath.Join(rootfs, "old"), "unchanged")
	writeFile(t, filepath.Join(rootfs, "removed"), "x")
	since, err := IndexTree(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rootfs, "added"), "new")
	os.Remove(filepath.Join(rootfs, "removed"))
	archive := filepath.Join(t.TempDir(), "ck.tar")
	if err := Export(img, rootfs, time.Now(), m, ExportOptions{Path: archive, Compression: CompressNone, RootfsSince: since, SkipPreCopy: true}); err != nil {
		t.Fatal(err)
	}
	newImg, newRootfs := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(newRootfs, "removed"), "x")
	if err := Import(archive, ImportTarget{ImageDir: newImg, Rootfs: newRootfs}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(newImg, PreCopyDir)); !os.IsNotExist(err) {
		t.Errorf("the pre-copy rounds were exported: %v", err)
	}
	if _, err := os.Stat(filepath.Join(newRootfs, "old")); !os.IsNotExist(err) {
		t.Errorf("an unchanged file was exported: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(newRootfs, "added")); string(b) != "new" {
		t.Errorf("added = %q", b)
	}
	if _, err := os.Stat(filepath.Join(newRootfs, "removed")); !os.IsNotExist(err) {
		t.Errorf("the removed file was not deleted: %v", err)
	}
}
