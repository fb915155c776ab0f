package ckpt

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestExportImportRoundTrip(t *testing.T) {
	for _, comp := range []string{CompressZstd, CompressGzip, CompressNone} {
		t.Run(comp, func(t *testing.T) {
			img, m := sampleImage(t)
			rootfs := t.TempDir()
			writeFile(t, filepath.Join(rootfs, "tmp", "written-before-checkpoint"), "hello")
			os.Symlink("busybox", filepath.Join(rootfs, "tmp", "sh"))
			vol := t.TempDir()
			writeFile(t, filepath.Join(vol, "v.txt"), "volume data")
			m.Spec = &specs.Spec{Mounts: []specs.Mount{{Destination: "/data", Type: "bind", Source: vol, Options: []string{"rbind"}}}}
			archive := filepath.Join(t.TempDir(), "ck.tar")
			if err := Export(img, rootfs, time.Now(), m, ExportOptions{Path: archive, Compression: comp, Volumes: true}); err != nil {
				t.Fatal(err)
			}
			if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(archive), ".*")); len(matches) != 0 {
				t.Fatalf("temporary files left: %v", matches)
			}

			newImg, newRootfs, newVol := t.TempDir(), t.TempDir(), t.TempDir()
			checked := false
			sums := map[string]string{}
			err := Import(archive, ImportTarget{
				ImageDir: newImg, Rootfs: newRootfs, Volumes: map[string]string{"data": newVol},
				Sums: sums,
				Check: func() error {
					// The images are complete and intact before the
					// rootfs is touched.
					got, err := ReadManifest(newImg)
					if err != nil || got == nil {
						t.Fatalf("manifest at check time: %v", err)
					}
					if err := got.Verify(newImg); err != nil {
						t.Fatal(err)
					}
					// the sums streamed in are the manifest's
					for n, want := range got.Files {
						if sums[n] != want {
							t.Fatalf("streamed digest of %s: %q, manifest %q", n, sums[n], want)
						}
					}
					if _, err := os.Stat(filepath.Join(newRootfs, "tmp")); err == nil {
						t.Fatal("rootfs changed before the check")
					}
					checked = true
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !checked {
				t.Fatal("check did not run")
			}
			if b, _ := os.ReadFile(filepath.Join(newRootfs, "tmp", "written-before-checkpoint")); string(b) != "hello" {
				t.Fatalf("rootfs file: %q", b)
			}
			if l, _ := os.Readlink(filepath.Join(newRootfs, "tmp", "sh")); l != "busybox" {
				t.Fatalf("symlink: %q", l)
			}
			if b, _ := os.ReadFile(filepath.Join(newVol, "v.txt")); string(b) != "volume data" {
				t.Fatalf("volume file: %q", b)
			}
		})
	}
}

func TestImportRefusesToLeaveTargets(t *testing.T) {
	build := func(entries func(tw *tar.Writer)) string {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		addBytes(tw, "checkpoint/inventory.img", []byte("x"))
		entries(tw)
		tw.Close()
		p := filepath.Join(t.TempDir(), "a.tar")
		os.WriteFile(p, buf.Bytes(), 0o600)
		return p
	}
	nested := func(inner func(tw *tar.Writer)) func(tw *tar.Writer) {
		return func(tw *tar.Writer) {
			var b bytes.Buffer
			itw := tar.NewWriter(&b)
			inner(itw)
			itw.Close()
			addBytes(tw, archiveRootfsDiff, b.Bytes())
		}
	}
	cases := map[string]func(tw *tar.Writer){
		"dotdot image":  func(tw *tar.Writer) { addBytes(tw, "checkpoint/../../escape", []byte("x")) },
		"dotdot rootfs": nested(func(tw *tar.Writer) { addBytes(tw, "../../escape", []byte("x")) }),
		"symlink escape": nested(func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/"})
			addBytes(tw, "evil/escape", []byte("x"))
		}),
		"hardlink escape": nested(func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"})
		}),
		"deleted escape": func(tw *tar.Writer) { addBytes(tw, archiveDeleted, []byte(`["../../victim"]`)) },
		// 10 KiB archives (GNU tar --sparse) that expand to a 1 GiB file
		"pax sparse bomb": func(tw *tar.Writer) { addBytes(tw, archiveRootfsDiff, readTestdata(t, "sparse-pax.tar")) },
		"gnu sparse bomb": func(tw *tar.Writer) { addBytes(tw, archiveRootfsDiff, readTestdata(t, "sparse-gnu.tar")) },
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			victim := filepath.Join(base, "victim")
			writeFile(t, victim, "keep me")
			img := filepath.Join(base, "a", "img")
			rootfs := filepath.Join(base, "a", "rootfs")
			os.MkdirAll(img, 0o700)
			os.MkdirAll(rootfs, 0o700)
			err := Import(build(entries), ImportTarget{ImageDir: img, Rootfs: rootfs})
			if err == nil {
				t.Fatalf("import accepted a %s", name)
			}
			for _, p := range []string{filepath.Join(base, "escape"), filepath.Join(base, "a", "escape"), "/escape"} {
				if _, err := os.Stat(p); err == nil {
					t.Fatalf("%s written outside the targets", p)
				}
			}
			if b, _ := os.ReadFile(victim); string(b) != "keep me" {
				t.Fatal("file outside the rootfs deleted")
			}
			if fi, err := os.Stat(filepath.Join(rootfs, "big")); err == nil && fi.Size() > 0 {
				t.Fatalf("sparse entry expanded to %d bytes", fi.Size())
			}
		})
	}
}

