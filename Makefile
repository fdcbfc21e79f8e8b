# Berth — build, test, try it, benchmark.
#   make demo    install what is missing, build, import busybox, open the REPL
#   make test    unit tests and root integration tests (run as root)
#   make bench   side-by-side performance comparison with peers

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
ROOT ?= /var/lib/berth
BUSYBOX_TAR := .build/busybox.tar
RELEASE_BIN := .build/release/berth
DEBUG_BIN := .build/debug/berth

# Debian packages Berth needs to build and test: libedit, zlib, libseccomp
# and libcurl headers (libseccomp is loaded only when a container starts,
# libcurl only when a command talks to a registry; ca-certificates is the
# system's CA bundle HTTPS checks against); gcc and
# libc6-dev to build the seccomp tests' static probe and the CVE-2019-5736
# payload of the security tests; busybox-static for the
# image, tmux to drive the REPL in tests, podman (with runc, crun) for the
# save/load interoperability tests and the oci backend; docker.io (dockerd,
# started by the tests on their own socket, and the docker CLI) for the
# tests that Docker reads what Berth builds, saves and pushes;
# nftables for published ports (nft); iproute2 for the tests to look at links;
# docker-registry, skopeo, apache2-utils (htpasswd), openssl (the TLS tests'
# CA and certificates) and python3 (a connection-cutting proxy, a CONNECT
# proxy, a redirect target) for the pull/push tests against a registry on loopback;
# docker-compose (1.29, on Debian's python3-docker) for APIComposeTests, which
# brings a two-service project up and down through `berth system service`;
# uidmap (newuidmap/newgidmap) and slirp4netns for rootless Berth (RootlessTests,
# docs/rootless.md); libstdc++-12-dev for the archive the release build links
# in (scripts/static-link.sh).
DEB_PACKAGES := libedit-dev zlib1g-dev libstdc++-12-dev libseccomp-dev libcurl4-openssl-dev ca-certificates openssl gcc libc6-dev busybox-static tmux iproute2 nftables podman runc crun docker.io skopeo docker-registry apache2-utils python3 docker-compose uidmap slirp4netns

.PHONY: all deps bench-deps build release image demo lint test bench bench-build scale clean

all: build

# Only for `make bench`, never for `make test`: the peers Berth is compared
# with (runc, crun, podman, which brings conmon), hyperfine for one-off
# cross-checks, python3 for scripts/bench.py, util-linux for unshare.
BENCH_PACKAGES := runc crun podman conmon hyperfine python3 util-linux

# $(call apt_install_missing,PACKAGES): apt-get install those not installed.
define apt_install_missing
@missing=""; for p in $(1); do \
    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
    echo "installing:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

deps:
	$(call apt_install_missing,$(DEB_PACKAGES))
	@# The API tests (APITests) drive `berth system service` with the docker
	@# CLI: the project machines ship one (28.x in /usr/local/bin), and
	@# docker.io above brings Debian's (20.10, API 1.41) with the dockerd
	@# DockerInteropTests start.
	@# docker-py, for APIDockerPyTests (the project machines ship 7.1.0).
	@python3 -c 'import docker' 2>/dev/null || python3 -m pip install -q 'docker==7.1.0'
	@# Rootless containers open /dev/null and slirp4netns opens /dev/net/tun as
	@# the user: udev makes both 0666 on a Debian host, a machine without udev
	@# may leave them 0600 (docs/rootless.md).
	@for n in /dev/null /dev/net/tun; do [ ! -c $$n ] || chmod 0666 $$n; done

bench-deps:
	$(call apt_install_missing,$(BENCH_PACKAGES))

build:
	$(SWIFT) build

