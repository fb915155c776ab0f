package libct

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"9": unix.SIGKILL, "KILL": unix.SIGKILL, "SIGKILL": unix.SIGKILL, "sigkill": unix.SIGKILL,
		"term": unix.SIGTERM, "15": unix.SIGTERM, "SIGUSR1": unix.SIGUSR1, "hup": unix.SIGHUP,
		"RTMIN": 34, "RTMIN+3": 37, "SIGRTMAX-1": 63, "64": 64, "0": 0,
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "SIGNOPE", "-1", "65", "RTMIN+99"} {
		if s, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %d, want error", in, s)
		}
	}
}
