package libct

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// VersionText is what "rt --version" prints. Docker parses the first line
// containing "version" and the "commit: " line, so the layout is runc's.
func VersionText(name, version, commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s version %s\n", name, version)
	if commit != "" {
		fmt.Fprintf(&b, "commit: %s\n", commit)
	}
	fmt.Fprintf(&b, "spec: %s\n", specs.Version)
	fmt.Fprintf(&b, "go: %s\n", runtime.Version())
	if major, minor, micro := seccomp.Version(); major+minor+micro > 0 {
		fmt.Fprintf(&b, "libseccomp: %d.%d.%d\n", major, minor, micro)
	}
	return b.String()
}
