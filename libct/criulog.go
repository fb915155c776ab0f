package libct

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// criuHint maps a known CRIU failure, recognised by a fragment of its log,
// to what went wrong and what the user can do about it.
type criuHint struct {
	match []string // any of these fragments in the log
	cause string
	fix   string
	// aboutImages: the cause concerns the image directory, which the
	// filled-in text names when it is known.
	aboutImages bool
	// option is the C/R option (flag name) the fix sets: the filled-in
	// fix also names its annotation and configuration entry, for engines
	// that pass no options.
	option string
}

var criuHints = []criuHint{
	{
		match: []string{"Unexpected rt vDSO area bounds", "kerndat_vdso_fill_symtable failed"},
		cause: "this CRIU is too old for the running kernel: the kernel maps a vDSO layout ([vvar_vclock]) CRIU does not know",
		fix:   "install CRIU >= 4.1, or use a kernel this CRIU supports",
	},
	{
		match:  []string{"Connected TCP socket", "consider using --tcp-established"},
		cause:  "the container has established TCP connections",
		fix:    "checkpoint and restore with --tcp-established",
		option: "tcp-established",
	},
	{
		match:  []string{"External socket is used", "--ext-unix-sk"},
		cause:  "the container has a unix socket connected to a peer outside it",
		fix:    "checkpoint and restore with --ext-unix-sk",
		option: "ext-unix-sk",
	},
	{
		match:  []string{"Some file locks are hold without", "--file-locks"},
		cause:  "the container holds file locks",
		fix:    "checkpoint and restore with --file-locks",
		option: "file-locks",
	},
	{
		match:  []string{"Can't dump ghost file", "increase limit"},
		cause:  "the container has a deleted file open that is larger than CRIU copies into an image (--ghost-limit, CRIU's default 1M)",
		fix:    "checkpoint with --ghost-limit set above the file's size (e.g. --ghost-limit 1G)",
		option: "ghost-limit",
	},
	{
		match:  []string{"Can't create link remap", "--link-remap"},
		cause:  "the container has a file open whose name was removed while other links remain",
		fix:    "checkpoint with --link-remap",
		option: "link-remap",
	},
	{
		// IPPROTO_MPTCP (262): Go 1.24 and later listen with MPTCP by
		// default; CRIU up to 4.x cannot dump such sockets.
		match: []string{"Unsupported proto 262"},
		cause: "a process of the container has an MPTCP socket, which CRIU cannot checkpoint (Go 1.24 and later programs listen with MPTCP by default)",
		fix:   "run the program with GODEBUG=multipathtcp=0 (Go), or make it open plain TCP sockets",
	},
	{
		match: []string{"Dirty tracking is OFF", "soft-dirty", "Can't do pre-dump without"},
		cause: "the kernel does not track dirty memory (soft-dirty), which --pre-dump needs",
		fix:   "use a kernel with CONFIG_MEM_SOFT_DIRTY, or checkpoint without --pre-dump",
	},
	{
		match: []string{"lazy-pages.socket"},
		cause: "no lazy-pages daemon is listening for this restore",
		fix:   "start 'criu lazy-pages --images-dir <image-path>' (with --page-server for a remote dump) before restore --lazy-pages",
	},
	{
		match: []string{"Failed to get uffd", "Failed to open uffd", "userfaultfd: ", "Can't open userfaultfd"},
		cause: "lazy pages need userfaultfd, which this kernel or its settings do not allow",
		fix:   "enable userfaultfd (CONFIG_USERFAULTFD; sysctl vm.unprivileged_userfaultfd=1 if not root), or drop --lazy-pages",
	},
	{
		match: []string{"iptables-restore", "nftables", "nft ", "Unable to lock network", "Can't lock network"},
		cause: "CRIU could not lock the container's network: iptables or nft is missing or failed",
		fix:   "install iptables (iptables-restore) on the host, or nftables and a CRIU configuration with 'network-lock nftables'",
	},
	{
		match: []string{"tty: ", "pty", "Can't dump tty", "Found dangling tty"},
		cause: "the container's terminal is connected to a process outside the container",
		fix:   "for a terminal container use --console-socket on restore, or --shell-job when the container shares rt's terminal",
	},
	{
		match: []string{"Can't dump ghost file", "Can't link remap", "link-remap"},
		cause: "the container has open files that were deleted",
		fix:   "checkpoint with --link-remap, or close the deleted files",
	},
	{
		match:       []string{"No space left on device", "ENOSPC"},
		cause:       "no space left on device for the images",
		fix:         "free space there or use another --image-path/--work-path",
		aboutImages: true,
	},
}

// maxQuotedErrors bounds how many CRIU error lines go into an error text.
const maxQuotedErrors = 8

// CriuLogReport is what rt found in a CRIU log after a failure.
type CriuLogReport struct {
	Path   string
	Errors []string // the "Error (...)" lines, oldest first
	Cause  string   // what went wrong, when a known cause was recognised
	Fix    string   // what to do about it
	// AboutImages: Cause concerns the image directory (see Explain).
	AboutImages bool
}

