package ckpt

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/DataDog/zstd"
	"github.com/klauspost/compress/gzip"
	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
	"github.com/rt-runtime/rt/libct/internal/jsonutil"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Archive layout. It follows podman's and CRI-O's checkpoint archives, so
// that checkpointctl reads rt's archives: CRIU images under checkpoint/,
// the OCI spec as spec.dump, a small container description as
// config.dump, and the container's file system changes as a nested
// rootfs-diff.tar with deletions listed in deleted.files.
const (
	archiveImagesDir  = "checkpoint"
	archiveSpec       = "spec.dump"
	archiveConfig     = "config.dump"
	archiveRootfsDiff = "rootfs-diff.tar"
	archiveDeleted    = "deleted.files"
	archiveVolumesDir = "volumes"
)

// Compressions an archive may use.
const (
	CompressZstd = "zstd"
	CompressGzip = "gzip"
	CompressNone = "none"
)

// ExportOptions are checkpoint --export's settings.
type ExportOptions struct {
	Path        string // the archive to write
	Compression string // zstd (default), gzip or none
	Volumes     bool   // include the content of bind-mounted volumes
	// RootfsSince, when set, limits the rootfs changes to the entries
	// that differ from this index of the rootfs (and lists the paths it
	// held that are gone): rt migrate sends the rootfs before the freeze
	// and only what changed since with the checkpoint.
	RootfsSince TreeIndex
	// SkipPreCopy leaves the pre-copy rounds out: rt migrate streamed
	// them to the destination while the container ran.
	SkipPreCopy bool
}

// archiveConfigDump is config.dump: what checkpointctl shows.
type archiveConfigDump struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	OCIRuntime     string    `json:"runtime"`
	CreatedTime    time.Time `json:"createdTime"`
	CheckpointedAt time.Time `json:"checkpointedTime"`
}

