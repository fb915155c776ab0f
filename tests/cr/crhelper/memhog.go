package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// memhog holds size MiB of private anonymous memory and keeps rewriting a
// working set of ws MiB of it at rate MiB/s, the way a cache or a database
// dirties its memory. Every page's content follows from its index and the
// number of times it was rewritten (kept in the process's own memory), so
// after a checkpoint and restore the process can verify every byte itself:
// on SIGUSR1 it checks all pages and writes "ok PAGES" or "bad page N" to
// /tmp/verify. Like the shell counter of the tests, it writes "TOKEN N" to
// /tmp/cnt every 0.1 s (TOKEN drawn at start, N the ticks so far). With a
// port, it also answers every line received on TCP with "pong N".
func doMemhog(args []string) {
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			die("memhog: %q is not a number", s)
		}
		return n
	}
	size, ws, rate := num(args[0]), num(args[1]), num(args[2])
	if ws > size || size == 0 {
		die("memhog: working set %d MiB larger than %d MiB", ws, size)
	}
	const page = 4096
	mem, err := syscall.Mmap(-1, 0, size<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		die("mmap: %v", err)
	}
	pages := len(mem) / page
	gen := make([]uint32, pages)
	for i := 0; i < pages; i++ {
		fillPage(mem[i*page:(i+1)*page], i, 0)
	}
	tok := fmt.Sprintf("t%d", rand.New(rand.NewSource(time.Now().UnixNano())).Int63())
	var ticks atomic.Int64
	if len(args) > 3 {
		go serve(num(args[3]), &ticks)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	wsPages := ws << 20 / page
	perTick := rate << 20 / page / 10 // pages rewritten every 0.1 s
	next := 0
	tick := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-usr1:
			verdict := fmt.Sprintf("ok %d\n", pages)
			for i := 0; i < pages; i++ {
				if !checkPage(mem[i*page:(i+1)*page], i, gen[i]) {
					verdict = fmt.Sprintf("bad page %d of %d\n", i, pages)
					break
				}
			}
			_ = os.WriteFile("/tmp/verify.tmp", []byte(verdict), 0o644)
			_ = os.Rename("/tmp/verify.tmp", "/tmp/verify")
		case <-tick.C:
			for k := 0; k < perTick && wsPages > 0; k++ {
				i := next % wsPages
				next++
				gen[i]++
				fillPage(mem[i*page:(i+1)*page], i, gen[i])
			}
			ticks.Add(1)
			// through a rename: a dump never finds the file half-written
			_ = os.WriteFile("/tmp/cnt.tmp", []byte(fmt.Sprintf("%s %d\n", tok, ticks.Load())), 0o644)
			_ = os.Rename("/tmp/cnt.tmp", "/tmp/cnt")
		}
	}
}

// pageWords is a page as 64-bit words, filled by a xorshift stream seeded
// by the page's index and generation: incompressible, never zero.
func pageWords(p []byte) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), len(p)/8)
}

func seed(i int, g uint32) uint64 { return uint64(i)<<32 | uint64(g) ^ 0x9E3779B97F4A7C15 }

func fillPage(p []byte, i int, g uint32) {
	x := seed(i, g)
	for k, w := 0, pageWords(p); k < len(w); k++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w[k] = x
	}
}

func checkPage(p []byte, i int, g uint32) bool {
	x := seed(i, g)
	for _, v := range pageWords(p) {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		if v != x {
			return false
		}
	}
	return true
}

// serve answers "pong TICKS" to every line on TCP port.
func serve(port int, ticks *atomic.Int64) {
	// Plain TCP: Go 1.24 listens with MPTCP by default, which CRIU 3.17
	// cannot dump ("inet: Unsupported proto 262").
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		die("listen: %v", err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			r := bufio.NewScanner(c)
			for r.Scan() {
				if _, err := fmt.Fprintf(c, "pong %d\n", ticks.Load()); err != nil {
					return
				}
			}
		}()
	}
}

// doAsk connects to 127.0.0.1:PORT (retrying every 5 ms for up to 60 s
// while nothing listens), sends "ping" and prints the answer: the client
// side of memhog's server, for "time to first answer".
func doAsk(port string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err = fmt.Fprintln(c, "ping"); err == nil {
				line, rerr := bufio.NewReader(c).ReadString('\n')
				c.Close()
				if rerr == nil {
					fmt.Print(line)
					return
				}
				err = rerr
			}
		}
		if time.Now().After(deadline) {
			die("ask 127.0.0.1:%s: %v", port, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// doPinger keeps one TCP connection to memhog's server at addr and asks
// it once a second, printing "pong N" (with the local port, so that a new
// connection would show) for each answer. It never reconnects: an error
// (a reset, or no answer within 10 minutes: TCP retransmits for longer)
// prints "error ..." and exits 1. It is the client whose connection must
// survive a migration.
func doPinger(addr string) {
	var d net.Dialer
	d.SetMultipathTCP(false)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	local := c.LocalAddr().(*net.TCPAddr).Port
	r := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("%s port %d at %s\n", line[:len(line)-1], local, time.Now().Format("15:04:05.000"))
		time.Sleep(time.Second)
	}
}
