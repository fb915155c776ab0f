package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------- stats

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pct is the nearest-rank percentile.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func minMax(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(v), slices.Max(v)
}

// median: numbers on stdin (one per line or blank-separated).
func medianCmd(args []string) error {
	var v []float64
	sc := bufio.NewScanner(os.Stdin)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		f, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			return err
		}
		v = append(v, f)
	}
	lo, hi := minMax(v)
	fmt.Printf("n=%d median=%g p90=%g min=%g max=%g\n", len(v), median(v), pct(v, 90), lo, hi)
	return nil
}

// ---------------------------------------------------------------- input

func readTSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows, sc.Err()
}

func num(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// ---------------------------------------------------------------- output helpers

func ms(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f", v*1000)
}

func sec(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func mibs(size, secs float64) string {
	if math.IsNaN(secs) || secs == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", size/secs)
}

func mb(bytes float64) string {
	if math.IsNaN(bytes) {
		return "–"
	}
	return fmt.Sprintf("%.1f", bytes/float64(mib))
}

func verdict(ok bool, known bool) string {
	if !known {
		return "n/a"
	}
	if ok {
		return "met"
	}
	return "**missed**"
}

// ---------------------------------------------------------------- report

type lcKey struct{ lane, mode, rt string }

// report -dir OUT: read OUT/lifecycle.tsv, OUT/gnutime.tsv, OUT/cr.tsv;
// print markdown to stdout; write gnuplot data to OUT/plot/.
func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("need -dir")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "plot"), 0o755); err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	if err := reportLifecycle(w, *dir); err != nil {
		return err
	}
	if err := reportSpeed(w, *dir); err != nil {
		return err
	}
	return reportCR(w, *dir)
}

