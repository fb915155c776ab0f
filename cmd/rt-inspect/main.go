// rt-inspect decodes a checkpoint for "rt inspect-checkpoint", which runs
// it. It is a separate program so that go-criu's crit, whose registry of
// every CRIU image type is initialised at program start, is not linked
// into rt itself, which starts several times per container.
//
// usage: rt-inspect [--format text|json] <image-path>|<archive>
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/rt-runtime/rt/libct/ckptinfo"
)

func main() {
	format := flag.String("format", "text", "text or json")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rt-inspect [--format text|json] <image-path>|<archive>")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintln(os.Stderr, "invalid --format: use text or json")
		os.Exit(2)
	}
	info, err := ckptinfo.Inspect(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	info.WriteText(os.Stdout)
}
