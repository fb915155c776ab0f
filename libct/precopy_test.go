package libct

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rt-runtime/rt/libct/ckpt"
)

func TestProbeSoftDirty(t *testing.T) {
	err := probeSoftDirty()
	if err != nil && !strings.Contains(err.Error(), "CONFIG_MEM_SOFT_DIRTY") {
		t.Fatalf("probe failed without naming the missing feature: %v", err)
	}
	t.Logf("soft-dirty on this kernel: %v", err == nil)
}

func TestCheckPreCopy(t *testing.T) {
	defer func(p func() error) { softDirtyProbe = p }(softDirtyProbe)
	softDirtyProbe = func() error { return nil }
	set := func(name string, v any) ckpt.Options {
		var o ckpt.Options
		_ = o.Set(ckpt.Lookup("pre-copy"), true)
		if name != "" {
			if err := o.Set(ckpt.Lookup(name), v); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	if err := checkPreCopy(set("", nil)); err != nil {
		t.Fatalf("plain --pre-copy refused: %v", err)
	}
	for name, v := range map[string]any{"pre-dump": true, "parent-path": "../x", "lazy-pages": true, "page-server": "127.0.0.1:1"} {
		err := checkPreCopy(set(name, v))
		if err == nil || !strings.Contains(err.Error(), "--"+name) {
			t.Errorf("--pre-copy with --%s: %v", name, err)
		}
	}
	softDirtyProbe = func() error { return errors.New("no soft-dirty (CONFIG_MEM_SOFT_DIRTY)") }
	if err := checkPreCopy(set("", nil)); err == nil || !strings.Contains(err.Error(), "soft-dirty") {
		t.Fatalf("missing soft-dirty not refused: %v", err)
	}
}

func TestAlive(t *testing.T) {
	if !alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// not waited for: a zombie until Wait
	for i := 0; i < 200 && alive(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatal("a zombie counts as alive")
	}
	_ = cmd.Wait()
	if alive(pid) {
		t.Fatal("a reaped process counts as alive")
	}
}
