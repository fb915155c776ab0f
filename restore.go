package main

import (
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
	"github.com/rt-runtime/rt/libct/ckpt"
)

var restoreCommand = cli.Command{
	Name:  "restore",
	Usage: "restore a container from a previous checkpoint",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
restored. It may differ from the ID of the checkpointed container.`,
	Description: `Restores the saved state of the container instance that was previously saved
using the rt checkpoint command.`,
	Flags: append(crFlags(ckpt.Restore),
		consoleSocketFlag,
		bundleFlag,
		detachFlag,
		pidFileFlag,
		noSubreaperFlag,
		noPivotFlag,
		cli.StringFlag{Name: "import", Usage: "restore from an archive made by checkpoint --export, applying its rootfs changes to the bundle's rootfs first"},
		cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's restore statistics as JSON on stdout once the container is restored"},
	),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		req := libct.RestoreRequest{Start: startRequest(c, libct.ActRestore), Import: c.String("import")}
		if req.Options, err = crOptions(c, ckpt.Restore); err != nil {
			return err
		}
		if c.Bool("print-stats") {
			req.Stats = os.Stdout
		}
		return exitWith(o.Restore(req))
	},
}
