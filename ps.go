package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var psCommand = cli.Command{
	Name:      "ps",
	Usage:     "ps displays the processes running inside a container",
	ArgsUsage: `<container-id> [ps options]`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: `select one of: table or json`},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, minArgs); err != nil {
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
		format := c.String("format")
		if format != "table" && format != "json" {
			return errNoFormat
		}
		pids, err := o.Pids(id)
		if err != nil {
			return err
		}
		if format == "json" {
			return json.NewEncoder(os.Stdout).Encode(pids)
		}
		out, err := libct.PsTable(pids, c.Args()[1:])
		if err != nil {
			return err
		}
		fmt.Print(out)
		return nil
	},
	SkipArgReorder: true,
}
