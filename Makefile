# SPDX-License-Identifier: BSD-3-Clause
# vhu: top-level driver for meson + ninja. See README.md.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_CROSS ?= build-aarch64
CC         ?= cc
MESON_OPTS ?=

.PHONY: all deps sandeps crossdeps cross gcc build asan tsan clang test test-quick demo demo-vm bench fuzz install abi-check clean

all: build

deps:
	@scripts/ensure-deps.sh build

$(BUILD)/build.ninja:
	CC=gcc meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# AddressSanitizer + UndefinedBehaviorSanitizer, debug info, no optimisation surprises.
# clang lets the program go on after a UBSan report unless told otherwise:
# -fno-sanitize-recover=all makes every report fatal, so a test cannot pass
# with one (tests/run.sh also sets halt_on_error and reads the reports).
SAN_FATAL = -fno-sanitize-recover=all
$(BUILD_ASAN)/build.ninja:
	CC=clang meson setup $(BUILD_ASAN) -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=$(SAN_FATAL) -Dc_link_args=$(SAN_FATAL) $(MESON_OPTS)
# clang's sanitizer runtimes are a separate Debian package.
sandeps:
	@scripts/ensure-deps.sh build sanitizers

# (A build-asan set up before the flag was added gets it here.)
asan: sandeps $(BUILD_ASAN)/build.ninja
	@grep -q -- '$(SAN_FATAL)' $(BUILD_ASAN)/meson-info/intro-buildoptions.json || \
		meson configure $(BUILD_ASAN) -Dc_args=$(SAN_FATAL) -Dc_link_args=$(SAN_FATAL)
	ninja -C $(BUILD_ASAN)

$(BUILD_TSAN)/build.ninja:
	CC=clang meson setup $(BUILD_TSAN) -Dbuildtype=debug -Db_sanitize=thread -Db_lundef=false $(MESON_OPTS)
tsan: sandeps $(BUILD_TSAN)/build.ninja
	ninja -C $(BUILD_TSAN)

# The tree must build clean under both gcc (build/) and clang (build-clang/,
# which also runs clang's thread-safety analysis).
clang: deps
	[ -f build-clang/build.ninja ] || CC=clang meson setup build-clang
	ninja -C build-clang

# aarch64 with Debian's cross gcc, the whole tree; tests/run.sh's cross
# group runs its unit tests under qemu-user (the cross file's exe_wrapper).
crossdeps:
	@scripts/ensure-deps.sh build cross
$(BUILD_CROSS)/build.ninja: | crossdeps
	meson setup $(BUILD_CROSS) --cross-file scripts/cross/aarch64-linux-gnu.ini $(MESON_OPTS)
cross: crossdeps $(BUILD_CROSS)/build.ninja
	ninja -C $(BUILD_CROSS)

# Every test: unit and integration (plain, ASan+UBSan, TSan), then the real
# peers (DPDK testpmd, QEMU guests). Prints "N passed, N failed, N skipped".
test: build asan tsan clang cross
	@scripts/ensure-deps.sh peers libvirt
	tests/run.sh

# Unit and integration tests only, no peers.
test-quick: build asan
	VHU_TEST_GROUPS="unit integ" tests/run.sh

demo: build
	scripts/demo.sh

demo-vm: build
	@scripts/ensure-deps.sh peers
	scripts/demo-vm.sh

bench: build
	@scripts/ensure-deps.sh peers bench
	bench/run.sh

fuzz:
	@scripts/ensure-deps.sh build fuzz
	scripts/fuzz.sh

# Libraries, headers under vhu/, libvhu.pc and libvhu-frontend.pc and the
# programs, under the build's prefix (default /usr/local); DESTDIR=DIR
# stages them below DIR instead (tests/peers/install_consumer.sh).
install: build
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

# The exported symbols, their versions and the sonames against the public
# headers (also run on the installed copies by install_consumer.sh).
abi-check: build
	tests/install/abi_check.sh $(BUILD) include/vhu $(BUILD)/include/vhu

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) build-clang $(BUILD_CROSS)
