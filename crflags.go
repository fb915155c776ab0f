package main

import (
	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct/ckpt"
)

// crFlags are the checkpoint/restore option flags cmd takes, from the
// option table (ckpt.Table), with the flags it accepts and ignores hidden.
func crFlags(cmd ckpt.Command) []cli.Flag {
	var flags []cli.Flag
	for _, o := range ckpt.ForCommand(cmd) {
		flags = append(flags, crFlag(o, false))
	}
	for _, o := range ckpt.IgnoredBy(cmd) {
		flags = append(flags, crFlag(o, true))
	}
	return flags
}

func crFlag(o *ckpt.Option, ignored bool) cli.Flag {
	usage := o.Usage
	if ignored {
		usage = "accepted and ignored"
	}
	switch o.Kind {
	case ckpt.Bool:
		return cli.BoolFlag{Name: o.Name, Usage: usage, Hidden: ignored}
	case ckpt.Strings:
		return cli.StringSliceFlag{Name: o.Name, Usage: usage, Hidden: ignored}
	case ckpt.Int:
		// Only given values are read (crOptions): Value is what help
		// shows. File descriptors: -1 is none.
		value := -1
		if o.Name == "pre-copy-rounds" {
			value = ckpt.DefaultPreCopyRounds
		}
		return cli.IntFlag{Name: o.Name, Usage: usage, Hidden: ignored, Value: value}
	default:
		return cli.StringFlag{Name: o.Name, Usage: usage, Hidden: ignored}
	}
}

// crOptions reads the option flags cmd takes that were given.
func crOptions(c *cli.Context, cmd ckpt.Command) (ckpt.Options, error) {
	var opts ckpt.Options
	for _, o := range ckpt.ForCommand(cmd) {
		if !c.IsSet(o.Name) {
			continue
		}
		var v any
		switch o.Kind {
		case ckpt.Bool:
			v = c.Bool(o.Name)
		case ckpt.Strings:
			v = c.StringSlice(o.Name)
		case ckpt.Int:
			v = c.Int(o.Name)
		default:
			v = c.String(o.Name)
		}
		if err := opts.Set(o, v); err != nil {
			return opts, err
		}
	}
	return opts, nil
}
