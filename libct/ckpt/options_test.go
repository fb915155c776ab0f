package ckpt

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// optionsOf builds Options from name, value pairs.
func optionsOf(t *testing.T, kv ...any) Options {
	t.Helper()
	var o Options
	for i := 0; i < len(kv); i += 2 {
		opt := Lookup(kv[i].(string))
		if opt == nil {
			t.Fatalf("no option %q", kv[i])
		}
		if err := o.Set(opt, kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestTableIsConsistent(t *testing.T) {
	names, keys := map[string]bool{}, map[string]bool{}
	for _, o := range Table {
		if o.Name == "" || strings.HasPrefix(o.Name, "-") || o.Usage == "" || o.Kind == 0 || o.Commands == 0 {
			t.Errorf("incomplete option %+v", o)
		}
		if names[o.Name] || (o.JSON != "" && keys[o.JSON]) {
			t.Errorf("option %s: name or JSON key used twice", o.Name)
		}
		names[o.Name], keys[o.JSON] = true, true
		if (o.Replay || o.Default) && o.JSON == "" {
			t.Errorf("option %s is replayed or defaultable but never recorded", o.Name)
		}
		if o.CriuField != "" && o.CriuConfig != "" {
			t.Errorf("option %s goes to CRIU twice", o.Name)
		}
	}
	// what rt recorded, replayed and allowed as defaults before the table
	for _, n := range []string{"tcp-established", "ext-unix-sk", "shell-job", "file-locks", "tcp-skip-in-flight", "link-remap", "manage-cgroups-mode", "empty-ns"} {
		if o := Lookup(n); o == nil || !o.Replay || !o.Default {
			t.Errorf("%s must be replayed and defaultable", n)
		}
	}
	for _, n := range []string{"leave-running", "pre-dump", "lazy-pages", "parent-path", "page-server", "lsm-profile", "lsm-mount-context"} {
		if o := Lookup(n); o == nil || o.Default || o.Replay {
			t.Errorf("%s is per call: never a default, never replayed", n)
		}
	}
}

// A value goes in as a flag would set it, comes out as CRIU takes it, is
// recorded in JSON, read back, and repeated by a restore that did not set it.
func TestOptionRoundTrip(t *testing.T) {
	o := optionsOf(t,
		"image-path", "/img", "work-path", "/work",
		"tcp-established", true, "manage-cgroups-mode", "soft", "empty-ns", []string{"network"},
		"page-server", "10.0.0.1:27", "network-lock", "nftables", "leave-running", true, "status-fd", 5)
	if got := o.Flags(); got != "--image-path /img --work-path /work --leave-running --tcp-established --status-fd 5 --page-server 10.0.0.1:27 --manage-cgroups-mode soft --empty-ns network --network-lock nftables" {
		t.Fatalf("flags %q", got)
	}
	if v, ok, err := o.CriuValue(Lookup("page-server")); !ok || err != nil || v != (PageServerInfo{"10.0.0.1", 27}) {
		t.Fatalf("page server %v %v %v", v, ok, err)
	}
	if v, _, err := o.CriuValue(Lookup("empty-ns")); err != nil || v != uint32(0x40000000) {
		t.Fatalf("empty-ns mask %#v %v", v, err)
	}
	if got := o.CriuConfigLines(); !reflect.DeepEqual(got, []string{"network-lock nftables"}) {
		t.Fatalf("CRIU config lines %q", got)
	}
	if o.StatusFd() != 5 || (Options{}).StatusFd() != -1 {
		t.Fatal("status fd")
	}

	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, local := range []string{"/img", "/work", "statusFd"} {
		if strings.Contains(string(data), local) {
			t.Errorf("recorded a per-call value %s: %s", local, data)
		}
	}
	var rec Options
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Flags() != "--leave-running --tcp-established --page-server 10.0.0.1:27 --manage-cgroups-mode soft --empty-ns network --network-lock nftables" {
		t.Fatalf("read back %q from %s", rec.Flags(), data)
	}

	restore := optionsOf(t, "image-path", "/img", "manage-cgroups-mode", "full")
	added := restore.AddRecorded(rec)
	if strings.Join(added, " ") != "--tcp-established --empty-ns network --network-lock nftables" {
		t.Fatalf("replayed %q", added)
	}
	if restore.Flags() != "--image-path /img --tcp-established --manage-cgroups-mode full --empty-ns network --network-lock nftables" {
		t.Fatalf("restore options %q: the caller's value must win, per-call options must not come back", restore.Flags())
	}
	// The old manifest form (CROptions' JSON) reads the same way; unknown
	// keys of a newer rt are ignored.
	if err := json.Unmarshal([]byte(`{"tcpEstablished":true,"fromTheFuture":1}`), &rec); err != nil || rec.Flags() != "--tcp-established" {
		t.Fatalf("%q %v", rec.Flags(), err)
	}
	if err := json.Unmarshal([]byte(`{"tcpEstablished":"yes"}`), &rec); err == nil || !strings.Contains(err.Error(), "tcpEstablished") {
		t.Fatalf("wrong type accepted: %v", err)
	}
}

func TestOptionChecks(t *testing.T) {
	for _, c := range []struct{ name, val, want string }{
		{"page-server", "nohost", "ADDRESS:PORT"},
		{"page-server", "h:notaport", "port"},
		{"manage-cgroups-mode", "sometimes", "soft, full, strict, ignore"},
		{"network-lock", "pf", "iptables, nftables, skip"},
		{"parent-path", "/abs", "relative"},
	} {
		o := optionsOf(t, c.name, c.val)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v", c.name, c.val, err)
		}
	}
	if err := optionsOf(t, "empty-ns", []string{"pid"}).Validate(); err == nil {
		t.Error("empty-ns pid accepted")
	}
	var o Options
	if err := o.Set(Lookup("tcp-established"), "true"); err == nil {
		t.Error("a string set on a boolean option")
	}
}

func TestOptionDefaultsAndRecorded(t *testing.T) {
	var cfg Config
	if err := json.Unmarshal([]byte(`{"checkpoint":{"fileLocks":true,"tcpEstablished":true}}`), &cfg); err != nil {
		t.Fatal(err)
	}
	d, err := Defaults(&cfg, map[string]string{
		AnnotationPrefix + "ext-unix-sk":         "true",
		AnnotationPrefix + "tcp-established":     "false",
		AnnotationPrefix + "manage-cgroups-mode": "ignore",
		AnnotationPrefix + "network-lock":        "skip",
		"unrelated":                              "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Flags() != "--ext-unix-sk --file-locks --manage-cgroups-mode ignore --network-lock skip" {
		t.Fatalf("defaults %q", d.Flags())
	}
	for ann, want := range map[string]string{
		"tcp-established": "yes please", // not a boolean
		"warp-drive":      "true",       // unknown
		"leave-running":   "true",       // per call
		"network-lock":    "pf",         // not a method
	} {
		if _, err := Defaults(&Config{}, map[string]string{AnnotationPrefix + ann: want}); err == nil {
			t.Errorf("annotation %s=%s accepted", ann, want)
		}
	}
	t.Setenv("RT_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	cli := optionsOf(t, "shell-job", true, "manage-cgroups-mode", "full")
	got, err := cli.WithDefaults(map[string]string{AnnotationPrefix + "manage-cgroups-mode": "soft", AnnotationPrefix + "auto-dedup": "true"})
	if err != nil || got.Flags() != "--shell-job --manage-cgroups-mode full --auto-dedup" {
		t.Fatalf("with defaults %q %v", got.Flags(), err)
	}
}

func TestLoadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("RT_CONFIG", p)
	if c, err := LoadConfig(); err != nil || c.Checkpoint.Flags() != "" {
		t.Fatalf("missing file: %+v %v", c, err)
	}
	writeFile(t, p, `{"checkpoint": {"tcpEstablished": true}}`)
	if c, err := LoadConfig(); err != nil || c.Checkpoint.Flags() != "--tcp-established" {
		t.Fatalf("%+v %v", c, err)
	}
	writeFile(t, p, `{"checkpoint": {"leaveRunning": true}}`)
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "leaveRunning") {
		t.Fatalf("per-call option as default: %v", err)
	}
	writeFile(t, p, `{"checkpoint": {"networkLock": "pf"}}`)
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "pf") {
		t.Fatalf("bad network lock: %v", err)
	}
	writeFile(t, p, `{"checkpoint": `)
	if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("bad file: %v", err)
	}
}
