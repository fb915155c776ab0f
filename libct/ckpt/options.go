package ckpt

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The checkpoint/restore options, defined once. Each Option says which
// command takes it as a flag, how it reaches CRIU, whether a checkpoint
// records it and a restore repeats it, and whether rt's configuration file
// or a container annotation may set it as a default. The CLI builds its
// flags from Table, the C/R code converts by it, manifests record by it and
// inspect shows by it: adding an option is one entry here (plus its tests).

// Kind is the type of an option's value.
type Kind int

const (
	Bool    Kind = iota + 1 // a flag without value
	String                  // one string
	Strings                 // a repeatable flag; comma-separated in an annotation
	Int                     // a number (a file descriptor)
)

// Command is a set of the commands that take an option.
type Command uint8

const (
	Checkpoint Command = 1 << iota
	Restore
	Both = Checkpoint | Restore
)

// Option is one checkpoint/restore option.
type Option struct {
	Name     string  // the flag, without dashes
	Usage    string  // the flag's help text
	Kind     Kind    // the value's type
	Commands Command // commands that take the flag
	// Ignored are commands that accept the flag, hidden, and ignore it
	// (containerd's shim passes --parent-path to restore).
	Ignored Command
	// JSON is the option's key in a manifest's "options" and in the
	// configuration file's "checkpoint"; "" for per-call values that are
	// never recorded (local paths, descriptors).
	JSON string
	// Replay: a restore repeats the value a checkpoint recorded when the
	// caller did not give one. CRIU refuses, for example, to restore
	// established TCP connections without being told, and engines restore
	// without passing any option.
	Replay bool
	// Default: the configuration file and the container's annotations may
	// set it. Options that say how or where to dump are per call.
	Default bool
	// CriuField is the field of libcontainer's CriuOpts the value goes to;
	// "" when rt handles the option itself (paths).
	CriuField string
	// CriuConfig is the CRIU configuration-file option the value goes to,
	// for what CriuOpts cannot carry.
	CriuConfig string
	// Check validates a value and converts it to what CriuField holds
	// (nil: the value as it is).
	Check func(v any) (any, error)
	// Example is a value that works, for the suggestions rt makes
	// (rt check, errors); booleans need none.
	Example string
}

// Flag is the option as typed on a command line.
func (o *Option) Flag() string { return "--" + o.Name }

// The options the C/R code itself acts on, beyond passing them to CRIU.
var (
	optImagePath    = &Option{Name: "image-path", Kind: String, Commands: Both, Usage: "path to the criu image files (default: ./checkpoint)"}
	optWorkPath     = &Option{Name: "work-path", Kind: String, Commands: Both, Usage: "path for saving work files and logs"}
	optParentPath   = &Option{Name: "parent-path", Kind: String, Commands: Checkpoint, Ignored: Restore, JSON: "parentPath", CriuField: "ParentImage", Usage: "path for previous criu image files in pre-dump", Check: checkParentPathForm}
	optLeaveRunning = &Option{Name: "leave-running", Kind: Bool, Commands: Checkpoint, JSON: "leaveRunning", CriuField: "LeaveRunning", Usage: "leave the process running after checkpointing"}
	optPreDump      = &Option{Name: "pre-dump", Kind: Bool, Commands: Checkpoint, JSON: "preDump", CriuField: "PreDump", Usage: "dump container's memory information only, leave the container running after this"}
	optLazyPages    = &Option{Name: "lazy-pages", Kind: Bool, Commands: Both, JSON: "lazyPages", CriuField: "LazyPages", Usage: "use userfaultfd to lazily restore memory pages"}
	optStatusFd     = &Option{Name: "status-fd", Kind: Int, Commands: Checkpoint, CriuField: "StatusFd", Usage: "criu writes \\0 to this FD once lazy-pages is ready"}
	optPageServer   = &Option{Name: "page-server", Kind: String, Commands: Checkpoint, JSON: "pageServer", CriuField: "PageServer", Usage: "ADDRESS:PORT of the page server", Check: checkPageServer}
	// rt's own downtime options: CRIU takes their parts one call at a
	// time, rt chains the calls.
	optPreCopy       = &Option{Name: "pre-copy", Kind: Bool, Commands: Checkpoint, JSON: "preCopy", Default: true, Usage: "copy the memory in rounds while the container runs (each round only the pages dirtied since the last), so that the final dump freezes it only for the last dirty pages; needs soft-dirty memory tracking"}
	optPreCopyRounds = &Option{Name: "pre-copy-rounds", Kind: Int, Commands: Checkpoint, JSON: "preCopyRounds", Default: true, Usage: "with --pre-copy, at most this many rounds before the final dump (default 4); rt stops earlier when the dirty memory stops shrinking", Check: positiveInt("--pre-copy-rounds")}
	optGhostLimit    = &Option{Name: "ghost-limit", Kind: String, Commands: Checkpoint, JSON: "ghostLimit", Default: true, CriuConfig: "ghost-limit", Usage: "largest deleted-but-open file CRIU copies into the image, e.g. 64M (CRIU's default: 1M)", Check: sizeValue("--ghost-limit"), Example: "1G"}
	optLazy          = &Option{Name: "lazy", Kind: Bool, Commands: Restore, JSON: "lazy", Default: true, Usage: "start the container at once: its memory is copied in the background and served on demand by a criu lazy-pages daemon that rt runs and reaps (needs userfaultfd)"}
)

