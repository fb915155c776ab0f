package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

const mib = 1 << 20

// anon maps size bytes of private anonymous memory (outside Go's heap, so
// the dumped memory is exactly what we touched plus the Go runtime's few MiB).
func anon(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
}

// fill writes a xorshift64 stream over buf: every page is touched and the
// content is incompressible (a worst case for zstd, no zero pages).
func fill(buf []byte, seed uint64) {
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&buf[0])), len(buf)/8)
	x := seed
	for i := range w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w[i] = x
	}
}

// check reports whether buf still holds fill's stream for seed.
func check(buf []byte, seed uint64) bool {
	w := unsafe.Slice((*uint64)(unsafe.Pointer(&buf[0])), len(buf)/8)
	x := seed
	for i := range w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		if w[i] != x {
			return false
		}
	}
	return true
}

func sizeArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (MiB)", s)
	}
	return n * mib, nil
}

const seed = 0x9e3779b97f4a7c15

// memhog SIZE_MIB READYFILE: touch SIZE MiB, create READYFILE (holding the
// fill time), then sleep. SIGUSR1 verifies the memory (after a restore) and
// creates READYFILE.ok or READYFILE.bad.
func memhog(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: memhog SIZE_MIB READYFILE")
	}
	size, err := sizeArg(args[0])
	if err != nil {
		return err
	}
	ready := args[1]
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	buf, err := anon(size)
	if err != nil {
		return err
	}
	t0 := time.Now()
	fill(buf, seed)
	el := time.Since(t0)
	if err := os.WriteFile(ready, []byte(fmt.Sprintf("%.6f\n", el.Seconds())), 0o644); err != nil {
		return err
	}
	for range usr1 {
		res := ready + ".bad"
		if check(buf, seed) {
			res = ready + ".ok"
		}
		if err := os.WriteFile(res, nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copylimit SIZE_MIB FILE: the raw speed CRIU is bounded by on this machine.
// Prints "fill_s write_s read_s": touching SIZE of fresh memory, writing it
// to FILE (what a dump does: pages -> image file) and reading FILE into fresh
// anonymous memory (what a restore does: image file -> new pages).
func copyLimit(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: copylimit SIZE_MIB FILE")
	}
	size, err := sizeArg(args[0])
	if err != nil {
		return err
	}
	path := args[1]
	buf, err := anon(size)
	if err != nil {
		return err
	}
	t0 := time.Now()
	fill(buf, seed)
	tFill := time.Since(t0)

	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	const chunk = 4 * mib
	t0 = time.Now()
	for off := 0; off < size; off += chunk {
		end := min(off+chunk, size)
		if _, err := f.Write(buf[off:end]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	tWrite := time.Since(t0)
	if err := syscall.Munmap(buf); err != nil {
		return err
	}

	t0 = time.Now()
	dst, err := anon(size)
	if err != nil {
		return err
	}
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	for off := 0; off < size; {
		n, err := r.Read(dst[off:min(off+chunk, size)])
		off += n
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Close()
			return err
		}
	}
	r.Close()
	tRead := time.Since(t0)
	if !check(dst, seed) {
		return fmt.Errorf("read back differs")
	}
	fmt.Printf("%.6f %.6f %.6f\n", tFill.Seconds(), tWrite.Seconds(), tRead.Seconds())
	return nil
}

// hashtree [xxh64|sha256] DIR: hash an image directory as rt's manifest
// does (libct/manifest.go hashTree and libct/digest.go hashFile: WalkDir,
// 1 MiB reads of each regular file, CRIU logs and the manifest skipped),
// with the same Go toolchain; here on one CPU. xxh64 is what rt writes
// (manifest version 2), sha256 what version 1 manifests used. Prints
// "seconds bytes files".
func hashTreeCmd(args []string) error {
	alg := "xxh64"
	if len(args) == 2 {
		alg, args = args[0], args[1:]
	}
	if len(args) != 1 {
		return fmt.Errorf("usage: hashtree [xxh64|sha256] DIR")
	}
	newHash := map[string]func() hash.Hash{
		"xxh64":  func() hash.Hash { return xxhash.New() },
		"sha256": sha256.New,
	}[alg]
	if newHash == nil {
		return fmt.Errorf("unknown algorithm %q", alg)
	}
	dir := args[0]
	var bytes int64
	files := 0
	buf := make([]byte, 1<<20)
	t0 := time.Now()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		switch filepath.Base(path) {
		case "rt-manifest.json", "dump.log", "restore.log", "stats-restore":
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := newHash()
		for {
			n, err := f.Read(buf)
			h.Write(buf[:n])
			bytes += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		_ = hex.EncodeToString(h.Sum(nil))
		files++
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("%.6f %d %d\n", time.Since(t0).Seconds(), bytes, files)
	return nil
}