func TestImportSkipsDevicesAndNeedsImages(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var inner bytes.Buffer
	itw := tar.NewWriter(&inner)
	itw.WriteHeader(&tar.Header{Name: "dev/sda", Typeflag: tar.TypeBlock, Devmajor: 8})
	itw.Close()
	addBytes(tw, "checkpoint/inventory.img", []byte("x"))
	addBytes(tw, archiveRootfsDiff, inner.Bytes())
	tw.Close()
	p := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(p, buf.Bytes(), 0o600)
	rootfs := t.TempDir()
	if err := Import(p, ImportTarget{ImageDir: t.TempDir(), Rootfs: rootfs}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "dev", "sda")); err == nil {
		t.Fatal("device file extracted")
	}

	os.WriteFile(p, []byte("not an archive at all, just text"), 0o600)
	err := Import(p, ImportTarget{ImageDir: t.TempDir(), Rootfs: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("garbage archive: %v", err)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A zstd frame may claim any window up to 2^41 bytes; an archive claiming
// a huge one must be refused, not make rt allocate it.
func TestZstdRefusesHugeWindow(t *testing.T) {
	frame := []byte{
		0x28, 0xb5, 0x2f, 0xfd, // magic
		0x00,             // frame header: no content size, no checksum
		(40 - 10) << 3,   // window descriptor: 2^40 bytes
		0x01, 0x00, 0x00, // last block, raw, 0 bytes
	}
	r, closeFn, err := decompressReader(bufio.NewReader(bytes.NewReader(frame)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if n, err := io.Copy(io.Discard, r); err == nil {
		t.Fatalf("a frame claiming a 1 TiB window decoded (%d bytes)", n)
	} else {
		t.Logf("refused: %v", err)
	}

	// The same frame with a 1 MiB window is fine: the refusal is about
	// the size, not the shape.
	frame[5] = (20 - 10) << 3
	r, closeFn2, err := decompressReader(bufio.NewReader(bytes.NewReader(frame)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn2()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("a 1 MiB window: %v", err)
	}
}

// BenchmarkExport times Export of a 256 MiB pages image of random
// (incompressible) data, natively: go test -tags seccomp -run - -bench
// Export ./libct. RT_BENCH_EXPORT_DATA=FILE (256 MiB or more) exports that
// data instead. On tmpfs when /dev/shm is there, as CRIU's images usually
// are.
func BenchmarkExport(b *testing.B) {
	base := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		var err error
		if base, err = os.MkdirTemp("/dev/shm", "rt-bench-export-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(base) })
	}
	img := filepath.Join(base, "img")
	if err := os.Mkdir(img, 0o700); err != nil {
		b.Fatal(err)
	}
	const size = 256 << 20
	f, err := os.Create(filepath.Join(img, "pages-1.img"))
	if err != nil {
		b.Fatal(err)
	}
	// Random data, in pieces: a 256 MiB slice held by the benchmark would
	// make every GC cycle of the export scan around it.
	var src io.Reader = rand.Reader
	if p := os.Getenv("RT_BENCH_EXPORT_DATA"); p != "" {
		// Other data than random: a file of at least 256 MiB.
		d, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		src = d
	}
	if _, err := io.CopyN(f, src, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(img, inventoryFile), []byte("inventory"), 0o600); err != nil {
		b.Fatal(err)
	}
	m := &Manifest{Kind: KindDump, ContainerID: "bench"}
	if err := WriteManifest(img, m, nil, nil); err != nil {
		b.Fatal(err)
	}
	for _, comp := range []string{CompressZstd, CompressGzip, CompressNone} {
		b.Run(comp, func(b *testing.B) {
			b.SetBytes(size)
			out := filepath.Join(base, "out.tar")
			for b.Loop() {
				if err := Export(img, "", time.Now(), m, ExportOptions{Path: out, Compression: comp}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// An export that fails half-way leaves no archive and no temporary file,
// and closes its compressor once (libzstd's context is freed by Close; a
// second Close would use freed memory and crash the test binary).
func TestExportFailureLeavesNothing(t *testing.T) {
	for _, comp := range []string{CompressZstd, CompressGzip, CompressNone} {
		t.Run(comp, func(t *testing.T) {
			img, m := sampleImage(t)
			dir := t.TempDir()
			archive := filepath.Join(dir, "ck.tar")
			err := Export(img, filepath.Join(dir, "no-such-rootfs"), time.Now(), m, ExportOptions{Path: archive, Compression: comp})
			if err == nil {
				t.Fatal("export with a missing rootfs succeeded")
			}
			if !strings.Contains(err.Error(), "no-such-rootfs") {
				t.Errorf("error does not name the rootfs: %v", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			// The next export of the same image works.
			if err := Export(img, "", time.Now(), m, ExportOptions{Path: archive, Compression: comp}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := CheckCompression("lz4"); err == nil || !strings.Contains(err.Error(), `"lz4"`) {
		t.Errorf("CheckCompression(lz4) = %v", err)
	}
}
