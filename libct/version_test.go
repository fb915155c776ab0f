package libct

import (
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	v := VersionText("rt", "1.2.3", "abc")
	lines := strings.Split(v, "\n")
	if lines[0] != "rt version 1.2.3" || lines[1] != "commit: abc" || !strings.HasPrefix(lines[2], "spec: ") || !strings.HasPrefix(lines[3], "go: ") {
		t.Fatalf("version text:\n%s", v)
	}
}
