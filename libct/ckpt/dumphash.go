package ckpt

import (
	"encoding/hex"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// DumpHasher digests the pages images of a dump while CRIU writes them,
// so that the manifest costs little more than CRIU's own time: the
// pages images are almost all of an image's bytes, and CRIU writes them
// on one CPU, leaving the others idle.
//
// It relies on CRIU writing each pages image once, front to back (it
// splices the dumped pages to the end of the file; the property
// criu-image-streamer builds on): bytes read once are final. It still
// checks what it can: a file that shrinks, or is replaced by another
// inode, is dropped and hashed again after the dump like any other file.
type DumpHasher struct {
	dir   string
	alg   string
	stop  chan struct{}
	done  chan struct{}            // closed when the follower has stopped
	files map[string]*followedFile // only the follower, then finish, use it
	// read counts the bytes digested, for the debug log (and tests).
	read atomic.Int64
}

// followedFile is one pages image being followed.
type followedFile struct {
	f   *os.File
	h   hash.Hash
	n   int64 // bytes hashed so far
	bad bool  // shrank, failed to read: not trusted
}

// dumpHashPoll is how long the follower sleeps when it has caught up
// with CRIU.
const dumpHashPoll = 10 * time.Millisecond

// isPagesImage tells the images CRIU fills with dumped memory.
func isPagesImage(name string) bool {
	return strings.HasPrefix(name, "pages-") && strings.HasSuffix(name, ".img")
}

// StartDumpHasher follows the pages images appearing in dir until finish
// or abandon.
func StartDumpHasher(dir, alg string) *DumpHasher {
	d := &DumpHasher{
		dir: dir, alg: alg,
		stop: make(chan struct{}), done: make(chan struct{}),
		files: map[string]*followedFile{},
	}
	go func() {
		defer close(d.done)
		buf := make([]byte, 1<<20)
		for {
			progressed := d.pass(buf)
			if progressed {
				continue // CRIU is ahead: keep reading
			}
			select {
			case <-d.stop:
				return
			case <-time.After(dumpHashPoll):
			}
		}
	}()
	return d
}

// pass opens new pages images and reads every followed file to its
// current end. It reports whether it read anything.
func (d *DumpHasher) pass(buf []byte) bool {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if _, ok := d.files[name]; ok || !isPagesImage(name) || !e.Type().IsRegular() {
			continue
		}
		h, err := newDigest(d.alg)
		if err != nil {
			return false
		}
		f, err := os.Open(filepath.Join(d.dir, name))
		if err != nil {
			continue
		}
		d.files[name] = &followedFile{f: f, h: h}
	}
	progressed := false
	for _, ff := range d.files {
		if ff.bad {
			continue
		}
		for {
			n, err := ff.f.Read(buf)
			ff.h.Write(buf[:n])
			ff.n += int64(n)
			d.read.Add(int64(n))
			if n > 0 {
				progressed = true
			}
			if err != nil {
				// EOF: caught up with CRIU. Anything else: not trusted.
				ff.bad = err != io.EOF
				break
			}
			if n == 0 {
				break
			}
		}
	}
	return progressed
}

// BytesRead is how much the follower has digested so far.
func (d *DumpHasher) BytesRead() int64 { return d.read.Load() }

// Finish is called once CRIU has exited: it reads every followed file to
// its end and returns the digests of those that are whole and still the
// file at their name, with their FileStat.
func (d *DumpHasher) Finish() (map[string]string, map[string]FileStat) {
	close(d.stop)
	<-d.done
	d.pass(make([]byte, 1<<20))
	sums := map[string]string{}
	stats := map[string]FileStat{}
	for name, ff := range d.files {
		open, okOpen := statOfFile(ff.f)
		now, okNow := statOf(filepath.Join(d.dir, name))
		ff.f.Close()
		if ff.bad || !okOpen || !okNow || open != now || now.Size != ff.n {
			continue
		}
		sums[name] = hex.EncodeToString(ff.h.Sum(nil))
		stats[name] = now
	}
	return sums, stats
}

// abandon stops following (the dump failed) and closes the files.
func (d *DumpHasher) Abandon() {
	close(d.stop)
	<-d.done
	for _, ff := range d.files {
		ff.f.Close()
	}
}
