package libct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rt-runtime/rt/libct/ckpt"
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

// sshCommand is ssh running argv on d. ssh joins its arguments into one
// remote shell line, so each is quoted.
func (d Destination) sshCommand(argv ...string) *exec.Cmd {
	args := []string{"-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6"}
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
	return exec.Command("ssh", args...)
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
}

// MigrateStats is what --print-stats prints: the phases, in milliseconds.
type MigrateStats struct {
	Destination string `json:"destination"`
	ID          string `json:"id"`
	DestID      string `json:"destinationId"`
	PreflightMs int64  `json:"preflightMs"`
	DumpMs      int64  `json:"dumpMs"`
	TransferMs  int64  `json:"transferMs"` // sending the archive and restoring there
	ArchiveSize int64  `json:"archiveBytes"`
	FrozenMs    int64  `json:"frozenMs"` // from the freeze until the destination runs it
	TotalMs     int64  `json:"totalMs"`
	DestPid     int    `json:"destinationPid"`
}

// Migrate moves container req.ID to req.Dest: it asks the destination
// whether it can take the container (before anything is frozen), freezes
// the container, checkpoints it leaving it frozen, streams the checkpoint
// and the rootfs changes over ssh to `rt migrate-receive` there, which
// restores it. Only when the destination reports the container running is
// it deleted here; any failure before that thaws it and leaves it running
// here as it was (the destination removes what it made).
func (o *Runtime) Migrate(req MigrateRequest) error {
	start := time.Now()
	st := MigrateStats{Destination: req.Dest.String(), ID: req.ID, DestID: req.DestID}
	fail := func(err error) error { return fmt.Errorf("migrate %s to %s: %w", req.ID, req.Dest, err) }
	if err := ValidateID(req.ID); err != nil {
		return fail(err)
	}
	if req.Options.ImagePath() != "" || req.Options.PartialDump() != "" || req.Options.PreCopy() {
		return fail(errors.New("--image-path, --pre-dump, --parent-path, --lazy-pages, --page-server and --pre-copy are not taken by migrate"))
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
	if req.DestBundle == "" {
		req.DestBundle = state.Bundle
	}
	if req.DestRoot == "" {
		req.DestRoot = o.Root
	}
	if req.DestRt == "" {
		if req.DestRt, err = os.Executable(); err != nil {
			return fail(err)
		}
	}
	remote := func(args ...string) *exec.Cmd {
		argv := append([]string{req.DestRt, "--root", req.DestRoot}, args...)
		return req.Dest.sshCommand(argv...)
	}

	// 1. Can the destination take it? Nothing is frozen yet.
	t := time.Now()
	logrus.Debugf("migrate %s: asking %s whether it can restore it as %s", req.ID, req.Dest, st.DestID)
	if out, err := runRemote(remote("migrate-receive", "--check", "--id", st.DestID, "--bundle", req.DestBundle), nil); err != nil {
		return fail(fmt.Errorf("the destination cannot take it (nothing was frozen): %w%s", err, out))
	}
	st.PreflightMs = time.Since(t).Milliseconds()

	// 2. Freeze, and dump leaving the processes frozen here.
	work, err := os.MkdirTemp("", "rt-migrate-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	frozen := time.Now()
	if err := o.Pause(req.ID); err != nil {
		return fail(fmt.Errorf("freeze: %w", err))
	}
	thaw := func(cause error) error {
		if err := o.Resume(req.ID); err != nil {
			return fail(fmt.Errorf("%w; and thawing the container here failed too: %v", cause, err))
		}
		return fail(fmt.Errorf("%w (the container runs on here)", cause))
	}
	opts := req.Options.Clone()
	opts.SetImagePath(filepath.Join(work, "images"))
	opts.SetWorkPath(filepath.Join(work, "work"))
	if err := opts.Set(ckpt.Lookup("leave-running"), true); err != nil {
		return thaw(err)
	}
	archive := filepath.Join(work, "checkpoint.tar.zst")
	t = time.Now()
	logrus.Debugf("migrate %s: checkpoint into %s", req.ID, work)
	if err := o.Checkpoint(CheckpointRequest{ID: req.ID, Options: opts,
		Export: &ckpt.ExportOptions{Path: archive, Compression: "zstd"}}); err != nil {
		return thaw(err)
	}
	st.DumpMs = time.Since(t).Milliseconds()
	if fi, err := os.Stat(archive); err == nil {
		st.ArchiveSize = fi.Size()
	}
	// The images are in the archive; the copy of them goes now.
	_ = os.RemoveAll(filepath.Join(work, "images"))

	// 3. Send it; the destination restores it and answers "running PID".
	t = time.Now()
	logrus.Debugf("migrate %s: sending %d bytes to %s", req.ID, st.ArchiveSize, req.Dest)
	f, err := os.Open(archive)
	if err != nil {
		return thaw(err)
	}
	out, err := runRemote(remote("migrate-receive", "--id", st.DestID, "--bundle", req.DestBundle), f)
	f.Close()
	if err != nil {
		return thaw(fmt.Errorf("the destination did not restore it: %w%s", err, out))
	}
	// The destination's rt exited 0: the container runs there, so from
	// here on it must not be thawed here (two copies would run).
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "running %d", &pid); err != nil {
		logrus.Warnf("migrate %s: the destination restored it but answered %q", req.ID, strings.TrimSpace(out))
	}
	st.TransferMs = time.Since(t).Milliseconds()
	st.FrozenMs = time.Since(frozen).Milliseconds()
	st.DestPid = pid

	// 4. It runs there: remove it here.
	logrus.Debugf("migrate %s: running on %s as %s (pid %d); deleting it here", req.ID, req.Dest, st.DestID, pid)
	if err := o.Delete(req.ID, true); err != nil {
		return fail(fmt.Errorf("it runs on the destination, but deleting it here failed (it is frozen here; delete it with rt delete -f %s): %w", req.ID, err))
	}
	st.TotalMs = time.Since(start).Milliseconds()
	if req.Stats != nil {
		enc := json.NewEncoder(req.Stats)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return nil
}

// runRemote runs cmd with stdin; it returns stdout, or on failure an error
// and ": " + what the remote side wrote to stderr (its last lines).
func runRemote(cmd *exec.Cmd, stdin io.Reader) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			msg = ": " + msg
		}
		return msg, err
	}
	return stdout.String(), nil
}

