package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rt-runtime/rt/libct/internal/jsonutil"
	"github.com/sirupsen/logrus"
)

// ManifestFile is written into every checkpoint rt takes, after every
// other file: its presence means the image is complete.
const ManifestFile = "rt-manifest.json"

// manifestVersion changes when a reader of an older layout would
// misunderstand a newer one. Version 2 added Digest (version 1 manifests
// hold sha256 sums).
const manifestVersion = 2

// Kinds of checkpoint.
const (
	KindDump    = "dump"
	KindPreDump = "pre-dump"
)

// Manifest describes a checkpoint: where and how it was taken, what it
// holds, and how to restore it.
type Manifest struct {
	ManifestVersion int       `json:"manifestVersion"`
	Kind            string    `json:"kind"`
	RtVersion       string    `json:"rtVersion"`
	ContainerID     string    `json:"containerID"`
	Bundle          string    `json:"bundle,omitempty"`
	Host            HostInfo  `json:"host"`
	Options         Options   `json:"options"`
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	// Spec is the source bundle's config.json, to compare with the bundle
	// a restore targets.
	Spec *specs.Spec `json:"spec,omitempty"`
	// Digest is the algorithm of Files' sums: ManifestDigest in the
	// manifests rt writes; empty in version 1 manifests, which used
	// sha256.
	Digest string `json:"digest,omitempty"`
	// Files maps each file of the image directory (slash-separated
	// relative path) to its digest, hex.
	Files map[string]string `json:"files"`
	// FileStats records, for the files of Files, the inode and times they
	// had when hashed. A restore on the same file system skips reading a
	// file whose inode, size, mtime and ctime are unchanged (ctime cannot
	// be set from user space: any write, truncate, chmod or rename of the
	// file moves it; a copy is a new inode). Like git's index, this trades
	// re-reading hundreds of MiB for trusting the kernel's bookkeeping;
	// files copied to another host or directory are always hashed.
	FileStats map[string]FileStat `json:"fileStats,omitempty"`
	// PreCopy lists the rounds of a --pre-copy checkpoint, in order; their
	// files are in Files, under PreCopyDir.
	PreCopy []Round `json:"preCopy,omitempty"`
}

// FileStat identifies one version of a file on one file system.
type FileStat struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtimeNs"`
	CtimeNs int64  `json:"ctimeNs"`
}

// statOf is path's FileStat, if path is a regular file.
func statOf(path string) (FileStat, bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return FileStat{}, false
	}
	return fileStat(fi)
}

// statOfFile is the FileStat of an open file.
func statOfFile(f *os.File) (FileStat, bool) {
	fi, err := f.Stat()
	if err != nil {
		return FileStat{}, false
	}
	return fileStat(fi)
}

// fileStat is the FileStat of an lstat result, if it is a regular file.
func fileStat(fi os.FileInfo) (FileStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return FileStat{}, false
	}
	return FileStat{
		Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano(),
	}, true
}

// Version is rt's version, recorded in manifests; set by package main.
var Version = "unknown"

// digestAlg is the algorithm of m.Files.
func (m *Manifest) digestAlg() string {
	if m.Digest == "" {
		return DigestSHA256
	}
	return m.Digest
}

