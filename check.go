package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var checkCommand = cli.Command{
	Name:  "check",
	Usage: "check whether checkpoint/restore can work on this host",
	ArgsUsage: `

Checks, before any container is touched, that CRIU is installed, which
version it is, that it works on the running kernel (naming the cause and
the fix when it does not), which kernel features C/R options need, and
which network-locking tool CRIU can use. With --image, also whether that
checkpoint can be restored here.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "image", Usage: "also check the checkpoint in this image directory"},
		cli.StringFlag{Name: "format, f", Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, exactArgs); err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return errors.New("invalid --format: use text or json")
		}
		r := libct.Check(c.GlobalString("criu"), c.String("image"))
		switch format {
		case "json":
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		default:
			r.WriteText(os.Stdout)
		}
		if !r.OK() {
			os.Exit(1)
		}
		return nil
	},
}
