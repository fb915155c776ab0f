package main

import (
	"os"

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
container, freezes it, checkpoints it (leaving it frozen here), sends the
checkpoint and the container's rootfs changes through ssh, and has rt there
restore it. The container is deleted here only once the destination reports
it running; if anything fails before, it is thawed and runs on here.

The bundle (config.json and the base rootfs) must exist on the destination,
at the same path unless --dest-bundle names another.`,
	Flags: append(crFlags(ckpt.Checkpoint),
		cli.StringFlag{Name: "dest-id", Usage: "the container's ID on the destination (default: the same)"},
		cli.StringFlag{Name: "dest-bundle", Usage: "the bundle on the destination (default: the same path as here)"},
		cli.StringFlag{Name: "dest-root", Usage: "rt's --root on the destination (default: the same as here)"},
		cli.StringFlag{Name: "dest-rt", Usage: "rt's path on the destination (default: this rt's path)"},
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
		if c.Bool("print-stats") {
			req.Stats = os.Stdout
		}
		return o.Migrate(req)
	},
}
