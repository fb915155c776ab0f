// rt re-executes itself as "rt init" inside every container. Go >= 1.25
// makes GOMAXPROCS follow the cgroup CPU limit and keeps the cgroup files
// open to track it: in the container's init that leaks host cgroup file
// descriptors into the container. rt does not need it anywhere.
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command rt is a runc-compatible OCI container runtime built on
// libcontainer, whose focus is checkpoint/restore through CRIU.
//
// The command-line layer is deliberately thin: each file in this package
// parses the flags of one command and calls into package libct, where the
// logic and its unit tests live.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
	"github.com/rt-runtime/rt/libct/ckpt"
)

// version and gitCommit are set by the Makefile through -ldflags.
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

const specConfig = "config.json"

const usage = `Open Container Initiative runtime with checkpoint/restore

rt is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format. It is a drop-in replacement for
runc, built on runc's libcontainer, and its strength is checkpoint/restore
of containers through CRIU.

Containers are configured using bundles. A bundle for a container is a
directory that includes a specification file named "` + specConfig + `" and
a root filesystem. The root filesystem contains the contents of the
container.

To start a new instance of a container:

    # rt run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that
you are starting. The name you provide for the container instance must be
unique on your host. Providing the bundle directory using "-b" is optional.
The default value for "bundle" is the current directory.`

func main() {
	app := cli.NewApp()
	// Named after how it was invoked: installed as "runc" (a drop-in), rt
	// answers as runc does, e.g. "runc version ..." for tools parsing it.
	app.Name = programName()
	app.Usage = usage
	app.Version = version
	ckpt.Version = version
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Print(libct.VersionText(c.App.Name, version, gitCommit))
	}

	app.Flags = []cli.Flag{
		cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
		cli.StringFlag{Name: "log", Usage: "set the log file to write rt logs to (default is '/dev/stderr')"},
		cli.StringFlag{Name: "log-format", Value: "text", Usage: "set the log format ('text' (default), or 'json')"},
		cli.StringFlag{Name: "root", Value: libct.DefaultRoot(), Usage: "root directory for storage of container state (this should be located in tmpfs)"},
		cli.StringFlag{Name: "criu", Value: "criu", Usage: "path to the criu binary used for checkpoint and restore"},
		cli.BoolFlag{Name: "systemd-cgroup", Usage: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:rt:434234\""},
		cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors ('true', 'false', or 'auto')"},
	}
	app.Commands = []cli.Command{
		checkCommand,
		checkpointCommand,
		createCommand,
		deleteCommand,
		eventsCommand,
		execCommand,
		featuresCommand,
		inspectCheckpointCommand,
		killCommand,
		lazyServeCommand,
		listCommand,
		migrateCommand,
		migrateReceiveCommand,
		pauseCommand,
		psCommand,
		restoreCommand,
		resumeCommand,
		runCommand,
		specCommand,
		startCommand,
		stateCommand,
		updateCommand,
	}
	app.Before = func(c *cli.Context) error {
		if err := libct.PrepareRoot(c.GlobalString("root"), c.GlobalIsSet("root")); err != nil {
			return err
		}
		return libct.ConfigureLogging(libct.LogOptions{
			File:   c.GlobalString("log"),
			Format: c.GlobalString("log-format"),
			Debug:  c.GlobalBool("debug"),
		})
	}
	// urfave/cli prints usage errors itself; route them through logrus so
	// that engines reading the JSON log see them as the last error.
	cli.ErrWriter = &errorLogWriter{next: cli.ErrWriter}
	if err := app.Run(os.Args); err != nil {
		fatal(err)
	}
}

func programName() string {
	if name := filepath.Base(os.Args[0]); name != "" && name != "." && name != "/" {
		return name
	}
	return "rt"
}

// errorLogWriter sends what urfave/cli writes on its error stream to the log
// as well, unless the log already is stderr.
type errorLogWriter struct{ next io.Writer }

func (w *errorLogWriter) Write(p []byte) (int, error) {
	logrus.Error(strings.TrimRight(string(p), "\n"))
	if libct.LogToStderr() {
		return len(p), nil
	}
	return w.next.Write(p)
}

// fatal logs err and exits 1. When the log goes to a file, the error is also
// printed on stderr, because engines show stderr to users while they parse
// the log file.
func fatal(err error) {
	logrus.Error(err)
	if !libct.LogToStderr() {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(1)
}

// fatalWithCode is fatal with a chosen exit status.
func fatalWithCode(err error, code int) {
	logrus.Error(err)
	if !libct.LogToStderr() {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
