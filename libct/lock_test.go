package libct

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockBusy(t *testing.T) {
	root := t.TempDir()
	l, err := LockContainer(root, "c1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockContainer(root, "c1", 50*time.Millisecond)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v, want ErrBusy", err)
	}
	// Other containers are independent.
	l2, err := LockContainer(root, "c2", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("other container: %v", err)
	}
	l2.Unlock()
	l.Unlock()
	l3, err := LockContainer(root, "c1", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l3.Unlock()
}

// TestLockMutualExclusion checks that no two holders overlap, even while
// holders remove the lock file (as delete does: the state directory goes,
// and Unlock removes the lock file with it) and others create the
// container again.
func TestLockMutualExclusion(t *testing.T) {
	root := t.TempDir()
	var inside, maxInside, done atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				l, err := LockContainer(root, "c", 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(100 * time.Microsecond)
				inside.Add(-1)
				if i%3 == 0 {
					os.Remove(filepath.Join(root, "c"))
				} else {
					os.Mkdir(filepath.Join(root, "c"), 0o700)
				}
				l.Unlock()
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once", maxInside.Load())
	}
	if done.Load() != 16*20 {
		t.Fatalf("%d lock rounds, want %d", done.Load(), 16*20)
	}
}

func TestLockRejectsBadID(t *testing.T) {
	root := t.TempDir()
	if _, err := LockContainer(root, "../x", time.Second); err == nil {
		t.Fatal("lock with ../x accepted")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "x"+lockSuffix)); err == nil {
		t.Fatal("lock file created outside the root")
	}
}

func TestLockRootMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	l, err := LockContainer(root, "c", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("root mode %o, want 700", fi.Mode().Perm())
	}
}

// TestUnlockOfGoneContainer: the lock file of a container whose state
// directory is gone when the command ends is removed with the lock; a
// living container keeps its lock file.
func TestUnlockOfGoneContainer(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "alive"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alive", "gone"} {
		l, err := LockContainer(root, id, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		l.Unlock()
		l.Unlock() // a second Unlock is harmless
	}
	if _, err := os.Stat(filepath.Join(root, "alive"+lockSuffix)); err != nil {
		t.Errorf("lock file of a living container: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "gone"+lockSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file of a container without state directory stays (err %v)", err)
	}
}
