package ckpt

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A --lazy restore starts the container before its memory is back: a
// "criu lazy-pages" daemon serves each page the processes touch (through
// userfaultfd) and copies the others in the background. rt runs the daemon
// under a supervisor (rt's own binary, detached), which records how the
// copy goes in the container's state directory.

// LazyStatusFile is the supervisor's record, in the container's state
// directory.
const LazyStatusFile = "rt-lazy.json"

// LazyDaemonLog is the daemon's log, in the restore's work directory.
const LazyDaemonLog = "lazy-pages.log"

// States of a lazy restore's background copy.
const (
	LazyCopying = "copying" // the daemon serves and copies pages
	LazyDone    = "done"    // every page is back; the daemon exited
	LazyFailed  = "failed"  // the daemon failed: the container was killed
	LazyEnded   = "ended"   // the container ended before the copy did
)

// LazyStatus is a lazy restore's background copy.
type LazyStatus struct {
	State           string     `json:"state"`
	DaemonPid       int        `json:"daemonPid"`
	SupervisorPid   int        `json:"supervisorPid"`
	Started         time.Time  `json:"started"` // the restore began
	TimeToRunningMs int64      `json:"timeToRunningMs"`
	Finished        *time.Time `json:"finished,omitempty"`
	// CopyMs is the time from the restore's start to the last page.
	CopyMs      int64  `json:"copyMs,omitempty"`
	PagesTotal  uint64 `json:"pagesTotal"`
	PagesCopied uint64 `json:"pagesCopied"`
	Log         string `json:"log"`
	Error       string `json:"error,omitempty"`
}

// ReadLazyStatus reads the record in stateDir; (nil, nil) when there is
// none (not a lazy restore). While the copy runs, the page counts are read
// from the daemon's log.
func ReadLazyStatus(stateDir string) (*LazyStatus, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, LazyStatusFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s LazyStatus
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.State == LazyCopying && s.Log != "" {
		s.PagesTotal, s.PagesCopied = LazyProgress(s.Log)
	}
	return &s, nil
}

// WriteLazyStatus replaces the record in stateDir atomically. A state
// directory that is gone (the container was deleted) is not recreated.
func WriteLazyStatus(stateDir string, s *LazyStatus) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(stateDir, "."+LazyStatusFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(stateDir, LazyStatusFile))
}

// LazyProgress reads a lazy-pages daemon's log (written at CRIU's debug
// level): the pages it found to serve ("Found N pages to be handled by
// UFFD", one line per process) and the pages it copied in ("uffd_copy:
// ADDRESS/BYTES", one line per copy of up to 4 MiB).
func LazyProgress(log string) (total, copied uint64) {
	f, err := os.Open(log)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "uffd_copy: "); i >= 0 {
			if _, n, ok := strings.Cut(line[i:], "/"); ok {
				if b, err := strconv.ParseUint(strings.TrimSpace(n), 10, 64); err == nil {
					copied += b / 4096
				}
			}
		} else if i := strings.Index(line, "Found "); i >= 0 && strings.HasSuffix(line, " pages to be handled by UFFD") {
			n := strings.TrimSuffix(line[i+len("Found "):], " pages to be handled by UFFD")
			if p, err := strconv.ParseUint(n, 10, 64); err == nil {
				total += p
			}
		}
	}
	return total, copied
}
