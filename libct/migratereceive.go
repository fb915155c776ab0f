package libct

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/migwire"
)

// The conversation of rt migrate (source) and rt migrate-receive
// (destination) over one ssh session, in migwire frames:
//
//	source                          destination
//	hello {id, bundle}        ->
//	                          <-    ready | error   (nothing frozen yet)
//	[bundle + stream, deleted ->                    (--copy-bundle)
//	                          <-    ok | error]
//	round n + stream          ->                    (pre-copy, running)
//	                          <-    ok | error
//	final + stream            ->                    (frozen from here)
//	                          <-    restored {pid} | error
//	commit                    ->
//	                          <-    committed | error
//	                          <-    copied | error  (--lazy: every page here)
//
// With --lazy (post-copy) the final dump leaves the pages the rounds did
// not carry in the source's frozen processes. From "final" on, the
// session also carries the byte channel between the source's CRIU page
// server and the destination's lazy-pages daemon (postcopy.go), which
// fetches them while the restored container runs. Only after "copied"
// does the source let CRIU end its frozen processes; if the copy fails
// after the commit, the destination's copy is killed (its memory is
// incomplete) and the source's stays frozen, for the operator to resume
// (back to the state of the freeze) or delete.
//
// The destination restores the container and freezes it at once: it
// thaws it only on "commit", which the source sends only once it knows the
// restore worked. So one copy at most ever runs. Until "commit" arrives,
// the end of the stream (the source died, ssh was cut) or an error makes
// the destination remove everything it made; after "committed" the source
// deletes its frozen copy. If "commit" was sent but "committed" never came
// back, the source cannot know which side has the container: it leaves its
// copy frozen and says so.
const (
	opHello     = "hello"
	opReady     = "ready"
	opBundle    = "bundle"
	opDeleted   = "deleted"
	opRound     = "round"
	opOK        = "ok"
	opFinal     = "final"
	opRestored  = "restored"
	opCommit    = "commit"
	opCommitted = "committed"
	opCopied    = "copied"
	opError     = "error"
)

// migrateHello is the first message's data.
type migrateHello struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// CopyBundle: the source sends the bundle (config.json and the
	// rootfs), which must not exist here; with BaseDir, the rootfs as
	// changes to that directory, which must hold the same tree here
	// (BaseDigest, ckpt.TreeIndex.Digest).
	CopyBundle bool   `json:"copyBundle,omitempty"`
	BaseDir    string `json:"baseDir,omitempty"`
	BaseDigest string `json:"baseDigest,omitempty"`
	// CPUInfo is the source's `criu cpuinfo dump` image: the destination
	// checks with `criu cpuinfo check`, as CRIU's restore would, that its
	// CPU has what the container may use.
	CPUInfo []byte `json:"cpuInfo,omitempty"`
	// Lazy: post-copy; the destination needs userfaultfd.
	Lazy bool `json:"lazy,omitempty"`
}

// commitWait bounds the wait for "commit" once the container is restored
// (and frozen) here: a source that went silent (a network cut ssh has not
// noticed yet) must not keep it forever.
var commitWait = 2 * time.Minute

// migrateInDir holds one record per migration being received, named by
// the container ID. '@' is not allowed in IDs: no container can clash.
func (o *Runtime) migrateInDir() string { return filepath.Join(o.Root, "@migrate-in") }

// receiveRecord is what a receive leaves on disk while it runs, so that
// what an interrupted one made (its rt killed, the host rebooted) is
// removed by the next receive of that ID or by the source's abort.
type receiveRecord struct {
	Pid      int    `json:"pid"`
	Dir      string `json:"dir"`      // images and archive
	Bundle   string `json:"bundle"`   // a bundle this receive made
	Restored bool   `json:"restored"` // a container was restored (not committed)
	// RestoredFrom is the restored container's bundle: a container of
	// that ID made since from another bundle is not the receive's.
	RestoredFrom string `json:"restoredFrom,omitempty"`
}

