package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

type argCount int

const (
	exactArgs argCount = iota
	minArgs
	maxArgs
)

// checkArgs validates the number of positional arguments and prints the
// command's usage when it is wrong, as runc does.
func checkArgs(c *cli.Context, expected int, kind argCount) error {
	name := c.Command.Name
	var err error
	switch kind {
	case exactArgs:
		if c.NArg() != expected {
			err = fmt.Errorf("%s: %q requires exactly %d argument(s)", os.Args[0], name, expected)
		}
	case minArgs:
		if c.NArg() < expected {
			err = fmt.Errorf("%s: %q requires a minimum of %d argument(s)", os.Args[0], name, expected)
		}
	case maxArgs:
		if c.NArg() > expected {
			err = fmt.Errorf("%s: %q requires a maximum of %d argument(s)", os.Args[0], name, expected)
		}
	}
	if err != nil {
		fmt.Printf("Incorrect Usage.\n\n")
		_ = cli.ShowCommandHelp(c, name)
	}
	return err
}

// options gathers the global flags every command needs.
func options(c *cli.Context) (*libct.Runtime, error) {
	root, err := libct.AbsRoot(c.GlobalString("root"))
	if err != nil {
		return nil, err
	}
	return &libct.Runtime{
		Root:          root,
		CriuPath:      c.GlobalString("criu"),
		SystemdCgroup: c.GlobalBool("systemd-cgroup"),
		Rootless:      c.GlobalString("rootless"),
	}, nil
}

// forContainer is the preamble of a command on one container: one
// positional argument, or from 1 to maxArgs, the global options, and the
// container ID (the first argument), checked.
func forContainer(c *cli.Context, maxArgs int) (*libct.Runtime, string, error) {
	if maxArgs <= 1 {
		if err := checkArgs(c, 1, exactArgs); err != nil {
			return nil, "", err
		}
	} else if err := checkArgsBetween(c, 1, maxArgs); err != nil {
		return nil, "", err
	}
	o, err := options(c)
	if err != nil {
		return nil, "", err
	}
	id, err := containerID(c)
	if err != nil {
		return nil, "", err
	}
	return o, id, nil
}

func checkArgsBetween(c *cli.Context, min, max int) error {
	if err := checkArgs(c, min, minArgs); err != nil {
		return err
	}
	return checkArgs(c, max, maxArgs)
}

// containerID returns the first argument, validated.
func containerID(c *cli.Context) (string, error) {
	id := c.Args().First()
	if err := libct.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// exitWith ends a command that ran a process with that process's status.
func exitWith(status int, err error) error {
	if err != nil {
		return err
	}
	os.Exit(status)
	return nil
}
