package main

import (
	"io"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var checkpointCommand = cli.Command{
	Name:  "checkpoint",
	Usage: "checkpoint a running container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.`,
	Description: `The checkpoint command saves the state of the container instance with CRIU.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "image-path", Usage: "path for saving criu image files (default: ./checkpoint)"},
		cli.StringFlag{Name: "work-path", Usage: "path for saving work files and logs"},
		cli.StringFlag{Name: "parent-path", Usage: "path for previous criu image files in pre-dump"},
		cli.BoolFlag{Name: "leave-running", Usage: "leave the process running after checkpointing"},
		cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
		cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight tcp connections"},
		cli.BoolFlag{Name: "link-remap", Usage: "allow one to link unlinked files back when possible"},
		cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
		cli.IntFlag{Name: "status-fd", Value: -1, Usage: "criu writes \\0 to this FD once lazy-pages is ready"},
		cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of the page server"},
		cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
		cli.BoolFlag{Name: "pre-dump", Usage: "dump container's memory information only, leave the container running after this"},
		cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft|full|strict|ignore (default: soft)"},
		cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
		cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
		cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's dump statistics as JSON on stdout"},
		cli.StringFlag{Name: "export", Usage: "also write the checkpoint and the container's rootfs changes into this archive (restore it with restore --import)"},
		cli.StringFlag{Name: "compress", Value: "zstd", Usage: "compression of the --export archive: zstd, gzip or none"},
		cli.BoolFlag{Name: "export-volumes", Usage: "include the content of bind-mounted volumes in the --export archive"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		cr := crOptions(c)
		var export *libct.ExportOptions
		if f := c.String("export"); f != "" {
			export = &libct.ExportOptions{Path: f, Compression: c.String("compress"), Volumes: c.Bool("export-volumes")}
		}
		var stats io.Writer
		if c.Bool("print-stats") {
			stats = os.Stdout
		}
		return o.Checkpoint(id, cr, export, stats)
	},
}

// crOptions reads the C/R flags; flags a command does not define read as
// their zero value.
func crOptions(c *cli.Context) libct.CROptions {
	statusFd := -1
	if c.IsSet("status-fd") {
		statusFd = c.Int("status-fd")
	}
	return libct.CROptions{
		ImagePath:         c.String("image-path"),
		WorkPath:          c.String("work-path"),
		ParentPath:        c.String("parent-path"),
		LeaveRunning:      c.Bool("leave-running"),
		TCPEstablished:    c.Bool("tcp-established"),
		TCPSkipInFlight:   c.Bool("tcp-skip-in-flight"),
		LinkRemap:         c.Bool("link-remap"),
		ExtUnixSk:         c.Bool("ext-unix-sk"),
		ShellJob:          c.Bool("shell-job"),
		FileLocks:         c.Bool("file-locks"),
		PreDump:           c.Bool("pre-dump"),
		AutoDedup:         c.Bool("auto-dedup"),
		LazyPages:         c.Bool("lazy-pages"),
		StatusFd:          statusFd,
		PageServer:        c.String("page-server"),
		ManageCgroupsMode: c.String("manage-cgroups-mode"),
		EmptyNs:           c.StringSlice("empty-ns"),
		LsmProfile:        c.String("lsm-profile"),
		LsmMountContext:   c.String("lsm-mount-context"),
	}
}
