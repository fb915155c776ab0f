package libct

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// fileKey identifies an open file across processes.
type fileKey struct{ dev, ino uint64 }

// pipeEnd is a pipe or FIFO of the container: who holds it, under what name.
type pipeEnd struct {
	pid  int
	name string
}

// scanResult is what reading a container's processes found.
type scanResult struct {
	findings []Finding
	mem      Memory
}

// procScan reads what a checkpoint of the container's processes would
// meet, from /proc alone. Every read may fail because a process exits
// meanwhile: such a process is skipped, never an error.
type procScan struct {
	inContainer map[int]bool
	init        int
	ghostLimit  int64
	// externalFds are the container's stdio ("pipe:[N]"...), which
	// libcontainer hands to CRIU as external and gives back on restore.
	externalFds map[string]bool
	unixInodes  map[uint64]bool // unix sockets the container's processes hold
	unixHolder  map[uint64]int
	pipes       map[fileKey]pipeEnd // pipes and FIFOs the container holds, beyond its stdio
	res         scanResult
}

func (s *procScan) add(pid int, what string, f Finding) {
	f.Pid, f.What = pid, what
	f.Comm = comm(pid)
	s.res.findings = append(s.res.findings, f)
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func scanContainer(cfg *configs.Config, state *libcontainer.State, pids []int, ghostLimit int64) *scanResult {
	s := &procScan{
		inContainer: map[int]bool{}, init: state.BaseState.InitProcessPid, ghostLimit: ghostLimit,
		externalFds: map[string]bool{}, unixInodes: map[uint64]bool{}, unixHolder: map[uint64]int{}, pipes: map[fileKey]pipeEnd{},
	}
	for _, p := range pids {
		s.inContainer[p] = true
	}
	for _, d := range state.ExternalDescriptors {
		s.externalFds[d] = true
	}
	initNs := nsInodes(s.init)
	for _, pid := range pids {
		s.namespaces(pid, initNs)
		s.fds(pid)
		s.maps(pid)
		s.memory(pid)
	}
	s.unixPeers()
	s.outsidePipes()
	s.mounts(cfg)
	return &s.res
}

// namespaces: CRIU restores one PID and one user namespace per container.
func (s *procScan) namespaces(pid int, initNs map[string]uint64) {
	if pid == s.init {
		return
	}
	for typ, ino := range nsInodes(pid) {
		if initNs[typ] == ino {
			continue
		}
		switch typ {
		case "pid", "user":
			s.add(pid, "runs in a "+typ+" namespace of its own, nested in the container's", Finding{Cannot: true,
				Why: "CRIU cannot checkpoint nested " + typ + " namespaces"})
		}
	}
}

func nsInodes(pid int) map[string]uint64 {
	out := map[string]uint64{}
	for _, t := range []string{"pid", "user", "mnt", "net", "ipc", "uts"} {
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, t), &st) == nil {
			out[t] = st.Ino
		}
	}
	return out
}

// fds looks at every open file of pid.
func (s *procScan) fds(pid int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	pidfd := -1
	defer func() {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
	}()
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		s.locks(pid, fd, link)
		switch {
		case strings.HasPrefix(link, "socket:["):
			ino, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
			if pidfd < 0 {
				if pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
					pidfd = -1
					continue
				}
			}
			s.socket(pid, pidfd, fd, ino)
		case strings.HasPrefix(link, "pipe:["):
			var st unix.Stat_t
			if !s.externalFds[link] && unix.Stat(filepath.Join(dir, e.Name()), &st) == nil {
				s.pipes[fileKey{st.Dev, st.Ino}] = pipeEnd{pid, link}
			}
		case strings.HasPrefix(link, "anon_inode:"):
			s.anonInode(pid, strings.TrimPrefix(link, "anon_inode:"))
		case strings.HasPrefix(link, "/"):
			if s.externalFds[strings.TrimSuffix(link, " (deleted)")] {
				continue // the container's stdio: libcontainer's to restore
			}
			var st unix.Stat_t
			if unix.Stat(filepath.Join(dir, e.Name()), &st) != nil {
				continue
			}
			s.file(pid, fmt.Sprintf("fd %d", fd), link, &st)
		}
	}
}

