# rt - build, install and test.
GO        ?= go
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
BUILDTAGS ?= seccomp urfave_cli_no_docs
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet 2>/dev/null || echo -dirty)
LDFLAGS   := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
# pie, as runc builds. BUILDMODE=exe makes each rt exec cheaper (no load-time
# relocations: about half the page faults) at the cost of ASLR for rt's own
# code and data; see docs/benchmarks.md.
BUILDMODE ?= pie
GOFLAGS_BUILD := -trimpath -buildmode=$(BUILDMODE) -tags "$(BUILDTAGS)" -ldflags "$(LDFLAGS)"

.PHONY: all rt rt-inspect install man lint unit setup demo test test-bats test-engines test-cr test-cr-engines test-k8s test-migrate test-reliability \
	fuzz fuzz-short bench bench-downtime bench-migrate runc-suite clean

all: rt rt-inspect

rt:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -o rt .

# The checkpoint decoder "rt inspect-checkpoint" runs (it links go-criu's
# crit, which rt does not: see libct/ckptinfo).
rt-inspect:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -o rt-inspect ./cmd/rt-inspect

install: rt rt-inspect man
	install -D -m0755 rt $(DESTDIR)$(BINDIR)/rt
	install -D -m0755 rt-inspect $(DESTDIR)$(BINDIR)/rt-inspect
	for f in man/*.8; do [ -e "$$f" ] && install -D -m0644 "$$f" $(DESTDIR)$(MANDIR)/man8/$$(basename $$f); done; true

man:
	man/build.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags "$(BUILDTAGS)" ./...

unit:
	$(GO) test -tags "$(BUILDTAGS)" -count=1 ./libct/...

test-bats: rt rt-inspect
	RT_TEST_STAGES=bats tests/run-all.sh

test-engines: rt
	tests/bats/run.sh tests/bats/engines.bats

test-cr: rt rt-inspect
	RT_TEST_STAGES=cr tests/run-all.sh

# Docker and containerd C/R in the lane alone (make test runs it too).
test-cr-engines: rt rt-inspect
	tests/cr/run.sh tests/cr/engines.bats

# The Kubernetes/CRI stage alone: containerd 2.x (CRI) + crictl with rt as
# the runc binary, in the lane (make test runs it too).
test-k8s: rt rt-inspect
	RT_TEST_STAGES=k8s tests/run-all.sh

# rt migrate between two lane VMs (one boot of the pair)
test-migrate: rt rt-inspect
	RT_TEST_STAGES=migrate tests/run-all.sh

# The C/R fault tests alone, with the issue's 20 runs per kill test
# (make test's cr stage runs them with RT_REL_RUNS=5 to fit CI's budget).
test-reliability: rt rt-inspect
	RT_REL_RUNS=$${RT_REL_RUNS:-20} tests/cr/run.sh tests/reliability/*.bats

setup:
	tests/setup-host.sh

demo: setup rt
	contrib/demo.sh

test: setup rt rt-inspect
	tests/run-all.sh

FUZZTIME ?= 10m

# fuzz: every target for FUZZTIME (default 10m), saving the corpus Go builds
# into libct/testdata/fuzz; fuzz-short: 15s each (make test: 10s each).
fuzz:
	tests/fuzz.sh -t $(FUZZTIME) -s

fuzz-short:
	tests/fuzz.sh -t 15s

# Benchmarks: timings are results, never assertions.
bench: rt
	bench/run.sh

# Downtime of C/R (frozen time, time to running and to first answer), one
# lane boot: runc, rt, rt --pre-copy, rt --lazy. See docs/benchmarks.md.
bench-downtime: rt
	bench/downtime.sh

# rt migrate against stop-and-copy by hand, in the two-VM lane
bench-migrate: rt
	bench/migrate.sh

runc-suite: rt
	tests/runc-suite/compare.sh $(CURDIR)/rt

clean:
	rm -f rt
