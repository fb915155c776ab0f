package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/rt-runtime/rt/libct/migwire"
)

// doWirecut runs argv with stdin passed on frame by frame, and cuts the
// connection in the data that follows the nth message op: 256 KiB of it
// go through (the destination is then mid-stream), then argv is killed.
// It reads the frames itself (kind, length, payload) so that it passes
// them on unchanged; migwire gives the kinds and limits.
func doWirecut(op, nth string, argv []string) {
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 {
		die("wirecut: %q is not a count", nth)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		die("wirecut: %v", err)
	}
	if err := cmd.Start(); err != nil {
		die("wirecut: %v", err)
	}
	r := bufio.NewReader(os.Stdin)
	seen, cutting, budget := 0, false, int64(256<<10)
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // rt closed its end: let the session end by itself
		}
		size := binary.BigEndian.Uint32(hdr[1:])
		if size > migwire.MaxFrame {
			die("wirecut: a frame of %d bytes", size)
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(r, payload); err != nil {
			break
		}
		if cutting && hdr[0] == migwire.KindData {
			budget -= int64(size)
			if budget < 0 {
				os.Stderr.WriteString("wirecut: cutting the connection\n")
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				os.Exit(255)
			}
		}
		if _, err := in.Write(append(hdr[:], payload...)); err != nil {
			break
		}
		if hdr[0] == migwire.KindJSON {
			var m migwire.Message
			if json.Unmarshal(payload, &m) == nil && m.Op == op {
				seen++
				cutting = cutting || seen == n
			}
		}
	}
	_ = in.Close()
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(255)
	}
}