// Export writes the checkpoint in imageDir, with the changes of
// the container's rootfs, into one archive. The archive is written to a
// temporary name and renamed when complete. Images are streamed from their
// directory into the compressor; only the (usually small) rootfs diff is
// staged, because a tar entry needs its size up front.
func Export(imageDir, rootfs string, created time.Time, m *Manifest, opts ExportOptions) (retErr error) {
	if _, err := os.Lstat(filepath.Join(imageDir, "parent")); err == nil {
		// A --pre-copy chain lives inside the image and goes with it;
		// a --parent-path image's memory is partly elsewhere.
		if len(m.PreCopy) == 0 || CheckChain(imageDir) != nil {
			return errors.New("a checkpoint taken with --parent-path cannot be exported: its memory is split over the parent images; take a full checkpoint")
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(opts.Path), "."+filepath.Base(opts.Path)+".partial-")
	if err != nil {
		return fmt.Errorf("export %s: %w", opts.Path, err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	cw, err := compressWriter(bw, opts.Compression)
	if err != nil {
		return err
	}
	// On failure the compressor is closed all the same: libzstd's context
	// and worker threads live outside Go's heap. Closed once only: a
	// second Close would use the freed context.
	cwOpen := true
	defer func() {
		if cwOpen {
			cw.Close()
		}
	}()
	tw := tar.NewWriter(cw)

	skip := ""
	if opts.SkipPreCopy {
		skip = PreCopyDir
	}
	if err := addTreeSkipping(tw, imageDir, archiveImagesDir, skip); err != nil {
		return fmt.Errorf("export %s: %w", opts.Path, err)
	}
	if m.Spec != nil {
		if err := addJSON(tw, archiveSpec, m.Spec); err != nil {
			return err
		}
	}
	if err := addJSON(tw, archiveConfig, archiveConfigDump{
		ID: m.ContainerID, Name: m.ContainerID, OCIRuntime: "rt",
		CreatedTime: created, CheckpointedAt: m.Finished,
	}); err != nil {
		return err
	}
	if stats, err := os.ReadFile(filepath.Join(imageDir, "stats-dump")); err == nil {
		if err := addBytes(tw, "stats-dump", stats); err != nil {
			return err
		}
	}
	if rootfs != "" {
		if err := addRootfsDiff(tw, rootfs, filepath.Dir(opts.Path), opts.RootfsSince); err != nil {
			return fmt.Errorf("export %s: rootfs changes: %w", opts.Path, err)
		}
	}
	if opts.Volumes && m.Spec != nil {
		for _, mt := range m.Spec.Mounts {
			if !isBindMount(mt.Type, mt.Options) {
				continue
			}
			if fi, err := os.Stat(mt.Source); err != nil || !fi.IsDir() {
				continue
			}
			if err := addTree(tw, mt.Source, path.Join(archiveVolumesDir, volumeKey(mt.Destination))); err != nil {
				return fmt.Errorf("export %s: volume %s: %w", opts.Path, mt.Destination, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cwOpen = false
	if err := cw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export %s: %w", opts.Path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("export %s: %w", opts.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), opts.Path)
}

// zstdWorkers is how many threads compress an export: the CPUs rt may
// use, at most 4 (level 1 is fast enough that more only add buffers).
// Measured natively with BenchmarkExport (2 CPUs, 256 MiB on tmpfs):
// executables as data, 600 MB/s with 2 workers against 389 with none;
// random data, which does not compress, 846 against 1274. Memory images
// are mostly compressible, so the workers stay.
func zstdWorkers() int {
	return min(runtime.GOMAXPROCS(0), 4)
}

// CheckCompression refuses an unknown --compress value, before anything is
// done.
func CheckCompression(kind string) error {
	switch kind {
	case "", CompressZstd, CompressGzip, CompressNone:
		return nil
	}
	return fmt.Errorf("unknown compression %q: use zstd, gzip or none", kind)
}

func compressWriter(w io.Writer, kind string) (io.WriteCloser, error) {
	switch kind {
	case "", CompressZstd:
		// libzstd (through DataDog/zstd) rather than a pure-Go encoder:
		// klauspost/compress/zstd's package init builds CRC-32C tables
		// and probes the CPU in every rt exec, rt init included, which
		// made rt's start-up slower than runc's (docs/benchmarks.md).
		zw := zstd.NewWriterLevel(w, zstd.BestSpeed)
		// Compression on worker threads, so reading the images and
		// compressing them overlap.
		if err := zw.SetNbWorkers(zstdWorkers()); err != nil {
			zw.Close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zw, nil
	case CompressGzip:
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case CompressNone:
		return nopWriteCloser{w}, nil
	}
	return nil, CheckCompression(kind)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// decompressReader detects the compression from the first bytes.
func decompressReader(r *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// libzstd refuses frames whose window exceeds 128 MiB
		// (ZSTD_WINDOWLOG_LIMIT_DEFAULT): a frame claiming a huge one
		// does not make the reader allocate it.
		d := zstd.NewReader(r)
		return d, func() { d.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return g, func() { g.Close() }, nil
	}
	return r, func() {}, nil
}

func addJSON(tw *tar.Writer, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return addBytes(tw, name, data)
}

func addBytes(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// addTree adds dir's content under prefix. Devices, sockets and FIFOs are
// skipped: they cannot be carried to another host meaningfully.
func addTree(tw *tar.Writer, dir, prefix string) error {
	return addTreeSkipping(tw, dir, prefix, "")
}

// addTreeSkipping is addTree leaving out the subdirectory skip (relative
// to dir; "" leaves out nothing).
func addTreeSkipping(tw *tar.Writer, dir, prefix, skip string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip != "" && filepath.ToSlash(rel) == skip {
			return filepath.SkipDir
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		return addEntry(tw, p, name, d)
	})
}

func addEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.Mode()&(os.ModeDevice|os.ModeCharDevice|os.ModeSocket|os.ModeNamedPipe) != 0:
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = copyLarge(tw, f)
	return err
}

// addRootfsDiff adds the container's file system changes: with since,
// what differs from that index of the rootfs; else for an overlay rootfs
// (Docker, containerd snapshots) its upper directory, with whiteouts
// turned into deleted.files; for any other rootfs, all of it, since there
// is no base to compare with.
func addRootfsDiff(tw *tar.Writer, rootfs, tmpDir string, since TreeIndex) error {
	f, err := os.CreateTemp(tmpDir, ".rootfs-diff-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	inner := tar.NewWriter(f)
	var deleted []string
	if since != nil {
		var now TreeIndex
		if now, err = WriteTreeChanges(inner, rootfs, "", since); err == nil {
			deleted = now.DeletedSince(since)
		}
	} else {
		src, overlay := overlayUpperDir(rootfs)
		err = addRootfsEntries(inner, src, overlay, &deleted)
	}
	if err != nil {
		return err
	}
	if err := inner.Close(); err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: archiveRootfsDiff, Mode: 0o600, Size: size, ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := copyLarge(tw, f); err != nil {
		return err
	}
	if len(deleted) > 0 {
		return addJSON(tw, archiveDeleted, deleted)
	}
	return nil
}

// addRootfsEntries adds all of src; for an overlay upper directory, its
// whiteouts are appended to deleted instead.
func addRootfsEntries(inner *tar.Writer, src string, overlay bool, deleted *[]string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		if overlay && d.Type()&fs.ModeCharDevice != 0 {
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Rdev == 0 {
				*deleted = append(*deleted, filepath.ToSlash(rel))
				return nil
			}
		}
		return addEntry(inner, p, filepath.ToSlash(rel), d)
	})
}

// overlayUpperDir returns the upper directory when rootfs is an overlay
// mount, else rootfs itself.
func overlayUpperDir(rootfs string) (string, bool) {
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(rootfs))
	if err != nil || len(mounts) == 0 {
		return rootfs, false
	}
	m := mounts[len(mounts)-1]
	if m.FSType != "overlay" {
		return rootfs, false
	}
	for _, o := range strings.Split(m.VFSOptions, ",") {
		if v, ok := strings.CutPrefix(o, "upperdir="); ok {
			return v, true
		}
	}
	return rootfs, false
}

func isBindMount(typ string, options []string) bool {
	if typ == "bind" {
		return true
	}
	for _, o := range options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// volumeKey names a volume in the archive after its destination.
func volumeKey(dest string) string {
	k := strings.Trim(filepath.ToSlash(filepath.Clean(dest)), "/")
	return strings.ReplaceAll(k, "/", "_")
}

// Volumes maps the volume key of each bind mount of spec (what an archive
// names the volume's content after) to the mount's source: where an import
// puts the volume's content in the target bundle.
func Volumes(spec *specs.Spec) map[string]string {
	volumes := map[string]string{}
	for _, m := range spec.Mounts {
		if isBindMount(m.Type, m.Options) {
			volumes[volumeKey(m.Destination)] = m.Source
		}
	}
	return volumes
}

// ImportTarget says where an archive's parts go.
type ImportTarget struct {
	ImageDir string
	Rootfs   string            // target container's rootfs; "" extracts the images only
	Volumes  map[string]string // volume key (see Volumes) -> target mount source
	// Check runs once, when the images are in ImageDir and before anything
	// outside it is written: the restore's refusals (integrity, host,
	// bundle), so that a refused import leaves the target rootfs alone.
	Check func() error
	// Sums, if not nil, receives the ManifestDigest of every regular image
	// file as it streams out of the archive, so that the restore's
	// integrity check need not read the images a second time. (The
	// manifest comes last in the archive: its algorithm is not known yet.
	// An archive of a sha256 manifest is read again by the check.)
	Sums map[string]string
}

// Import extracts an archive written by Export. Nothing
// is ever written outside the image directory, the target rootfs and
// the volume sources: every path is resolved inside an os.Root, which
// refuses "..", absolute paths and symlinks leading out. Device files are
// skipped.
func Import(file string, t ImportTarget) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import %s: %w", file, fsutil.UnwrapPathError(err))
	}
	defer f.Close()
	dr, closeDR, err := decompressReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	defer closeDR()
	images, err := os.OpenRoot(t.ImageDir)
	if err != nil {
		return err
	}
	defer images.Close()
	tr := tar.NewReader(dr)
	checked := false
	check := func() error {
		if checked || t.Check == nil {
			return nil
		}
		checked = true
		return t.Check()
	}
	sawImages, first := false, true
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if first {
				return fmt.Errorf("%s is not a checkpoint archive written by checkpoint --export (a tar file, zstd- or gzip-compressed): %w", file, err)
			}
			return fmt.Errorf("import %s: %w", file, err)
		}
		first = false
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		switch {
		case name == archiveImagesDir:
		case strings.HasPrefix(name, archiveImagesDir+"/"):
			sawImages = true
			rel := strings.TrimPrefix(name, archiveImagesDir+"/")
			var r io.Reader = tr
			var sum func() string
			if t.Sums != nil && hdr.Typeflag == tar.TypeReg {
				r, sum = digestTee(tr)
			}
			if err := extractEntry(images, rel, hdr, r); err != nil {
				return fmt.Errorf("import %s: %s: %w", file, hdr.Name, err)
			}
			if sum != nil {
				t.Sums[path.Clean(rel)] = sum()
			}
		case t.Rootfs == "":
			// images only (inspect-checkpoint): skip the rest
		case name == archiveRootfsDiff:
			if err := check(); err != nil {
				return err
			}
			if err := ExtractTar(t.Rootfs, tr, nil, ""); err != nil {
				return fmt.Errorf("import %s: rootfs changes into %s: %w", file, t.Rootfs, err)
			}
		case name == archiveDeleted:
			if err := check(); err != nil {
				return err
			}
			if err := applyDeletions(t.Rootfs, tr); err != nil {
				return fmt.Errorf("import %s: %w", file, err)
			}
		case strings.HasPrefix(name, archiveVolumesDir+"/"):
			if err := check(); err != nil {
				return err
			}
			key, rest, _ := strings.Cut(strings.TrimPrefix(name, archiveVolumesDir+"/"), "/")
			dst, ok := t.Volumes[key]
			if !ok {
				logrus.Warnf("import %s: volume %s has no bind mount in the target bundle; skipped", file, key)
				continue
			}
			if rest == "" {
				continue
			}
			if err := extractIntoDir(dst, rest, hdr, tr); err != nil {
				return fmt.Errorf("import %s: volume %s: %w", file, key, err)
			}
		default:
			// spec.dump, config.dump, stats-dump: descriptive only.
		}
	}
	if !sawImages {
		return fmt.Errorf("import %s: no %s/ directory: not a checkpoint archive", file, archiveImagesDir)
	}
	return check()
}

func extractIntoDir(dir, name string, hdr *tar.Header, r io.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return extractEntry(root, name, hdr, r)
}

// isSparse tells GNU and PAX sparse-file entries.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// extractEntry writes one tar entry inside root.
func extractEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
	if name == "" || name == "." {
		return nil
	}
	// A well-formed archive never names "..", or an absolute path: refuse
	// rather than guess what was meant.
	if !filepath.IsLocal(name) {
		return fmt.Errorf("path %q leaves the target directory", hdr.Name)
	}
	if isSparse(hdr) {
		// rt never writes sparse entries, and their holes would be
		// written out in full: a few KiB of archive could fill the disk.
		return fmt.Errorf("%s: sparse file entries are refused", hdr.Name)
	}
	mode := os.FileMode(hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, mode); err != nil {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeReg:
		_ = root.Remove(name) // replace, never write through a symlink
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = copyLarge(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		_ = root.Remove(name)
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return root.Lchown(name, hdr.Uid, hdr.Gid)
	case tar.TypeLink:
		target := strings.TrimPrefix(hdr.Linkname, "./")
		if !filepath.IsLocal(target) {
			return fmt.Errorf("hard link %q leaves the target directory", hdr.Linkname)
		}
		_ = root.Remove(name)
		return root.Link(target, name)
	default:
		logrus.Warnf("skipping %s: %s entries are not extracted", hdr.Name, tarTypeName(hdr.Typeflag))
		return nil
	}
	if err := root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	return root.Chmod(name, mode)
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("type %q", t)
}

func applyDeletions(rootfs string, r io.Reader) error {
	var paths []string
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return err
	}
	if err := jsonutil.Decode(data, &paths); err != nil {
		return fmt.Errorf("%s: %w", archiveDeleted, err)
	}
	if err := ApplyDeletions(rootfs, paths); err != nil {
		return fmt.Errorf("%s: %w", archiveDeleted, err)
	}
	return nil
}

// ExtractImages writes the CRIU images and the manifest of an archive made
// by checkpoint --export into dir; the rootfs changes are not read.
func ExtractImages(file, dir string) error {
	return Import(file, ImportTarget{ImageDir: dir})
}
