// Command sdnotify is a test helper for the sd_notify protocol, standard
// library only, built static so that it also runs inside test containers.
//
// Usage:
//
//	sdnotify listen SOCKET OUT   play systemd: bind a datagram socket, append
//	                             every message to OUT (one "msg: ..." line per
//	                             datagram, newlines as \n, then "fds: N" if
//	                             it carried N fds), then close those fds
//	                             (the answer to BARRIER=1); runs until killed
//	sdnotify send SOCKET MSG     play the service: send MSG as one datagram
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sdnotify listen SOCKET OUT | sdnotify send SOCKET MSG")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "listen":
		err = listen(os.Args[2], os.Args[3])
	case "send":
		err = send(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(1)
	}
}

func send(path, msg string) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	return err
}

func listen(path, out string) error {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	buf, oob := make([]byte, 4096), make([]byte, 1024)
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return err
		}
		var fds []int
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if rights, err := syscall.ParseUnixRights(&m); err == nil {
					fds = append(fds, rights...)
				}
			}
		}
		line := "msg: " + strings.ReplaceAll(string(buf[:n]), "\n", `\n`) + "\n"
		if len(fds) > 0 {
			line += fmt.Sprintf("fds: %d\n", len(fds))
		}
		if _, err := f.WriteString(line); err != nil {
			return err
		}
		// The barrier's answer is the close, after the message is on
		// record: whoever waits for it may read OUT right away.
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}
}
