package libct

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// A --lazy restore (see ckpt/lazy.go) has three processes: the restoring
// rt, which exits once the container runs; the "criu lazy-pages" daemon,
// which serves the pages; and between them a supervisor, rt's own binary
// started detached ("rt lazy-serve"), which starts the daemon, waits for
// it, and ties its life to the container's:
//
//   - the restore fails, or the restoring rt dies before the container
//     runs: the supervisor deletes whatever of the container exists, then
//     stops the daemon;
//   - the daemon ends with every page copied: the record says done;
//   - the daemon fails or is killed: the container is killed at once, and
//     the record says failed. The supervisor holds its own copy of every
//     userfaultfd the daemon serves (pidfd_getfd): without it the kernel
//     would, once the daemon's copy closed, hand the processes zero-filled
//     pages where their memory was still missing. With it their faults
//     wait until they are killed;
//   - the container ends first: the daemon is stopped.
//
// If the supervisor itself is killed, the daemon goes on serving; if both
// die mid-copy, the container can read zeros for pages not yet copied.

// lazyReadyTimeout bounds the wait for the daemon's socket (TCG is slow).
const lazyReadyTimeout = 60 * time.Second

// lazySocket is where criu lazy-pages listens, in its work directory.
const lazySocket = "lazy-pages.socket"

var errLazyWithLazyPages = errors.New("--lazy runs its own lazy-pages daemon: --lazy-pages is for a daemon the caller runs; use one or the other")

// lazyRestore is the restoring rt's side of a --lazy restore.
type lazyRestore struct {
	started    time.Time
	supervisor int      // its pid
	toSup      *os.File // "running PID MS" once the container runs, "failed" if the restore failed
	said       bool
}

// probeUserfaultfd checks that this kernel lets rt use userfaultfd.
func probeUserfaultfd() error {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if errno != 0 {
		return fmt.Errorf("--lazy needs userfaultfd, which this kernel refuses (%v): CONFIG_USERFAULTFD, and vm.unprivileged_userfaultfd=1 when not root", errno)
	}
	unix.Close(int(fd))
	return nil
}

