// Package ckptinfo decodes what a checkpoint holds, with go-criu's crit,
// for "rt inspect-checkpoint".
//
// It lives in its own package, linked only into the rt-inspect helper:
// crit registers the protobuf types of every CRIU image at program start,
// which cost each exec of rt about 2-3 ms (and rt runs four times per
// container lifecycle: create, its init, start, delete).
package ckptinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"

	"github.com/rt-runtime/rt/libct/ckpt"
	"github.com/rt-runtime/rt/libct/internal/fsutil"
)

// CheckpointInfo is what "rt inspect-checkpoint" shows: the manifest and
// what CRIU's images say about the processes.
type CheckpointInfo struct {
	Path     string         `json:"path"`
	Manifest *ckpt.Manifest `json:"manifest,omitempty"`
	// Restorable: ckpt.CheckImage finds nothing that stops a restore on
	// this host; Problems says what does.
	Restorable bool            `json:"restorable"`
	Problems   []string        `json:"problems,omitempty"`
	ImageBytes int64           `json:"imageBytes"`
	PageBytes  int64           `json:"pageBytes"` // process memory in pages-*.img
	Processes  []ProcessInfo   `json:"processes"`
	Tree       *crit.PsTree    `json:"tree,omitempty"`
	Sockets    []*crit.Sk      `json:"sockets,omitempty"`
	Mounts     []MountInfo     `json:"mounts,omitempty"`
	DumpStats  json.RawMessage `json:"dumpStats,omitempty"`
}

// ProcessInfo is one process of the checkpoint.
type ProcessInfo struct {
	PID         uint32       `json:"pid"`
	PPID        uint32       `json:"ppid"`
	Command     string       `json:"command"`
	MemoryBytes int64        `json:"memoryBytes"` // dumped resident pages
	Files       []*crit.File `json:"files,omitempty"`
}

// MountInfo is a mount of the checkpointed container, from its spec.
type MountInfo struct {
	Destination string `json:"destination"`
	Type        string `json:"type"`
	Source      string `json:"source"`
}

// Inspect decodes the checkpoint at path with go-criu's crit:
// an image directory, or an archive written by checkpoint --export, whose
// images are extracted to a private temporary directory first.
func Inspect(path string) (*CheckpointInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, fsutil.UnwrapPathError(err))
	}
	if fi.IsDir() {
		return inspectImageDir(path)
	}
	tmp, err := os.MkdirTemp("", "rt-inspect-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := ckpt.ExtractImages(path, tmp); err != nil {
		return nil, err
	}
	info, err := inspectImageDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

func inspectImageDir(dir string) (*CheckpointInfo, error) {
	here := ckpt.HostWithoutCriu()
	here.CriuVersion = ckpt.CriuVersionCached(ckpt.CriuVersionDir(), "")
	v := ckpt.CheckImage(dir, here, nil)
	if !v.Complete {
		return nil, v.Err()
	}
	m := v.Manifest
	info := &CheckpointInfo{Path: dir, Manifest: m, Restorable: v.Restorable()}
	for _, p := range v.Problems {
		info.Problems = append(info.Problems, p.Error())
	}
	if m != nil && m.Spec != nil {
		for _, mt := range m.Spec.Mounts {
			info.Mounts = append(info.Mounts, MountInfo{Destination: mt.Destination, Type: mt.Type, Source: mt.Source})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			info.ImageBytes += fi.Size()
			if strings.HasPrefix(e.Name(), "pages-") {
				info.PageBytes += fi.Size()
			}
		}
	}
	c := crit.New(nil, nil, dir, false, true)
	tree, err := c.ExplorePs()
	if err != nil {
		return nil, fmt.Errorf("decode process tree in %s: %w", dir, err)
	}
	info.Tree = tree
	fds, err := c.ExploreFds()
	if err != nil {
		return nil, fmt.Errorf("decode open files in %s: %w", dir, err)
	}
	files := map[uint32][]*crit.File{}
	for _, f := range fds {
		files[f.PId] = f.Files
	}
	var walk func(t *crit.PsTree, ppid uint32)
	walk = func(t *crit.PsTree, ppid uint32) {
		info.Processes = append(info.Processes, ProcessInfo{
			PID: t.PID, PPID: ppid, Command: t.Comm,
			MemoryBytes: residentBytes(dir, t.PID), Files: files[t.PID],
		})
		for _, ch := range t.Children {
			walk(ch, t.PID)
		}
	}
	walk(tree, 0)
	sort.Slice(info.Processes, func(i, j int) bool { return info.Processes[i].PID < info.Processes[j].PID })
	if sks, err := c.ExploreSk(); err == nil {
		for _, sk := range sks {
			if len(sk.Sockets) > 0 {
				info.Sockets = append(info.Sockets, sk)
			}
		}
	}
	if st, err := ckpt.ReadDumpStats(dir, ""); err == nil {
		info.DumpStats, _ = json.Marshal(st)
	}
	return info, nil
}

