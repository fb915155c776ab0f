package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type runtimeFlag []namedPath

type namedPath struct{ name, path string }

func (r *runtimeFlag) String() string { return fmt.Sprint(*r) }
func (r *runtimeFlag) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, got %q", s)
	}
	*r = append(*r, namedPath{name, path})
	return nil
}

// sample is one container lifecycle. Times in seconds; RSS in KiB, from the
// rusage wait4 returns (the number GNU time's %M prints).
type sample struct {
	create, start, wait, del, total time.Duration
	rssCLI                          int64         // max over the runtime invocations
	rssInit                         int64         // the container's init (runtime init code, then `true`)
	cpu                             time.Duration // user+system CPU of the runtime invocations and the init
	err                             error
}

type lc struct {
	bundle, state string
	errLog        *os.File
	devnull       *os.File
	seq           uint64
	mu            sync.Mutex
}

func (l *lc) id(rt string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return fmt.Sprintf("bench-%s-%d-%d", rt, os.Getpid(), l.seq)
}

// invoke runs the runtime; stdio is /dev/null and the error log file (a
// file, not a pipe: `create` hands its stdio to the container, and a pipe
// would keep Wait blocked until the container exits).
func (l *lc) invoke(rt namedPath, args ...string) (time.Duration, int64, error) {
	el, rss, _, err := l.invokeCPU(rt, args...)
	return el, rss, err
}

func ruCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// invokeCPU is invoke that also returns the CPU time (user + system) of
// the runtime process and of the children it waited for.
func (l *lc) invokeCPU(rt namedPath, args ...string) (time.Duration, int64, time.Duration, error) {
	root := filepath.Join(l.state, rt.name)
	cmd := exec.Command(rt.path, append([]string{"--root", root}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = l.devnull, l.devnull, l.errLog
	t0 := time.Now()
	err := cmd.Run()
	el := time.Since(t0)
	var rss int64
	var cpu time.Duration
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss, cpu = ru.Maxrss, ruCPU(ru)
		}
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", rt.name, strings.Join(args, " "), err)
	}
	return el, rss, cpu, err
}

// waitInit waits for the container's init, which was reparented to us
// (we are a child subreaper) when `create` exited.
func waitInit(pid int) (int64, time.Duration, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(pid, &ws, 0, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.ECHILD {
			// Not our child after all: poll until it is gone.
			for syscall.Kill(pid, 0) == nil {
				time.Sleep(time.Millisecond)
			}
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, err
		}
		return ru.Maxrss, ruCPU(&ru), nil
	}
}

// split: create, start, wait for the init to exit, delete.
func (l *lc) split(rt namedPath) (s sample) {
	id := l.id(rt.name)
	pidFile := filepath.Join(l.state, id+".pid")
	defer os.Remove(pidFile)
	t0 := time.Now()
	var rss int64
	var cpu time.Duration
	s.create, rss, cpu, s.err = l.invokeCPU(rt, "create", "--bundle", l.bundle, "--pid-file", pidFile, id)
	s.rssCLI = max(s.rssCLI, rss)
	s.cpu += cpu
	if s.err != nil {
		l.invoke(rt, "delete", "-f", id)
		return s
	}
	data, err := os.ReadFile(pidFile)
	pid, err2 := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || err2 != nil {
		s.err = fmt.Errorf("%s: pid file: %v %v", rt.name, err, err2)
		l.invoke(rt, "delete", "-f", id)
		return s
	}
	s.start, rss, cpu, s.err = l.invokeCPU(rt, "start", id)
	s.rssCLI = max(s.rssCLI, rss)
	s.cpu += cpu
	if s.err != nil {
		l.invoke(rt, "delete", "-f", id)
		syscall.Kill(pid, syscall.SIGKILL)
		waitInit(pid)
		return s
	}
	t1 := time.Now()
	s.rssInit, cpu, s.err = waitInit(pid)
	s.wait = time.Since(t1)
	s.cpu += cpu
	if s.err != nil {
		return s
	}
	s.del, rss, cpu, s.err = l.invokeCPU(rt, "delete", id)
	s.rssCLI = max(s.rssCLI, rss)
	s.cpu += cpu
	s.total = time.Since(t0)
	return s
}

// run: the runtime's foreground `run` (it creates, starts, waits, deletes).
func (l *lc) run(rt namedPath) (s sample) {
	id := l.id(rt.name)
	s.total, s.rssCLI, s.cpu, s.err = l.invokeCPU(rt, "run", "--bundle", l.bundle, id)
	if s.err != nil {
		l.invoke(rt, "delete", "-f", id)
	}
	return s
}