type receive struct {
	o      *Runtime
	id     string
	record string
	lock   *os.File
	rec    receiveRecord
}

// startReceive takes the record of id, cleaning what an interrupted
// receive left first. It fails if another receive of id is running.
func (o *Runtime) startReceive(id string) (*receive, error) {
	if err := os.MkdirAll(o.migrateInDir(), 0o700); err != nil {
		return nil, err
	}
	r := &receive{o: o, id: id, record: filepath.Join(o.migrateInDir(), id+".json")}
	f, err := os.OpenFile(r.record, os.O_RDWR|os.O_CREATE, 0o600)
	if os.IsNotExist(err) {
		// Another receive's close removed the empty directory.
		if err = os.MkdirAll(o.migrateInDir(), 0o700); err == nil {
			f, err = os.OpenFile(r.record, os.O_RDWR|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another migration into %s is being received here", id)
	}
	r.lock = f
	var old receiveRecord
	if data, _ := io.ReadAll(f); len(data) > 0 && json.Unmarshal(data, &old) == nil {
		logrus.Warnf("migrate-receive %s: removing what an interrupted migration (pid %d) left", id, old.Pid)
		r.rec = old
		if err := r.undo(); err != nil {
			// The record stays, for the next try.
			f.Close()
			return nil, err
		}
	}
	r.rec = receiveRecord{Pid: os.Getpid()}
	return r, nil
}

func (r *receive) save() error {
	data, _ := json.Marshal(r.rec)
	if err := r.lock.Truncate(0); err != nil {
		return err
	}
	if _, err := r.lock.WriteAt(data, 0); err != nil {
		return err
	}
	return r.lock.Sync()
}

// undo removes what the receive made: a restored (uncommitted) container
// and the received images.
func (r *receive) undo() error {
	var errs []error
	if r.rec.Restored && r.rec.Pid != os.Getpid() {
		// Left by another receive: the container of that ID may have
		// been made since, by hand.
		if st, err := r.o.State(r.id); err == nil && st.Bundle != r.rec.RestoredFrom {
			logrus.Warnf("migrate-receive %s: container %s (bundle %s) is not the one an interrupted migration restored from %s: left alone", r.id, r.id, st.Bundle, r.rec.RestoredFrom)
			r.rec.Restored = false
		}
	}
	if r.rec.Restored {
		if err := r.o.Delete(r.id, true); err != nil {
			errs = append(errs, fmt.Errorf("delete the restored %s: %w", r.id, err))
		}
	}
	for _, dir := range []string{r.rec.Dir, r.rec.Bundle} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		r.rec = receiveRecord{Pid: os.Getpid()}
		_ = r.save()
	}
	return errors.Join(errs...)
}

// close drops the record: nothing is left to undo.
func (r *receive) close() {
	_ = os.Remove(r.record)
	_ = r.lock.Close()
	_ = os.Remove(r.o.migrateInDir()) // only when empty
}

// MigrateAbort removes what an interrupted receive of id left here. The
// source runs it when the session ended without an answer.
func (o *Runtime) MigrateAbort(id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(o.migrateInDir(), id+".json")); os.IsNotExist(err) {
		return nil
	}
	r, err := o.startReceive(id)
	if err != nil {
		return err
	}
	r.close()
	return nil
}

// MigrateReceive is the destination's side of rt migrate, on conn. It
// returns when the container runs here (committed) or when the migration
// failed, in which case nothing it made is left.
func (o *Runtime) MigrateReceive(conn *migwire.Conn) error {
	refuse := func(err error) error {
		_ = conn.Send(migwire.Message{Op: opError, Error: err.Error()})
		return err
	}
	m, err := conn.Expect(opHello)
	if err != nil {
		return refuse(fmt.Errorf("migrate-receive: %w", err))
	}
	var h migrateHello
	if err := json.Unmarshal(m.Data, &h); err != nil {
		return refuse(fmt.Errorf("migrate-receive: hello: %w", err))
	}
	if err := ValidateID(h.ID); err != nil {
		return refuse(err)
	}
	r, err := o.startReceive(h.ID)
	if err != nil {
		return refuse(err)
	}
	err = r.run(conn, h)
	if err != nil {
		if uerr := r.undo(); uerr != nil {
			err = fmt.Errorf("%w; and removing what was received failed: %v (rerun it with the same ID, or rt delete -f %s)", err, uerr, h.ID)
			_ = r.lock.Close()
			return refuse(err)
		}
		r.close()
		return refuse(err)
	}
	r.close()
	return nil
}

