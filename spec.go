package main

import (
	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var specCommand = cli.Command{
	Name:      "spec",
	Usage:     "create a new specification file",
	ArgsUsage: "",
	Description: `The spec command creates the new specification file named "` + specConfig + `" for
the bundle.

The spec generated is just a starter file. Editing of the spec is required to
achieve desired results. For example, the newly generated spec includes an args
parameter that is initially set to call the "sh" command when the container is
started. Calling "sh" may work for an ubuntu container or busybox, but will not
work for containers that do not include the "sh" program.

EXAMPLE:
  To run a busybox container, put a busybox root filesystem into "rootfs",
then:

    rt spec
    sed -i 's;"sh";"/bin/sh";' ` + specConfig + `
    rt run container1

You can pass --rootless to generate a spec for a rootless container.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "bundle, b", Usage: "path to the root of the bundle directory"},
		cli.BoolFlag{Name: "rootless", Usage: "generate a configuration for a rootless container"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, exactArgs); err != nil {
			return err
		}
		return libct.WriteExampleSpec(c.String("bundle"), c.Bool("rootless"))
	},
}
