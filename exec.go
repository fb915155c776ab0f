package main

import (
	"fmt"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

var execCommand = cli.Command{
	Name:  "exec",
	Usage: "execute new process inside the container",
	ArgsUsage: `<container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # rt exec <container-id> ps`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		cli.StringFlag{Name: "pidfd-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process"},
		cli.StringFlag{Name: "cwd", Usage: "current working directory in the container"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set environment variables"},
		cli.BoolFlag{Name: "tty, t", Usage: "allocate a pseudo-TTY"},
		cli.StringFlag{Name: "user, u", Usage: "UID (format: <uid>[:<gid>])"},
		cli.Int64SliceFlag{Name: "additional-gids, g", Usage: "additional gids"},
		cli.StringFlag{Name: "process, p", Usage: "path to the process.json"},
		cli.BoolFlag{Name: "detach, d", Usage: "detach from the container's process"},
		cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		cli.StringFlag{Name: "process-label", Usage: "set the asm process label for the process commonly used with selinux"},
		cli.StringFlag{Name: "apparmor", Usage: "set the apparmor profile for the process"},
		cli.BoolFlag{Name: "no-new-privs", Usage: "set the no new privileges value for the process"},
		cli.StringSliceFlag{Name: "cap, c", Value: &cli.StringSlice{}, Usage: "add a capability to the bounding set for the process"},
		cli.IntFlag{Name: "preserve-fds", Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"},
		cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
		cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, minArgs); err != nil {
			return err
		}
		o, err := options(c)
		if err != nil {
			return err
		}
		req := libct.ExecRequest{
			ID:             c.Args().First(),
			ProcessFile:    c.String("process"),
			Args:           c.Args().Tail(),
			Cwd:            c.String("cwd"),
			Env:            c.StringSlice("env"),
			Tty:            c.Bool("tty"),
			User:           c.String("user"),
			AdditionalGids: c.Int64Slice("additional-gids"),
			Caps:           c.StringSlice("cap"),
			AppArmor:       c.String("apparmor"),
			ProcessLabel:   c.String("process-label"),
			Detach:         c.Bool("detach"),
			PidFile:        c.String("pid-file"),
			ConsoleSocket:  c.String("console-socket"),
			PidfdSocket:    c.String("pidfd-socket"),
			PreserveFDs:    c.Int("preserve-fds"),
			Cgroups:        c.StringSlice("cgroup"),
			IgnorePaused:   c.Bool("ignore-paused"),
		}
		if c.IsSet("no-new-privs") {
			v := c.Bool("no-new-privs")
			req.NoNewPrivs = &v
		}
		status, err := o.Exec(req)
		if err != nil {
			// runc's exit status for a failed exec; engines key on the
			// message ("executable file not found" -> 127 in Docker).
			fatalWithCode(fmt.Errorf("exec failed: %w", err), 255)
		}
		return exitWith(status, nil)
	},
	SkipArgReorder: true,
}
