package main

import (
	"net"
	"os"
	"syscall"
)

// doUnixPair creates a connected pair of unix stream sockets and execs
// argv with them as fds 3 and 4: a connection whose both ends are inside
// the container.
func doUnixPair(argv []string) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		die("socketpair: %v", err)
	}
	for i, fd := range fds {
		if err := syscall.Dup2(fd, 3+i); err != nil {
			die("dup2: %v", err)
		}
	}
	execve(argv)
}

// doStreamConnect connects a unix stream socket to SOCKET and execs argv
// with it as fd 3.
func doStreamConnect(sock string, argv []string) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		die("socket: %v", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		die("connect %s: %v", sock, err)
	}
	if err := syscall.Dup2(fd, 3); err != nil {
		die("dup2: %v", err)
	}
	execve(argv)
}

// doStreamListen accepts connections on the unix stream socket SOCKET and
// holds them open until killed.
func doStreamListen(sock string) {
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		die("listen %s: %v", sock, err)
	}
	var held []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		held = append(held, c)
	}
}
