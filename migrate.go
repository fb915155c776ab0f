package main

import (
	"errors"
	"os"
	"strings"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
	"github.com/rt-runtime/rt/libct/ckpt"
)

var migrateCommand = cli.Command{
	Name:  "migrate",
	Usage: "move a running container to another host over ssh",
	ArgsUsage: `<container-id> ssh://[user@]host[:port]

Where "<container-id>" is the container to move, and the URL names the
destination host, reached with ssh (keys or ssh-agent, no password prompt).`,
	Description: `The migrate command moves a running container to another host: it asks rt
on the destination (started through ssh) whether it can restore the
container, copies its memory in pre-copy rounds while it runs, freezes it,
dumps what changed since, sends it through ssh, and has rt there restore
it. The container is deleted here only once the destination runs it; if
anything fails before, it runs on here and the destination is left clean.

The bundle (config.json and the base rootfs) must exist on the destination,
at the same path unless --dest-bundle names another; with --copy-bundle rt
sends it, on top of --rootfs-base when both hosts hold that directory.
See rt-migrate(8).`,
	Flags: append(crFlags(ckpt.Checkpoint),
		cli.StringFlag{Name: "dest-id", Usage: "the container's ID on the destination (default: the same)"},
		cli.StringFlag{Name: "dest-bundle", Usage: "the bundle on the destination (default: the same path as here)"},
		cli.StringFlag{Name: "dest-root", Usage: "rt's --root on the destination (default: the same as here)"},
		cli.StringFlag{Name: "dest-rt", Usage: "rt's path on the destination (default: this rt's path)"},
		cli.BoolFlag{Name: "copy-bundle", Usage: "send the bundle (config.json and the rootfs, while the container runs) to a --dest-bundle path that does not exist there yet"},
		cli.StringFlag{Name: "rootfs-base", Usage: "with --copy-bundle: send the rootfs as its changes to this directory, which the destination holds equal at the same path"},
		cli.StringFlag{Name: "rsh", Usage: "the command that replaces ssh, with its own arguments (as rsync's --rsh)"},
		cli.BoolFlag{Name: "lazy", Usage: "post-copy: run the container on the destination at once and copy the memory the pre-copy rounds did not carry afterwards, as it is needed and in the background (needs userfaultfd there; see rt-migrate(8) for the window this opens)"},
		cli.BoolFlag{Name: "print-stats", Usage: "print the phases' times as JSON on stdout"},
	),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 2, exactArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		dest, err := libct.ParseDestination(c.Args().Get(1))
		if err != nil {
			return err
		}
		req := libct.MigrateRequest{ID: c.Args().First(), Dest: dest,
			DestID: c.String("dest-id"), DestBundle: c.String("dest-bundle"),
			DestRoot: c.String("dest-root"), DestRt: c.String("dest-rt")}
		if req.Options, err = crOptions(c, ckpt.Checkpoint); err != nil {
			return err
		}
		req.Rsh = strings.Fields(c.String("rsh"))
		req.CopyBundle, req.RootfsBase = c.Bool("copy-bundle"), c.String("rootfs-base")
		req.Lazy = c.Bool("lazy")
		req.NoPreCopy = c.IsSet("pre-copy") && !c.Bool("pre-copy")
		if req.RootfsBase != "" && !req.CopyBundle {
			return errors.New("--rootfs-base needs --copy-bundle")
		}
		if c.Bool("print-stats") {
			req.Stats = os.Stdout
		}
		return o.Migrate(req)
	},
}
