package libct

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/migwire"
)

// Post-copy (rt migrate --lazy) runs CRIU's page-server protocol between
// the source's "criu dump --lazy-pages", which serves the pages it left
// in the frozen processes, and the destination's "criu lazy-pages", which
// asks for them as the restored processes fault and copies the rest in
// the background. Neither listens beyond its host's loopback: rt relays
// the bytes as channel frames of the migration's one ssh session.
//
// One thing of that protocol rt must know: CRIU's dump takes the lazy
// daemon's closing request (PS_IOV_CLOSE), and even a bare end of the
// connection, for "every page copied", and then ends the processes. The
// daemon sends it however its copy ended, so the destination's relay never
// forwards it: it answers it there, and the source closes CRIU's page
// server only once the destination reports the copy complete. Any other
// end resets the connection, which CRIU takes for a failed dump: it then
// leaves the processes frozen as rt froze them.

// psHeader is the size of a request of CRIU's page-server protocol
// (struct page_server_iov: u32 cmd, u32 nr_pages, u64 vaddr, u64 dst_id,
// in the host's byte order; the lazy daemon sends no payload).
const psHeader = 24

const (
	psIOVClose      = 0x1023
	psIOVForceClose = 0x1024
	psCmdMask       = 0xffff
)

func psCloseRequest() []byte {
	b := make([]byte, psHeader)
	binary.NativeEndian.PutUint32(b, psIOVClose)
	return b
}

// sourcePageRelay is the source's end: a connection to the dump's page
// server, relayed to and from the wire.
type sourcePageRelay struct {
	ps     *net.TCPConn
	wire   *migwire.Conn
	mu     sync.Mutex
	ending bool
	done   chan struct{} // the page server's side of the relay ended
}

// dialPageServer connects to CRIU's page server at addr, retrying briefly:
// CRIU says it is ready just before it accepts. The connection lingers
// not at all: however it is closed, this process killed included, CRIU
// gets a reset, never the clean end it would take for "all copied";
// complete ends it cleanly with shutdown.
func dialPageServer(addr string) (*net.TCPConn, error) {
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var c net.Conn
		if c, err = net.Dial("tcp", addr); err == nil {
			tc := c.(*net.TCPConn)
			if err = tc.SetLinger(0); err != nil {
				tc.Close()
				return nil, err
			}
			return tc, nil
		}
	}
	return nil, fmt.Errorf("CRIU's page server at %s: %w", addr, err)
}