// startLazy prepares a --lazy restore of id from the images cr names:
// it starts the supervisor, which starts the daemon, and returns once the
// daemon listens. own are directories the supervisor removes when the copy
// is over (a temporary import). cr is switched to CRIU's --lazy-pages with
// the daemon's work directory.
func (o *Runtime) startLazy(id string, cr *ckpt.Options, own []string, pageServer string, started time.Time) (*lazyRestore, error) {
	if cr.LazyPages() {
		return nil, errLazyWithLazyPages
	}
	if err := probeUserfaultfd(); err != nil {
		return nil, err
	}
	images, err := cr.ImageDir()
	if err != nil {
		return nil, err
	}
	work, err := cr.WorkDir()
	if err != nil {
		return nil, err
	}
	if work == "" {
		// Short: the daemon's socket path must fit in sun_path.
		if work, err = os.MkdirTemp("", "rt-lazy-"); err != nil {
			return nil, err
		}
		own = append(own, work)
		cr.SetWorkPath(work)
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(work, lazySocket))
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	criu := ckpt.CriuName(o.CriuPath)
	if o.CriuPath != "" {
		if criu, err = lookPathAbs(o.CriuPath); err != nil {
			return nil, fmt.Errorf("--criu %s: %w", o.CriuPath, err)
		}
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	args := []string{"--root", o.Root, "lazy-serve", "--id", id, "--images", images, "--work", work,
		"--criu", criu, "--started", strconv.FormatInt(started.UnixNano(), 10)}
	for _, d := range own {
		args = append(args, "--own", d)
	}
	if pageServer != "" {
		args = append(args, "--page-server", pageServer)
	}
	logFile, err := os.OpenFile(filepath.Join(work, "rt-lazy-serve.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		readyW.Close()
		goR.Close()
		goW.Close()
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{readyW, goR} // fds 3 and 4
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	goR.Close()
	if err != nil {
		goW.Close()
		return nil, fmt.Errorf("start the lazy-pages supervisor: %w", err)
	}
	supervisor := cmd.Process.Pid
	_ = cmd.Process.Release()
	line, err := readLineTimeout(readyR, lazyReadyTimeout)
	if err != nil || line != "ready" {
		goW.Close()
		if line == "" {
			line = fmt.Sprintf("no answer within %s (%v)", lazyReadyTimeout, err)
		}
		return nil, fmt.Errorf("--lazy: the lazy-pages daemon did not start: %s; see %s", line, filepath.Join(work, ckpt.LazyDaemonLog))
	}
	cr.SetLazyPages(true)
	return &lazyRestore{started: started, supervisor: supervisor, toSup: goW}, nil
}

// running hands the container over to the supervisor.
func (l *lazyRestore) running(pid int) {
	fmt.Fprintf(l.toSup, "running %d %d\n", pid, time.Since(l.started).Milliseconds())
	l.said = true
	l.toSup.Close()
}

// abort tells the supervisor the restore failed and rt removed what it
// made (if running was not said): the supervisor only stops the daemon.
func (l *lazyRestore) abort() {
	if !l.said {
		fmt.Fprintln(l.toSup, "failed")
		l.said = true
		l.toSup.Close()
	}
}

func readLineTimeout(f *os.File, d time.Duration) (string, error) {
	_ = f.SetReadDeadline(time.Now().Add(d))
	line, err := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(line), err
}

// LazyServe is what the supervisor ("rt lazy-serve") is told.
type LazyServe struct {
	ID       string
	ImageDir string
	WorkDir  string
	Criu     string
	Own      []string  // removed at the end
	Started  time.Time // the restore's start
	// PageServer (host:port): the pages come from there, not the images.
	PageServer string
}

// ServeLazy is the supervisor: ready is where it says the daemon listens,
// fromRt where the restoring rt says the container runs.
func (o *Runtime) ServeLazy(s LazyServe, ready io.WriteCloser, fromRt *os.File) error {
	// removeOwn is done before the last record is written: who waits for
	// the record finds the temporary directories gone.
	removeOwn := func() {
		for _, d := range s.Own {
			os.RemoveAll(d)
		}
	}
	defer removeOwn()
	stateDir := o.StateDir(s.ID)
	logPath := filepath.Join(s.WorkDir, ckpt.LazyDaemonLog)
	args := []string{"lazy-pages", "--images-dir", s.ImageDir, "--work-dir", s.WorkDir,
		"--log-file", ckpt.LazyDaemonLog, "-v4"}
	if s.PageServer != "" {
		host, port, err := net.SplitHostPort(s.PageServer)
		if err != nil {
			fmt.Fprintf(ready, "--page-server %s: %v\n", s.PageServer, err)
			ready.Close()
			return err
		}
		args = append(args, "--page-server", "--address", host, "--port", port)
	}
	daemon := exec.Command(s.Criu, args...)
	if err := daemon.Start(); err != nil {
		fmt.Fprintf(ready, "cannot run %s lazy-pages: %v\n", s.Criu, err)
		ready.Close()
		return err
	}
	daemonDone := make(chan error, 1)
	go func() { daemonDone <- daemon.Wait() }()
	stopDaemon := func() {
		_ = daemon.Process.Kill()
		<-daemonDone
	}
	if err := waitSocket(filepath.Join(s.WorkDir, lazySocket), daemonDone); err != nil {
		stopDaemon() // it may still run, never having listened
		fmt.Fprintf(ready, "%v\n", err)
		ready.Close()
		return err
	}
	fmt.Fprintln(ready, "ready")
	ready.Close()

	uffds := newUffdHolder(daemon.Process.Pid)
	defer uffds.close()
	// The restoring rt says "running PID MS", or "failed" (it removed what
	// it made), or dies (the pipe closes with nothing said).
	line, _ := bufio.NewReader(fromRt).ReadString('\n')
	var pid int
	var toRunning int64
	if _, err := fmt.Sscanf(line, "running %d %d", &pid, &toRunning); err != nil || pid <= 0 {
		if strings.TrimSpace(line) != "failed" {
			// rt died: whatever CRIU restored waits on the daemon's
			// pages. Hold them (faults wait), remove the container, then
			// stop the daemon.
			uffds.grab()
			if _, err := os.Stat(stateDir); err == nil {
				if err := o.Delete(s.ID, true); err != nil {
					logrus.Warnf("lazy restore of %s: its rt died: removing it: %v", s.ID, err)
				}
			}
		}
		stopDaemon()
		logrus.Infof("lazy restore of %s did not complete: daemon stopped", s.ID)
		return nil
	}
	st := &ckpt.LazyStatus{
		State: ckpt.LazyCopying, DaemonPid: daemon.Process.Pid, SupervisorPid: os.Getpid(),
		Started: s.Started, TimeToRunningMs: toRunning, Log: logPath,
	}
	save := func() {
		if err := ckpt.WriteLazyStatus(stateDir, st); err != nil && !os.IsNotExist(err) {
			logrus.Warnf("lazy restore of %s: %v", s.ID, err)
		}
	}
	save()
	initDone := pidExited(pid)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		uffds.grab()
		select {
		case <-tick.C:
			continue
		case err := <-daemonDone:
			st.PagesTotal, st.PagesCopied = ckpt.LazyProgress(logPath)
			now := time.Now().UTC()
			st.Finished = &now
			st.CopyMs = now.Sub(s.Started).Milliseconds()
			if err == nil {
				st.State = ckpt.LazyDone
				uffds.close()
			} else {
				// Pages may be missing: the processes must not run on.
				_ = unix.Kill(pid, unix.SIGKILL)
				if kerr := o.Kill(s.ID, unix.SIGKILL, true); kerr != nil {
					logrus.Warnf("lazy restore of %s: kill: %v", s.ID, kerr)
				}
				uffds.close()
				st.State = ckpt.LazyFailed
				st.Error = fmt.Sprintf("criu lazy-pages: %v: the container was killed, its memory was incomplete", err)
				st.Log = keepDaemonLog(logPath, stateDir)
			}
			removeOwn()
			save()
			return nil
		case <-initDone:
			stopDaemon()
			st.State = ckpt.LazyEnded
			now := time.Now().UTC()
			st.Finished = &now
			removeOwn()
			save()
			return nil
		}
	}
}

// keepDaemonLog copies the daemon's log into the state directory, out of
// a work directory that may be removed, and returns where it is.
func keepDaemonLog(log, stateDir string) string {
	data, err := os.ReadFile(log)
	if err != nil {
		return log
	}
	dst := filepath.Join(stateDir, ckpt.LazyDaemonLog)
	if os.WriteFile(dst, data, 0o600) != nil {
		return log
	}
	return dst
}

// waitSocket waits for the daemon to listen on sock, or to exit.
func waitSocket(sock string, daemonDone chan error) error {
	deadline := time.Now().Add(lazyReadyTimeout)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		select {
		case err := <-daemonDone:
			daemonDone <- err
			return fmt.Errorf("criu lazy-pages exited before listening (%v)", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("criu lazy-pages did not listen on %s within %s", sock, lazyReadyTimeout)
}

// pidExited is closed when process pid has exited (pidfd poll).
func pidExited(pid int) <-chan struct{} {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		close(done) // already gone
		return done
	}
	go func() {
		defer unix.Close(fd)
		defer close(done)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	}()
	return done
}

// uffdHolder keeps copies of the userfaultfds the daemon holds.
type uffdHolder struct {
	daemon int
	pidfd  int
	held   map[int]int // the daemon's fd -> ours
}

func newUffdHolder(daemon int) *uffdHolder {
	h := &uffdHolder{daemon: daemon, pidfd: -1, held: map[int]int{}}
	if fd, err := unix.PidfdOpen(daemon, 0); err == nil {
		h.pidfd = fd
	} else {
		logrus.Warnf("lazy-pages daemon %d: pidfd: %v; its userfaultfds are not held", daemon, err)
	}
	return h
}

// grab takes a copy of every userfaultfd the daemon has that is not held.
func (h *uffdHolder) grab() {
	if h.pidfd < 0 {
		return
	}
	dir := fmt.Sprintf("/proc/%d/fd", h.daemon)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ok := h.held[n]; ok {
			continue
		}
		if link, err := os.Readlink(filepath.Join(dir, e.Name())); err != nil || link != "anon_inode:[userfaultfd]" {
			continue
		}
		fd, err := unix.PidfdGetfd(h.pidfd, n, 0)
		if err != nil {
			logrus.Warnf("lazy-pages daemon %d: copy of userfaultfd %d: %v", h.daemon, n, err)
			continue
		}
		h.held[n] = fd
	}
}

// close lets go of the copies: the daemon is done with them.
func (h *uffdHolder) close() {
	for n, fd := range h.held {
		unix.Close(fd)
		delete(h.held, n)
	}
	if h.pidfd >= 0 {
		unix.Close(h.pidfd)
		h.pidfd = -1
	}
}

// alive reports whether process pid exists and is not a zombie (the
// supervisor is the restoring rt's child until rt exits, and rt never
// waits for it).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
