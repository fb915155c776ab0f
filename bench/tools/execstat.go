package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// execstat N CMD [ARGS...]: run CMD N times (stdio on /dev/null) and print
// the medians of its wall time, CPU time (user+system) and minor page
// faults, from the rusage wait4 returns: what one exec of a runtime costs.
func execStat(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: execstat N CMD [ARGS...]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return fmt.Errorf("bad count %q", args[0])
	}
	var wall, cpu, flt []float64
	for i := 0; i < n; i++ {
		cmd := exec.Command(args[1], args[2:]...)
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return err
		}
		wall = append(wall, time.Since(t0).Seconds()*1000)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu = append(cpu, float64(ruCPU(ru).Microseconds())/1000)
		flt = append(flt, float64(ru.Minflt))
	}
	fmt.Fprintf(os.Stdout, "wall %.2f ms  cpu %.2f ms  minflt %.0f  (medians of %d)\n", median(wall), median(cpu), median(flt), n)
	return nil
}
