package ckpt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
)

// Digest algorithms of a manifest's file list.
//
// The manifest guards against damage: a truncated copy, a flipped bit on
// a disk or in transit, a file replaced by mistake. Anyone able to change
// an image can rewrite its unsigned manifest as well, so a cryptographic
// digest buys no protection against tampering; it only costs time. XXH64
// (the checksum zstd frames carry) runs near memory speed (~19 GiB/s per
// core here, against ~1.7 GiB/s for sha256 with SHA-NI and 45 MiB/s for
// sha256 under qemu's TCG), so hashing no longer dominates a checkpoint.
// Manifests of version 1 used sha256 and are still read.
const (
	DigestXXH64  = "xxh64"
	DigestSHA256 = "sha256"
)

// ManifestDigest is the algorithm of the manifests rt writes. The digests
// computed ahead of WriteManifest (by the pre-copy rounds, by an
// import as files stream in) use it too, so that they can stand for a
// read of the file.
const ManifestDigest = DigestXXH64

// newDigest returns a hash for a manifest digest algorithm.
func newDigest(alg string) (hash.Hash, error) {
	switch alg {
	case DigestXXH64:
		return xxhash.New(), nil
	case DigestSHA256:
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("unknown digest algorithm %q (this rt knows %s and %s)", alg, DigestXXH64, DigestSHA256)
}

// hashFile returns the hex digest of the file at path.
func hashFile(path, alg string) (string, error) {
	h, err := newDigest(alg)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := copyLarge(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyLarge is io.Copy with 1 MiB reads and writes instead of 32 KiB: a
// pages image is hundreds of MiB, and under emulation (the VM lane) each
// system call costs. The wrappers hide *os.File's ReadFrom and WriteTo,
// which would ignore CopyBuffer's buffer.
func copyLarge(dst io.Writer, src io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, 1<<20))
}
