package ckpt

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// TreeEntry is what rt compares to tell whether a file of a rootfs
// changed: the quick check rsync makes (type, permissions, owner, size,
// modification time, a symlink's target), without reading the content.
type TreeEntry struct {
	Mode    fs.FileMode
	Size    int64
	MtimeNs int64
	UID     uint32
	GID     uint32
	Link    string
}

// TreeIndex is a directory tree's entries by slash-separated path
// relative to its top.
type TreeIndex map[string]TreeEntry

func treeEntry(p string, fi fs.FileInfo) (TreeEntry, error) {
	e := TreeEntry{Mode: fi.Mode(), MtimeNs: fi.ModTime().UnixNano()}
	if fi.Mode().IsRegular() {
		e.Size = fi.Size()
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = st.Uid, st.Gid
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(p)
		if err != nil {
			return e, err
		}
		e.Link = l
	}
	return e, nil
}

// IndexTree indexes dir. Device files, sockets and fifos are left out:
// the archives never carry them.
func IndexTree(dir string) (TreeIndex, error) {
	idx, err := WriteTreeChanges(nil, dir, "", nil)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	return idx, nil
}

func carried(t fs.FileMode) bool {
	return t&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket|fs.ModeNamedPipe) == 0
}

// Digest sums the index: two trees with equal digests hold the same
// paths with the same types, permissions, owners, sizes and times. It is
// how two hosts agree that they hold the same base rootfs without sending
// it. Times count in whole seconds, and a symlink's not at all: the tools
// that copy or unpack a tree (tar's default format, many copiers for
// links) keep no more, and the base is compared, not diffed.
func (idx TreeIndex) Digest() string {
	paths := make([]string, 0, len(idx))
	for p := range idx {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		e := idx[p]
		secs := e.MtimeNs / 1e9
		if e.Mode&fs.ModeSymlink != 0 {
			secs = 0
		}
		fmt.Fprintf(h, "%q %o %d %d %d:%d %q\n", p, uint32(e.Mode), e.Size, secs, e.UID, e.GID, e.Link)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DeletedSince lists the paths of base that idx no longer holds, sorted.
// A removed directory is listed alone, not with every entry it held.
func (idx TreeIndex) DeletedSince(base TreeIndex) []string {
	var out []string
	for p := range base {
		if _, ok := idx[p]; ok {
			continue
		}
		if dir := filepath.Dir(p); dir != "." {
			if _, parentGone := base[filepath.ToSlash(dir)]; parentGone {
				if _, ok := idx[filepath.ToSlash(dir)]; !ok {
					continue // the parent's removal takes it
				}
			}
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// WriteTreeChanges writes into tw, under prefix, the entries of dir that
// differ from base (all of them when base is nil), and returns the index
// of dir as it was read: each entry is examined before its content is
// copied, so a file changed while it is copied differs from the returned
// index and is sent again by a later call against it. With tw nil it
// only indexes.
func WriteTreeChanges(tw *tar.Writer, dir, prefix string, base TreeIndex) (TreeIndex, error) {
	idx := TreeIndex{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || !carried(d.Type()) {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e, err := treeEntry(p, fi)
		if err != nil {
			return err
		}
		idx[rel] = e
		if old, ok := base[rel]; tw == nil || ok && old == e {
			return nil
		}
		name := rel
		if prefix != "" {
			name = prefix + "/" + rel
		}
		return addEntry(tw, p, name, d)
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// ApplyDeletions removes the listed paths (relative, slash-separated)
// under the rootfs dir; paths already gone are fine. Nothing outside dir
// is touched.
func ApplyDeletions(dir string, paths []string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, p := range paths {
		if !filepath.IsLocal(p) {
			return fmt.Errorf("path %q leaves the rootfs", p)
		}
		// RemoveAll is fine with a path already gone.
		if err := root.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	return nil
}

// digestTee returns r, copied into a ManifestDigest hash as it is read,
// and the function giving the hex digest once r is read to its end.
func digestTee(r io.Reader) (io.Reader, func() string) {
	h, _ := newDigest(ManifestDigest)
	return io.TeeReader(r, h), func() string { return hex.EncodeToString(h.Sum(nil)) }
}

// ExtractTar extracts a tar stream into dir with the import's rules
// (nothing leaves dir, no device files, no sparse entries). When sums is
// not nil, the digest of every regular file is recorded in it under
// prefix + its name.
func ExtractTar(dir string, r io.Reader, sums map[string]string, prefix string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var src io.Reader = tr
		var sum func() string
		if sums != nil && hdr.Typeflag == tar.TypeReg {
			src, sum = digestTee(tr)
		}
		if err := extractEntry(root, hdr.Name, hdr, src); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if sum != nil {
			name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
			sums[filepath.ToSlash(filepath.Join(prefix, name))] = sum()
		}
	}
}