// MigrateCheck is the destination's side of the preflight: id must be
// free, the bundle present, and CRIU working here.
func (o *Runtime) MigrateCheck(id, bundle string) error {
	if err := o.checkMigrateTarget(id, bundle); err != nil {
		return err
	}
	if r := Check(o.CriuPath, ""); !r.OK() {
		return fmt.Errorf("CRIU cannot restore on this host: %s (%s)", r.Problem, r.Fix)
	}
	return nil
}

// checkMigrateTarget: id is free and the bundle is here.
func (o *Runtime) checkMigrateTarget(id, bundle string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if _, err := os.Stat(o.StateDir(id)); err == nil {
		return fmt.Errorf("container %s exists on this host (%s): choose another --dest-id", id, o.StateDir(id))
	}
	for _, p := range []string{filepath.Join(bundle, "config.json"), filepath.Join(bundle, "rootfs")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("the bundle is missing here: %w (copy the bundle, or name it with --dest-bundle)", err)
		}
	}
	return nil
}

// MigrateReceive is the destination's side: it takes the archive from r
// and restores it as container id from bundle, detached. It returns the
// pid of the container's init; on failure, nothing of the container is
// left (Restore's promise). CRIU was checked by the preflight: running
// criu check again here would add seconds to the source's frozen time.
func (o *Runtime) MigrateReceive(id, bundle string, r io.Reader) (int, error) {
	if err := o.checkMigrateTarget(id, bundle); err != nil {
		return -1, err
	}
	f, err := os.CreateTemp("", "rt-migrate-in-*.tar.zst")
	if err != nil {
		return -1, err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return -1, fmt.Errorf("receiving the checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return -1, fmt.Errorf("receiving the checkpoint: %w", err)
	}
	if _, err := o.Restore(RestoreRequest{
		Start:  StartRequest{ID: id, Bundle: bundle, Detach: true, Action: ActRestore},
		Import: f.Name(),
	}); err != nil {
		return -1, err
	}
	st, err := o.State(id)
	if err != nil {
		return -1, fmt.Errorf("restored, but its state cannot be read: %w", err)
	}
	return st.InitProcessPid, nil
}
