package main

import "github.com/urfave/cli"

// The flags and help text of the commands that make a new container:
// create, run and restore.
var (
	bundleFlag        = cli.StringFlag{Name: "bundle, b", Usage: `path to the root of the bundle directory, defaults to the current directory`}
	consoleSocketFlag = cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"}
	pidfdSocketFlag   = cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"}
	detachFlag        = cli.BoolFlag{Name: "detach, d", Usage: "detach from the container's process"}
	pidFileFlag       = cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"}
	noSubreaperFlag   = cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"}
	noPivotFlag       = cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"}
	noNewKeyringFlag  = cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key"}
	preserveFDsFlag   = cli.IntFlag{Name: "preserve-fds", Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"}
)

const newContainerArgs = `<container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.`

// newContainerDescription is create's and run's description.
func newContainerDescription(command string) string {
	return `The ` + command + ` command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "` + specConfig + `" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"rt spec --help" for more explanation.`
}
