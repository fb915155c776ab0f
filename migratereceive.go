package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli"
)

// migrateReceiveCommand is rt migrate's other end, started on the
// destination through ssh: it is not meant to be run by hand.
var migrateReceiveCommand = cli.Command{
	Name:   "migrate-receive",
	Usage:  "restore a container sent by rt migrate on stdin (internal)",
	Hidden: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "id"},
		cli.StringFlag{Name: "bundle"},
		cli.BoolFlag{Name: "check", Usage: "only say whether the container can be restored here"},
	},
	Action: func(c *cli.Context) error {
		o, err := options(c)
		if err != nil {
			return err
		}
		if c.Bool("check") {
			return o.MigrateCheck(c.String("id"), c.String("bundle"))
		}
		pid, err := o.MigrateReceive(c.String("id"), c.String("bundle"), os.Stdin)
		if err != nil {
			return err
		}
		fmt.Printf("running %d\n", pid)
		return nil
	},
}
