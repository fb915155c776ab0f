package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ExecRequest describes "rt exec": either a whole process JSON
// (ProcessFile, as engines pass it) or the command line overrides applied
// to the process of the container's config.json.
type ExecRequest struct {
	ID             string
	ProcessFile    string
	Args           []string
	Cwd            string
	Env            []string
	Tty            bool
	User           string // uid[:gid]
	AdditionalGids []int64
	Caps           []string
	NoNewPrivs     *bool
	AppArmor       string
	ProcessLabel   string
	Detach         bool
	PidFile        string
	ConsoleSocket  string
	PidfdSocket    string
	PreserveFDs    int
	Cgroups        []string
	IgnorePaused   bool
}

// Exec starts an additional process in a running container and returns its
// exit status (0 when detached).
func (o *Runtime) Exec(req ExecRequest) (int, error) {
	if err := ValidateID(req.ID); err != nil {
		return -1, err
	}
	if req.PidFile != "" {
		abs, err := filepath.Abs(req.PidFile)
		if err != nil {
			return -1, err
		}
		req.PidFile = abs
	}
	c, lock, err := o.lockAndLoad(req.ID)
	if err != nil {
		return -1, err
	}
	defer lock.Unlock()
	st, err := c.Status()
	if err != nil {
		return -1, err
	}
	switch {
	case st == libcontainer.Stopped:
		return -1, errors.New("cannot exec in a stopped container")
	case st == libcontainer.Paused && !req.IgnorePaused:
		return -1, errors.New("cannot exec in a paused container (use --ignore-paused to override)")
	case st == libcontainer.Paused:
		// The new process cannot start until the container is resumed,
		// and resume needs the lock: holding it would deadlock.
		lock.Unlock()
	}
	p, err := execProcessSpec(c, req)
	if err != nil {
		return -1, err
	}
	subCgroups, err := ParseSubCgroups(req.Cgroups)
	if err != nil {
		return -1, err
	}
	r := &Runner{
		Container:     c,
		Action:        ActRun,
		Detach:        req.Detach,
		ConsoleSocket: req.ConsoleSocket,
		PidfdSocket:   req.PidfdSocket,
		PidFile:       req.PidFile,
		PreserveFDs:   req.PreserveFDs,
		SubCgroups:    subCgroups,
		Lock:          lock,
	}
	return r.Run(p)
}

func execProcessSpec(c *libcontainer.Container, req ExecRequest) (*specs.Process, error) {
	if req.ProcessFile != "" {
		data, err := os.ReadFile(req.ProcessFile)
		if err != nil {
			return nil, fmt.Errorf("process file: %w", err)
		}
		p, err := ParseProcess(data)
		if err != nil {
			return nil, fmt.Errorf("process file %s: %w", req.ProcessFile, err)
		}
		return p, nil
	}
	bundle, ok := utils.SearchLabels(c.Config().Labels, "bundle")
	if !ok {
		return nil, errors.New("bundle not found in labels")
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return nil, err
	}
	p := spec.Process
	if len(req.Args) == 0 {
		return nil, errors.New("exec args cannot be empty")
	}
	p.Args = req.Args
	if req.Cwd != "" {
		p.Cwd = req.Cwd
	}
	if req.AppArmor != "" {
		p.ApparmorProfile = req.AppArmor
	}
	if req.ProcessLabel != "" {
		p.SelinuxLabel = req.ProcessLabel
	}
	if len(req.Caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		for _, cp := range req.Caps {
			p.Capabilities.Bounding = append(p.Capabilities.Bounding, cp)
			p.Capabilities.Effective = append(p.Capabilities.Effective, cp)
			p.Capabilities.Permitted = append(p.Capabilities.Permitted, cp)
			if p.Capabilities.Inheritable != nil {
				p.Capabilities.Ambient = append(p.Capabilities.Ambient, cp)
			}
		}
	}
	p.Env = append(p.Env, req.Env...)
	p.Terminal = req.Tty
	if req.NoNewPrivs != nil {
		p.NoNewPrivileges = *req.NoNewPrivs
	}
	if req.User != "" {
		uidStr, gidStr, hasGid := strings.Cut(req.User, ":")
		if hasGid {
			gid, err := strconv.ParseUint(gidStr, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("invalid --user %q: bad gid: %w", req.User, err)
			}
			p.User.GID = uint32(gid)
		}
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid --user %q: bad uid: %w", req.User, err)
		}
		p.User.UID = uint32(uid)
	}
	for _, g := range req.AdditionalGids {
		if g < 0 {
			return nil, fmt.Errorf("additional-gids must be a positive number %d", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	return p, ValidateProcessSpec(p)
}

// ParseSubCgroups parses exec --cgroup values: "[<controller>[,...]:]<path>".
// A value without a controller applies to all and must stand alone.
func ParseSubCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	paths := make(map[string]string, len(args))
	for _, a := range args {
		ctrls, path, ok := strings.Cut(a, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("invalid --cgroup argument: %s (missing <controller>: prefix)", a)
			}
			paths[""] = a
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if ctrl == "" {
				return nil, fmt.Errorf("invalid --cgroup argument: %s (empty <controller> prefix)", a)
			}
			if _, dup := paths[ctrl]; dup {
				return nil, fmt.Errorf("invalid --cgroup argument(s): controller %s specified multiple times", ctrl)
			}
			paths[ctrl] = path
		}
	}
	return paths, nil
}