# The release binaries link the Swift runtime, libstdc++, libgcc's unwinder
# and zlib statically (scripts/static-link.sh), and carry no $$ORIGIN run
# path: a `berth` command then loads only glibc, which takes a quarter off
# its start-up (docs/benchmarks.md, "Start-up").
#
# They are linked by the toolchain's lld with packed relative relocations
# (DT_RELR): the executable stays position-independent (its address is
# randomised), and the loader applies its 24,770 relative relocations from a
# 5 kB bitmap instead of a 595 kB table, 0.3–0.45 ms off every command
# (docs/benchmarks.md, "The link"). glibc reads DT_RELR from 2.36 (Debian 12);
# without lld or with an older glibc the default linker and table are used.
STATIC_LINK_DIR := .build/static-link
SWIFT_BIN_DIR := $(dir $(realpath $(SWIFT)))
GLIBC_HAS_RELR := $(shell v=$$(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2); [ -n "$$v" ] && [ "$$(printf '%s\n2.36\n' "$$v" | sort -V | head -n1)" = 2.36 ] && echo yes)
RELEASE_LINK := $(if $(and $(wildcard $(SWIFT_BIN_DIR)ld.lld),$(GLIBC_HAS_RELR)),-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
release:
	sh scripts/static-link.sh $(STATIC_LINK_DIR)
	$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath -Xlinker -L$(CURDIR)/$(STATIC_LINK_DIR) $(RELEASE_LINK)

$(BUSYBOX_TAR): scripts/mkimage-busybox.sh
	@mkdir -p .build
	sh scripts/mkimage-busybox.sh $@ >/dev/null

image: $(BUSYBOX_TAR)

# The first README command: everything from a fresh machine to the REPL.
demo: deps release image
	@if ! $(RELEASE_BIN) --root $(ROOT) inspect -f '{{.Id}}' busybox:latest >/dev/null 2>&1; then \
	    $(RELEASE_BIN) --root $(ROOT) import -c 'CMD ["sh"]' -m "busybox from the host's busybox-static" $(BUSYBOX_TAR) busybox:latest; \
	fi
	$(RELEASE_BIN) --root $(ROOT)

# swift-format ships with the toolchain; the repo's style is .swift-format.
# `swift format format -i -p -r Sources plugins Tests Package.swift` fixes
# what lint finds.
lint:
	$(SWIFT) format lint --strict -p -r Sources plugins Tests Package.swift

# scripts/run-tests.py runs `swift test --skip-build` and fails the run, naming
# them, when processes a test started outlive the tests (swift test would wait
# for them forever), or lists every process and stops the run past
# TEST_DEADLINE seconds (2700 unless set).
test: deps $(BUSYBOX_TAR) lint
	$(SWIFT) build --build-tests
	BERTH_BIN=$(CURDIR)/$(DEBUG_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) SWIFT=$(SWIFT) \
	    python3 scripts/run-tests.py

# Side-by-side timings against crun, runc, Podman and an unshare+chroot floor
# (docs/benchmarks.md). BENCH_N=50 make bench for more rounds. Then the scale
# curve (scripts/scale.sh): run -d, ps, ps -a, stop and rm -f with each count
# of SCALE_COUNTS running containers; SCALE_COUNTS= (empty) skips it.
SCALE_COUNTS ?= 1 10 100 1000
bench: deps bench-deps release image
	BERTH_BIN=$(CURDIR)/$(RELEASE_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) sh scripts/bench.sh
	BERTH_BIN=$(CURDIR)/$(RELEASE_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) python3 scripts/bench-build.py
	@if [ -n "$(strip $(SCALE_COUNTS))" ]; then \
	    BERTH_BIN=$(CURDIR)/$(RELEASE_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) sh scripts/scale.sh $(SCALE_COUNTS); \
	fi

# Only the scale curve: SCALE_COUNTS="1 10 100" make scale.
scale: release image
	BERTH_BIN=$(CURDIR)/$(RELEASE_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) sh scripts/scale.sh $(SCALE_COUNTS)

# berth build against podman build: a cold build and a cached rebuild of a
# 10-step Dockerfile (docs/build.md). BENCH_BUILD_N=5 make bench-build for more rounds.
bench-build: deps release image
	BERTH_BIN=$(CURDIR)/$(RELEASE_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) python3 scripts/bench-build.py

clean:
	rm -rf .build
