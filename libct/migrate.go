package libct

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/migwire"
)

// Destination is the host a container migrates to, reached with OpenSSH:
// ssh://[user@]host[:port]. rt opens no port of its own; ssh carries the
// checkpoint, and rt on the destination is started through it.
type Destination struct {
	User string
	Host string
	Port int // 0: ssh's default
}

var (
	destHostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$`)
	destUserRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// ParseDestination reads ssh://[user@]host[:port].
func ParseDestination(s string) (Destination, error) {
	bad := func(why string) (Destination, error) {
		return Destination{}, fmt.Errorf("destination %q: %s (want ssh://[user@]host[:port])", s, why)
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	if u.Scheme != "ssh" {
		return bad("not an ssh:// URL")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return bad("a path, query or fragment is not allowed")
	}
	if _, hasPass := u.User.Password(); hasPass {
		return bad("passwords are not taken: use ssh keys or ssh-agent")
	}
	d := Destination{User: u.User.Username()}
	if d.User != "" && !destUserRE.MatchString(d.User) {
		return bad("invalid user name")
	}
	host, port := u.Host, ""
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
		host, port = host[:i], host[i+1:]
	}
	if host == "" || !destHostRE.MatchString(host) {
		return bad("invalid host name")
	}
	d.Host = strings.Trim(host, "[]")
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return bad("invalid port")
		}
		d.Port = p
	}
	return d, nil
}

func (d Destination) String() string {
	s := "ssh://"
	if d.User != "" {
		s += d.User + "@"
	}
	if strings.Contains(d.Host, ":") {
		s += "[" + d.Host + "]"
	} else {
		s += d.Host
	}
	if d.Port != 0 {
		s += ":" + strconv.Itoa(d.Port)
	}
	return s
}

// command is ssh (or rsh, which replaces "ssh" and may add arguments of
// its own) running argv on d. ssh joins its arguments into one remote
// shell line, so each is quoted.
func (d Destination) command(rsh []string, argv ...string) *exec.Cmd {
	if len(rsh) == 0 {
		rsh = []string{"ssh"}
	}
	args := append(rsh[1:len(rsh):len(rsh)], "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6")
	if d.Port != 0 {
		args = append(args, "-p", strconv.Itoa(d.Port))
	}
	target := d.Host
	if d.User != "" {
		target = d.User + "@" + d.Host
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = shellQuote(a)
	}
	args = append(args, "--", target, strings.Join(quoted, " "))
	return exec.Command(rsh[0], args...)
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// MigrateRequest moves container ID to another host.
type MigrateRequest struct {
	ID      string
	Dest    Destination
	Options ckpt.Options // the checkpoint's options (--tcp-established, ...)
	// On the destination; empty: the same as here.
	DestID     string
	DestBundle string
	DestRoot   string
	DestRt     string // rt's path there; empty: this binary's path
	Stats      io.Writer
	// Rsh replaces "ssh" (with its arguments before the destination),
	// as rsync's --rsh does.
	Rsh []string
	// CopyBundle: send the bundle (config.json and the rootfs, while the
	// container runs) to a destination path that does not exist yet;
	// with RootfsBase (a directory both hosts hold, equal), the rootfs as
	// its changes to it.
	CopyBundle bool
	RootfsBase string
	// Lazy: post-copy. The final dump leaves the pages the rounds did
	// not carry here; the destination runs the container at once and
	// fetches them, on demand and in the background, through the session.
	Lazy bool
	// NoPreCopy: --pre-copy=false (the default is on where soft-dirty
	// works).
	NoPreCopy bool
}

// MigrateStats is what --print-stats prints: the phases, in milliseconds.
type MigrateStats struct {
	Destination string           `json:"destination"`
	ID          string           `json:"id"`
	DestID      string           `json:"destinationId"`
	PreflightMs int64            `json:"preflightMs"`
	BundleBytes int64            `json:"bundleBytes,omitempty"`
	BundleMs    int64            `json:"bundleMs,omitempty"`
	PreCopy     []MigrateRoundSt `json:"preCopyRounds,omitempty"`
	DumpMs      int64            `json:"dumpMs"`     // from the freeze until the final archive is written
	TransferMs  int64            `json:"transferMs"` // sending the final archive and restoring there
	ArchiveSize int64            `json:"archiveBytes"`
	FrozenAtMs  int64            `json:"frozenAtMs"`           // from the start until the freeze
	FrozenMs    int64            `json:"frozenMs"`             // from the freeze until the destination runs it
	PostCopyMs  int64            `json:"postCopyMs,omitempty"` // --lazy: from the commit until every page is there
	TotalMs     int64            `json:"totalMs"`
	DestPid     int              `json:"destinationPid"`
}

// MigrateRoundSt is one pre-copy round as sent.
type MigrateRoundSt struct {
	N      int   `json:"n"`
	Bytes  int64 `json:"bytes"`
	SendMs int64 `json:"sendMs"`
}

// Migrate moves container req.ID to req.Dest over one ssh session to `rt
// migrate-receive` there (see the protocol in migratereceive.go): the
// destination says whether it can take the container before anything is
// frozen; pre-copy rounds go while the container runs (when the kernel
// tracks dirty memory); then the container is frozen, dumped, and the
// final archive sent and restored there. Only when the destination has
// the container (restored, and thawed on our commit) is it deleted here;
// any failure before that thaws it here and the destination removes what
// it made.
func (o *Runtime) Migrate(req MigrateRequest) error {
	start := time.Now()
	st := MigrateStats{Destination: req.Dest.String(), ID: req.ID, DestID: req.DestID}
	fail := func(err error) error { return fmt.Errorf("migrate %s to %s: %w", req.ID, req.Dest, err) }
	if err := ValidateID(req.ID); err != nil {
		return fail(err)
	}
	if req.Options.ImagePath() != "" || req.Options.PartialDump() != "" {
		return fail(errors.New("--image-path, --pre-dump, --parent-path, --lazy-pages and --page-server are not taken by migrate: it chooses them itself"))
	}
	state, err := o.State(req.ID)
	if err != nil {
		return fail(err)
	}
	if state.Status != "running" {
		return fail(fmt.Errorf("the container is %s; only a running container migrates", state.Status))
	}
	if st.DestID == "" {
		st.DestID = req.ID
	}
	hello := migrateHello{ID: st.DestID, CopyBundle: req.CopyBundle || req.RootfsBase != "", Lazy: req.Lazy}
	if req.RootfsBase != "" {
		// The digest is taken here, before anything is frozen; the
		// destination compares its own copy's.
		if hello.BaseDir, err = filepath.Abs(req.RootfsBase); err != nil {
			return fail(err)
		}
		base, err := ckpt.IndexTree(hello.BaseDir)
		if err != nil {
			return fail(fmt.Errorf("--rootfs-base: %w", err))
		}
		hello.BaseDigest = base.Digest()
	}
	if req.DestBundle == "" {
		req.DestBundle = state.Bundle
	}
	hello.Bundle = req.DestBundle
	hello.CPUInfo = dumpCPUInfo(o.CriuPath)
	if req.DestRoot == "" {
		req.DestRoot = o.Root
	}
	if req.DestRt == "" {
		if req.DestRt, err = os.Executable(); err != nil {
			return fail(err)
		}
	}
	opts := req.Options.Clone()
	if _, set := opts.Get(ckpt.Lookup("pre-copy")); !set && !req.NoPreCopy {
		// Pre-copy by default where the kernel can track dirty pages.
		if err := softDirtyProbe(); err != nil {
			logrus.Infof("migrate %s: no pre-copy (%v): the whole memory is copied while it is frozen", req.ID, err)
		} else {
			opts.SetPreCopy(true)
		}
	}
	// As the checkpoint will see it: with the defaults of the
	// configuration file and the container's annotations.
	tcpEstablished := false
	if eff, err := opts.WithDefaults(state.Annotations); err == nil {
		v, _ := eff.Get(ckpt.Lookup("tcp-established"))
		tcpEstablished = v == true
	}
	// The network lock (netlock.go), decided before anything is frozen.
	rtLock, err := migrateNetLock(state.Bundle, req.ID, req.Lazy, tcpEstablished)
	if err != nil {
		return fail(err)
	}
	remoteArgs := func(args ...string) []string {
		argv := []string{req.DestRt, "--root", req.DestRoot}
		if logrus.IsLevelEnabled(logrus.DebugLevel) {
			argv = append(argv, "--debug")
		}
		return append(argv, args...)
	}

	s, err := startSession(req.Dest.command(req.Rsh, remoteArgs("migrate-receive")...))
	if err != nil {
		return fail(err)
	}
	// unlockNet removes the network lock of a container that runs on
	// here: rt's, or the one a failed lazy dump left.
	unlockNet := func() {
		unlock := unlockNetwork
		if req.Lazy {
			unlock = unlockCriuNetwork
		}
		if !tcpEstablished || !req.Lazy && !rtLock {
			return
		}
		if err := unlock(state.InitProcessPid); err != nil {
			logrus.Errorf("migrate %s: the container runs on here, but %v", req.ID, err)
		}
	}
	frozen := false
	// abandon ends the session after a failure: it waits for the
	// destination to clean up, thaws the container here if it was frozen,
	// and says what happened.
	abandon := func(cause error) error {
		if !s.end() {
			// The destination's rt may have been killed before it could
			// clean up: ask another one to.
			if out, err := req.Dest.command(req.Rsh, remoteArgs("migrate-receive", "--abort", "--id", st.DestID)...).CombinedOutput(); err != nil {
				logrus.Warnf("migrate %s: cleaning up on the destination: %v: %s", req.ID, err, strings.TrimSpace(string(out)))
			}
		}
		cause = s.explain(cause)
		if !frozen {
			return fail(fmt.Errorf("%w (the container runs on here)", cause))
		}
		if err := o.Resume(req.ID); err != nil {
			return fail(fmt.Errorf("%w; and thawing the container here failed too: %v", cause, err))
		}
		unlockNet()
		return fail(fmt.Errorf("%w (the container was thawed and runs on here)", cause))
	}

	// 1. Can the destination take it? Nothing is frozen yet.
	t := time.Now()
	logrus.Debugf("migrate %s: asking %s whether it can restore it as %s", req.ID, req.Dest, st.DestID)
	helloData, _ := json.Marshal(hello)
	if err := s.conn.Send(migwire.Message{Op: opHello, Data: helloData}); err != nil {
		return abandon(fmt.Errorf("the destination cannot take it (nothing was frozen): %w", err))
	}
	if _, err := s.conn.Expect(opReady); err != nil {
		return abandon(fmt.Errorf("the destination cannot take it (nothing was frozen): %w", err))
	}
	st.PreflightMs = time.Since(t).Milliseconds()

	// 2. The bundle, while the container runs: the final dump carries
	// only what changed in the rootfs since.
	var rootfsSent ckpt.TreeIndex
	if hello.CopyBundle {
		t := time.Now()
		logrus.Debugf("migrate %s: sending the bundle to %s", req.ID, req.DestBundle)
		var err error
		if rootfsSent, st.BundleBytes, err = sendBundle(s.conn, state, hello.BaseDir); err != nil {
			return abandon(fmt.Errorf("sending the bundle: %w", err))
		}
		st.BundleMs = time.Since(t).Milliseconds()
	}

	// 3. Pre-copy rounds, streamed while the container runs; then the
	// freeze and the final dump, leaving it frozen here.
	work, err := os.MkdirTemp("", "rt-migrate-")
	if err != nil {
		return abandon(err)
	}
	defer os.RemoveAll(work)
	opts.SetImagePath(filepath.Join(work, "images"))
	opts.SetWorkPath(filepath.Join(work, "work"))
	if !req.Lazy {
		// A failed migration thaws it; a post-copy dump ends it only
		// once its pages are copied.
		if err := opts.Set(ckpt.Lookup("leave-running"), true); err != nil {
			return abandon(err)
		}
	}
	archive := filepath.Join(work, "checkpoint.tar")
	var frozenAt time.Time
	sendRound := func(n int, dir string) error {
		t := time.Now()
		logrus.Debugf("migrate %s: sending pre-copy round %d", req.ID, n)
		if err := s.conn.Send(migwire.Message{Op: opRound, N: n}); err != nil {
			return err
		}
		var size int64
		err := s.conn.SendStream(func(w io.Writer) error {
			cw := &countingWriter{w: w}
			tw := tar.NewWriter(cw)
			if _, err := ckpt.WriteTreeChanges(tw, dir, "", nil); err != nil {
				return err
			}
			err := tw.Close()
			size = cw.n
			return err
		})
		if err != nil {
			return fmt.Errorf("sending it: %w", err)
		}
		if _, err := s.conn.Expect(opOK); err != nil {
			return fmt.Errorf("the destination: %w", err)
		}
		st.PreCopy = append(st.PreCopy, MigrateRoundSt{N: n, Bytes: size, SendMs: time.Since(t).Milliseconds()})
		return nil
	}
	var sendStart time.Time
	sendFinal := func() error {
		sendStart = time.Now()
		st.DumpMs = sendStart.Sub(frozenAt).Milliseconds()
		if fi, err := os.Stat(archive); err == nil {
			st.ArchiveSize = fi.Size()
		}
		logrus.Debugf("migrate %s: sending the final dump (%d bytes)", req.ID, st.ArchiveSize)
		if err := s.conn.Send(migwire.Message{Op: opFinal}); err != nil {
			return fmt.Errorf("sending the final dump: %w", err)
		}
		if err := s.conn.SendStream(func(w io.Writer) error {
			f, err := os.Open(archive)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		}); err != nil {
			return fmt.Errorf("sending the final dump: %w", err)
		}
		return nil
	}
	// commitUnknown: commit was sent, but not confirmed; copyFailed: the
	// destination ran it, but a post-copy did not complete.
	var commitUnknown, copyFailed bool
	var restored migwire.Message
	// restoreThere has the destination restore the final dump and, once
	// it says it did, commits.
	restoreThere := func() error {
		m, err := s.conn.Expect(opRestored)
		if err != nil {
			return fmt.Errorf("the destination did not restore it: %w", err)
		}
		st.TransferMs = time.Since(sendStart).Milliseconds()
		st.DestPid, restored = m.Pid, m
		// From the moment commit is sent, this side must not thaw:
		// unless "committed" comes back, it cannot know which side has
		// the container.
		logrus.Debugf("migrate %s: restored on %s as pid %d; committing", req.ID, req.Dest, m.Pid)
		if err := s.conn.Send(migwire.Message{Op: opCommit}); err == nil {
			_, err = s.conn.Expect(opCommitted)
		}
		if err != nil {
			commitUnknown = true
			return err
		}
		st.FrozenMs = time.Since(frozenAt).Milliseconds()
		return nil
	}
	var postCopy func(string, *net.TCPConn) (bool, error)
	if req.Lazy {
		postCopy = func(_ string, ps *net.TCPConn) (bool, error) {
			if err := sendFinal(); err != nil {
				return false, err
			}
			relay := relayPageServer(ps, s.conn)
			s.conn.Demux()
			if err := restoreThere(); err != nil {
				return commitUnknown, err
			}
			// It runs there, and fetches from here what it lacks.
			t := time.Now()
			logrus.Debugf("migrate %s: running on %s; serving its missing pages", req.ID, req.Dest)
			if _, err := s.conn.Expect(opCopied); err != nil {
				copyFailed = true
				return true, err
			}
			st.PostCopyMs = time.Since(t).Milliseconds()
			if err := relay.complete(); err != nil {
				copyFailed = true
				return true, fmt.Errorf("ending CRIU's page server: %w", err)
			}
			return false, nil
		}
	}
	err = o.Checkpoint(CheckpointRequest{ID: req.ID, Options: opts,
		// Uncompressed: ssh moves it at once, and zstd on a busy
		// 2-CPU host lengthened the freeze more than it saved.
		Export:         &ckpt.ExportOptions{Path: archive, Compression: ckpt.CompressNone, SkipPreCopy: true, RootfsSince: rootfsSent},
		AfterRound:     sendRound,
		FreezeForFinal: true,
		Frozen: func() error {
			frozen, frozenAt = true, time.Now()
			if rtLock {
				return lockNetwork(state.InitProcessPid)
			}
			return nil
		},
		PostCopy:  postCopy,
		NoPreCopy: req.NoPreCopy,
	})
	if err != nil && (commitUnknown || copyFailed) {
		s.end()
		if commitUnknown {
			return fail(s.commitUnknown(err, req, st.DestID))
		}
		var re *migwire.RemoteError
		if errors.As(err, &re) {
			unlockNet()
			return fail(fmt.Errorf("%w: it ran on %s as %s, but the copy of its memory did not complete, so it was stopped there; it is left frozen here, as it was at the freeze: rt resume %s here to go on from that state (what it did there since is lost), or rt delete -f %s", s.explain(err), req.Dest, st.DestID, req.ID, req.ID))
		}
		return fail(fmt.Errorf("%w: it ran on %s as %s, but the end of the copy of its memory was not confirmed; it is left frozen here, as it was at the freeze. If it still runs there, it has all its memory: rt delete -f %s here. If it was stopped there (its memory was incomplete), rt resume %s here goes on from the state of the freeze (what it did there since is lost)", s.explain(err), req.Dest, st.DestID, req.ID, req.ID))
	}
	if err != nil {
		unlockNet()
		if frozen {
			// Checkpoint thawed it when the dump failed; a failed export
			// leaves it frozen. Resume tells which.
			if s, e := o.State(req.ID); e == nil && s.Status == "running" {
				frozen = false
			}
		}
		return abandon(err)
	}
	st.FrozenAtMs = frozenAt.Sub(start).Milliseconds()
	if !req.Lazy {
		_ = os.RemoveAll(filepath.Join(work, "images"))
		// 4. Send it; the destination restores it, frozen, and
		// answers; then commit: the destination thaws its copy.
		if err := sendFinal(); err != nil {
			return abandon(err)
		}
		if err := restoreThere(); err != nil {
			if commitUnknown {
				s.end()
				return fail(s.commitUnknown(err, req, st.DestID))
			}
			return abandon(err)
		}
	}
	s.end()

	// 5. It runs there: remove it here (a post-copy dump has already
	// ended it).
	logrus.Debugf("migrate %s: running on %s as %s (pid %d); deleting it here", req.ID, req.Dest, st.DestID, restored.Pid)
	if !req.Lazy {
		if err := o.Delete(req.ID, true); err != nil {
			return fail(fmt.Errorf("it runs on the destination, but deleting it here failed (it is frozen here; delete it with rt delete -f %s): %w", req.ID, err))
		}
	}
	st.TotalMs = time.Since(start).Milliseconds()
	if req.Stats != nil {
		enc := json.NewEncoder(req.Stats)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return nil
}

// migrateNetLock decides, for --tcp-established, whether rt locks the
// container's network itself from the freeze on (see netlock.go), and
// refuses what it cannot make safe.
func migrateNetLock(bundle, id string, lazy, tcpEstablished bool) (bool, error) {
	if !tcpEstablished {
		return false, nil
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return false, err
	}
	if !hasNetns(spec) {
		if lazy {
			// A failed lazy dump leaves CRIU's lock in place: rt
			// removes it in a namespace of the container's, not
			// connection by connection in the host's.
			return false, errors.New("--lazy --tcp-established needs the container in a network namespace of its own (it shares the host's): nothing was frozen")
		}
		logrus.Warnf("migrate %s: --tcp-established in the host's network namespace: data that reaches this host between the final dump and the commit is acknowledged here and lost; see rt-migrate(8)", id)
		return false, nil
	}
	// Without --lazy, CRIU unlocks after the final dump; a namespace joined
	// by path outlives the container, and rt keeps it locked. (A private
	// one goes with the container.)
	return !lazy && joinsNetns(spec), nil
}

// commitUnknown says what to do when commit was sent but "committed" did
// not come back.
func (s *session) commitUnknown(err error, req MigrateRequest, destID string) error {
	return fmt.Errorf("%w: the commit was sent but not confirmed, so the container may run on %s as %s or not: it is left frozen here; if it runs there, rt delete -f %s here, else rt resume %s here", s.explain(err), req.Dest, destID, req.ID, req.ID)
}

// sendBundle sends the container's config.json (its root as "rootfs")
// and its rootfs (all of it, or its changes to base), then the paths of
// base it no longer has. It returns the index of the rootfs as sent.
func sendBundle(conn *migwire.Conn, state *ContainerState, base string) (ckpt.TreeIndex, int64, error) {
	spec, err := LoadSpec(state.Bundle)
	if err != nil {
		return nil, 0, err
	}
	if spec.Root == nil {
		return nil, 0, fmt.Errorf("bundle %s: config.json has no root", state.Bundle)
	}
	spec.Root.Path = "rootfs"
	config, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return nil, 0, err
	}
	var baseIdx ckpt.TreeIndex
	if base != "" {
		if baseIdx, err = ckpt.IndexTree(base); err != nil {
			return nil, 0, err
		}
	}
	if err := conn.Send(migwire.Message{Op: opBundle}); err != nil {
		return nil, 0, err
	}
	var sent ckpt.TreeIndex
	var size int64
	err = conn.SendStream(func(w io.Writer) error {
		cw := &countingWriter{w: w}
		tw := tar.NewWriter(cw)
		if err := tw.WriteHeader(&tar.Header{Name: "config.json", Mode: 0o644, Size: int64(len(config)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(config); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "rootfs/", Mode: 0o755, ModTime: time.Now(), Typeflag: tar.TypeDir}); err != nil {
			return err
		}
		var err error
		if sent, err = ckpt.WriteTreeChanges(tw, state.Rootfs, "rootfs", baseIdx); err != nil {
			return err
		}
		err = tw.Close()
		size = cw.n
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	deleted, _ := json.Marshal(sent.DeletedSince(baseIdx))
	if err := conn.Send(migwire.Message{Op: opDeleted, Data: deleted}); err != nil {
		return nil, 0, err
	}
	if _, err := conn.Expect(opOK); err != nil {
		return nil, 0, err
	}
	return sent, size, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// session is the ssh process running rt migrate-receive and the wire to it.
type session struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	conn   *migwire.Conn
	stderr *tailBuffer
	done   chan error
	ended  bool
	exit   error
}

func startSession(cmd *exec.Cmd) (*session, error) {
	s := &session{cmd: cmd, stderr: &tailBuffer{max: 8 << 10}, done: make(chan error, 1)}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.Path, err)
	}
	s.stdin = stdin
	s.conn = migwire.New(stdout, stdin)
	go func() { s.done <- cmd.Wait() }()
	return s, nil
}

// end closes the wire and waits for ssh to exit (the destination has
// cleaned up by then). It reports whether the destination's rt ended by
// itself; false when ssh had to be killed or died of a signal.
func (s *session) end() bool {
	if s.ended {
		return s.exit == nil || exitCode(s.exit) == 1
	}
	s.ended = true
	_ = s.stdin.Close()
	select {
	case s.exit = <-s.done:
	case <-time.After(commitWait + 30*time.Second):
		_ = s.cmd.Process.Kill()
		s.exit = <-s.done
		return false
	}
	// rt exits 1 on an error it reported; ssh exits 255 when the
	// connection failed.
	return s.exit == nil || exitCode(s.exit) == 1
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// explain adds to cause what the destination said on stderr, unless cause
// already holds it.
func (s *session) explain(cause error) error {
	var re *migwire.RemoteError
	if errors.As(cause, &re) {
		return fmt.Errorf("%w (on the destination)", cause)
	}
	if isConnErr(cause) {
		cause = fmt.Errorf("%w: the connection to the destination ended", cause)
	}
	msg := s.stderr.lastLines(5)
	if msg == "" {
		if s.exit != nil {
			return fmt.Errorf("%w (ssh: %v)", cause, s.exit)
		}
		return cause
	}
	return fmt.Errorf("%w; the destination said: %s", cause, msg)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			logrus.Debugf("destination: %s", strings.TrimRight(line, "\n"))
		}
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// lastLines is the last n lines written, each log record ("time=...
// level=error msg=...") reduced to its message.
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if m := logMsgRE.FindStringSubmatch(l); m != nil {
			if msg, err := strconv.Unquote(m[1]); err == nil {
				lines[i] = msg
			}
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

var logMsgRE = regexp.MustCompile(`^time=\S+ level=\w+ msg=("(?:[^"\\]|\\.)*")`)

// isConnErr: writing to or reading from ssh failed because it is gone.
func isConnErr(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
