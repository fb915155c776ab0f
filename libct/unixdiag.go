package libct

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// unixSock is one unix socket as sock_diag reports it.
type unixSock struct {
	typ  uint8
	peer uint64 // the connected peer's inode, 0 for none
	name string
}

// sock_diag's unix constants (linux/unix_diag.h).
const (
	udiagShowName = 0x1
	udiagShowPeer = 0x4
	unixDiagName  = 0
	unixDiagPeer  = 2
)

// unixSockets lists the unix sockets of the network namespace of pid with
// their peers, through a sock_diag socket opened in that namespace (the
// dump covers the namespace the netlink socket belongs to).
func unixSockets(pid int) (map[uint64]unixSock, error) {
	fd, err := diagSocketIn(pid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	req := make([]byte, 16+24)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], 20) // SOCK_DIAG_BY_FAMILY
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	req[16] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(req[20:], 0xffffffff) // every state
	binary.NativeEndian.PutUint32(req[28:], udiagShowName|udiagShowPeer)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	out := map[uint64]unixSock{}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				return nil, fmt.Errorf("sock_diag: netlink error")
			}
			if len(m.Data) < 16 {
				continue
			}
			ino := uint64(binary.NativeEndian.Uint32(m.Data[4:]))
			s := unixSock{typ: m.Data[1]}
			attrs := m.Data[16:]
			for len(attrs) >= 4 {
				l := int(binary.NativeEndian.Uint16(attrs[0:]))
				if l < 4 || l > len(attrs) {
					break
				}
				switch binary.NativeEndian.Uint16(attrs[2:]) {
				case unixDiagPeer:
					if l >= 8 {
						s.peer = uint64(binary.NativeEndian.Uint32(attrs[4:]))
					}
				case unixDiagName:
					// sun_path as bound: a path ends at its NUL; an
					// abstract name starts with one
					s.name = string(attrs[4:l])
					if i := strings.IndexByte(s.name, 0); i > 0 {
						s.name = s.name[:i]
					}
				}
				attrs = attrs[min((l+3)&^3, len(attrs)):]
			}
			out[ino] = s
		}
	}
}

// diagSocketIn opens a sock_diag netlink socket in the network namespace
// of pid, on a locked thread that goes back to its namespace (or is never
// reused, if it cannot).
func diagSocketIn(pid int) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{-1, err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPid(pid)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}