// residentBytes sums the pages the pagemap of pid says were dumped.
func residentBytes(dir string, pid uint32) int64 {
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("pagemap-%d.img", pid)))
	if err != nil {
		return 0
	}
	defer f.Close()
	img, err := crit.New(f, nil, "", false, true).Decode(&pagemap.PagemapEntry{})
	if err != nil {
		return 0
	}
	var pages int64
	for i, e := range img.Entries {
		if i == 0 {
			continue // the pagemap head
		}
		if pe, ok := e.Message.(*pagemap.PagemapEntry); ok {
			pages += int64(pe.GetNrPages())
		}
	}
	return pages * int64(os.Getpagesize())
}

// WriteText prints the information for people.
func (ci *CheckpointInfo) WriteText(w io.Writer) {
	fmt.Fprintf(w, "checkpoint: %s\n", ci.Path)
	if m := ci.Manifest; m != nil {
		fmt.Fprintf(w, "container:  %s (bundle %s)\n", m.ContainerID, m.Bundle)
		fmt.Fprintf(w, "taken:      %s by rt %s in %s\n", m.Finished.Format("2006-01-02 15:04:05 MST"), m.RtVersion, m.Finished.Sub(m.Started).Round(1e6))
		fmt.Fprintf(w, "host:       %s, kernel %s, CRIU %s, cgroup %s\n", m.Host.Arch, m.Host.Kernel, ckpt.CriuVersionString(m.Host.CriuVersion), m.Host.CgroupVersion)
		if opts := m.Options.Flags(); opts != "" {
			fmt.Fprintf(w, "options:    %s\n", opts)
		}
		fmt.Fprintf(w, "kind:       %s, %d files\n", m.Kind, len(m.Files))
	} else {
		fmt.Fprintf(w, "manifest:   none (not taken by rt)\n")
	}
	if ci.Restorable {
		fmt.Fprintf(w, "restore:    possible on this host\n")
	} else {
		fmt.Fprintf(w, "restore:    NOT possible on this host\n")
	}
	for _, p := range ci.Problems {
		fmt.Fprintf(w, "            - %s\n", p)
	}
	fmt.Fprintf(w, "size:       %s in images, %s of process memory\n", humanBytes(ci.ImageBytes), humanBytes(ci.PageBytes))
	fmt.Fprintf(w, "processes:\n")
	for _, p := range ci.Processes {
		fmt.Fprintf(w, "  %6d  ppid %-6d %-16s %s\n", p.PID, p.PPID, p.Command, humanBytes(p.MemoryBytes))
		for _, f := range p.Files {
			fmt.Fprintf(w, "          fd %-4s %-6s %s\n", f.Fd, f.Type, f.Path)
		}
	}
	if len(ci.Sockets) > 0 {
		fmt.Fprintf(w, "sockets:\n")
		for _, s := range ci.Sockets {
			for _, sk := range s.Sockets {
				fmt.Fprintf(w, "  pid %-6d fd %-4d %s %s %s\n", s.PId, sk.Fd, sk.Type, sk.State, strings.TrimSpace(sk.SrcAddr+" "+sk.DestAddr))
			}
		}
	}
	if len(ci.Mounts) > 0 {
		fmt.Fprintf(w, "mounts:\n")
		for _, mt := range ci.Mounts {
			fmt.Fprintf(w, "  %-24s %-8s %s\n", mt.Destination, mt.Type, mt.Source)
		}
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