func (r *receive) run(conn *migwire.Conn, h migrateHello) error {
	o, id := r.o, h.ID
	if err := o.checkMigrateHello(h); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rt-migrate-in-")
	if err != nil {
		return err
	}
	r.rec.Dir = dir
	if err := r.save(); err != nil {
		return err
	}
	images := filepath.Join(dir, "images")
	if err := os.Mkdir(images, 0o700); err != nil {
		return err
	}
	if err := conn.Send(migwire.Message{Op: opReady}); err != nil {
		return err
	}
	known := map[string]string{}
	for {
		m, err := conn.Recv()
		if err != nil {
			return fmt.Errorf("the source went away before the final dump: %w", eofWording(err))
		}
		switch m.Op {
		case opBundle:
			if err := r.receiveBundle(conn, h); err != nil {
				return fmt.Errorf("receiving the bundle: %w", eofWording(err))
			}
			if err := conn.Send(migwire.Message{Op: opOK}); err != nil {
				return err
			}
		case opRound:
			rel := ckpt.RoundDir(m.N)
			if m.N < 1 {
				return fmt.Errorf("pre-copy round %d: not a round number", m.N)
			}
			t := time.Now()
			if err := os.MkdirAll(filepath.Join(images, rel), 0o700); err != nil {
				return err
			}
			stream := conn.RecvStream()
			err := ckpt.ExtractTar(filepath.Join(images, rel), stream, known, rel)
			if err == nil {
				// The tar ends before the stream does (its padding).
				err = migwire.Drain(stream)
			}
			if err != nil {
				return fmt.Errorf("receiving pre-copy round %d: %w", m.N, eofWording(err))
			}
			logrus.Debugf("migrate-receive %s: pre-copy round %d received in %d ms", id, m.N, time.Since(t).Milliseconds())
			if err := conn.Send(migwire.Message{Op: opOK, N: m.N}); err != nil {
				return err
			}
		case opFinal:
			return r.final(conn, h, images, known)
		default:
			return fmt.Errorf("unexpected %q from the source", m.Op)
		}
	}
}

// checkMigrateHello is the destination's preflight for h.
func (o *Runtime) checkMigrateHello(h migrateHello) error {
	if err := o.checkMigrateHelloTarget(h); err != nil {
		return err
	}
	if h.Lazy {
		if err := probeUserfaultfd(); err != nil {
			return err
		}
	}
	return checkCPUInfo(o.CriuPath, h.CPUInfo)
}

// cpuInfoFile is the name `criu cpuinfo dump` writes.
const cpuInfoFile = "cpuinfo.img"

