package libct

import (
	"os"
	"os/signal"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// signalForwarder relays the signals rt receives to the container process
// and reaps children, so a foreground "rt run" behaves like the process.
type signalForwarder struct {
	signals chan os.Signal
}

// startSignalForwarder must be called before the process starts, so that
// no SIGCHLD is missed. With subreaper set, orphans of the container
// process are reparented to rt (runc's default for run/exec).
func startSignalForwarder(subreaper bool) <-chan *signalForwarder {
	if subreaper {
		if err := system.SetSubreaper(1); err != nil {
			logrus.Warn(err)
		}
	}
	ch := make(chan os.Signal, 2048)
	// SIGCHLD first, synchronously; the rest takes longer to register and
	// is done while the container starts.
	signal.Notify(ch, unix.SIGCHLD)
	out := make(chan *signalForwarder)
	go func() {
		signal.Notify(ch)
		out <- &signalForwarder{signals: ch}
	}()
	return out
}

// forward runs until the process exits and returns its exit status.
func (h *signalForwarder) forward(p *libcontainer.Process, t *stdio) (int, error) {
	pid, err := p.Pid()
	if err != nil {
		return -1, err
	}
	_ = t.resize()
	for s := range h.signals {
		switch s {
		case unix.SIGWINCH:
			_ = t.resize()
		case unix.SIGCHLD:
			for _, e := range reapChildren() {
				logrus.WithFields(logrus.Fields{"pid": e.pid, "status": e.status}).Debug("process exited")
				if e.pid == pid {
					_, _ = p.Wait()
					return e.status, nil
				}
			}
		case unix.SIGURG:
			// The Go runtime uses SIGURG for goroutine preemption.
		default:
			us := s.(unix.Signal)
			logrus.Debugf("forwarding signal %d (%s) to %d", int(us), unix.SignalName(us), pid)
			if err := p.Signal(s); err != nil {
				logrus.Error(err)
			}
		}
	}
	return -1, nil
}

type childExit struct{ pid, status int }

func reapChildren() []childExit {
	var exits []childExit
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
		if err != nil || pid <= 0 {
			if err != nil && err != unix.ECHILD {
				logrus.Error(err)
			}
			return exits
		}
		exits = append(exits, childExit{pid: pid, status: utils.ExitStatus(ws)})
	}
}
