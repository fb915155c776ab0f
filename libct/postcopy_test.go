package libct

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rt-runtime/rt/libct/migwire"
)

// pagePair is a migration session in memory: the source's and the
// destination's ends, with the destination's relay and a fake CRIU page
// server on the source's loopback.
type pagePair struct {
	server *net.TCPListener
	src    *sourcePageRelay
	dst    *destPageRelay
	crIn   chan []byte // what the page server received, in reads
	crConn chan *net.TCPConn
}

func newPagePair(t *testing.T) *pagePair {
	t.Helper()
	r1, w1 := io.Pipe()
	r2, w2 := io.Pipe()
	t.Cleanup(func() { w1.Close(); w2.Close() })
	srcWire, dstWire := migwire.New(r2, w1), migwire.New(r1, w2)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &pagePair{server: ln, crConn: make(chan *net.TCPConn, 1)}
	go func() {
		c, err := ln.AcceptTCP()
		if err == nil {
			p.crConn <- c
		}
	}()
	ps, err := dialPageServer(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p.src = relayPageServer(ps, srcWire)
	srcWire.Demux()
	if p.dst, err = newDestPageRelay(dstWire); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.dst.close)
	dstWire.Demux()
	return p
}

func psRequest(cmd uint32) []byte {
	b := make([]byte, psHeader)
	binary.NativeEndian.PutUint32(b, cmd)
	binary.NativeEndian.PutUint32(b[4:], 1)
	return b
}

func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// A request of the daemon reaches the page server and its answer comes
// back; the daemon's closing request is answered on the destination and
// never reaches the page server, which sees CLOSE only from complete.
func TestPageRelayCloseOnlyOnComplete(t *testing.T) {
	p := newPagePair(t)
	cr := <-p.crConn
	daemon, err := net.DialTCP("tcp", nil, p.dst.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	get := psRequest(7) // PS_IOV_GET
	if _, err := daemon.Write(get); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, cr, psHeader); !bytes.Equal(got, get) {
		t.Fatalf("page server got %x, want %x", got, get)
	}
	page := bytes.Repeat([]byte{0xab}, 4096)
	if _, err := cr.Write(append(get, page...)); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, daemon, psHeader+4096); !bytes.Equal(got[psHeader:], page) {
		t.Fatal("the daemon got another page")
	}
	if _, err := daemon.Write(psRequest(psIOVClose)); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, daemon, 4); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Fatalf("the daemon's close was answered %x", got)
	}
	<-p.dst.closed
	_ = cr.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := cr.Read(make([]byte, 64)); n > 0 || !isTimeout(err) {
		t.Fatalf("the page server got %d bytes (%v) after the daemon's close", n, err)
	}
	done := make(chan error, 1)
	go func() { done <- p.src.complete() }()
	if got := readFull(t, cr, psHeader); binary.NativeEndian.Uint32(got) != psIOVClose {
		t.Fatalf("complete sent %x, not PS_IOV_CLOSE", got)
	}
	if _, err := cr.Write([]byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	_ = cr.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := cr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after CLOSE the page server read %d bytes, %v; want the end of the connection", n, err)
	}
	cr.Close()
	if err := <-done; err != nil {
		t.Fatalf("complete: %v", err)
	}
}

// reset ends the page server's session with an error, never a clean end
// CRIU would take for "all copied".
func TestPageRelayResetIsAnError(t *testing.T) {
	p := newPagePair(t)
	cr := <-p.crConn
	p.src.reset()
	_ = cr.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := cr.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the page server read %v, want ECONNRESET", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The source's rt dying closes the connection without complete: the page
// server must see a reset then too, never a clean end.
func TestPageRelayDeathIsAReset(t *testing.T) {
	p := newPagePair(t)
	cr := <-p.crConn
	p.src.ps.Close() // what the kernel does when the process dies
	_ = cr.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cr.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the page server read %v, want ECONNRESET", err)
	}
}
