package main

import (
	"io"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var restoreCommand = cli.Command{
	Name:  "restore",
	Usage: "restore a container from a previous checkpoint",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
restored. It may differ from the ID of the checkpointed container.`,
	Description: `Restores the saved state of the container instance that was previously saved
using the rt checkpoint command.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		cli.StringFlag{Name: "image-path", Usage: "path to criu image files for restoring (default: ./checkpoint)"},
		cli.StringFlag{Name: "work-path", Usage: "path for saving work files and logs"},
		cli.StringFlag{Name: "parent-path", Usage: "accepted and ignored: the parent chain is recorded in the images (containerd's shim may pass it)", Hidden: true},
		cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
		cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
		cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
		cli.StringFlag{Name: "bundle, b", Usage: "path to the root of the bundle directory"},
		cli.BoolFlag{Name: "detach, d", Usage: "detach from the container's process"},
		cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
		cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"},
		cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
		cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
		cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
		cli.StringFlag{Name: "lsm-profile", Usage: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
		cli.StringFlag{Name: "lsm-mount-context", Usage: "Specify an LSM mount context to be used during restore."},
		cli.StringFlag{Name: "import", Usage: "restore from an archive made by checkpoint --export, applying its rootfs changes to the bundle's rootfs first"},
		cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's restore statistics as JSON on stdout once the container is restored"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		cr := crOptions(c)
		// A parent chain is followed through the images' own parent
		// link; the flag is only meaningful for checkpoint.
		cr.ParentPath = ""
		var stats io.Writer
		if c.Bool("print-stats") {
			stats = os.Stdout
		}
		return exitWith(o.Restore(startRequest(c, libct.ActRestore), cr, c.String("import"), stats))
	},
}
