package main

import (
	"encoding/json"
	"errors"
	"os"

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
open files, sockets and the container's mounts.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		info, err := libct.InspectCheckpoint(c.Args().First())
		if err != nil {
			return err
		}
		switch c.String("format") {
		case "json":
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(info)
		case "text":
			info.WriteText(os.Stdout)
			return nil
		default:
			return errors.New("invalid --format: use text or json")
		}
	},
}
