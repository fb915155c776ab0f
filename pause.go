package main

import (
	"github.com/urfave/cli"
)

var pauseCommand = cli.Command{
	Name:  "pause",
	Usage: "pause suspends all processes inside the container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
paused. `,
	Description: `The pause command suspends all processes in the instance of the container.

Use rt list to identify instances of containers and their current status.`,
	Action: func(c *cli.Context) error {
		o, id, err := forContainer(c, 1)
		if err != nil {
			return err
		}
		return o.Pause(id)
	},
}

var resumeCommand = cli.Command{
	Name:  "resume",
	Usage: "resumes all processes that have been previously paused",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
resumed.`,
	Description: `The resume command resumes all processes in the instance of the container.

Use rt list to identify instances of containers and their current status.`,
	Action: func(c *cli.Context) error {
		o, id, err := forContainer(c, 1)
		if err != nil {
			return err
		}
		return o.Resume(id)
	},
}
