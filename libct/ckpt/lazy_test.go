package ckpt

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLazyProgress(t *testing.T) {
	log := filepath.Join(t.TempDir(), LazyDaemonLog)
	// lines as CRIU 3.17's lazy-pages daemon writes them at -v4
	data := `(00.001234) 55-5: Found 2 VMAs in image
(00.001300) 55-5: Found 16400 pages to be handled by UFFD
(00.001301) 57-6: Found 100 pages to be handled by UFFD
(00.002000) 55-5: uffd_copy: 0x7f0000000000/4096
(00.003000) 55-5: uffd_copy: 0x7f0000001000/4194304
(00.004000) 57-6: uffd_copy: 0x5600000000/8192
(00.005000) 55-5: UFFD transferred pages: (1027/16400)
`
	if err := os.WriteFile(log, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	total, copied := LazyProgress(log)
	if total != 16500 || copied != 1+1024+2 {
		t.Fatalf("LazyProgress = %d, %d; want 16500, 1027", total, copied)
	}
	if total, copied := LazyProgress(log + ".missing"); total != 0 || copied != 0 {
		t.Fatal("a missing log has progress")
	}
}

func TestLazyStatusFile(t *testing.T) {
	dir := t.TempDir()
	if s, err := ReadLazyStatus(dir); s != nil || err != nil {
		t.Fatalf("no record: %v %v", s, err)
	}
	if err := WriteLazyStatus(dir, &LazyStatus{State: LazyDone, PagesTotal: 5, PagesCopied: 5}); err != nil {
		t.Fatal(err)
	}
	s, err := ReadLazyStatus(dir)
	if err != nil || s.State != LazyDone || s.PagesCopied != 5 {
		t.Fatalf("read back %+v %v", s, err)
	}
	if err := WriteLazyStatus(filepath.Join(dir, "gone"), &LazyStatus{}); err == nil {
		t.Fatal("a deleted container's state directory was recreated")
	}
}
