package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
)

// zstdspeed FILE: compress FILE with the zstd encoder and level rt's
// checkpoint --export uses (klauspost/compress, SpeedFastest), then
// decompress it (rt restore --import). Prints "compress_s decompress_s
// in_bytes out_bytes".
func zstdSpeed(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: zstdspeed FILE")
	}
	in, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.Grow(len(in) + len(in)/64)
	t0 := time.Now()
	enc, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return err
	}
	if _, err := enc.Write(in); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	tc := time.Since(t0)
	t0 = time.Now()
	dec, err := zstd.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, dec)
	dec.Close()
	if err != nil {
		return err
	}
	td := time.Since(t0)
	if n != int64(len(in)) {
		return fmt.Errorf("decompressed %d bytes, want %d", n, len(in))
	}
	fmt.Printf("%.6f %.6f %d %d\n", tc.Seconds(), td.Seconds(), len(in), out.Len())
	return nil
}