// dumpCPUInfo is this host's `criu cpuinfo dump` image, or nil (with a
// warning) when CRIU cannot make it: the check is then left to the
// restore.
func dumpCPUInfo(criu string) []byte {
	dir, err := os.MkdirTemp("", "rt-cpuinfo-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	out, err := exec.Command(ckpt.CriuName(criu), "cpuinfo", "dump", "-D", dir).CombinedOutput()
	data, rerr := os.ReadFile(filepath.Join(dir, cpuInfoFile))
	if err != nil || rerr != nil {
		logrus.Warnf("migrate: criu cpuinfo dump: %v %s: the destination's CPU is not checked before the freeze", err, lastLine(string(out)))
		return nil
	}
	return data
}

// checkCPUInfo runs `criu cpuinfo check` on the source's image.
func checkCPUInfo(criu string, image []byte) error {
	if len(image) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "rt-cpuinfo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, cpuInfoFile), image, 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(ckpt.CriuName(criu), "cpuinfo", "check", "-D", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("this host's CPU lacks features the source's CPU has and the container may use (criu cpuinfo check: %v: %s): choose a destination with the same CPU features", err, lastLine(string(out)))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// checkMigrateHelloTarget: the ID is free, the bundle is here (or where
// --copy-bundle will make it is free), and CRIU works.
func (o *Runtime) checkMigrateHelloTarget(h migrateHello) error {
	if err := ValidateID(h.ID); err != nil {
		return err
	}
	if _, err := os.Stat(o.StateDir(h.ID)); err == nil {
		return fmt.Errorf("container %s exists on this host (%s): choose another --dest-id", h.ID, o.StateDir(h.ID))
	}
	if h.CopyBundle {
		if err := checkBundleToMake(h); err != nil {
			return err
		}
	} else {
		for _, p := range []string{filepath.Join(h.Bundle, "config.json"), filepath.Join(h.Bundle, "rootfs")} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("the bundle is missing here: %w (copy the bundle, or name it with --dest-bundle)", err)
			}
		}
	}
	return migrateCriuCheck(o.CriuPath)
}

// checkBundleToMake: --copy-bundle's path is free, its parent here, and
// the base rootfs (if any) the same as the source's.
func checkBundleToMake(h migrateHello) error {
	if !filepath.IsAbs(h.Bundle) {
		return fmt.Errorf("bundle path %q is not absolute", h.Bundle)
	}
	if _, err := os.Lstat(h.Bundle); err == nil {
		return fmt.Errorf("bundle %s exists on this host: --copy-bundle makes it (remove it, or name another with --dest-bundle)", h.Bundle)
	}
	if fi, err := os.Stat(filepath.Dir(h.Bundle)); err != nil || !fi.IsDir() {
		return fmt.Errorf("bundle %s: its parent directory is missing here", h.Bundle)
	}
	if h.BaseDir != "" {
		idx, err := ckpt.IndexTree(h.BaseDir)
		if err != nil {
			return fmt.Errorf("the base rootfs is missing here: %w", err)
		}
		if idx.Digest() != h.BaseDigest {
			return fmt.Errorf("the base rootfs %s here is not the same as the source's (files, sizes, owners or times differ): make them equal, or migrate without --rootfs-base", h.BaseDir)
		}
	}
	return nil
}

// receiveBundle makes the bundle from the stream (config.json and
// rootfs/), on a copy of the base rootfs when there is one, and applies
// the deletions that follow it.
func (r *receive) receiveBundle(conn *migwire.Conn, h migrateHello) error {
	if !h.CopyBundle || r.rec.Bundle != "" {
		return errors.New("a bundle the destination did not ask for")
	}
	if err := os.Mkdir(h.Bundle, 0o755); err != nil {
		return err
	}
	r.rec.Bundle = h.Bundle
	if err := r.save(); err != nil {
		return err
	}
	rootfs := filepath.Join(h.Bundle, "rootfs")
	t := time.Now()
	if h.BaseDir != "" {
		// cp keeps owners, modes, times, links and xattrs, and shares
		// the blocks where the file system can (--reflink=auto).
		if out, err := exec.Command("cp", "-a", "--reflink=auto", "--", h.BaseDir+"/.", rootfs).CombinedOutput(); err != nil {
			return fmt.Errorf("copying the base rootfs %s: %v: %s", h.BaseDir, err, strings.TrimSpace(string(out)))
		}
	}
	stream := conn.RecvStream()
	err := ckpt.ExtractTar(h.Bundle, stream, nil, "")
	if err == nil {
		err = migwire.Drain(stream)
	}
	if err != nil {
		return err
	}
	m, err := conn.Expect(opDeleted)
	if err != nil {
		return err
	}
	var deleted []string
	if err := json.Unmarshal(m.Data, &deleted); err != nil {
		return fmt.Errorf("the list of deleted files: %w", err)
	}
	if err := ckpt.ApplyDeletions(rootfs, deleted); err != nil {
		return err
	}
	logrus.Debugf("migrate-receive %s: bundle %s made in %d ms", h.ID, h.Bundle, time.Since(t).Milliseconds())
	return nil
}

