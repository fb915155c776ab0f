package main

import (
	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var killCommand = cli.Command{
	Name:  "kill",
	Usage: "kill sends the specified signal (default: SIGTERM) to the container's init process",
	ArgsUsage: `<container-id> [signal]

Where "<container-id>" is the name for the instance of the container and
"[signal]" is the signal to be sent to the init process: a number, or a name
with or without the SIG prefix.

EXAMPLE:
For example, if the container id is "ubuntu01" the following will send a "KILL"
signal to the init process of the "ubuntu01" container:

       # rt kill ubuntu01 KILL`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "all, a", Usage: "send the specified signal to all processes inside the container"},
	},
	Action: func(c *cli.Context) error {
		o, id, err := forContainer(c, 2)
		if err != nil {
			return err
		}
		name := c.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := libct.ParseSignal(name)
		if err != nil {
			return err
		}
		return o.Kill(id, sig, c.Bool("all"))
	},
}
