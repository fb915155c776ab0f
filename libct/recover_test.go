package libct

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// An interrupted restore leaves the rootfs bind-mounted in the state dir;
// releasing it must keep the rootfs' files when the state dir is removed.
func TestReleaseCriuRootKeepsRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	tmp := t.TempDir()
	rootfs := filepath.Join(tmp, "rootfs")
	state := filepath.Join(tmp, "state")
	mnt := filepath.Join(state, criuRootDir)
	for _, d := range []string{rootfs, mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(rootfs, "precious")
	if err := os.WriteFile(keep, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	// two stacked mounts, as two interrupted restores would leave
	for range 2 {
		if err := unix.Mount(rootfs, mnt, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH); _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := releaseCriuRoot(state); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mnt); !os.IsNotExist(err) {
		t.Fatalf("%s still there: %v", mnt, err)
	}
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("rootfs file lost: %v", err)
	}
	// nothing left to release is not an error
	if err := releaseCriuRoot(state); err != nil {
		t.Fatal(err)
	}
}
