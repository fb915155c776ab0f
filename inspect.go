package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var inspectCheckpointCommand = cli.Command{
	Name:  "inspect-checkpoint",
	Usage: "show what a checkpoint holds",
	ArgsUsage: `<image-path>|<archive>

Shows the checkpoint's manifest (of an image directory, or of an archive
written by checkpoint --export) (container, host, CRIU options, files) and
what CRIU's images hold: the process tree with commands and dumped memory,
open files, sockets and the container's mounts.

The images are decoded by rt-inspect, installed next to rt: it links
go-criu's crit, which rt itself does not, to keep every other command
fast to start.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return errors.New("invalid --format: use text or json")
		}
		code, err := libct.RunInspectHelper(format, c.Args().First())
		if err != nil {
			return fmt.Errorf("inspect-checkpoint: %w", err)
		}
		if code != 0 {
			// rt-inspect printed its error on stderr already.
			cli.HandleExitCoder(cli.NewExitError("", code))
		}
		return nil
	},
}
