# Berth — build, test, try it, benchmark.
#   make demo    install what is missing, build, import busybox, open the REPL
#   make test    unit tests and root integration tests (run as root)
#   make bench   side-by-side performance comparison with peers

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
ROOT ?= /var/lib/berth
BUSYBOX_TAR := .build/busybox.tar
RELEASE_BIN := .build/release/berth
DEBUG_BIN := .build/debug/berth

# Debian packages Berth needs to build and test: libedit and zlib headers,
# busybox-static for the image, tmux to drive the REPL in tests, podman (with
# runc) for the save/load interoperability tests.
DEB_PACKAGES := libedit-dev zlib1g-dev busybox-static tmux iproute2 podman runc

.PHONY: all deps build release image demo test bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --static-swift-stdlib

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

test: deps $(BUSYBOX_TAR)
	$(SWIFT) build --build-tests
	BERTH_BIN=$(CURDIR)/$(DEBUG_BIN) BERTH_BUSYBOX_TAR=$(CURDIR)/$(BUSYBOX_TAR) \
	    $(SWIFT) test --skip-build

bench: release image
	sh scripts/bench.sh

clean:
	rm -rf .build