// reapStray reaps orphans that were reparented to us and already exited;
// only called when nothing of ours runs.
func reapStray() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// lifecycle runs the lifecycle benchmarks and appends raw rows to -out:
//
//	lane mode runtime round slot total_s create_s start_s wait_s delete_s rss_cli_kb rss_init_kb ok cpu_s
//
// cpu_s: user + system CPU time of the runtime invocations, the processes
// they waited for, and the container's init (its runtime part and `true`).
// mode is seq (create/start/wait/delete one at a time), run (foreground
// `run`, one at a time), par (P lifecycles at once; one row each) or
// parround (the wall time of a whole round of P in total_s).
// Runtimes are interleaved (and their order rotated) in every iteration, so
// that load from other users of the machine hits all of them alike.
func lifecycle(args []string) error {
	fs := flag.NewFlagSet("lifecycle", flag.ExitOnError)
	var rts runtimeFlag
	fs.Var(&rts, "rt", "NAME=PATH of a runtime (repeatable)")
	bundle := fs.String("bundle", "", "bundle whose process exits at once")
	state := fs.String("state", "", "directory for the runtimes' --root dirs")
	lane := fs.String("lane", "host", "label of where this runs")
	seqN := fs.Int("seq", 100, "sequential create/start/wait/delete per runtime")
	runN := fs.Int("run", 0, "sequential foreground `run` per runtime")
	par := fs.Int("par", 10, "containers per parallel round")
	rounds := fs.Int("rounds", 10, "parallel rounds per runtime")
	warm := fs.Int("warmup", 3, "unrecorded lifecycles per runtime first")
	out := fs.String("out", "", "raw results file (appended)")
	fs.Parse(args)
	if len(rts) == 0 || *bundle == "" || *state == "" || *out == "" {
		return errors.New("need -rt, -bundle, -state and -out")
	}
	// PR_SET_CHILD_SUBREAPER: the inits `create` leaves behind become our
	// children, so we can wait for them exactly as a shim does.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36, 1, 0); e != 0 {
		return fmt.Errorf("PR_SET_CHILD_SUBREAPER: %v", e)
	}
	if err := os.MkdirAll(*state, 0o700); err != nil {
		return err
	}
	o, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer o.Close()
	errLog, err := os.OpenFile(filepath.Join(*state, "errors.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	l := &lc{bundle: *bundle, state: *state, errLog: errLog, devnull: devnull}
	failures := 0
	emit := func(mode, rt string, round, slot int, s sample) {
		ok := 1
		if s.err != nil {
			ok = 0
			failures++
			fmt.Fprintf(os.Stderr, "lifecycle %s %s: %v\n", mode, rt, s.err)
		}
		fmt.Fprintf(o, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", *lane, mode, rt, round, slot,
			secs(s.total), secs(s.create), secs(s.start), secs(s.wait), secs(s.del), s.rssCLI, s.rssInit, ok, secs(s.cpu))
	}
	order := func(i int) []namedPath {
		r := make([]namedPath, 0, len(rts))
		for k := range rts {
			r = append(r, rts[(i+k)%len(rts)])
		}
		return r
	}
	for i := 0; i < *warm; i++ {
		for _, rt := range order(i) {
			if s := l.split(rt); s.err != nil {
				return fmt.Errorf("warm-up: %v (see %s)", s.err, errLog.Name())
			}
		}
	}
	progress := func(what string, i, n int) {
		if n >= 10 && (i+1)%(n/10) == 0 {
			fmt.Fprintf(os.Stderr, "  %s %s: %d/%d\n", *lane, what, i+1, n)
		}
	}
	for i := 0; i < *seqN; i++ {
		for _, rt := range order(i) {
			emit("seq", rt.name, i, 0, l.split(rt))
		}
		reapStray()
		progress("seq", i, *seqN)
	}
	for i := 0; i < *runN; i++ {
		for _, rt := range order(i) {
			emit("run", rt.name, i, 0, l.run(rt))
		}
		reapStray()
		progress("run", i, *runN)
	}
	for r := 0; r < *rounds; r++ {
		for _, rt := range order(r) {
			res := make([]sample, *par)
			var wg sync.WaitGroup
			t0 := time.Now()
			for k := range res {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res[k] = l.split(rt)
				}()
			}
			wg.Wait()
			wall := time.Since(t0)
			for k, s := range res {
				emit("par", rt.name, r, k, s)
			}
			emit("parround", rt.name, r, 0, sample{total: wall})
			reapStray()
		}
		progress("parallel rounds", r, *rounds)
	}
	if failures > 0 {
		return fmt.Errorf("%d lifecycles failed (see %s)", failures, errLog.Name())
	}
	return nil
}
