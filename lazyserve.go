package main

import (
	"errors"
	"os"
	"time"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

// lazyServeCommand is the supervisor of a --lazy restore's lazy-pages
// daemon (libct/lazy.go). rt restore --lazy starts it, detached, with two
// pipes as fds 3 and 4; it is not meant to be run by hand.
var lazyServeCommand = cli.Command{
	Name:   "lazy-serve",
	Usage:  "supervise the lazy-pages daemon of a restore --lazy (internal)",
	Hidden: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "id"},
		cli.StringFlag{Name: "images"},
		cli.StringFlag{Name: "work"},
		cli.StringFlag{Name: "criu", Value: "criu"},
		cli.StringSliceFlag{Name: "own"},
		cli.Int64Flag{Name: "started"},
		cli.StringFlag{Name: "page-server"},
	},
	Action: func(c *cli.Context) error {
		o, err := options(c)
		if err != nil {
			return err
		}
		ready, fromRt := os.NewFile(3, "ready"), os.NewFile(4, "from-rt")
		if ready == nil || fromRt == nil {
			return errors.New("lazy-serve is started by rt restore --lazy")
		}
		started := time.Unix(0, c.Int64("started"))
		if c.Int64("started") == 0 {
			started = time.Now()
		}
		return o.ServeLazy(libct.LazyServe{
			ID: c.String("id"), ImageDir: c.String("images"), WorkDir: c.String("work"),
			Criu: c.String("criu"), Own: c.StringSlice("own"), Started: started,
			PageServer: c.String("page-server"),
		}, ready, fromRt)
	},
}