// locks finds the file locks held through one descriptor (fdinfo's
// "lock:" lines: POSIX, flock and OFD locks).
func (s *procScan) locks(pid, fd int, link string) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "lock:"); ok {
			fields := strings.Fields(l)
			kind := ""
			if len(fields) > 1 {
				kind = fields[1]
			}
			s.add(pid, fmt.Sprintf("holds a %s lock on %s", kind, link), Finding{Option: "file-locks",
				Why: "CRIU dumps file locks only when told to, so that none is lost silently"})
			return
		}
	}
}

// socket classifies one socket, through a copy of the descriptor
// (pidfd_getfd): its family, type, protocol and, for TCP, its state.
func (s *procScan) socket(pid, pidfd, fd int, ino uint64) {
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return
	}
	defer unix.Close(dup)
	domain, _ := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_DOMAIN)
	typ, _ := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, _ := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	switch domain {
	case unix.AF_UNIX:
		s.unixInodes[ino] = true
		if _, ok := s.unixHolder[ino]; !ok {
			s.unixHolder[ino] = pid
		}
	case unix.AF_INET, unix.AF_INET6:
		if proto == unix.IPPROTO_MPTCP {
			s.add(pid, "has an MPTCP socket (fd "+strconv.Itoa(fd)+")", Finding{Cannot: true,
				Why: "CRIU cannot checkpoint MPTCP sockets; Go 1.24 and later listen with MPTCP by default: run the program with GODEBUG=multipathtcp=0"})
			return
		}
		if typ != unix.SOCK_STREAM || proto != unix.IPPROTO_TCP {
			return
		}
		info, err := unix.GetsockoptTCPInfo(dup, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		switch info.State {
		case unix.BPF_TCP_LISTEN, unix.BPF_TCP_CLOSE:
			return // listening or unconnected: CRIU restores them as they are
		}
		s.add(pid, fmt.Sprintf("has a TCP connection %s -> %s (%s)", sockName(unix.Getsockname(dup)), sockName(unix.Getpeername(dup)), tcpState(info.State)),
			Finding{Option: "tcp-established", Why: "CRIU restores established connections only when told to (and on the same addresses)"})
	}
}

func sockName(sa unix.Sockaddr, err error) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		// a v4-mapped address prints as IPv4
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return "?"
}

func tcpState(st uint8) string {
	names := map[uint8]string{unix.BPF_TCP_ESTABLISHED: "established", unix.BPF_TCP_SYN_SENT: "connecting", unix.BPF_TCP_SYN_RECV: "accepting",
		unix.BPF_TCP_FIN_WAIT1: "closing", unix.BPF_TCP_FIN_WAIT2: "closing", unix.BPF_TCP_TIME_WAIT: "time-wait",
		unix.BPF_TCP_CLOSE_WAIT: "closed by the peer", unix.BPF_TCP_LAST_ACK: "closing", unix.BPF_TCP_CLOSING: "closing"}
	if n, ok := names[st]; ok {
		return n
	}
	return "state " + strconv.Itoa(int(st))
}

// unixPeers finds, through sock_diag in the container's network
// namespace, the unix sockets connected to a socket no process of the
// container holds.
func (s *procScan) unixPeers() {
	if len(s.unixInodes) == 0 {
		return
	}
	socks, err := unixSockets(s.init)
	if err != nil {
		return
	}
	for ino, sk := range socks {
		if !s.unixInodes[ino] || sk.peer == 0 || s.unixInodes[sk.peer] {
			continue
		}
		pid := s.unixHolder[ino]
		name := ""
		if sk.name != "" {
			name = " " + sk.name
		}
		_, peerHere := socks[sk.peer]
		switch {
		case sk.typ != unix.SOCK_DGRAM:
			s.add(pid, "has a unix stream socket"+name+" connected to a peer outside the container", Finding{Cannot: true,
				Why: "CRIU cannot restore a stream connection to a process it does not restore; close it before the checkpoint, or use a datagram socket"})
		case !peerHere:
			s.add(pid, "has a unix datagram socket"+name+" connected to a peer in another network namespace", Finding{Cannot: true,
				Why: "CRIU looks for an external socket's peer only in the container's network namespace; run the container in its peer's namespace (or the peer in the container's)"})
		case !sameSocketInside(s.init, socks[sk.peer].name):
			s.add(pid, fmt.Sprintf("has a unix datagram socket%s connected to %q outside the container, which the container does not see at that path", name, socks[sk.peer].name), Finding{Cannot: true,
				Why: "CRIU reconnects to the peer's own address on restore; bind-mount the socket's directory into the container at the same path"})
		default:
			s.add(pid, fmt.Sprintf("has a unix datagram socket%s connected to %q outside the container", name, socks[sk.peer].name), Finding{Option: "ext-unix-sk",
				Why: "CRIU reconnects it to the same address on restore when told to"})
		}
	}
}

