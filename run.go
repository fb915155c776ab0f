package main

import (
	"fmt"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var runCommand = cli.Command{
	Name:        "run",
	Usage:       "create and run a container",
	ArgsUsage:   newContainerArgs,
	Description: newContainerDescription("run"),
	Flags: []cli.Flag{
		bundleFlag,
		consoleSocketFlag,
		pidfdSocketFlag,
		detachFlag,
		cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		pidFileFlag,
		noSubreaperFlag,
		noPivotFlag,
		noNewKeyringFlag,
		preserveFDsFlag,
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		status, err := o.StartContainer(startRequest(c, libct.ActRun))
		if err != nil {
			return fmt.Errorf("%s run failed: %w", c.App.Name, err)
		}
		return exitWith(status, nil)
	},
}
