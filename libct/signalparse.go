package libct

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseSignal accepts a signal number ("9"; 0 only checks that the
// process exists, as kill(2) does), a name with or without the SIG prefix
// in any case ("KILL", "sigkill", "SIGKILL"), and real-time signals as
// "RTMIN+N"/"RTMAX-N".
func ParseSignal(raw string) (unix.Signal, error) {
	if n, err := strconv.Atoi(raw); err == nil {
		if n < 0 || n > sigRTMAX {
			return 0, fmt.Errorf("invalid signal number %d: must be between 0 and %d", n, sigRTMAX)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(raw)
	name = strings.TrimPrefix(name, "SIG")
	if s, ok := parseRealtime(name); ok {
		return s, nil
	}
	if s := unix.SignalNum("SIG" + name); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q", raw)
}

// glibc reserves the first two real-time signals for itself.
const (
	sigRTMIN = 34
	sigRTMAX = 64
)

func parseRealtime(name string) (unix.Signal, bool) {
	var base, sign int
	var rest string
	switch {
	case name == "RTMIN":
		return sigRTMIN, true
	case name == "RTMAX":
		return sigRTMAX, true
	case strings.HasPrefix(name, "RTMIN+"):
		base, sign, rest = sigRTMIN, 1, name[len("RTMIN+"):]
	case strings.HasPrefix(name, "RTMAX-"):
		base, sign, rest = sigRTMAX, -1, name[len("RTMAX-"):]
	default:
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > sigRTMAX-sigRTMIN {
		return 0, false
	}
	return unix.Signal(base + sign*n), true
}