// relayPageServer starts relaying ps over wire: what the destination sends
// on the channel goes to ps, what ps answers goes back.
func relayPageServer(ps *net.TCPConn, wire *migwire.Conn) *sourcePageRelay {
	r := &sourcePageRelay{ps: ps, wire: wire, done: make(chan struct{})}
	wire.OpenChannel(ps)
	go func() {
		defer close(r.done)
		buf := make([]byte, 256<<10)
		for {
			n, err := ps.Read(buf)
			if n > 0 {
				r.mu.Lock()
				ending := r.ending
				r.mu.Unlock()
				if !ending {
					if werr := wire.SendChannel(buf[:n]); werr != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

// complete tells the page server that every page was copied: CRIU's dump
// then succeeds and ends the processes.
func (r *sourcePageRelay) complete() error {
	r.mu.Lock()
	r.ending = true
	r.mu.Unlock()
	if _, err := r.ps.Write(psCloseRequest()); err != nil {
		return err
	}
	// CRIU answers, then waits for the end of the connection.
	if err := r.ps.CloseWrite(); err != nil {
		return err
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
	}
	return r.ps.Close()
}

// reset fails the page server's session: CRIU's dump fails and leaves the
// processes as rt froze them.
func (r *sourcePageRelay) reset() {
	r.mu.Lock()
	r.ending = true
	r.mu.Unlock()
	_ = r.ps.SetLinger(0) // close sends RST, not FIN
	_ = r.ps.Close()
}

// resetPageServer connects to the page server only to reset the
// connection: a dump whose migration failed before the relay started
// would otherwise wait in accept() forever.
func resetPageServer(addr string) {
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		(&sourcePageRelay{ps: c.(*net.TCPConn)}).reset()
	}
}

// destPageRelay is the destination's end: a listener on the loopback for
// the lazy-pages daemon, whose requests go to the wire and to which the
// channel's data goes.
type destPageRelay struct {
	ln   *net.TCPListener
	wire *migwire.Conn
	mu   sync.Mutex
	conn *net.TCPConn
	// closed: the daemon sent its closing request (answered here).
	closed chan struct{}
}

func newDestPageRelay(wire *migwire.Conn) (*destPageRelay, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("a loopback port for the lazy-pages daemon: %w", err)
	}
	r := &destPageRelay{ln: ln, wire: wire, closed: make(chan struct{})}
	wire.OpenChannel(r)
	go r.serve()
	return r, nil
}

// Addr is where the daemon connects: 127.0.0.1:port.
func (r *destPageRelay) Addr() *net.TCPAddr { return r.ln.Addr().(*net.TCPAddr) }

// serve accepts the daemon (one connection) and sends its requests on.
func (r *destPageRelay) serve() {
	c, err := r.ln.AcceptTCP()
	r.ln.Close()
	if err != nil {
		return
	}
	r.mu.Lock()
	r.conn = c
	r.mu.Unlock()
	hdr := make([]byte, psHeader)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		switch binary.NativeEndian.Uint32(hdr) & psCmdMask {
		case psIOVClose, psIOVForceClose:
			// Answered here, never forwarded (see above).
			_, _ = c.Write([]byte{0, 0, 0, 0})
			close(r.closed)
			return
		}
		if err := r.wire.SendChannel(hdr); err != nil {
			return
		}
	}
}

// Write is the channel's sink: the source's page server answers.
func (r *destPageRelay) Write(p []byte) (int, error) {
	r.mu.Lock()
	c := r.conn
	r.mu.Unlock()
	if c == nil {
		return 0, errors.New("page data before the lazy-pages daemon connected")
	}
	return c.Write(p)
}

// close ends the daemon's connection: a daemon still copying fails (and
// its supervisor kills what it restored).
func (r *destPageRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	c := r.conn
	r.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// postCopyFinal is the final dump of a post-copy checkpoint into dir (see
// CheckpointRequest.PostCopy). known and knownStats are the digests of
// the pre-copy rounds, for the manifest.
func (d *dump) postCopyFinal(dir string, known map[string]string, knownStats map[string]ckpt.FileStat) error {
	pc, opts := d.postCopy, d.run.opts
	port, err := freeLoopbackPort()
	if err != nil {
		restoreRunState(d.c, d.before)
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	opts.LazyPages = true
	opts.PageServer = libcontainer.CriuPageServerInfo{Address: "127.0.0.1", Port: int32(port)}
	// libcontainer writes a byte to StatusFd when CRIU's page server is
	// ready, and closes it then (and sets it to -1).
	readyR, readyW, err := os.Pipe()
	if err != nil {
		restoreRunState(d.c, d.before)
		return err
	}
	defer readyR.Close()
	statusFd, err := unix.Dup(int(readyW.Fd()))
	readyW.Close()
	if err != nil {
		restoreRunState(d.c, d.before)
		return err
	}
	opts.StatusFd = statusFd
	ready := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := readyR.Read(b)
		ready <- n == 1
	}()
	criuDone := make(chan error, 1)
	go func() { criuDone <- d.criu() }()
	select {
	case err := <-criuDone:
		if opts.StatusFd != -1 {
			unix.Close(opts.StatusFd)
		}
		if err == nil {
			err = errors.New("CRIU's post-copy dump ended before its page server was ready")
		}
		return err
	case ok := <-ready:
		if !ok {
			resetPageServer(addr)
			return <-criuDone
		}
	}
	// The processes are frozen and dumped but for their lazy pages.
	fail := func(err error) error {
		resetPageServer(addr)
		if cerr := <-criuDone; cerr != nil {
			logrus.Debugf("checkpoint %s: the post-copy dump, stopped: %v", d.c.ID(), cerr)
		}
		return fmt.Errorf("checkpoint %s: %w", d.c.ID(), err)
	}
	d.finish()
	if err := ckpt.WriteManifest(dir, d.manifest, known, knownStats); err != nil {
		return fail(err)
	}
	if err := ckpt.Export(dir, d.c.Config().Rootfs, pc.created, d.manifest, pc.export); err != nil {
		return fail(fmt.Errorf("export: %w", err))
	}
	ps, err := dialPageServer(addr)
	if err != nil {
		return fail(err)
	}
	keep, serveErr := pc.serve(pc.export.Path, ps)
	if serveErr != nil {
		pc.keepFrozen.Store(keep)
		(&sourcePageRelay{ps: ps}).reset()
	}
	criuErr := <-criuDone
	if serveErr != nil {
		if criuErr == nil {
			// CRIU took the reset for the end of the copy and ended
			// the processes: nothing of them is left here.
			return fmt.Errorf("checkpoint %s: %w (and CRIU's dump ended the processes here)", d.c.ID(), serveErr)
		}
		return serveErr
	}
	return criuErr
}

// freeLoopbackPort finds a TCP port free on 127.0.0.1 for CRIU to listen
// on (CRIU is told a port; it cannot report one it chose).
func freeLoopbackPort() (int, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, fmt.Errorf("a loopback port for CRIU's page server: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