// sameSocketInside reports whether the socket file at path (as the host
// sees it) is the same file at path inside the container of init: CRIU
// reconnects an external socket by its peer's address, from inside. An
// abstract address (no file) is always reachable.
func sameSocketInside(init int, path string) bool {
	if path == "" || path[0] == 0 || path[0] == '@' {
		return true
	}
	var out, in unix.Stat_t
	if unix.Stat(path, &out) != nil || unix.Stat(fmt.Sprintf("/proc/%d/root%s", init, path), &in) != nil {
		return false
	}
	return out.Dev == in.Dev && out.Ino == in.Ino
}

// outsidePipes notes the pipes and FIFOs the container shares with
// processes outside it, beyond its stdio: CRIU restores them as new pipes
// (a FIFO is reopened by name), so the outside end no longer hears from
// the container.
func (s *procScan) outsidePipes() {
	if len(s.pipes) == 0 {
		return
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || s.inContainer[pid] {
			continue
		}
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, _ := os.ReadDir(dir)
		for _, e := range fds {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(dir, e.Name()), &st) != nil || (st.Mode&unix.S_IFMT) != unix.S_IFIFO {
				continue
			}
			k := fileKey{st.Dev, st.Ino}
			if end, ok := s.pipes[k]; ok {
				s.add(end.pid, fmt.Sprintf("shares a pipe (%s) with process %d (%s) outside the container", end.name, pid, comm(pid)), Finding{Note: true,
					Why: "CRIU restores it as a new pipe: the outside process is no longer connected"})
				delete(s.pipes, k)
			}
		}
	}
}

// anonInode: the kinds CRIU cannot dump.
func (s *procScan) anonInode(pid int, kind string) {
	switch kind {
	case "[userfaultfd]", "[io_uring]", "bpf-map", "bpf-prog", "[perf_event]", "[pidfd]":
		s.add(pid, "has a "+strings.Trim(kind, "[]")+" file", Finding{Cannot: true, Why: "CRIU 3.17 cannot checkpoint " + strings.Trim(kind, "[]") + " files"})
	}
}

// devices CRIU dumps (it reopens them by path): the memory devices, ttys
// and pseudo-terminals.
func deviceDumpable(major, minor uint32) bool {
	switch major {
	case 1: // null, zero, full, random, urandom, kmsg
		return true
	case 4, 5, 136: // ttys, /dev/tty, console, ptmx, pts
		return true
	}
	return false
}

// file looks at one open or mapped file.
func (s *procScan) file(pid int, where, link string, st *unix.Stat_t) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK:
		maj, min := unix.Major(st.Rdev), unix.Minor(st.Rdev)
		if !deviceDumpable(maj, min) {
			s.add(pid, fmt.Sprintf("has the device %s (%d:%d) open (%s)", link, maj, min, where), Finding{Cannot: true,
				Why: "CRIU cannot save the state of this device"})
		}
		return
	case unix.S_IFIFO:
		if where != "mapped" && !s.externalFds[link] {
			s.pipes[fileKey{st.Dev, st.Ino}] = pipeEnd{pid, "FIFO " + link}
		}
		return
	}
	if !strings.HasSuffix(link, " (deleted)") {
		return
	}
	name := strings.TrimSuffix(link, " (deleted)")
	if st.Nlink > 0 {
		s.add(pid, fmt.Sprintf("has %s open (%s), removed from its directory but linked elsewhere", name, where), Finding{Option: "link-remap",
			Why: "CRIU links it back to be able to reopen it"})
		return
	}
	if size := st.Blocks * 512; size > s.ghostLimit {
		s.add(pid, fmt.Sprintf("has the deleted file %s open (%s), %d KiB", name, where, size>>10), Finding{Option: "ghost-limit",
			Why: fmt.Sprintf("CRIU copies deleted files into the image only up to --ghost-limit (now %d KiB)", s.ghostLimit>>10)})
		return
	}
	s.add(pid, fmt.Sprintf("has the deleted file %s open (%s)", name, where), Finding{Note: true, Why: "CRIU copies it into the image"})
}

