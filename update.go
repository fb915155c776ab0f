package main

import (
	"os"

	"github.com/urfave/cli"

	"github.com/rt-runtime/rt/libct"
)

// updateValueFlags are the string-valued resource flags, applied in this
// order by libct.UpdateRequest.SetFlag.
var updateValueFlags = []cli.StringFlag{
	{Name: "cpu-period", Usage: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"},
	{Name: "cpu-quota", Usage: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
	{Name: "cpu-burst", Usage: "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period"},
	{Name: "cpu-share", Usage: "CPU shares (relative weight vs. other containers)"},
	{Name: "cpu-rt-period", Usage: "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"},
	{Name: "cpu-rt-runtime", Usage: "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"},
	{Name: "cpuset-cpus", Usage: "CPU(s) to use"},
	{Name: "cpuset-mems", Usage: "Memory node(s) to use"},
	{Name: "cpu-idle", Usage: "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"},
	{Name: "kernel-memory", Usage: "(obsoleted; do not use)", Hidden: true},
	{Name: "kernel-memory-tcp", Usage: "(obsoleted; do not use)", Hidden: true},
	{Name: "memory", Usage: "Memory limit (in bytes)"},
	{Name: "memory-reservation", Usage: "Memory reservation or soft_limit (in bytes)"},
	{Name: "memory-swap", Usage: "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
	{Name: "pids-limit", Usage: "Maximum number of pids allowed in the container"},
	{Name: "l3-cache-schema", Usage: "The string of Intel RDT/CAT L3 cache schema"},
	{Name: "mem-bw-schema", Usage: "The string of Intel RDT/MBA memory bandwidth schema"},
	{Name: "blkio-weight", Usage: "Specifies per cgroup weight, range is from 10 to 1000"},
}

var updateCommand = cli.Command{
	Name:      "update",
	Usage:     "update container resource constraints",
	ArgsUsage: `<container-id>`,
	Flags: append([]cli.Flag{
		cli.StringFlag{
			Name: "resources, r",
			Usage: `path to the file containing the resources to update or '-' to read from the standard input

The accepted format is as follow (unchanged values can be omitted):

{
  "memory": {
    "limit": 0,
    "reservation": 0,
    "swap": 0,
    "checkBeforeUpdate": true
  },
  "cpu": {
    "shares": 0,
    "quota": 0,
    "burst": 0,
    "period": 0,
    "realtimeRuntime": 0,
    "realtimePeriod": 0,
    "cpus": "",
    "mems": "",
    "idle": 0
  },
  "blockIO": {
    "weight": 0
  }
}

Note: if data is to be read from a file or the standard input, all
other options are ignored, except --l3-cache-schema and --mem-bw-schema.
`,
		},
	}, valueFlags(updateValueFlags)...),
	Action: func(c *cli.Context) error {
		o, id, err := forContainer(c, 1)
		if err != nil {
			return err
		}
		req := libct.NewUpdateRequest()
		if in := c.String("resources"); in != "" {
			f := os.Stdin
			if in != "-" {
				if f, err = os.Open(in); err != nil {
					return err
				}
				defer f.Close()
			}
			if err := req.DecodeResources(f); err != nil {
				return err
			}
		} else {
			for _, fl := range updateValueFlags {
				if c.IsSet(fl.Name) && !rdtFlag(fl.Name) {
					if err := req.SetFlag(fl.Name, c.String(fl.Name)); err != nil {
						return err
					}
				}
			}
		}
		// Intel RDT schemas are not part of LinuxResources: they apply
		// with --resources too.
		for _, name := range []string{"l3-cache-schema", "mem-bw-schema"} {
			if v := c.String(name); v != "" {
				if err := req.SetFlag(name, v); err != nil {
					return err
				}
			}
		}
		return o.Update(id, req)
	},
}

func rdtFlag(name string) bool {
	return name == "l3-cache-schema" || name == "mem-bw-schema"
}

func valueFlags(fs []cli.StringFlag) []cli.Flag {
	out := make([]cli.Flag, len(fs))
	for i := range fs {
		out[i] = fs[i]
	}
	return out
}
