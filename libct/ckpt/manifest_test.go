package ckpt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func sampleImage(t *testing.T) (string, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, inventoryFile), "inventory")
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("p", 4096))
	writeFile(t, filepath.Join(dir, "descriptors.json"), `["/dev/null"]`)
	writeFile(t, filepath.Join(dir, DumpLog), "log is not part of the image")
	m := &Manifest{Kind: KindDump, ContainerID: "c1", Options: optionsOf(t, "tcp-established", true, "image-path", "/secret/path")}
	if err := WriteManifest(dir, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func TestManifestRoundTrip(t *testing.T) {
	dir, _ := sampleImage(t)
	m, err := ReadManifest(dir)
	if err != nil || m == nil {
		t.Fatalf("read: %v", err)
	}
	if len(m.Files) != 3 || m.Files["pages-1.img"] == "" || m.Files[DumpLog] != "" {
		t.Fatalf("files %v", m.Files)
	}
	if m.Options.Flags() != "--tcp-established" || m.Options.ImagePath() != "" {
		t.Fatalf("options %+v: want tcp-established recorded and no local path", m.Options)
	}
	if err := m.Verify(dir); err != nil {
		t.Fatal(err)
	}
	if !HasCheckpoint(dir) {
		t.Fatal("HasCheckpoint false")
	}
	if m, err := ReadManifest(t.TempDir()); m != nil || err != nil {
		t.Fatalf("no manifest: %v %v", m, err)
	}
}

func TestManifestVerifyFindsDamage(t *testing.T) {
	for name, damage := range map[string]func(dir string){
		"pages-1.img": func(dir string) { // one flipped byte
			p := filepath.Join(dir, "pages-1.img")
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			os.WriteFile(p, b, 0o600)
		},
		"inventory.img": func(dir string) { os.Remove(filepath.Join(dir, inventoryFile)) },
		"descriptors.json": func(dir string) { // truncated
			os.Truncate(filepath.Join(dir, "descriptors.json"), 3)
		},
		"extra-9.img": func(dir string) { writeFile(t, filepath.Join(dir, "extra-9.img"), "x") },
	} {
		dir, m := sampleImage(t)
		damage(dir)
		err := m.Verify(dir)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("damage to %s: Verify = %v, want an error naming it", name, err)
		}
	}
}

func TestParseManifestRejects(t *testing.T) {
	for _, bad := range []string{
		`{}`,
		`{"manifestVersion": 99, "kind": "dump"}`,
		`{"manifestVersion": 1, "kind": "weird"}`,
		`{"manifestVersion": 1, "kind": "dump", "files": {"../../etc/passwd": "00"}}`,
		`{"manifestVersion": 1, "kind": "dump", "files": {"/abs": "00"}}`,
		`{"manifestVersion": 1,`,
		`{"manifestVersion": 2, "kind": "dump", "files": {}}`,
		`{"manifestVersion": 2, "kind": "dump", "digest": "md5", "files": {}}`,
		`{"manifestVersion": 1, "kind": "dump", "digest": "xxh64", "files": {}}`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func testSpec() *specs.Spec {
	return &specs.Spec{
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{User: specs.User{UID: 0, GID: 0}},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/srv/a", Options: []string{"rbind"}},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}, {Type: "network"}}},
	}
}

func TestSpecDifferences(t *testing.T) {
	a, b := testSpec(), testSpec()
	b.Mounts[1].Source = "/srv/b" // sources may differ
	if d := SpecDifferences(a, b); len(d) != 0 {
		t.Fatalf("unexpected differences %v", d)
	}
	b.Root.Path = "/var/lib/engine/merged" // absolute vs relative
	a.Root.Path = "/var/lib/engine/other"
	if d := SpecDifferences(a, b); len(d) != 0 {
		t.Fatalf("absolute root paths must compare equal: %v", d)
	}
	b = testSpec()
	b.Mounts = b.Mounts[:1]
	b.Process.User.UID = 1000
	b.Linux.Namespaces = []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}, {Type: "network", Path: "/proc/1/ns/net"}, {Type: "ipc"}}
	b.Root.Path = "other"
	d := strings.Join(SpecDifferences(testSpec(), b), "\n")
	for _, want := range []string{"mount /data (bind) is missing", "process.user: 0:0", "namespace network: new at checkpoint, joined now", "namespace ipc was not there", `root.path: "rootfs"`} {
		if !strings.Contains(d, want) {
			t.Errorf("differences lack %q:\n%s", want, d)
		}
	}
}

func TestRestoreBlockers(t *testing.T) {
	here := HostInfo{Arch: "amd64", CPUFeatures: []string{"sse", "avx"}, CriuVersion: 31701}
	if b := RestoreBlockers(HostInfo{Arch: "amd64", CPUFeatures: []string{"sse"}, CriuVersion: 31600}, here); len(b) != 0 {
		t.Fatalf("compatible image refused: %v", b)
	}
	b := strings.Join(RestoreBlockers(HostInfo{Arch: "arm64", CPUFeatures: []string{"avx512f", "sse"}, CriuVersion: 40100}, here), "; ")
	for _, want := range []string{"architecture arm64", "avx512f", "CRIU 4.1"} {
		if !strings.Contains(b, want) {
			t.Errorf("blockers %q lack %q", b, want)
		}
	}
}

