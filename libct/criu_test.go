package libct

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// setOptions builds ckpt.Options from name, value pairs.
func setOptions(t *testing.T, kv ...any) ckpt.Options {
	t.Helper()
	var o ckpt.Options
	for i := 0; i < len(kv); i += 2 {
		if err := o.Set(ckpt.Lookup(kv[i].(string)), kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// Every option that names a CriuOpts field names one that exists, with a
// type its checked value converts to: the table and libcontainer agree.
func TestTableMatchesCriuOpts(t *testing.T) {
	typ := reflect.TypeOf(libcontainer.CriuOpts{})
	for _, o := range ckpt.Table {
		if o.CriuField == "" {
			continue
		}
		f, ok := typ.FieldByName(o.CriuField)
		if !ok {
			t.Errorf("%s: CriuOpts has no field %s", o.Flag(), o.CriuField)
			continue
		}
		sample := map[ckpt.Kind]any{ckpt.Bool: true, ckpt.String: "x", ckpt.Strings: []string{"network"}, ckpt.Int: 7}[o.Kind]
		if o.Name == "page-server" {
			sample = "127.0.0.1:1"
		}
		if o.Name == "manage-cgroups-mode" {
			sample = "soft"
		}
		v, _, err := setOptions(t, o.Name, sample).CriuValue(o)
		if err != nil {
			t.Errorf("%s: %v", o.Flag(), err)
			continue
		}
		if !reflect.TypeOf(v).ConvertibleTo(f.Type) {
			t.Errorf("%s: %T does not convert to CriuOpts.%s (%s)", o.Flag(), v, o.CriuField, f.Type)
		}
	}
}

// flag -> request -> CriuOpts: each option lands in its field.
func TestToCriuOpts(t *testing.T) {
	dir := t.TempDir()
	cr := setOptions(t, "image-path", dir, "work-path", "w", "parent-path", "../pre",
		"page-server", "10.0.0.1:27", "empty-ns", []string{"network"}, "tcp-established", true,
		"ext-unix-sk", true, "file-locks", true, "shell-job", true, "link-remap", true,
		"tcp-skip-in-flight", true, "auto-dedup", true, "lazy-pages", true, "status-fd", 9,
		"manage-cgroups-mode", "full", "leave-running", true, "lsm-profile", "apparmor:p")
	o, err := toCriuOpts(cr)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	want := libcontainer.CriuOpts{
		ImagesDirectory: dir, WorkDirectory: filepath.Join(wd, "w"), ParentImage: "../pre",
		LeaveRunning: true, TcpEstablished: true, TcpSkipInFlight: true, LinkRemap: true,
		ExternalUnixConnections: true, ShellJob: true, FileLocks: true, AutoDedup: true,
		LazyPages: true, StatusFd: 9, ManageCgroupsMode: "full", LsmProfile: "apparmor:p",
		PageServer: libcontainer.CriuPageServerInfo{Address: "10.0.0.1", Port: 27},
		EmptyNs:    unix.CLONE_NEWNET,
	}
	if !reflect.DeepEqual(*o, want) {
		t.Fatalf("got  %+v\nwant %+v", *o, want)
	}
	// Nothing given: CRIU's defaults, no status fd, the network
	// namespace external.
	o, err = toCriuOpts(setOptions(t, "image-path", dir))
	if err != nil || o.StatusFd != -1 || o.EmptyNs != unix.CLONE_NEWNET || o.TcpEstablished || o.WorkDirectory != "" {
		t.Fatalf("defaults %+v %v", o, err)
	}
	for _, bad := range []ckpt.Options{
		setOptions(t, "page-server", "nohost"),
		setOptions(t, "empty-ns", []string{"pid"}),
		setOptions(t, "manage-cgroups-mode", "sometimes"),
	} {
		if _, err := toCriuOpts(bad); err == nil {
			t.Errorf("%s accepted", bad.Flags())
		}
	}
}

// Options CriuOpts cannot carry reach CRIU through a configuration file
// named by CRIU_CONFIG_FILE, removed when the operation is done.
func TestPrepareCriuConfigFile(t *testing.T) {
	t.Setenv("CRIU_CONFIG_FILE", "")
	os.Unsetenv("CRIU_CONFIG_FILE")
	dir := t.TempDir()
	run, err := prepareCriu("checkpoint", "c1", setOptions(t, "image-path", dir, "work-path", filepath.Join(dir, "w"), "network-lock", "nftables"))
	if err != nil {
		t.Fatal(err)
	}
	conf := os.Getenv("CRIU_CONFIG_FILE")
	data, err := os.ReadFile(conf)
	if err != nil || string(data) != "network-lock nftables\n" {
		t.Fatalf("config %s: %q %v", conf, data, err)
	}
	if run.log != filepath.Join(dir, "w", ckpt.DumpLog) {
		t.Fatalf("log %s", run.log)
	}
	if fi, err := os.Stat(filepath.Join(dir, "w")); err != nil || !fi.IsDir() {
		t.Fatalf("work directory not made: %v", err)
	}
	run.done()
	if _, err := os.Stat(conf); !os.IsNotExist(err) || os.Getenv("CRIU_CONFIG_FILE") != "" {
		t.Fatalf("config file left: %v", err)
	}
	// A CRIU_CONFIG_FILE of the caller's is put back afterwards.
	os.Setenv("CRIU_CONFIG_FILE", "/etc/mine.conf")
	run, err = prepareCriu("checkpoint", "c1", setOptions(t, "image-path", dir, "network-lock", "iptables"))
	if err != nil || os.Getenv("CRIU_CONFIG_FILE") == "/etc/mine.conf" {
		t.Fatalf("rt's configuration file not used: %v", err)
	}
	run.done()
	if got := os.Getenv("CRIU_CONFIG_FILE"); got != "/etc/mine.conf" {
		t.Fatalf("CRIU_CONFIG_FILE after the operation: %q", got)
	}
	os.Unsetenv("CRIU_CONFIG_FILE")
	run, err = prepareCriu("restore", "c1", setOptions(t, "image-path", dir))
	if err != nil || run.confDir != "" || os.Getenv("CRIU_CONFIG_FILE") != "" || run.log != filepath.Join(dir, ckpt.RestoreLog) {
		t.Fatalf("no config wanted: %+v %v", run, err)
	}
}

func TestCheckParentPath(t *testing.T) {
	dir := t.TempDir()
	if err := checkParentPath(dir, "/abs"); err == nil {
		t.Error("absolute parent accepted")
	}
	if err := checkParentPath(dir, "../nope"); err == nil {
		t.Error("missing parent accepted")
	}
	os.Mkdir(filepath.Join(dir, "parent"), 0o700)
	if err := checkParentPath(dir, "parent"); err != nil {
		t.Error(err)
	}
}
