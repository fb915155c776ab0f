package libct

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
)

// stdio owns whatever connects the container process to rt's own stdio:
// nothing (detached, inherited fds), pipes copied by goroutines, a pty
// relayed to the host terminal, or a console socket handed to a caller.
type stdio struct {
	epoller     *console.Epoller
	console     *console.EpollConsole
	hostConsole console.Console
	// closers are closed when rt is done with the process.
	closers []io.Closer
	// postStart are closed once the process is started: our copies of
	// fds that now belong to the container.
	postStart []io.Closer
	wg        sync.WaitGroup
	consoleC  chan error
}

// setupStdio prepares process's stdio. With a terminal and detach the pty
// master goes to consoleSocket; with a terminal in the foreground rt relays
// it to its own terminal; without a terminal a detached process inherits
// rt's fds 0-2 (what engines expect) and a foreground one gets pipes.
func setupStdio(process *libcontainer.Process, c *libcontainer.Container, terminal, detach bool, consoleSocket string) (_ *stdio, retErr error) {
	if terminal {
		process.Stdin, process.Stdout, process.Stderr = nil, nil, nil
		t := &stdio{}
		if detach {
			conn, err := net.Dial("unix", consoleSocket)
			if err != nil {
				return nil, fmt.Errorf("connect to console socket %s: %w", consoleSocket, err)
			}
			defer func() {
				if retErr != nil {
					conn.Close()
				}
			}()
			t.postStart = append(t.postStart, conn)
			f, err := conn.(*net.UnixConn).File()
			if err != nil {
				return nil, fmt.Errorf("console socket %s: %w", consoleSocket, err)
			}
			t.postStart = append(t.postStart, f)
			process.ConsoleSocket = f
			return t, nil
		}
		if err := t.attachHostConsole(); err != nil {
			return nil, err
		}
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return nil, err
		}
		process.ConsoleSocket = child
		t.postStart = append(t.postStart, parent, child)
		t.consoleC = make(chan error, 1)
		go func() { t.consoleC <- t.relayConsole(parent) }()
		return t, nil
	}
	if detach {
		process.Stdin, process.Stdout, process.Stderr = os.Stdin, os.Stdout, os.Stderr
		return &stdio{}, nil
	}
	cfg := c.Config()
	uid, err := cfg.HostRootUID()
	if err != nil {
		return nil, err
	}
	gid, err := cfg.HostRootGID()
	if err != nil {
		return nil, err
	}
	return setupPipes(process, uid, gid)
}

func setupPipes(p *libcontainer.Process, uid, gid int) (*stdio, error) {
	io3, err := p.InitializeIO(uid, gid)
	if err != nil {
		return nil, err
	}
	t := &stdio{closers: []io.Closer{io3.Stdin, io3.Stdout, io3.Stderr}}
	for _, v := range []any{p.Stdin, p.Stdout, p.Stderr} {
		if c, ok := v.(io.Closer); ok {
			t.postStart = append(t.postStart, c)
		}
	}
	go func() {
		_, _ = io.Copy(io3.Stdin, os.Stdin)
		_ = io3.Stdin.Close()
	}()
	t.wg.Add(2)
	go t.copy(os.Stdout, io3.Stdout)
	go t.copy(os.Stderr, io3.Stderr)
	return t, nil
}

func (t *stdio) copy(w io.Writer, r io.ReadCloser) {
	defer t.wg.Done()
	_, _ = io.Copy(w, r)
	_ = r.Close()
}

// attachHostConsole finds rt's own terminal, needed to relay a foreground
// tty container.
func (t *stdio) attachHostConsole() error {
	for _, f := range []*os.File{os.Stderr, os.Stdout, os.Stdin} {
		c, err := console.ConsoleFromFile(f)
		if err == nil {
			t.hostConsole = c
			return nil
		}
		if !errors.Is(err, console.ErrNotAConsole) {
			return fmt.Errorf("unable to get console: %w", err)
		}
	}
	f, err := os.Open("/dev/tty")
	if err != nil {
		return fmt.Errorf("process.terminal is true but rt has no terminal: %w (run with a tty, or use --detach with --console-socket)", err)
	}
	c, err := console.ConsoleFromFile(f)
	if err != nil {
		return fmt.Errorf("unable to get console: %w", err)
	}
	t.hostConsole = c
	return nil
}

// relayConsole receives the pty master from the container and copies it
// to and from the host terminal.
func (t *stdio) relayConsole(socket *os.File) (retErr error) {
	f, err := utils.RecvFile(socket)
	if err != nil {
		return err
	}
	cons, err := console.ConsoleFromFile(f)
	if err != nil {
		return err
	}
	if err := console.ClearONLCR(cons.Fd()); err != nil {
		return err
	}
	ep, err := console.NewEpoller()
	if err != nil {
		return err
	}
	epc, err := ep.Add(cons)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = epc.Close()
		}
	}()
	go func() { _ = ep.Wait() }()
	go func() { _, _ = io.Copy(epc, os.Stdin) }()
	t.wg.Add(1)
	go t.copy(os.Stdout, epc)
	if err := t.hostConsole.SetRaw(); err != nil {
		return fmt.Errorf("failed to set the terminal from the stdin: %w", err)
	}
	go resetOnInterrupt(t.hostConsole)
	t.epoller, t.console = ep, epc
	t.closers = []io.Closer{epc}
	return nil
}

func resetOnInterrupt(c console.Console) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	<-ch
	_ = c.Reset()
	os.Exit(0)
}

func (t *stdio) waitConsole() error {
	if t.consoleC != nil {
		return <-t.consoleC
	}
	return nil
}

func (t *stdio) closePostStart() {
	for _, c := range t.postStart {
		_ = c.Close()
	}
}

func (t *stdio) Close() {
	t.closePostStart()
	if t.console != nil && t.epoller != nil {
		_ = t.console.Shutdown(t.epoller.CloseConsole)
	}
	t.wg.Wait()
	for _, c := range t.closers {
		_ = c.Close()
	}
	if t.hostConsole != nil {
		_ = t.hostConsole.Reset()
	}
}

func (t *stdio) resize() error {
	if t.console == nil || t.hostConsole == nil {
		return nil
	}
	return t.console.ResizeFrom(t.hostConsole)
}