// Explain is the cause filled in for people: with the image directory
// named when the cause concerns it and the directory is known.
func (r *CriuLogReport) Explain(imageDir string) string {
	if r.AboutImages && imageDir != "" {
		return r.Cause + " in " + imageDir
	}
	return r.Cause
}

// ReadCriuLog scans a CRIU log for error lines and known causes. A log that
// cannot be read yields a report with only the path.
func ReadCriuLog(path string) *CriuLogReport {
	data, err := os.ReadFile(path)
	if err != nil {
		return &CriuLogReport{Path: path}
	}
	r := ReadCriuLogText(string(data))
	r.Path = path
	return r
}

// ReadCriuLogText is ReadCriuLog on CRIU output already read.
func ReadCriuLogText(data string) *CriuLogReport {
	r := &CriuLogReport{}
	var errs, warns []string
	s := bufio.NewScanner(strings.NewReader(data))
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case strings.Contains(line, "Error (") || strings.HasPrefix(line, "Error"):
			errs = append(errs, line)
		case strings.Contains(line, "Warn "):
			warns = append(warns, line)
		}
	}
	r.Errors = errs
	if len(errs) > maxQuotedErrors {
		// The first errors are the cause, the last the consequence.
		r.Errors = append(append([]string{}, errs[:maxQuotedErrors-2]...), "...", errs[len(errs)-1])
	}
	// A cause recognised in the error lines wins over one in warnings,
	// where CRIU sometimes explains the failure before erroring out.
	for _, lines := range [][]string{errs, warns} {
		hay := strings.Join(lines, "\n")
		for _, h := range criuHints {
			if containsAny(hay, h.match) {
				r.Cause, r.Fix, r.AboutImages = h.cause, h.fix, h.aboutImages
				if h.option != "" {
					r.Fix += engineDefault(h.option)
				}
				return r
			}
		}
	}
	return r
}

// engineDefault says how an option reaches rt when an engine (docker,
// containerd, the kubelet) runs the checkpoint without passing it.
func engineDefault(option string) string {
	o := ckpt.Lookup(option)
	if o == nil || !o.Default {
		return ""
	}
	return " (through an engine: " + defaultsFor(o) + ")"
}

// defaultsFor names the annotation and the configuration-file entry that
// set option o (a default-able one) to a value that works: what rt check,
// checkpoint --check and CRIU's errors suggest to users of engines.
func defaultsFor(o *ckpt.Option) string {
	val, jsonVal := "true", "true"
	switch o.Kind {
	case ckpt.Bool:
	case ckpt.Int:
		val, jsonVal = o.Example, o.Example
	default:
		val, jsonVal = o.Example, strconv.Quote(o.Example)
	}
	return fmt.Sprintf("annotation %s%s=%s on the container, or \"%s\": %s under \"checkpoint\" in %s",
		ckpt.AnnotationPrefix, o.Name, val, o.JSON, jsonVal, ckpt.ConfigPath())
}

func containsAny(s string, frags []string) bool {
	for _, f := range frags {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// CriuError is a failure of CRIU itself, made where rt runs CRIU (never
// recognised from error text): the operation, what CRIU's log says, and
// for known causes what to do. Its first line stands alone (containerd
// shows only the first line): the cause and fix when known, else CRIU's
// last error. Further lines quote the log's error lines and give its path.
type CriuError struct {
	Op       string // "checkpoint" or "restore"
	ID       string
	Err      error // libcontainer's error
	Report   *CriuLogReport
	ImageDir string // named by causes that concern it
}

func (e *CriuError) Unwrap() error { return e.Err }

func (e *CriuError) Error() string {
	var b strings.Builder
	r := e.Report
	switch {
	case r.Cause != "":
		fmt.Fprintf(&b, "%s %s: %s; %s (%v)", e.Op, e.ID, r.Explain(e.ImageDir), r.Fix, e.Err)
	case len(r.Errors) > 0:
		fmt.Fprintf(&b, "%s %s: %v: %s", e.Op, e.ID, e.Err, lastCriuError(r.Errors))
	default:
		fmt.Fprintf(&b, "%s %s: %v", e.Op, e.ID, e.Err)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nCRIU reported:")
		for _, l := range r.Errors {
			b.WriteString("\n  " + l)
		}
	}
	if r.Path != "" {
		fmt.Fprintf(&b, "\nCRIU log: %s", r.Path)
	}
	return b.String()
}

// lastCriuError strips the "(file:line)" location from the last error
// line, which is usually the most specific.
func lastCriuError(lines []string) string {
	l := lines[len(lines)-1]
	if i := strings.Index(l, "): "); i >= 0 && strings.Contains(l[:i], "Error (") {
		return strings.TrimSpace(l[i+3:])
	}
	return l
}
