package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/rt-runtime/rt/libct/migwire"
)

// doWirecut runs argv with stdin passed on frame by frame, and cuts the
// connection in the data that follows the nth message op: 256 KiB of it
// go through (the destination is then mid-stream), then argv is killed.
// With op "hold:SENT:BACK", the channel's data (rt migrate --lazy's
// pages) is held back once message SENT went through, and the connection
// is cut right after the nth message BACK came back from argv (the
// destination): whatever pages it lacked then, it lacks for good. It reads the frames itself
// (kind, length, payload) so that it passes them on unchanged; migwire
// gives the kinds and limits.
func doWirecut(op, nth string, argv []string) {
	hold, holdAfter := false, ""
	if rest, ok := strings.CutPrefix(op, "hold:"); ok {
		if holdAfter, op, ok = strings.Cut(rest, ":"); !ok {
			die("wirecut: hold:SENT:BACK, not %q", op)
		}
		hold = true
	}
	holding := false
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 {
		die("wirecut: %q is not a count", nth)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	var out io.Reader
	if hold {
		if out, err = cmd.StdoutPipe(); err != nil {
			die("wirecut: %v", err)
		}
	} else {
		cmd.Stdout = os.Stdout
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		die("wirecut: %v", err)
	}
	if err := cmd.Start(); err != nil {
		die("wirecut: %v", err)
	}
	r := bufio.NewReader(os.Stdin)
	seen, cutting, budget := 0, false, int64(256<<10)
	var cutOnce sync.Once
	cut := func() {
		cutOnce.Do(func() {
			os.Stderr.WriteString("wirecut: cutting the connection\n")
			_ = cmd.Process.Kill()
			os.Exit(255)
		})
	}
	if hold {
		go func() {
			back := 0
			forEachFrame(bufio.NewReader(out), func(frame []byte, m *migwire.Message) bool {
				if _, err := os.Stdout.Write(frame); err != nil {
					return false
				}
				if m != nil && m.Op == op {
					if back++; back == n {
						cut()
					}
				}
				return true
			})
		}()
	}
	// Until rt closes its end: the session then ends by itself.
	forEachFrame(r, func(frame []byte, m *migwire.Message) bool {
		kind := frame[0]
		if holding && kind == migwire.KindChan {
			return true
		}
		if cutting && kind == migwire.KindData {
			budget -= int64(len(frame) - 5)
			if budget < 0 {
				cut()
			}
		}
		if _, err := in.Write(frame); err != nil {
			return false
		}
		if m != nil {
			if m.Op == op && !hold {
				seen++
				cutting = cutting || seen == n
			}
			holding = holding || hold && m.Op == holdAfter
		}
		return true
	})
	_ = in.Close()
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(255)
	}
}

// forEachFrame calls f with each frame read from r (and its message, for
// a JSON one) until f returns false or r ends.
func forEachFrame(r *bufio.Reader, f func(frame []byte, m *migwire.Message) bool) {
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[1:])
		if size > migwire.MaxFrame {
			die("wirecut: a frame of %d bytes", size)
		}
		frame := make([]byte, 5+size)
		copy(frame, hdr[:])
		if _, err := io.ReadFull(r, frame[5:]); err != nil {
			return
		}
		var m *migwire.Message
		if hdr[0] == migwire.KindJSON {
			m = new(migwire.Message)
			if json.Unmarshal(frame[5:], m) != nil {
				m = nil
			}
		}
		if !f(frame, m) {
			return
		}
	}
}
