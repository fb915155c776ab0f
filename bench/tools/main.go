// benchtool: the helpers of rt's benchmarks (bench/run.sh). One static
// binary (CGO_ENABLED=0) that runs on the host, inside the VM lane and inside
// containers:
//
//	benchtool memhog SIZE_MIB READYFILE     touch SIZE MiB, create READYFILE, sleep
//	benchtool copylimit SIZE_MIB FILE       memory -> FILE and FILE -> fresh memory speed
//	benchtool hashtree [ALG] DIR            xxh64 (or sha256) of an image dir, as rt's manifest does
//	benchtool lifecycle [flags]             create/start/wait/delete timings (see -h)
//	benchtool report [flags]                markdown tables + gnuplot data from raw results
//	benchtool execstat N CMD [ARGS...]       median wall, CPU and page faults of N runs
//	benchtool criustats DIR                 CRIU's stats-dump/stats-restore in DIR
//	benchtool median                        median/p90/min/max of numbers on stdin
//
// Benchmarks never assert timings: every subcommand only measures and prints.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "memhog":
		err = memhog(args)
	case "copylimit":
		err = copyLimit(args)
	case "hashtree":
		err = hashTreeCmd(args)
	case "lifecycle":
		err = lifecycle(args)
	case "report":
		err = report(args)
	case "median":
		err = medianCmd(args)
	case "execstat":
		err = execStat(args)
	case "criustats":
		err = criuStatsCmd(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool memhog|copylimit|hashtree|criustats|lifecycle|report|median ARGS...")
	os.Exit(2)
}