func reportLifecycle(w io.Writer, dir string) error {
	rows, err := readTSV(filepath.Join(dir, "lifecycle.tsv"))
	if err != nil || len(rows) == 0 {
		return err
	}
	type agg struct {
		total, create, start, wait, del []float64
		rssCLI, rssInit                 []float64
		cpu                             []float64
		fail                            int
	}
	data := map[lcKey]*agg{}
	var lanes, rts []string
	for _, r := range rows {
		if len(r) < 13 {
			continue
		}
		k := lcKey{r[0], r[1], r[2]}
		if !slices.Contains(lanes, r[0]) {
			lanes = append(lanes, r[0])
		}
		if !slices.Contains(rts, r[2]) {
			rts = append(rts, r[2])
		}
		a := data[k]
		if a == nil {
			a = &agg{}
			data[k] = a
		}
		if r[12] != "1" {
			a.fail++
			continue
		}
		f := func(i int) float64 { v, _ := num(r[i]); return v }
		a.total = append(a.total, f(5))
		a.create = append(a.create, f(6))
		a.start = append(a.start, f(7))
		a.wait = append(a.wait, f(8))
		a.del = append(a.del, f(9))
		if v := f(10); v > 0 {
			a.rssCLI = append(a.rssCLI, v)
		}
		if v := f(11); v > 0 {
			a.rssInit = append(a.rssInit, v)
		}
		if len(r) > 13 {
			if v, ok := num(r[13]); ok && v > 0 {
				a.cpu = append(a.cpu, v)
			}
		}
	}
	get := func(lane, mode, rt string) *agg {
		if a := data[lcKey{lane, mode, rt}]; a != nil {
			return a
		}
		return &agg{}
	}
	gnu := map[[2]string][]float64{}
	if grows, err := readTSV(filepath.Join(dir, "gnutime.tsv")); err == nil {
		for _, r := range grows {
			if len(r) >= 4 {
				if v, ok := num(r[3]); ok {
					gnu[[2]string{r[0], r[1]}] = append(gnu[[2]string{r[0], r[1]}], v)
				}
			}
		}
	}
	plot, err := os.Create(filepath.Join(dir, "plot", "lifecycle.dat"))
	if err != nil {
		return err
	}
	defer plot.Close()
	fmt.Fprintln(plot, "# lane runtime seq_med seq_p90 par_med par_p90 run_med run_p90 (ms)")

	for _, lane := range lanes {
		var present []string
		for _, rt := range rts {
			if data[lcKey{lane, "seq", rt}] != nil || data[lcKey{lane, "par", rt}] != nil {
				present = append(present, rt)
			}
		}
		fmt.Fprintf(w, "### Lifecycle (%s): busybox `true`, create + start + wait + delete, ms\n\n", lane)
		seqN := len(get(lane, "seq", present[0]).total)
		parN := len(get(lane, "parround", present[0]).total)
		parP := 0
		if parN > 0 {
			parP = len(get(lane, "par", present[0]).total) / parN
		}
		fmt.Fprintf(w, "Sequential: %d per runtime; parallel: %d rounds of %d at once (per-container latency, and the wall time of a round); "+
			"`run`: the runtime's own foreground `run` (create, start, wait and delete in one process).\n\n", seqN, parN, parP)
		fmt.Fprintf(w, "| runtime | sequential median | p90 | parallel median | p90 | round of %d, median | `run` median | p90 | failed |\n", parP)
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, rt := range present {
			s, p, pr, rn := get(lane, "seq", rt), get(lane, "par", rt), get(lane, "parround", rt), get(lane, "run", rt)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", rt,
				ms(median(s.total)), ms(pct(s.total, 90)), ms(median(p.total)), ms(pct(p.total, 90)),
				ms(median(pr.total)), ms(median(rn.total)), ms(pct(rn.total, 90)), s.fail+p.fail+rn.fail)
			fmt.Fprintf(plot, "%s %s %.3f %.3f %.3f %.3f %.3f %.3f\n", lane, rt,
				median(s.total)*1000, pct(s.total, 90)*1000, median(p.total)*1000, pct(p.total, 90)*1000,
				median(rn.total)*1000, pct(rn.total, 90)*1000)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Steps of the sequential lifecycle (median ms), CPU time (median ms: the runtime's processes and the container's init, from wait4's rusage) and peak RSS (KiB, from wait4's rusage = GNU time %%M):\n\n")
		fmt.Fprintln(w, "| runtime | create | start | wait | delete | CPU (user+sys) per lifecycle | CPU per `run` | peak RSS of the runtime (median / max) | peak RSS of its init | GNU time %M of `run` (max) |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, rt := range present {
			s := get(lane, "seq", rt)
			all := append(append(slices.Clone(s.rssCLI), get(lane, "par", rt).rssCLI...), get(lane, "run", rt).rssCLI...)
			_, mx := minMax(all)
			_, imx := minMax(s.rssInit)
			_, gmx := minMax(gnu[[2]string{lane, rt}])
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f | %.0f | %s |\n", rt,
				ms(median(s.create)), ms(median(s.start)), ms(median(s.wait)), ms(median(s.del)),
				ms(median(s.cpu)), ms(median(get(lane, "run", rt).cpu)),
				median(s.rssCLI), mx, imx, orDash(gmx))
		}
		fmt.Fprintln(w)
		// Targets: rt <= 1.0x each runc.
		rt := "rt"
		if data[lcKey{lane, "seq", rt}] != nil {
			fmt.Fprintln(w, "Target rt <= 1.0x runc (ratio of medians; < 1 is faster):")
			fmt.Fprintln(w)
			fmt.Fprintf(w, "| vs | sequential | parallel | round of %d | `run` | CPU per lifecycle | peak RSS (median) | target |\n", parP)
			fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
			for _, o := range present {
				if o == rt {
					continue
				}
				a, b := get(lane, "seq", rt), get(lane, "seq", o)
				rs := median(a.total) / median(b.total)
				rp := median(get(lane, "par", rt).total) / median(get(lane, "par", o).total)
				rr := median(get(lane, "parround", rt).total) / median(get(lane, "parround", o).total)
				rn := median(get(lane, "run", rt).total) / median(get(lane, "run", o).total)
				known := !math.IsNaN(rs) && !math.IsNaN(rp)
				ok := rs <= 1.0 && rp <= 1.0 && (math.IsNaN(rn) || rn <= 1.0)
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", o, fx(rs), fx(rp), fx(rr), fx(rn),
					ratio(median(a.cpu), median(b.cpu)), ratio(median(a.rssCLI), median(b.rssCLI)), verdict(ok, known))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func orDash(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func fx(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2fx", v)
}

// ---------------------------------------------------------------- C/R

type crKey struct {
	size       int
	method, op string
}

type crAgg struct {
	wall, bytes    []float64
	v1, v2, v3, v4 []float64
	byRep          map[int]float64
}

// reportSpeed: host-speed.tsv rows "what seconds bytes" measured natively
// on the host (no CRIU there): what hashing costs next to copying memory.
func reportSpeed(w io.Writer, dir string) error {
	rows, err := readTSV(filepath.Join(dir, "host-speed.tsv"))
	if err != nil || len(rows) == 0 {
		return err
	}
	by := map[string][]float64{}
	var order []string
	for _, r := range rows {
		if len(r) < 3 {
			continue
		}
		t, ok1 := num(r[1])
		b, ok2 := num(r[2])
		if !ok1 || !ok2 || t <= 0 {
			continue
		}
		if _, ok := by[r[0]]; !ok {
			order = append(order, r[0])
		}
		by[r[0]] = append(by[r[0]], b/float64(mib)/t)
	}
	fmt.Fprintln(w, "### Native speeds on the host (no VM; median MiB/s over the runs)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| operation | MiB/s | runs |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, k := range order {
		fmt.Fprintf(w, "| %s | %.0f | %d |\n", k, median(by[k]), len(by[k]))
	}
	fmt.Fprintln(w)
	return nil
}

func reportCR(w io.Writer, dir string) error {
	rows, err := readTSV(filepath.Join(dir, "cr.tsv"))
	if err != nil || len(rows) == 0 {
		return err
	}
	data := map[crKey]*crAgg{}
	var sizes []int
	failures := map[string]int{}
	for _, r := range rows {
		if len(r) < 10 {
			continue
		}
		size, _ := strconv.Atoi(r[0])
		rep, _ := strconv.Atoi(r[1])
		if r[3] == "failed" || r[3] == "verify-failed" {
			failures[fmt.Sprintf("%s %s (%d MiB)", r[2], r[3], size)]++
			continue
		}
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
		k := crKey{size, r[2], r[3]}
		a := data[k]
		if a == nil {
			a = &crAgg{byRep: map[int]float64{}}
			data[k] = a
		}
		add := func(dst *[]float64, s string) {
			if v, ok := num(s); ok {
				*dst = append(*dst, v)
			}
		}
		add(&a.wall, r[4])
		if v, ok := num(r[4]); ok {
			a.byRep[rep] = v
		}
		add(&a.bytes, r[5])
		add(&a.v1, r[6])
		add(&a.v2, r[7])
		add(&a.v3, r[8])
		add(&a.v4, r[9])
	}
	slices.Sort(sizes)
	get := func(size int, method, op string) *crAgg {
		if a := data[crKey{size, method, op}]; a != nil {
			return a
		}
		return &crAgg{byRep: map[int]float64{}}
	}
	wallMed := func(size int, method, op string) float64 { return median(get(size, method, op).wall) }
	reps := 0
	for _, a := range data {
		reps = max(reps, len(a.wall))
	}

	header := func(title string) {
		fmt.Fprintf(w, "%s\n\n| | ", title)
		for _, s := range sizes {
			fmt.Fprintf(w, "%d MiB | ", s)
		}
		fmt.Fprintf(w, "\n|---|")
		for range sizes {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintln(w)
	}
	type line struct{ label, method, op string }
	timeTable := func(title string, lines []line) {
		header(title)
		for _, l := range lines {
			if data[crKey{sizes[0], l.method, l.op}] == nil && data[crKey{sizes[len(sizes)-1], l.method, l.op}] == nil {
				continue
			}
			fmt.Fprintf(w, "| %s | ", l.label)
			for _, s := range sizes {
				a := get(s, l.method, l.op)
				lo, hi := minMax(a.wall)
				fmt.Fprintf(w, "%s s (%s–%s) %s MiB/s | ", sec(median(a.wall)), sec(lo), sec(hi), mibs(float64(s), median(a.wall)))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "### Checkpoint/restore (VM lane, one boot): median wall time over %d reps (min–max), MiB/s of the process's memory\n\n", reps)
	timeTable("Dump side:", []line{
		{"copy limit: memory → tmpfs file (write)", "copy", "write"},
		{"`dd if=/dev/zero` → tmpfs", "copy", "dd"},
		{"bare `criu dump`", "bare", "dump"},
		{"`runc checkpoint` (1.4.3)", "runc", "dump"},
		{"`rt checkpoint`", "rt", "dump"},
		{"`rt checkpoint --export` (zstd)", "rt-export", "dump"},
		{"`docker checkpoint create` (rt)", "docker", "dump"},
	})
	timeTable("Restore side:", []line{
		{"copy limit: tmpfs file → fresh memory (read)", "copy", "read"},
		{"bare `criu restore -d`", "bare", "restore"},
		{"`runc restore -d` (1.4.3)", "runc", "restore"},
		{"`rt restore -d`", "rt", "restore"},
		{"`rt restore -d --import` (zstd archive)", "rt-export", "restore"},
		{"`docker start --checkpoint` (rt)", "docker", "restore"},
	})

	// CRIU's own stats.
	header("CRIU's statistics (median; dump: frozen / memdump / memwrite time, s; restore: restore time, s) next to the wall time:")
	for _, m := range []struct{ label, method string }{{"bare CRIU", "bare"}, {"runc", "runc"}, {"rt", "rt"}, {"rt --export", "rt-export"}} {
		fmt.Fprintf(w, "| %s dump | ", m.label)
		for _, s := range sizes {
			a := get(s, m.method, "dump")
			fmt.Fprintf(w, "wall %s: %s / %s / %s | ", sec(median(a.wall)), sec(median(a.v2)/1e6), sec(median(a.v3)/1e6), sec(median(a.v4)/1e6))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "| %s restore | ", m.label)
		for _, s := range sizes {
			a := get(s, m.method, "restore")
			fmt.Fprintf(w, "wall %s: %s | ", sec(median(a.wall)), sec(median(a.v2)/1e6))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	header("Image sizes (MiB, median; logs excluded):")
	for _, l := range []line{
		{"bare CRIU image dir", "bare", "dump"}, {"runc image dir", "runc", "dump"}, {"rt image dir (with manifest)", "rt", "dump"},
		{"rt --export archive (zstd, incl. rootfs)", "rt-export", "archive"}, {"docker checkpoint dir", "docker", "dump"},
	} {
		fmt.Fprintf(w, "| %s | ", l.label)
		for _, s := range sizes {
			fmt.Fprintf(w, "%s | ", mb(median(get(s, l.method, l.op).bytes)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	header("rt's manifest: digest of every image file (benchtool hashtree = rt's code and Go toolchain, one CPU, redone after the dump), s (median) and share of `rt checkpoint`:")
	fmt.Fprintf(w, "| manifest hash (XXH64) | ")
	for _, s := range sizes {
		h, c := median(get(s, "rt", "hash").wall), wallMed(s, "rt", "dump")
		fmt.Fprintf(w, "%s s = %.0f%% of rt checkpoint, %s MiB/s | ", sec(h), 100*h/c, mibs(median(get(s, "rt", "hash").bytes)/float64(mib), h))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| sha256 (version 1 manifests), same files | ")
	for _, s := range sizes {
		a := get(s, "rt", "sha256")
		fmt.Fprintf(w, "%s s, %s MiB/s | ", sec(median(a.wall)), mibs(median(a.bytes)/float64(mib), median(a.wall)))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| rt checkpoint − hash, vs runc checkpoint | ")
	for _, s := range sizes {
		fmt.Fprintf(w, "%s | ", ratio(wallMed(s, "rt", "dump")-median(get(s, "rt", "hash").wall), wallMed(s, "runc", "dump")))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| rt restore − hash, vs runc restore | ")
	for _, s := range sizes {
		fmt.Fprintf(w, "%s | ", ratio(wallMed(s, "rt", "restore")-median(get(s, "rt", "hash").wall), wallMed(s, "runc", "restore")))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	// Fixed cost and marginal throughput: least squares of median wall
	// time against size.
	if len(sizes) >= 2 {
		fmt.Fprintln(w, "Fixed cost and marginal throughput (least-squares line through the median wall times: time = fixed + size / throughput):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| | fixed (s) | marginal MiB/s | vs copy limit |")
		fmt.Fprintln(w, "|---|---:|---:|---:|")
		fit := func(method, op string) (float64, float64) {
			var xs, ys []float64
			for _, s := range sizes {
				if v := wallMed(s, method, op); !math.IsNaN(v) {
					xs, ys = append(xs, float64(s)), append(ys, v)
				}
			}
			if len(xs) < 2 {
				return math.NaN(), math.NaN()
			}
			var mx, my float64
			for i := range xs {
				mx += xs[i]
				my += ys[i]
			}
			mx /= float64(len(xs))
			my /= float64(len(xs))
			var sxy, sxx float64
			for i := range xs {
				sxy += (xs[i] - mx) * (ys[i] - my)
				sxx += (xs[i] - mx) * (xs[i] - mx)
			}
			slope := sxy / sxx
			return my - slope*mx, 1 / slope
		}
		_, wlim := fit("copy", "write")
		_, rlim := fit("copy", "read")
		for _, l := range []struct {
			label, method, op string
			lim               float64
		}{
			{"copy limit: memory → tmpfs", "copy", "write", wlim},
			{"bare criu dump", "bare", "dump", wlim},
			{"runc checkpoint", "runc", "dump", wlim},
			{"rt checkpoint", "rt", "dump", wlim},
			{"rt checkpoint --export", "rt-export", "dump", wlim},
			{"docker checkpoint create (rt)", "docker", "dump", wlim},
			{"rt manifest hash alone", "rt", "hash", wlim},
			{"copy limit: tmpfs → memory", "copy", "read", rlim},
			{"bare criu restore", "bare", "restore", rlim},
			{"runc restore", "runc", "restore", rlim},
			{"rt restore", "rt", "restore", rlim},
			{"rt restore --import", "rt-export", "restore", rlim},
			{"docker start --checkpoint (rt)", "docker", "restore", rlim},
		} {
			fixed, tp := fit(l.method, l.op)
			if math.IsNaN(fixed) {
				continue
			}
			fmt.Fprintf(w, "| %s | %.2f | %.0f | %.0f%% |\n", l.label, fixed, tp, 100*tp/l.lim)
		}
		fmt.Fprintln(w)
	}

	// rt checkpoint phases (from its manifest).
	if data[crKey{sizes[0], "rt", "phases"}] != nil || data[crKey{sizes[len(sizes)-1], "rt", "phases"}] != nil {
		header("Where `rt checkpoint` spends its time (median s; from the manifest's started/finished times and its mtime): before the dump (rt start, container load, host info incl. a CRIU version query) / the dump (libcontainer + CRIU) / manifest hash / after (publish, export, destroy):")
		for _, m := range []struct{ label, method string }{{"rt checkpoint", "rt"}, {"rt checkpoint --export", "rt-export"}} {
			fmt.Fprintf(w, "| %s | ", m.label)
			for _, s := range sizes {
				a := get(s, m.method, "phases")
				fmt.Fprintf(w, "%s / %s / %s / %s | ", sec(median(a.v1)), sec(median(a.v2)), sec(median(a.v3)), sec(median(a.v4)))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "| runc checkpoint (wall), for comparison | ")
		for _, s := range sizes {
			fmt.Fprintf(w, "%s | ", sec(wallMed(s, "runc", "dump")))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}

	// docker: how much of it is rt.
	if data[crKey{sizes[0], "docker", "dump"}] != nil || data[crKey{sizes[len(sizes)-1], "docker", "dump"}] != nil {
		header("docker with rt (median s): wall / in the rt checkpoint or restore call / in all rt calls (containerd also pauses, resumes, deletes) / the engine's own time (wall − all rt calls):")
		for _, op := range []struct{ label, op string }{{"docker checkpoint create", "dump"}, {"docker start --checkpoint", "restore"}} {
			fmt.Fprintf(w, "| %s | ", op.label)
			for _, s := range sizes {
				a := get(s, "docker", op.op)
				var eng []float64
				for i := range a.wall {
					if i < len(a.v2) {
						eng = append(eng, a.wall[i]-a.v2[i])
					}
				}
				fmt.Fprintf(w, "%s / %s / %s (%.0f calls) / %s | ", sec(median(a.wall)), sec(median(a.v1)), sec(median(a.v2)), median(a.v3), sec(median(eng)))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}

	// Ratios and targets.
	header("Ratios (of medians; per-rep ratios min–max) and targets:")
	pair := func(s int, m1, op1, m2, op2 string) (float64, float64, float64) {
		a, b := get(s, m1, op1), get(s, m2, op2)
		var rs []float64
		for rep, x := range a.byRep {
			if y, ok := b.byRep[rep]; ok && y > 0 {
				rs = append(rs, x/y)
			}
		}
		lo, hi := minMax(rs)
		return median(a.wall) / median(b.wall), lo, hi
	}
	type target struct {
		label             string
		m1, op1, m2, op2  string
		limit             float64
		higherIsBetter    bool
		asPercentOverhead bool
		asThroughputShare bool
	}
	targets := []target{
		{label: "rt checkpoint / bare criu dump (target <= 1.05)", m1: "rt", op1: "dump", m2: "bare", op2: "dump", limit: 1.05},
		{label: "rt restore / bare criu restore (target <= 1.05)", m1: "rt", op1: "restore", m2: "bare", op2: "restore", limit: 1.05},
		{label: "rt checkpoint / runc checkpoint", m1: "rt", op1: "dump", m2: "runc", op2: "dump", limit: 1.0},
		{label: "rt restore / runc restore", m1: "rt", op1: "restore", m2: "runc", op2: "restore", limit: 1.0},
		{label: "runc checkpoint / bare criu dump (for scale)", m1: "runc", op1: "dump", m2: "bare", op2: "dump", limit: math.Inf(1)},
		{label: "runc restore / bare criu restore (for scale)", m1: "runc", op1: "restore", m2: "bare", op2: "restore", limit: math.Inf(1)},
		{label: "--export overhead on rt checkpoint (target <= 15%)", m1: "rt-export", op1: "dump", m2: "rt", op2: "dump", limit: 1.15, asPercentOverhead: true},
		{label: "--import overhead on rt restore", m1: "rt-export", op1: "restore", m2: "rt", op2: "restore", limit: math.Inf(1), asPercentOverhead: true},
		{label: "docker checkpoint create / rt checkpoint", m1: "docker", op1: "dump", m2: "rt", op2: "dump", limit: math.Inf(1)},
		{label: "docker start --checkpoint / rt restore", m1: "docker", op1: "restore", m2: "rt", op2: "restore", limit: math.Inf(1)},
		{label: "rt checkpoint throughput / copy limit (target >= 80%)", m1: "copy", op1: "write", m2: "rt", op2: "dump", limit: 0.8, higherIsBetter: true, asThroughputShare: true},
		{label: "rt restore throughput / copy limit (target >= 80%)", m1: "copy", op1: "read", m2: "rt", op2: "restore", limit: 0.8, higherIsBetter: true, asThroughputShare: true},
		{label: "bare criu dump throughput / copy limit (for scale)", m1: "copy", op1: "write", m2: "bare", op2: "dump", limit: 0, higherIsBetter: true, asThroughputShare: true},
		{label: "bare criu restore throughput / copy limit (for scale)", m1: "copy", op1: "read", m2: "bare", op2: "restore", limit: 0, higherIsBetter: true, asThroughputShare: true},
	}
	summary := map[string][]string{}
	for _, t := range targets {
		fmt.Fprintf(w, "| %s | ", t.label)
		for _, s := range sizes {
			r, lo, hi := pair(s, t.m1, t.op1, t.m2, t.op2)
			if math.IsNaN(r) {
				fmt.Fprintf(w, "– | ")
				continue
			}
			var txt string
			switch {
			case t.asPercentOverhead:
				txt = fmt.Sprintf("%+.0f%% (%+.0f…%+.0f%%)", (r-1)*100, (lo-1)*100, (hi-1)*100)
			case t.asThroughputShare:
				// copy time / tool time = tool throughput / copy throughput
				txt = fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", r*100, lo*100, hi*100)
			default:
				txt = fmt.Sprintf("%.2fx (%.2f–%.2f)", r, lo, hi)
			}
			if !math.IsInf(t.limit, 1) && t.limit != 0 {
				ok := r <= t.limit
				if t.higherIsBetter {
					ok = r >= t.limit
				}
				if !ok {
					txt = "**" + txt + "**"
				}
				summary[t.label] = append(summary[t.label], fmt.Sprintf("%d MiB: %s", s, verdict(ok, true)))
			}
			fmt.Fprintf(w, "%s | ", txt)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (bold above = missed):")
	fmt.Fprintln(w)
	for _, t := range targets {
		if v := summary[t.label]; len(v) > 0 {
			fmt.Fprintf(w, "- %s: %s\n", t.label, strings.Join(v, ", "))
		}
	}
	fmt.Fprintln(w)
	if len(failures) > 0 {
		fmt.Fprintln(w, "Failures:")
		fmt.Fprintln(w)
		for k, n := range failures {
			fmt.Fprintf(w, "- %s: %d\n", k, n)
		}
		fmt.Fprintln(w)
	}

	// gnuplot data: size, then median wall per method/op.
	cols := []struct{ method, op string }{
		{"copy", "write"}, {"bare", "dump"}, {"runc", "dump"}, {"rt", "dump"}, {"rt-export", "dump"}, {"docker", "dump"},
		{"copy", "read"}, {"bare", "restore"}, {"runc", "restore"}, {"rt", "restore"}, {"rt-export", "restore"}, {"docker", "restore"},
		{"rt", "hash"},
	}
	f, err := os.Create(filepath.Join(dir, "plot", "cr.dat"))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprint(f, "# size_mib")
	for _, c := range cols {
		fmt.Fprintf(f, " %s-%s", c.method, c.op)
	}
	fmt.Fprintln(f)
	for _, s := range sizes {
		fmt.Fprintf(f, "%d", s)
		for _, c := range cols {
			v := wallMed(s, c.method, c.op)
			if math.IsNaN(v) {
				fmt.Fprint(f, " NaN")
			} else {
				fmt.Fprintf(f, " %.4f", v)
			}
		}
		fmt.Fprintln(f)
	}
	return nil
}