// maps looks at the files mapped into pid's memory (deleted binaries and
// libraries, devices).
func (s *procScan) maps(pid int) {
	dir := fmt.Sprintf("/proc/%d/map_files", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || seen[link] || !strings.HasPrefix(link, "/") {
			continue
		}
		seen[link] = true
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, e.Name()), &st) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR || strings.HasSuffix(link, " (deleted)") {
			s.file(pid, "mapped", link, &st)
		}
	}
}

// memory adds what CRIU dumps of pid's memory: private anonymous pages in
// RAM and in swap, and its share of shared memory.
func (s *procScan) memory(pid int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Anonymous":
			s.res.mem.Anonymous += kb << 10
		case "Swap":
			s.res.mem.Swap += kb << 10
		case "Pss_Shmem":
			s.res.mem.Shared += kb << 10
		}
	}
}

// internalFs are the file systems CRIU recreates inside a container
// (tmpfs with its files); others must be declared mounts or binds of
// them.
var internalFs = map[string]bool{"tmpfs": true, "devtmpfs": true, "proc": true, "sysfs": true, "devpts": true,
	"mqueue": true, "cgroup": true, "cgroup2": true, "securityfs": true, "binfmt_misc": true, "debugfs": true, "tracefs": true, "pstore": true}

// mounts compares the container's mount table with its configuration:
// a mount CRIU cannot recreate (made inside the container of a file
// system it does not know) blocks the checkpoint; tmpfs contents count
// towards the image.
func (s *procScan) mounts(cfg *configs.Config) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", s.init))
	if err != nil {
		return
	}
	defer f.Close()
	declared := []string{}
	for _, m := range cfg.Mounts {
		declared = append(declared, filepath.Clean(m.Destination))
	}
	declared = append(declared, cfg.MaskPaths...)
	declared = append(declared, cfg.ReadonlyPaths...)
	declared = append(declared, "/dev") // libcontainer's device nodes and /dev/console
	isDeclared := func(mp string) bool {
		for _, d := range declared {
			if mp == d || strings.HasPrefix(mp, d+"/") {
				return true
			}
		}
		return false
	}
	type mnt struct{ dev, point, fstype, source string }
	var all []mnt
	knownDevs := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, pf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(pf) < 2 {
			continue
		}
		m := mnt{dev: fields[2], point: unescapeMount(fields[4]), fstype: pf[0], source: pf[1]}
		all = append(all, m)
		if m.point == "/" || isDeclared(m.point) {
			knownDevs[m.dev] = true
		}
	}
	root := fmt.Sprintf("/proc/%d/root", s.init)
	for _, m := range all {
		if m.fstype == "tmpfs" {
			s.res.mem.Tmpfs += treeBytes(filepath.Join(root, m.point))
		}
		if m.point == "/" || isDeclared(m.point) || internalFs[m.fstype] || knownDevs[m.dev] {
			continue
		}
		s.add(s.init, fmt.Sprintf("has %s mounted at %s (%s), a mount its configuration does not declare", m.source, m.point, m.fstype), Finding{Cannot: true,
			Why: "CRIU cannot recreate a " + m.fstype + " mount it did not create; declare it in config.json's mounts, or unmount it before the checkpoint"})
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// treeBytes is the size of the files under dir on dir's own file system.
func treeBytes(dir string) int64 {
	var root unix.Stat_t
	if unix.Stat(dir, &root) != nil {
		return 0
	}
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Dev != root.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if fi.Mode().IsRegular() {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}
