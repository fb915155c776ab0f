package main

import (
	"fmt"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var createCommand = cli.Command{
	Name:        "create",
	Usage:       "create a container",
	ArgsUsage:   newContainerArgs,
	Description: newContainerDescription("create"),
	Flags: []cli.Flag{
		bundleFlag,
		consoleSocketFlag,
		pidfdSocketFlag,
		pidFileFlag,
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
		req := startRequest(c, libct.ActCreate)
		if _, err := o.StartContainer(req); err != nil {
			// runc's wording: "<name> create failed: <reason>".
			return fmt.Errorf("%s create failed: %w", c.App.Name, err)
		}
		return nil
	},
}

// startRequest reads the flags create, run and restore share.
func startRequest(c *cli.Context, act libct.Action) libct.StartRequest {
	return libct.StartRequest{
		ID:            c.Args().First(),
		Bundle:        c.String("bundle"),
		Action:        act,
		Detach:        c.Bool("detach"),
		Keep:          c.Bool("keep"),
		NoSubreaper:   c.Bool("no-subreaper"),
		PidFile:       c.String("pid-file"),
		ConsoleSocket: c.String("console-socket"),
		PidfdSocket:   c.String("pidfd-socket"),
		PreserveFDs:   c.Int("preserve-fds"),
		Create: libct.CreateOptions{
			NoPivotRoot:  c.Bool("no-pivot"),
			NoNewKeyring: c.Bool("no-new-keyring"),
		},
	}
}
