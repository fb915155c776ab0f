package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
	"github.com/rt-runtime/rt/libct/ckpt"
)

var checkCommand = cli.Command{
	Name:  "check",
	Usage: "check whether checkpoint/restore can work on this host",
	ArgsUsage: `[container-id]

Without a container: checks, before any container is touched, that CRIU is
installed, which version it is, that it works on the running kernel (naming
the cause and the fix when it does not), which kernel features C/R options
need, and which network-locking tool CRIU can use. With --image, also
whether that checkpoint can be restored here.

With a container: says whether a checkpoint of it would work, with which
flags, how big and how long, without freezing it (it reads /proc, the
cgroup and the mount table; CRIU does not run). Exit status 1 when it
cannot be checkpointed.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "image", Usage: "also check the checkpoint in this image directory"},
		cli.StringFlag{Name: "format, f", Value: "text", Usage: "text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, maxArgs); err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return errors.New("invalid --format: use text or json")
		}
		if c.NArg() == 1 {
			return checkContainer(c, format)
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

// checkContainer is "rt check ID": the preflight of a checkpoint.
func checkContainer(c *cli.Context, format string) error {
	if c.String("image") != "" {
		return errors.New("--image checks an image, not a container: give one or the other")
	}
	o, id, err := forContainer(c, 1)
	if err != nil {
		return err
	}
	p, err := o.Preflight(id, ckpt.Options{})
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	} else {
		p.WriteText(os.Stdout)
	}
	if p.Verdict == libct.VerdictCannot {
		os.Exit(1)
	}
	return nil
}