// final receives the final archive, restores the container from it and
// keeps it frozen until the source commits.
func (r *receive) final(conn *migwire.Conn, h migrateHello, images string, known map[string]string) error {
	o, id := r.o, h.ID
	archive := filepath.Join(r.rec.Dir, "final.tar")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	t := time.Now()
	_, err = io.Copy(f, conn.RecvStream())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("receiving the final dump: %w", eofWording(err))
	}
	logrus.Debugf("migrate-receive %s: final dump received in %d ms", id, time.Since(t).Milliseconds())
	var cr ckpt.Options
	cr.SetImagePath(images)
	cr.SetWorkPath(filepath.Join(r.rec.Dir, "work"))
	var relay *destPageRelay
	lazyFrom := ""
	if h.Lazy {
		// From here the source's page server talks to the daemon the
		// restore starts, through relay.
		if relay, err = newDestPageRelay(conn); err != nil {
			return err
		}
		defer relay.close()
		conn.Demux()
		lazyFrom = relay.Addr().String()
		if err := cr.Set(ckpt.Lookup("lazy"), true); err != nil {
			return err
		}
	}
	// Recorded before the restore starts: a receive killed in the middle
	// of it must find the container to remove.
	from, err := filepath.Abs(h.Bundle) // as the container's state will hold it
	if err != nil {
		return err
	}
	r.rec.Restored, r.rec.RestoredFrom = true, from
	if err := r.save(); err != nil {
		return err
	}
	t = time.Now()
	if _, err := o.Restore(RestoreRequest{
		Start:       StartRequest{ID: id, Bundle: h.Bundle, Detach: true, Action: ActRestore},
		Options:     cr,
		Import:      archive,
		ImportKnown: known,
		LazyFrom:    lazyFrom,
	}); err != nil {
		var ce *CriuError
		if errors.As(err, &ce) && strings.HasPrefix(ce.Report.Path, r.rec.Dir+"/") {
			// The receive directory goes: keep CRIU's log on this host.
			ce.Report.Path = keepLog(ce.Report.Path)
		}
		return err
	}
	if err := o.Pause(id); err != nil {
		return fmt.Errorf("restored, but it could not be frozen until the source lets go of it: %w", err)
	}
	logrus.Debugf("migrate-receive %s: restored and frozen in %d ms", id, time.Since(t).Milliseconds())
	st, err := o.State(id)
	if err != nil {
		return fmt.Errorf("restored, but its state cannot be read: %w", err)
	}
	if relay == nil {
		// The images are in CRIU's hands no more (the lazy-pages
		// daemon reads them until the copy is over).
		_ = os.RemoveAll(images)
	}
	_ = os.Remove(archive)
	if err := conn.Send(migwire.Message{Op: opRestored, Pid: st.InitProcessPid}); err != nil {
		return err
	}
	m, err := recvWithin(conn, commitWait)
	if err != nil {
		return fmt.Errorf("no commit from the source: %w", eofWording(err))
	}
	if m.Op != opCommit {
		return fmt.Errorf("unexpected %q from the source where commit was expected", m.Op)
	}
	// The point of no return here: from now on the container is ours,
	// and an interrupted receive must not remove it.
	uncommitted := r.rec
	r.rec.Restored, r.rec.Bundle = false, ""
	if err := r.save(); err != nil {
		r.rec = uncommitted
		return err
	}
	if err := o.Resume(id); err != nil {
		r.rec = uncommitted
		return fmt.Errorf("thawing the restored container: %w", err)
	}
	logrus.Debugf("migrate-receive %s: committed; running as pid %d", id, st.InitProcessPid)
	if err := conn.Send(migwire.Message{Op: opCommitted, Pid: st.InitProcessPid}); err != nil {
		return err
	}
	if relay != nil {
		if err := r.awaitCopy(conn, relay); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(r.rec.Dir)
	return nil
}

