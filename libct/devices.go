package libct

import (
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/devices"
)

// normalizeDevices fixes up the device list specconv made from
// linux.devices before libcontainer creates the nodes.
//
// The runtime spec gives major and minor numbers meaning only for "c", "u"
// and "b" devices. libcontainer (1.4) passes them to mknod for a FIFO too,
// where the kernel ignores them, and then refuses the node it made because
// its rdev (0:0) differs from the numbers asked for. runc 1.1 created such
// containers, so a spec listing {"type": "p", "major": 8, "minor": 666}
// must work here too: a FIFO has no device number, so rt clears them.
func normalizeDevices(config *configs.Config) {
	for _, d := range config.Devices {
		if d != nil && d.Type == devices.FifoDevice {
			d.Major, d.Minor = 0, 0
		}
	}
}
