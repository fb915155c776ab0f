// Command recvtty is a test helper: a minimal consumer of the OCI runtime
// --console-socket API (like runc's tests/cmd/recvtty), standard library only.
//
// It listens on a unix socket, accepts a connection and receives ONE message
// whose payload is the pty name and whose SCM_RIGHTS control data carries the
// pty master. It checks that contract (non-empty name, exactly one fd, the fd
// is a pty master) and records what it got as JSON in --info, then copies the
// terminal's output to --out (default stdout) until the pty is closed.
//
// Usage:
//
//	recvtty [--mode single|null] [--pid-file F] [--out F] [--info F]
//	        [--input STRING] [--stdin] SOCKET
//
// single (default): accept one terminal, copy its output, exit when the pty
// hangs up (every slave fd closed). Exit status 0 if the contract was met.
// null: accept any number of terminals, append one JSON info line per
// terminal to --info, discard their output; runs until killed.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

type info struct {
	Name     string `json:"name"`
	NFds     int    `json:"nfds"`
	NMsgs    int    `json:"nmsgs"`
	IsMaster bool   `json:"is_pty_master"`
	PtyNum   int    `json:"pty_number"`
	Error    string `json:"error,omitempty"`
}

func ioctlInt(fd uintptr, req uintptr) (int, error) {
	var v uint32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&v)))
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// receive reads the single console message from conn.
func receive(conn *net.UnixConn) (*os.File, info, error) {
	var in info
	buf := make([]byte, 8192)
	// room for up to 16 fds so that a message with more than one is detected.
	oob := make([]byte, syscall.CmsgSpace(16*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, in, fmt.Errorf("recvmsg: %w", err)
	}
	in.NMsgs = 1
	in.Name = string(buf[:n])
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, in, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		f, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, f...)
	}
	in.NFds = len(fds)
	if len(fds) == 0 {
		return nil, in, errors.New("no file descriptor received (SCM_RIGHTS)")
	}
	for _, fd := range fds[1:] {
		syscall.Close(fd)
	}
	master := os.NewFile(uintptr(fds[0]), in.Name)
	if num, err := ioctlInt(master.Fd(), syscall.TIOCGPTN); err == nil {
		in.IsMaster = true
		in.PtyNum = num
	}
	var problems []string
	if in.Name == "" {
		problems = append(problems, "empty pty name payload")
	}
	if in.NFds != 1 {
		problems = append(problems, "expected exactly 1 fd, got "+strconv.Itoa(in.NFds))
	}
	if !in.IsMaster {
		problems = append(problems, "received fd is not a pty master")
	}
	if len(problems) > 0 {
		return master, in, fmt.Errorf("console socket contract violated: %v", problems)
	}
	return master, in, nil
}

func writeInfo(path string, in info, appendLine bool) {
	if path == "" {
		return
	}
	data, _ := json.Marshal(in)
	data = append(data, '\n')
	if appendLine {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err == nil {
			_, _ = f.Write(data)
			f.Close()
		}
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err == nil {
		_ = os.Rename(tmp, path)
	}
}

func main() {
	mode := flag.String("mode", "single", "single or null")
	pidFile := flag.String("pid-file", "", "write our pid here (no newline)")
	outPath := flag.String("out", "", "copy terminal output here (default stdout)")
	infoPath := flag.String("info", "", "write JSON description of what was received")
	input := flag.String("input", "", "write this string to the terminal once received")
	useStdin := flag.Bool("stdin", false, "copy our stdin to the terminal")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: recvtty [flags] SOCKET")
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *mode != "single" && *mode != "null" {
		fmt.Fprintln(os.Stderr, "recvtty: --mode must be single or null")
		os.Exit(2)
	}

	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "recvtty: listen: %v\n", err)
		os.Exit(1)
	}
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "recvtty: pid file: %v\n", err)
			os.Exit(1)
		}
	}

	if *mode == "null" {
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				fmt.Fprintf(os.Stderr, "recvtty: accept: %v\n", err)
				os.Exit(1)
			}
			go func(conn *net.UnixConn) {
				defer conn.Close()
				master, in, err := receive(conn)
				if err != nil {
					in.Error = err.Error()
				}
				writeInfo(*infoPath, in, true)
				if master != nil {
					_, _ = io.Copy(io.Discard, master)
					master.Close()
				}
			}(conn)
		}
	}

	conn, err := ln.AcceptUnix()
	if err != nil {
		fmt.Fprintf(os.Stderr, "recvtty: accept: %v\n", err)
		os.Exit(1)
	}
	ln.Close()
	master, in, rerr := receive(conn)
	// A second message on the same connection would violate the contract.
	conn.Close()
	if rerr != nil {
		in.Error = rerr.Error()
	}
	writeInfo(*infoPath, in, false)
	if rerr != nil {
		fmt.Fprintf(os.Stderr, "recvtty: %v\n", rerr)
		if master == nil {
			os.Exit(1)
		}
	}

	var out io.Writer = os.Stdout
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "recvtty: out: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		out = f
	}
	if *input != "" {
		_, _ = master.Write([]byte(*input))
	}
	var wg sync.WaitGroup
	if *useStdin {
		go func() { _, _ = io.Copy(master, os.Stdin) }()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Ends with EIO once every slave fd is closed.
		_, _ = io.Copy(out, master)
	}()
	wg.Wait()
	master.Close()
	if rerr != nil {
		os.Exit(1)
	}
}
