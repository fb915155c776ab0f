package main

import (
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
	"github.com/rt-runtime/rt/libct/ckpt"
)

var checkpointCommand = cli.Command{
	Name:  "checkpoint",
	Usage: "checkpoint a running container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.`,
	Description: `The checkpoint command saves the state of the container instance with CRIU.`,
	Flags: append(crFlags(ckpt.Checkpoint),
		cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's dump statistics as JSON on stdout"},
		cli.StringFlag{Name: "export", Usage: "also write the checkpoint and the container's rootfs changes into this archive (restore it with restore --import)"},
		cli.StringFlag{Name: "compress", Value: "zstd", Usage: "compression of the --export archive: zstd, gzip or none"},
		cli.BoolFlag{Name: "export-volumes", Usage: "include the content of bind-mounted volumes in the --export archive"},
		cli.BoolFlag{Name: "check", Usage: "first analyse the container as 'rt check ID' does (no freeze) and refuse, with the report, when the checkpoint cannot work or needs options not given"},
	),
	Action: func(c *cli.Context) error {
		o, id, err := forContainer(c, 1)
		if err != nil {
			return err
		}
		req := libct.CheckpointRequest{ID: id, Check: c.Bool("check"),
			NoPreCopy: c.IsSet("pre-copy") && !c.Bool("pre-copy")}
		if req.Options, err = crOptions(c, ckpt.Checkpoint); err != nil {
			return err
		}
		if f := c.String("export"); f != "" {
			req.Export = &ckpt.ExportOptions{Path: f, Compression: c.String("compress"), Volumes: c.Bool("export-volumes")}
		}
		if c.Bool("print-stats") {
			req.Stats = os.Stdout
		}
		return o.Checkpoint(req)
	},
}
