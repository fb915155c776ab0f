package ckpt

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// SpecDifferences lists where the bundle a restore targets (dst) differs
// from the checkpointed container's (src) in ways that break the restored
// processes: CRIU re-creates mounts, namespaces and credentials exactly as
// dumped, so a target that lacks a mount or a namespace, or runs as
// another user, cannot hold them. Mount sources and absolute rootfs paths
// are allowed to differ: engines give every container its own.
func SpecDifferences(src, dst *specs.Spec) []string {
	var out []string
	if src == nil || dst == nil {
		return nil
	}
	if a, b := rootPath(src), rootPath(dst); a != b {
		out = append(out, fmt.Sprintf("root.path: %q at checkpoint, %q now", a, b))
	}
	if src.Root != nil && dst.Root != nil && src.Root.Readonly != dst.Root.Readonly {
		out = append(out, fmt.Sprintf("root.readonly: %v at checkpoint, %v now", src.Root.Readonly, dst.Root.Readonly))
	}
	if src.Process != nil && dst.Process != nil {
		su, du := src.Process.User, dst.Process.User
		if su.UID != du.UID || su.GID != du.GID {
			out = append(out, fmt.Sprintf("process.user: %d:%d at checkpoint, %d:%d now", su.UID, su.GID, du.UID, du.GID))
		}
	}
	sm, dm := mountSet(src), mountSet(dst)
	for _, k := range sortedKeys(sm) {
		if _, ok := dm[k]; !ok {
			out = append(out, "mount "+k+" is missing")
		}
	}
	for _, k := range sortedKeys(dm) {
		if _, ok := sm[k]; !ok {
			out = append(out, "mount "+k+" was not there at checkpoint")
		}
	}
	sn, dn := namespaceSet(src), namespaceSet(dst)
	for _, k := range sortedKeys(sn) {
		if d, ok := dn[k]; !ok {
			out = append(out, "namespace "+k+" is missing")
		} else if d != sn[k] {
			out = append(out, fmt.Sprintf("namespace %s: %s at checkpoint, %s now", k, sn[k], d))
		}
	}
	for _, k := range sortedKeys(dn) {
		if _, ok := sn[k]; !ok {
			out = append(out, "namespace "+k+" was not there at checkpoint")
		}
	}
	return out
}

// rootPath is root.path when relative to the bundle; absolute paths are
// per-container engine paths and compare equal.
func rootPath(s *specs.Spec) string {
	if s.Root == nil {
		return ""
	}
	if filepath.IsAbs(s.Root.Path) {
		return "(absolute)"
	}
	return filepath.Clean(s.Root.Path)
}

// mountSet keys mounts by destination and type.
func mountSet(s *specs.Spec) map[string]struct{} {
	out := map[string]struct{}{}
	for _, m := range s.Mounts {
		t := m.Type
		if t == "" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
			t = "bind"
		}
		out[filepath.Clean(m.Destination)+" ("+t+")"] = struct{}{}
	}
	return out
}

// namespaceSet maps namespace types to "new" or "joined" (a path given).
func namespaceSet(s *specs.Spec) map[string]string {
	out := map[string]string{}
	if s.Linux == nil {
		return out
	}
	for _, ns := range s.Linux.Namespaces {
		how := "new"
		if ns.Path != "" {
			how = "joined"
		}
		out[string(ns.Type)] = how
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// JoinDifferences formats differences for an error message.
func JoinDifferences(d []string) string {
	return "\n  - " + strings.Join(d, "\n  - ")
}