// Many files hashed concurrently: the sums are XXH64's, and Verify
// names the first damaged, missing or unknown file in path order.
func TestManifestVerifyManyFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range 40 {
		data := strings.Repeat(fmt.Sprintf("%d-", i), 1000*(i+1))
		writeFile(t, filepath.Join(dir, fmt.Sprintf("pages-%02d.img", i)), data)
	}
	writeFile(t, filepath.Join(dir, DumpLog), "log, not hashed")
	m := &Manifest{Kind: KindDump}
	if err := WriteManifest(dir, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 40 {
		t.Fatalf("%d files in the manifest, want 40", len(m.Files))
	}
	if m.Digest != DigestXXH64 || m.ManifestVersion != 2 {
		t.Fatalf("manifest version %d digest %q, want 2 and %s", m.ManifestVersion, m.Digest, DigestXXH64)
	}
	if got, want := m.Files["pages-07.img"], fmt.Sprintf("%016x", xxhash.Sum64String(strings.Repeat("7-", 8000))); got != want {
		t.Fatalf("pages-07.img: xxh64 %s, want %s", got, want)
	}
	if err := m.Verify(dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "pages-30.img"), "damaged")
	writeFile(t, filepath.Join(dir, "pages-12.img"), "damaged too")
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "pages-12.img is corrupted") {
		t.Fatalf("damaged files: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "pages-05.img")); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "pages-05.img is missing") {
		t.Fatalf("missing file: %v", err)
	}
}

// Sums known from an import are trusted for the files still there; the
// manifest cannot point outside the image, nor at a symlink.
func TestManifestVerifyKnownAndHostile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pages-1.img"), "pages")
	writeFile(t, filepath.Join(dir, "core-1.img"), "core")
	m := &Manifest{Kind: KindDump}
	if err := WriteManifest(dir, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	known := map[string]string{"pages-1.img": m.Files["pages-1.img"]}
	if err := m.verifyKnown(dir, known, DigestXXH64); err != nil {
		t.Fatal(err)
	}
	// a wrong known sum is caught: it is what was streamed in
	wrong := map[string]string{"pages-1.img": "00"}
	if err := m.verifyKnown(dir, wrong, DigestXXH64); err == nil || !strings.Contains(err.Error(), "pages-1.img is corrupted") {
		t.Fatalf("wrong streamed sum: %v", err)
	}
	// sums of another algorithm than the manifest's are not used
	if err := m.verifyKnown(dir, wrong, DigestSHA256); err != nil {
		t.Fatalf("sums of another algorithm were used: %v", err)
	}
	os.Remove(filepath.Join(dir, "pages-1.img"))
	if err := m.verifyKnown(dir, known, DigestXXH64); err == nil || !strings.Contains(err.Error(), "pages-1.img is missing") {
		t.Fatalf("removed after import: %v", err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "pages-1.img")); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("symlinked image file: %v", err)
	}
	m.Files["../../etc/passwd"] = "00"
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "outside the image") {
		t.Fatalf("manifest naming ../../etc/passwd: %v", err)
	}
}

// A file unchanged since the checkpoint (inode, size, mtime, ctime) is not
// re-read; any change to it, or a copy, is hashed and caught.
func TestVerifySkipsUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("p", 4096))
	writeFile(t, filepath.Join(dir, "core-1.img"), "core")
	m := &Manifest{Kind: KindDump}
	if err := WriteManifest(dir, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(m.FileStats) != 2 {
		t.Fatalf("stats recorded for %d files, want 2", len(m.FileStats))
	}
	// Lie in the manifest's sum: a verify that trusts the stat passes,
	// which shows the unchanged file was not read.
	good := m.Files["pages-1.img"]
	m.Files["pages-1.img"] = strings.Repeat("0", 16)
	if err := m.Verify(dir); err != nil {
		t.Fatalf("unchanged file was re-read: %v", err)
	}
	m.Files["pages-1.img"] = good
	// Rewrite the same size in place: ctime and mtime move, so it is hashed.
	f, err := os.OpenFile(filepath.Join(dir, "pages-1.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "pages-1.img is corrupted") {
		t.Fatalf("in-place change: %v", err)
	}
	// A copy (new inode) of an intact image is hashed, and passes.
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("p", 4096))
	if err := m.Verify(dir); err != nil {
		t.Fatalf("restored content: %v", err)
	}
}

// A version 1 manifest (rt before XXH64) holds sha256 sums: it is still
// read and verified, and a damaged file is still caught.
func TestManifestVersion1SHA256(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("p", 4096))
	sum := sha256.Sum256([]byte(strings.Repeat("p", 4096)))
	data := fmt.Sprintf(`{"manifestVersion": 1, "kind": "dump", "files": {"pages-1.img": %q}}`, hex.EncodeToString(sum[:]))
	m, err := ParseManifest([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if m.digestAlg() != DigestSHA256 {
		t.Fatalf("version 1 digest %q", m.digestAlg())
	}
	if err := m.Verify(dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "pages-1.img"), strings.Repeat("q", 4096))
	if err := m.Verify(dir); err == nil || !strings.Contains(err.Error(), "pages-1.img is corrupted: sha256") {
		t.Fatalf("damaged file under a sha256 manifest: %v", err)
	}
}
