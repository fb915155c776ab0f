package libct

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pagemapSoftDirty is bit 55 of a /proc/PID/pagemap entry: the page was
// written since the soft-dirty bits were last cleared
// (Documentation/admin-guide/mm/soft-dirty.rst).
const pagemapSoftDirty = 1 << 55

// probeSoftDirty finds out, on rt's own memory, whether the kernel tracks
// soft-dirty pages, as CRIU's pre-dump rounds need: it clears the bits
// (clear_refs 4), writes one page and looks for the bit in pagemap. It
// takes well under a millisecond and freezes nothing. The bits of rt's own
// pages are of no use to anyone else.
func probeSoftDirty() error {
	const why = "the kernel does not track soft-dirty memory (CONFIG_MEM_SOFT_DIRTY), which --pre-copy needs to copy only the pages written since the last round"
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("soft-dirty probe: %w", err)
	}
	defer unix.Munmap(mem)
	mem[0] = 1
	if err := os.WriteFile("/proc/self/clear_refs", []byte("4"), 0); err != nil {
		return fmt.Errorf("%s: /proc/self/clear_refs: %w", why, err)
	}
	mem[0] = 2
	addr := uintptr(unsafe.Pointer(&mem[0]))
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return fmt.Errorf("%s: %w", why, err)
	}
	defer f.Close()
	var entry [8]byte
	if _, err := f.ReadAt(entry[:], int64(addr/uintptr(page))*8); err != nil {
		return fmt.Errorf("%s: /proc/self/pagemap: %w", why, err)
	}
	if binary.LittleEndian.Uint64(entry[:])&pagemapSoftDirty == 0 {
		return errors.New(why)
	}
	return nil
}
