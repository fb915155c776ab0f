package libct

import (
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// networkNamespace is the container's network namespace entry in the
// spec; ok is false when it shares the host's.
func networkNamespace(spec *specs.Spec) (ns specs.LinuxNamespace, ok bool) {
	if spec.Linux == nil {
		return ns, false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return ns, true
		}
	}
	return ns, false
}

// ownNetns reports whether the container gets a network namespace of its
// own (one without a path): CRIU then creates it empty on restore.
func ownNetns(spec *specs.Spec) bool {
	ns, ok := networkNamespace(spec)
	return ok && ns.Path == ""
}

// hasNetns tells whether the container has a network namespace other
// than the host's: its own, or one it joins by path.
func hasNetns(spec *specs.Spec) bool {
	_, ok := networkNamespace(spec)
	return ok
}

// joinsNetns tells whether the container joins a network namespace by
// path (an engine's or a CNI plugin's), which outlives it.
func joinsNetns(spec *specs.Spec) bool {
	ns, ok := networkNamespace(spec)
	return ok && ns.Path != ""
}

// loopbackUp sets the loopback interface up in the network namespace of
// pid. A restore into a namespace of its own gets an empty one from CRIU
// (the namespace is external to CRIU: --empty-ns network), and neither
// CRIU nor libcontainer brings its loopback up: a restored server would
// not even be reachable on 127.0.0.1 from inside its container (runc has
// the same gap).
func loopbackUp(pid int) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("network namespace of %d: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the namespace of %d: %w", pid, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetUp(lo)
}