// DefaultPreCopyRounds is the most pre-copy rounds without
// --pre-copy-rounds. Under a steady rewrite rate the dirty set stops
// shrinking after two or three rounds; more only add work.
const DefaultPreCopyRounds = 4

// Table lists every option, in the order help and inspect show them.
var Table = []*Option{
	optImagePath,
	optWorkPath,
	optParentPath,
	optLeaveRunning,
	{Name: "tcp-established", Kind: Bool, Commands: Both, JSON: "tcpEstablished", Replay: true, Default: true, CriuField: "TcpEstablished", Usage: "allow open tcp connections"},
	{Name: "tcp-skip-in-flight", Kind: Bool, Commands: Checkpoint, JSON: "tcpSkipInFlight", Replay: true, Default: true, CriuField: "TcpSkipInFlight", Usage: "skip in-flight tcp connections"},
	{Name: "link-remap", Kind: Bool, Commands: Checkpoint, JSON: "linkRemap", Replay: true, Default: true, CriuField: "LinkRemap", Usage: "allow one to link unlinked files back when possible"},
	{Name: "ext-unix-sk", Kind: Bool, Commands: Both, JSON: "extUnixSk", Replay: true, Default: true, CriuField: "ExternalUnixConnections", Usage: "allow external unix sockets"},
	{Name: "shell-job", Kind: Bool, Commands: Both, JSON: "shellJob", Replay: true, Default: true, CriuField: "ShellJob", Usage: "allow shell jobs"},
	optLazyPages,
	optStatusFd,
	optPageServer,
	{Name: "file-locks", Kind: Bool, Commands: Both, JSON: "fileLocks", Replay: true, Default: true, CriuField: "FileLocks", Usage: "handle file locks, for safety"},
	optPreDump,
	optPreCopy,
	optPreCopyRounds,
	optLazy,
	{Name: "manage-cgroups-mode", Kind: String, Commands: Both, JSON: "manageCgroupsMode", Replay: true, Default: true, CriuField: "ManageCgroupsMode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)", Check: oneOf("soft", "full", "strict", "ignore")},
	{Name: "empty-ns", Kind: Strings, Commands: Both, JSON: "emptyNs", Replay: true, Default: true, CriuField: "EmptyNs", Usage: "create a namespace, but don't restore its properties", Check: emptyNsMask},
	{Name: "auto-dedup", Kind: Bool, Commands: Both, JSON: "autoDedup", Default: true, CriuField: "AutoDedup", Usage: "enable auto deduplication of memory images"},
	{Name: "network-lock", Kind: String, Commands: Both, JSON: "networkLock", Replay: true, Default: true, CriuConfig: "network-lock", Usage: "how CRIU locks the container's network while it works: iptables, nftables or skip (default: CRIU's, iptables)", Check: oneOf("iptables", "nftables", "skip")},
	optGhostLimit,
	{Name: "lsm-profile", Kind: String, Commands: Restore, JSON: "lsmProfile", CriuField: "LsmProfile", Usage: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
	{Name: "lsm-mount-context", Kind: String, Commands: Restore, JSON: "lsmMountContext", CriuField: "LsmMountContext", Usage: "Specify an LSM mount context to be used during restore."},
}

// ForCommand lists the options cmd takes as flags.
func ForCommand(cmd Command) []*Option {
	return selectOptions(func(o *Option) bool { return o.Commands&cmd != 0 })
}

// IgnoredBy lists the flags cmd accepts and ignores.
func IgnoredBy(cmd Command) []*Option {
	return selectOptions(func(o *Option) bool { return o.Ignored&cmd != 0 })
}

func selectOptions(keep func(*Option) bool) []*Option {
	var out []*Option
	for _, o := range Table {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

// Lookup finds an option by its flag name.
func Lookup(name string) *Option {
	for _, o := range Table {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func lookupJSON(key string) *Option {
	for _, o := range Table {
		if o.JSON != "" && o.JSON == key {
			return o
		}
	}
	return nil
}

// Options are the checkpoint/restore options of one request: values by
// option, absent when not given. Their JSON form, keyed by Option.JSON,
// is what a manifest records and the configuration file holds.
type Options struct {
	values map[*Option]any
}

// Set gives option o the value v (bool, string, []string or int, as its
// Kind says). The zero value (false, "", none) unsets it.
func (c *Options) Set(o *Option, v any) error {
	if err := checkKind(o, v); err != nil {
		return err
	}
	if isZero(v) {
		delete(c.values, o)
		return nil
	}
	if c.values == nil {
		c.values = make(map[*Option]any)
	}
	if s, ok := v.([]string); ok {
		v = slices.Clone(s)
	}
	c.values[o] = v
	return nil
}

// Get is o's value and whether it is set.
func (c Options) Get(o *Option) (any, bool) {
	v, ok := c.values[o]
	return v, ok
}

func (c Options) str(o *Option) string {
	s, _ := c.values[o].(string)
	return s
}

func (c Options) flag(o *Option) bool {
	b, _ := c.values[o].(bool)
	return b
}

// Clone is an independent copy of c.
func (c Options) Clone() Options {
	var out Options
	for o, v := range c.values {
		_ = out.Set(o, v)
	}
	return out
}

// The options the C/R code acts on itself.

func (c Options) ImagePath() string      { return c.str(optImagePath) }
func (c Options) WorkPath() string       { return c.str(optWorkPath) }
func (c Options) ParentPath() string     { return c.str(optParentPath) }
func (c Options) LeaveRunning() bool     { return c.flag(optLeaveRunning) }
func (c Options) PreDump() bool          { return c.flag(optPreDump) }
func (c Options) LazyPages() bool        { return c.flag(optLazyPages) }
func (c Options) PageServer() string     { return c.str(optPageServer) }
func (c Options) PreCopy() bool          { return c.flag(optPreCopy) }
func (c Options) Lazy() bool             { return c.flag(optLazy) }
func (c *Options) SetImagePath(p string) { _ = c.Set(optImagePath, p) }
func (c *Options) SetPreCopy(on bool)    { _ = c.Set(optPreCopy, on) }
func (c *Options) SetLazyPages(on bool)  { _ = c.Set(optLazyPages, on) }
func (c *Options) SetWorkPath(p string)  { _ = c.Set(optWorkPath, p) }

// PartialDump names the option, if any, that makes a dump something else
// than a complete checkpoint in the local image directory: a pre-dump, a
// dump whose memory is partly in a --parent-path, or one whose pages go
// to a peer (lazy pages, page server). "" for a plain dump.
func (c Options) PartialDump() string {
	switch {
	case c.PreDump():
		return optPreDump.Flag()
	case c.ParentPath() != "":
		return optParentPath.Flag()
	case c.LazyPages():
		return optLazyPages.Flag()
	case c.PageServer() != "":
		return optPageServer.Flag()
	}
	return ""
}

// PreCopyRounds is the most pre-copy rounds: --pre-copy-rounds, else
// DefaultPreCopyRounds.
func (c Options) PreCopyRounds() int {
	if n, ok := c.values[optPreCopyRounds].(int); ok && n > 0 {
		return n
	}
	return DefaultPreCopyRounds
}

// StatusFd is the descriptor CRIU signals lazy-pages readiness on; -1
// for none.
func (c Options) StatusFd() int {
	if fd, ok := c.values[optStatusFd].(int); ok {
		return fd
	}
	return -1
}

// ImageDir is the absolute image directory the options name.
func (c Options) ImageDir() (string, error) {
	if p := c.ImagePath(); p != "" {
		return filepath.Abs(p)
	}
	return filepath.Abs("checkpoint")
}

// WorkDir is the absolute work directory, "" when none was given.
func (c Options) WorkDir() (string, error) {
	if p := c.WorkPath(); p != "" {
		return filepath.Abs(p)
	}
	return "", nil
}

// Flags is the options as command-line flags, in Table order, for people
// (logs, inspect): "--tcp-established --manage-cgroups-mode soft".
func (c Options) Flags() string {
	var out []string
	for _, o := range Table {
		if v, ok := c.values[o]; ok {
			out = append(out, flagWords(o, v)...)
		}
	}
	return strings.Join(out, " ")
}

// flagWords is one option's value as it would be typed, one string per
// flag given.
func flagWords(o *Option, v any) []string {
	switch x := v.(type) {
	case bool:
		return []string{o.Flag()}
	case []string:
		out := make([]string, 0, len(x))
		for _, s := range x {
			out = append(out, o.Flag()+" "+s)
		}
		return out
	default:
		return []string{fmt.Sprintf("%s %v", o.Flag(), x)}
	}
}

// Validate checks every value that has a Check.
func (c Options) Validate() error {
	for _, o := range Table {
		if v, ok := c.values[o]; ok && o.Check != nil {
			if _, err := o.Check(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// CriuValue is o's value in the form its CriuField holds, checked.
func (c Options) CriuValue(o *Option) (any, bool, error) {
	v, ok := c.values[o]
	if !ok {
		return nil, false, nil
	}
	if o.Check != nil {
		x, err := o.Check(v)
		return x, true, err
	}
	return v, true, nil
}

// CriuConfigLines are the CRIU configuration-file lines of the options
// set in c that CriuOpts cannot carry.
func (c Options) CriuConfigLines() []string {
	var out []string
	for _, o := range Table {
		if v, ok := c.values[o]; ok && o.CriuConfig != "" {
			out = append(out, fmt.Sprintf("%s %v", o.CriuConfig, v))
		}
	}
	return out
}

// AddRecorded completes c, for a restore, with the values a checkpoint
// recorded (rec) for the options a restore repeats, where c has none. It
// returns the flags it added.
func (c *Options) AddRecorded(rec Options) []string {
	return c.addFrom(rec, func(o *Option) bool { return o.Replay })
}

// addFrom sets, where c has no value, the values of src for the options
// take selects, and returns the flags it added.
func (c *Options) addFrom(src Options, take func(*Option) bool) []string {
	var added []string
	for _, o := range Table {
		if _, have := c.values[o]; have || !take(o) {
			continue
		}
		if v, ok := src.values[o]; ok {
			_ = c.Set(o, v)
			added = append(added, flagWords(o, v)...)
		}
	}
	return added
}

// MarshalJSON writes the recorded options, keyed by their JSON names.
func (c Options) MarshalJSON() ([]byte, error) {
	m := make(map[string]any)
	for o, v := range c.values {
		if o.JSON != "" {
			m[o.JSON] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads options keyed by their JSON names. Keys rt does not
// know are ignored (a manifest of a newer rt stays readable); a value of
// the wrong type is an error naming the key.
func (c *Options) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*c = Options{}
	for k, msg := range raw {
		o := lookupJSON(k)
		if o == nil {
			continue
		}
		v, err := decodeValue(o, msg)
		if err != nil {
			return fmt.Errorf("option %q: %w", k, err)
		}
		if err := c.Set(o, v); err != nil {
			return fmt.Errorf("option %q: %w", k, err)
		}
	}
	return nil
}

func decodeValue(o *Option, msg json.RawMessage) (any, error) {
	var err error
	switch o.Kind {
	case Bool:
		var b bool
		err = json.Unmarshal(msg, &b)
		return b, err
	case String:
		var s string
		err = json.Unmarshal(msg, &s)
		return s, err
	case Strings:
		var s []string
		err = json.Unmarshal(msg, &s)
		return s, err
	case Int:
		var n int
		err = json.Unmarshal(msg, &n)
		return n, err
	}
	return nil, fmt.Errorf("unknown kind %d", o.Kind)
}

// ParseValue turns the text form of a value (an annotation's) into o's
// Kind: booleans as strconv.ParseBool reads them, lists comma-separated.
func ParseValue(o *Option, s string) (any, error) {
	switch o.Kind {
	case Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", s)
		}
		return b, nil
	case Strings:
		return strings.Split(s, ","), nil
	case Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return n, nil
	}
	return s, nil
}

func checkKind(o *Option, v any) error {
	ok := false
	switch o.Kind {
	case Bool:
		_, ok = v.(bool)
	case String:
		_, ok = v.(string)
	case Strings:
		_, ok = v.([]string)
	case Int:
		_, ok = v.(int)
	}
	if !ok {
		return fmt.Errorf("%s: value %v (%T) is of the wrong type", o.Flag(), v, v)
	}
	return nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	}
	return false
}

// oneOf checks a string option against its allowed values.
func oneOf(allowed ...string) func(any) (any, error) {
	return func(v any) (any, error) {
		s, _ := v.(string)
		if !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("invalid value %q: use %s", s, strings.Join(allowed, ", "))
		}
		return s, nil
	}
}

// PageServerInfo is where a dump sends its pages; its layout is
// libcontainer's CriuPageServerInfo, which the C/R code converts it to.
type PageServerInfo struct {
	Address string
	Port    int32
}

func checkPageServer(v any) (any, error) {
	s, _ := v.(string)
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("invalid --page-server %q: use ADDRESS:PORT", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid --page-server port %q", port)
	}
	return PageServerInfo{Address: host, Port: int32(n)}, nil
}

// emptyNsMask turns the namespaces into CriuOpts' clone-flag mask. The
// network namespace is always external to CRIU (the runtime creates it, or
// joins the engine's, before restore), and it is the only one rt allows.
func emptyNsMask(v any) (any, error) {
	nss, _ := v.([]string)
	for _, ns := range nss {
		if ns != "network" {
			return nil, fmt.Errorf("--empty-ns: namespace %q is not supported (only %q)", ns, "network")
		}
	}
	return uint32(unix.CLONE_NEWNET), nil
}

// sizeValue checks a size as CRIU reads it (ParseSize).
func sizeValue(flag string) func(any) (any, error) {
	return func(v any) (any, error) {
		s, _ := v.(string)
		if _, err := ParseSize(s); err != nil {
			return nil, fmt.Errorf("invalid %s %q: use a size such as 1048576, 512K, 64M or 1G", flag, s)
		}
		return s, nil
	}
}

// ParseSize reads a size as CRIU does: a number of bytes with an optional
// K, M or G suffix.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err == nil && n > math.MaxInt64/uint64(mult) {
		err = strconv.ErrRange
	}
	return int64(n) * mult, err
}

// GhostLimit is --ghost-limit in bytes, CRIU's default when unset.
func (c Options) GhostLimit() int64 {
	if n, err := ParseSize(c.str(optGhostLimit)); err == nil && n > 0 {
		return n
	}
	return 1 << 20
}

func positiveInt(flag string) func(any) (any, error) {
	return func(v any) (any, error) {
		if n, _ := v.(int); n < 1 {
			return nil, fmt.Errorf("invalid %s %v: use a number of 1 or more", flag, v)
		}
		return v, nil
	}
}

func checkParentPathForm(v any) (any, error) {
	s, _ := v.(string)
	if filepath.IsAbs(s) {
		return nil, fmt.Errorf("--parent-path must be relative to --image-path")
	}
	return s, nil
}
