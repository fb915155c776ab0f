package main

import (
	"os"

	// Registers the device-rules manager with the cgroup managers;
	// without it every container fails to start on cgroup v1.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor runs before the Go runtime starts and sets
	// up namespaces when the binary is re-executed as "rt init".
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// libcontainer re-executes this binary as "rt init" inside the new
		// container; Init never returns.
		libcontainer.Init()
	}
}
