// A separate module: the benchmark tools are not part of rt's build, vet or
// tests (the parent module's ./... skips directories that hold a go.mod).
module rtbench

go 1.25.0

require github.com/cespare/xxhash/v2 v2.3.0