// hashTree returns the digest of every regular file under dir, skipping
// CRIU logs (restore writes restore.log next to the images) and the
// manifest itself. Files in known (digested while CRIU wrote them, with
// their FileStat in knownStats) are not read again.
func hashTree(dir, alg string, known map[string]string, knownStats map[string]FileStat) (map[string]string, map[string]FileStat, error) {
	var names []string
	sums := make(map[string]string)
	stats := make(map[string]FileStat)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() || !d.Type().IsRegular() || skipInManifest(rel) {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if sum, ok := known[rel]; ok {
			sums[rel] = sum
			if st, ok := knownStats[rel]; ok {
				stats[rel] = st
			}
			return nil
		}
		names = append(names, rel)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	hashed, hashedStats, errs := hashFiles(dir, names, alg)
	for _, n := range names { // the first error in path order
		if errs[n] != nil {
			return nil, nil, errs[n]
		}
	}
	for n, sum := range hashed {
		sums[n] = sum
	}
	for n, st := range hashedStats {
		stats[n] = st
	}
	return sums, stats, nil
}

// hashFiles computes the digest of the files names (slash-separated, relative
// to dir) on as many CPUs as Go may use, the biggest files first: hashing is
// what a checkpoint and a restore add to CRIU's own time, and a checkpoint
// has one pages image per process.
//
// It also returns each file's FileStat, when the file did not change while
// it was hashed.
func hashFiles(dir string, names []string, alg string) (map[string]string, map[string]FileStat, map[string]error) {
	type job struct {
		name   string
		before FileStat // when the file was listed; ok: it was a regular file
		ok     bool
	}
	jobs := make([]job, 0, len(names))
	for _, n := range names {
		before, ok := statOf(filepath.Join(dir, filepath.FromSlash(n)))
		jobs = append(jobs, job{n, before, ok})
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].before.Size > jobs[j].before.Size })
	sums := make(map[string]string, len(names))
	stats := make(map[string]FileStat, len(names))
	errs := make(map[string]error)
	var mu sync.Mutex
	next := make(chan job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				p := filepath.Join(dir, filepath.FromSlash(j.name))
				sum, err := hashFile(p, alg)
				after, okAfter := statOf(p)
				mu.Lock()
				if err != nil {
					errs[j.name] = err
				} else {
					sums[j.name] = sum
					if j.ok && okAfter && j.before == after {
						stats[j.name] = after
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return sums, stats, errs
}

func skipInManifest(rel string) bool {
	switch filepath.Base(rel) {
	case ManifestFile, DumpLog, RestoreLog, "stats-restore":
		return true
	}
	return false
}

// WriteManifest hashes dir and writes the manifest into it, through a
// temporary file and a rename so that a crash never leaves a torn one.
// known and knownStats are digests (ManifestDigest) and FileStats already
// computed for some files (the pre-copy rounds); they may be nil.
func WriteManifest(dir string, m *Manifest, known map[string]string, knownStats map[string]FileStat) error {
	files, stats, err := hashTree(dir, ManifestDigest, known, knownStats)
	if err != nil {
		return fmt.Errorf("hash checkpoint files: %w", err)
	}
	m.ManifestVersion = manifestVersion
	m.RtVersion = Version
	m.Digest = ManifestDigest
	m.Files = files
	m.FileStats = stats
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+ManifestFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}

// ReadManifest reads the manifest of the checkpoint in dir. It returns
// (nil, nil) when there is none: images made by runc or an older rt.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(data)
}

// ParseManifest decodes and sanity-checks a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := jsonutil.Decode(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", ManifestFile, err)
	}
	if m.ManifestVersion < 1 || m.ManifestVersion > manifestVersion {
		return nil, fmt.Errorf("manifest %s: version %d is not supported (this rt reads 1..%d)", ManifestFile, m.ManifestVersion, manifestVersion)
	}
	switch {
	case m.ManifestVersion == 1 && m.Digest != "":
		return nil, fmt.Errorf("manifest %s: version 1 has no digest field, found %q", ManifestFile, m.Digest)
	case m.ManifestVersion >= 2:
		if _, err := newDigest(m.Digest); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", ManifestFile, err)
		}
	}
	if m.Kind != KindDump && m.Kind != KindPreDump {
		return nil, fmt.Errorf("manifest %s: unknown kind %q", ManifestFile, m.Kind)
	}
	for name := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("manifest %s: file name %q leaves the image directory", ManifestFile, name)
		}
	}
	return &m, nil
}

// Verify checks every file the manifest lists against its digest and
// reports the first mismatch, missing file, or unexpected image file.
func (m *Manifest) Verify(dir string) error {
	return m.verifyKnown(dir, nil, "")
}

// VerifyImported is Verify for an image just imported, with the
// ManifestDigest sums Import computed as the files streamed in.
func (m *Manifest) VerifyImported(dir string, sums map[string]string) error {
	return m.verifyKnown(dir, sums, ManifestDigest)
}

// verifyKnown is Verify with sums already known for some files (computed while
// an import wrote them, with the algorithm knownAlg); only the others are
// read. Known sums of another algorithm than the manifest's are ignored.
func (m *Manifest) verifyKnown(dir string, known map[string]string, knownAlg string) error {
	alg := m.digestAlg()
	if knownAlg != alg {
		known = nil
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		// The manifest may come from anywhere (an imported archive):
		// it must not make rt read files outside the image.
		if !filepath.IsLocal(filepath.FromSlash(n)) {
			return fmt.Errorf("manifest in %s names a file outside the image: %q", dir, n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	// One lstat per file decides: missing (reported below, in path
	// order), not a regular file (refused now), summed by the import,
	// unchanged since the checkpoint, or to be hashed.
	sums := make(map[string]string, len(names))
	errs := make(map[string]error)
	var toHash []string
	unchanged := 0
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		fi, err := os.Lstat(p)
		if err != nil {
			errs[n] = err
			continue
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("checkpoint file %s is not a regular file (%s)", p, fi.Mode().Type())
		}
		if sum, ok := known[n]; ok {
			sums[n] = sum
			continue
		}
		if rec, ok := m.FileStats[n]; ok {
			if now, ok := fileStat(fi); ok && now == rec {
				sums[n] = m.Files[n]
				unchanged++
				continue
			}
		}
		toHash = append(toHash, n)
	}
	if unchanged > 0 {
		logrus.Debugf("image %s: %d of %d files unchanged since the checkpoint (same inode, size, mtime, ctime): not re-read", dir, unchanged, len(names))
	}
	hashed, _, hashErrs := hashFiles(dir, toHash, alg)
	for n, sum := range hashed {
		sums[n] = sum
	}
	for n, err := range hashErrs {
		errs[n] = err
	}
	for _, n := range names { // report the first problem in path order
		path := filepath.Join(dir, filepath.FromSlash(n))
		sum, err := sums[n], errs[n]
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("checkpoint file %s is missing", path)
			}
			return fmt.Errorf("checkpoint file %s: %w", path, err)
		}
		if sum != m.Files[n] {
			return fmt.Errorf("checkpoint file %s is corrupted: %s %s, manifest says %s", path, alg, sum, m.Files[n])
		}
	}
	// An .img the manifest does not know would be read by CRIU too.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := m.Files[e.Name()]; !ok && filepath.Ext(e.Name()) == ".img" {
			return fmt.Errorf("checkpoint file %s is not in the manifest", filepath.Join(dir, e.Name()))
		}
	}
	return nil
}
