package libct

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// List returns the state of every container under the root. A root that
// does not exist yet holds no containers (runc agrees for --root).
func (o *Runtime) List() ([]ContainerState, error) {
	entries, err := os.ReadDir(o.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list containers in %s: %w", o.Root, fsutil.UnwrapPathError(err))
	}
	var out []ContainerState
	for _, e := range entries {
		// Lock files and stray files are not containers.
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		c, err := o.Load(e.Name())
		if err != nil {
			if !IsNotExist(err) {
				fmt.Fprintf(os.Stderr, "load container %s: %v\n", e.Name(), err)
			}
			continue
		}
		s, err := stateOf(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "state of container %s: %v\n", e.Name(), err)
			continue
		}
		s.Owner = ownerName(info)
		out = append(out, *s)
	}
	return out, nil
}

func ownerName(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	uid := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}