// awaitCopy waits for the end of a post-copy restore's background copy and
// tells the source. If the source goes away first, the daemon's connection
// is closed: it fails, and its supervisor kills the container, whose
// memory is incomplete.
func (r *receive) awaitCopy(conn *migwire.Conn, relay *destPageRelay) error {
	id := r.id
	wireEnd := make(chan error, 1)
	go func() {
		m, err := conn.Recv()
		if err == nil {
			err = fmt.Errorf("unexpected %q from the source during the copy", m.Op)
		}
		wireEnd <- err
	}()
	t := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lost error
	for {
		select {
		case err := <-wireEnd:
			lost = eofWording(err)
			logrus.Warnf("migrate-receive %s: the source went away during the post-copy: %v", id, lost)
			relay.close()
		case <-tick.C:
		}
		st, err := ckpt.ReadLazyStatus(r.o.StateDir(id))
		if err != nil || st == nil || st.State == ckpt.LazyCopying && alive(st.SupervisorPid) {
			if err == nil && st == nil && lost != nil {
				return fmt.Errorf("post-copy: %w", lost)
			}
			continue
		}
		logrus.Debugf("migrate-receive %s: post-copy %s after %d ms (%d of %d pages fetched)", id, st.State, time.Since(t).Milliseconds(), st.PagesCopied, st.PagesTotal)
		switch st.State {
		case ckpt.LazyDone, ckpt.LazyEnded:
			// Ended: the container exited here before it needed the
			// rest; the source's copy is not needed either.
			if lost != nil {
				return fmt.Errorf("post-copy: %w", lost)
			}
			return conn.Send(migwire.Message{Op: opCopied})
		case ckpt.LazyFailed:
			return fmt.Errorf("post-copy: %s", st.Error)
		default:
			return fmt.Errorf("post-copy: the lazy-pages supervisor is gone with the copy %s", st.State)
		}
	}
}

// recvWithin is conn.Recv, failing after d.
func recvWithin(conn *migwire.Conn, d time.Duration) (migwire.Message, error) {
	type result struct {
		m   migwire.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := conn.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		return migwire.Message{}, fmt.Errorf("nothing in %s", d)
	}
}

// eofWording says what an end of stream means here.
func eofWording(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the connection ended (%w)", err)
	}
	return err
}

// migrateCriuCheck is rt check's verdict on CRIU here; tests replace it.
var migrateCriuCheck = func(criu string) error {
	if r := Check(criu, ""); !r.OK() {
		return fmt.Errorf("CRIU cannot restore on this host: %s (%s)", r.Problem, r.Fix)
	}
	return nil
}

// ReceiveWire moves this process's stdin and stdout (the ssh channel) to
// close-on-exec descriptors and returns the wire on them, and points fds
// 0-2 at /dev/null: nothing this process starts (CRIU, the restored
// container) may hold the channel, or ssh would not end when rt does. Log
// records that went to stderr go to a close-on-exec copy of it.
func ReceiveWire() (*migwire.Conn, error) {
	dup := func(fd int) (*os.File, error) {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return nil, fmt.Errorf("dup fd %d: %w", fd, err)
		}
		return os.NewFile(uintptr(nfd), fmt.Sprintf("wire-%d", fd)), nil
	}
	in, err := dup(0)
	if err != nil {
		return nil, err
	}
	out, err := dup(1)
	if err != nil {
		return nil, err
	}
	if LogToStderr() {
		errOut, err := dup(2)
		if err != nil {
			return nil, err
		}
		logrus.SetOutput(errOut)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(int(null.Fd()), fd, 0); err != nil {
			return nil, fmt.Errorf("dup3 /dev/null onto %d: %w", fd, err)
		}
	}
	return migwire.New(in, out), nil
}
