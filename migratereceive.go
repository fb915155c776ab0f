package main

import (
	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

// migrateReceiveCommand is rt migrate's other end, started on the
// destination through ssh and speaking its protocol on stdin and stdout:
// it is not meant to be run by hand.
var migrateReceiveCommand = cli.Command{
	Name:   "migrate-receive",
	Usage:  "receive a container sent by rt migrate (internal)",
	Hidden: true,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "abort", Usage: "remove what an interrupted migration into --id left here"},
		cli.StringFlag{Name: "id", Usage: "with --abort: the container's ID here"},
	},
	Action: func(c *cli.Context) error {
		o, err := options(c)
		if err != nil {
			return err
		}
		if c.Bool("abort") {
			return o.MigrateAbort(c.String("id"))
		}
		conn, err := libct.ReceiveWire()
		if err != nil {
			return err
		}
		return o.MigrateReceive(conn)
	},
}
