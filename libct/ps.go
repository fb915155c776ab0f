package libct

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Pids returns the pids of all processes in the container.
func (o *Runtime) Pids(id string) ([]int, error) {
	c, err := o.Load(id)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, err
	}
	if pids == nil {
		pids = []int{} // "[]", never "null": the shim decodes an array
	}
	return pids, nil
}

// PsTable runs ps(1) with psArgs (default -ef) and keeps the header and
// the lines of the container's processes.
func PsTable(pids []int, psArgs []string) (string, error) {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ps %s: %w: %s", strings.Join(psArgs, " "), err, out)
	}
	return filterPsOutput(string(out), pids)
}

func filterPsOutput(out string, pids []int) (string, error) {
	lines := strings.Split(out, "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return "", errors.New("couldn't find PID field in ps output")
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			return "", fmt.Errorf("unable to parse pid %q: %w", f[col], err)
		}
		if slices.Contains(pids, pid) {
			b.WriteString(line + "\n")
		}
	}
	return b.String(), nil
}
