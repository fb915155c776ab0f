# bench/plot.gp - the benchmark plot: gnuplot -e "dir='bench/out/run-...'" bench/plot.gp
# Reads dir/plot/lifecycle.dat and dir/plot/cr.dat (written by benchtool
# report), writes dir/bench.png.
if (!exists("dir")) dir = "bench/out/latest"
lc = dir."/plot/lifecycle.dat"
cr = dir."/plot/cr.dat"
set terminal pngcairo size 1500,1100 font ",10"
set output dir."/bench.png"
has(f) = system("test -s '".f."' && echo 1 || echo 0") eq "1"
hasrows(f, lane) = system("grep -q '^".lane." ' '".f."' 2>/dev/null && echo 1 || echo 0") eq "1"
set multiplot layout 2,2 title "rt benchmarks (medians; see docs/benchmarks.md)"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set grid ytics
set ylabel "ms per container"
set yrange [0:*]
set xtics nomirror

set title "Lifecycle on the host (create+start+wait+delete of busybox true)"
if (hasrows(lc, "host")) {
plot "< grep '^host ' ".lc using 3:xtic(2) title "sequential", \
     "" using 5 title "10 in parallel (per container)", \
     "" using 7 title "foreground run"
} else { set multiplot next }

set title "Lifecycle in the VM lane (TCG, cgroup2, with crun)"
if (hasrows(lc, "vm")) {
plot "< grep '^vm ' ".lc using 3:xtic(2) title "sequential", \
     "" using 5 title "10 in parallel (per container)", \
     "" using 7 title "foreground run"
} else { set multiplot next }

set style data linespoints
set logscale xy
set xlabel "process memory (MiB)"
set ylabel "seconds (VM lane, TCG)"
set yrange [*:*]
set xtics (16, 128, 512, 1024)
set key top left

if (!has(cr)) { unset multiplot; exit }
set title "Checkpoint"
plot cr using 1:2 title "copy limit (memory -> tmpfs)" dashtype 2 lw 2, \
     cr using 1:3 title "bare criu dump" lw 2, \
     cr using 1:4 title "runc checkpoint" lw 2, \
     cr using 1:5 title "rt checkpoint" lw 2, \
     cr using 1:6 title "rt checkpoint --export" lw 2, \
     cr using 1:7 title "docker checkpoint create (rt)" lw 2, \
     cr using 1:14 title "rt manifest hash alone" dashtype 3 lw 2

set title "Restore"
plot cr using 1:8 title "copy limit (tmpfs -> memory)" dashtype 2 lw 2, \
     cr using 1:9 title "bare criu restore" lw 2, \
     cr using 1:10 title "runc restore" lw 2, \
     cr using 1:11 title "rt restore" lw 2, \
     cr using 1:12 title "rt restore --import" lw 2, \
     cr using 1:13 title "docker start --checkpoint (rt)" lw 2

unset multiplot
