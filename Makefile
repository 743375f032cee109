# SPDX-License-Identifier: GPL-2.0
#
# wsr - working-set-aware restore for microVM snapshots.
#
#   make              build the test kernel, module, userspace, selftests, images
#   make check        host unit tests, then every selftest suite in QEMU
#                     (debug kernel; KERNEL=perf for the production build)
#   make vmcheck T=suite[:test][,...]   only the named suites in QEMU
#   make demo         restore real snapshots through wsr and the baselines
#   make soak         the soak suite on the debug kernel, DURATION seconds
#                     (default 600): concurrent restores, faults, recordings,
#                     closes and snapshot rewrites; memory back to baseline
#   make fuzz DURATION=seconds [SEED=n]   only the wsr-fuzz syscall fuzzer
#                     in QEMU (debug kernel, KCOV), for DURATION seconds
#   make style        checkpatch on module/ and mm-patches/
#   make bench-keepalive   keep-alive policies on Azure-shaped traces
#                     (simulator): tables and a PNG in $(B)/bench-keepalive
#   make bench-keepalive-vm   the same policies replayed through wsr in the
#                     test VM (64 snapshots, 3 budgets)
#
# Variables: B (build directory, default ./build), WSR_CACHE (kernel cache,
# default ~/.cache/wsr), WSR_PATCHES=0 (kernel without mm-patches),
# T (tests to run), KERNEL (debug or perf, for make check and make vmcheck),
# QEMU_TIMEOUT (seconds), DURATION (make soak and make
# fuzz, seconds), SEED (make fuzz).

B ?= $(CURDIR)/build
T ?=
KERNEL ?= debug
WSR_PATCHES ?= 1
export WSR_PATCHES

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
KBUILD = $(CURDIR)/kernel/build.sh
KDIR_debug = $$(cat $(B)/kdir-debug)
KDIR_perf = $$(cat $(B)/kdir-perf)
SUITES = $$($(MAKE) -s -C selftests list)
EXTRA_SUITES = $$($(MAKE) -s -C selftests list-extra)
DURATION ?= 600

all: image-debug userspace

deps-%:
	@scripts/install-deps.sh $*

# --- kernel -----------------------------------------------------------------
# kernel/build.sh does nothing when its cache already holds this tree.
kernel-%: deps-kernel
	@mkdir -p $(B)
	@$(KBUILD) $* > $(B)/kdir-$*.tmp && mv $(B)/kdir-$*.tmp $(B)/kdir-$*

# --- module -----------------------------------------------------------------
# Built from a copy in $(B) so that flavours and parallel build dirs do not
# share objects.
module-%: kernel-%
	@mkdir -p $(B)/module-$*
	@rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude=Module.symvers --exclude=modules.order \
		module/ $(B)/module-$*/
	@echo "  MODULE  $(B)/module-$*/wsr.ko"
	@$(MAKE) -s -C $(B)/module-$* KDIR=$(KDIR_$*)

# --- userspace and selftests --------------------------------------------------
userspace: deps-userspace
	@if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace; fi

selftests-%: kernel-%
	@echo "  SELFTESTS $(B)/selftests"
	@$(MAKE) -s -C selftests KDIR=$(KDIR_$*) OUT=$(B)/selftests

# Static programs and data for the guest, as listed by userspace/Makefile.
GUEST_BINS = $$(if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace guest-bins; fi)
GUEST_SHARE = $$(if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace guest-share; fi)

# The stock-QEMU disk's Linux guest is always the perf kernel: a debug
# kernel would spend the nested guest's time in KASAN, not in the restore.
image-%: deps-vm module-% selftests-% userspace kernel-perf
	@echo "  IMAGE   $(B)/initramfs-$*.cpio.gz"
	@WSR_KO=$(B)/module-$*/wsr.ko SELFTEST_DIR=$(B)/selftests \
		SUITES="$(SUITES)" EXTRA_SUITES="$(EXTRA_SUITES)" \
		BINS="$(GUEST_BINS)" SHARE="$(GUEST_SHARE)" \
		scripts/mkinitramfs.sh $(B)/initramfs-$*.cpio.gz
	@echo "  DISK    $(B)/data.img"
	@scripts/mkdisk.sh $(B)/data.img
	@echo "  DISK    $(B)/microvm-$*.img (stock QEMU + Linux guest)"
	@scripts/mkmicrovm.sh $(B)/microvm-$*.img \
		$$(cat $(B)/kdir-perf)/arch/x86/boot/bzImage userspace/microvm/fn-sqlite

# --- test runs --------------------------------------------------------------
host-check: userspace
	@mkdir -p $(B)/logs
	@rm -f $(B)/logs/*.tap
	@echo "  HOST    rig self-test (log: $(B)/logs/rig.tap)"
	@scripts/tests/check-results-test.sh > $(B)/logs/rig.tap 2>&1 || true
	@echo "  HOST    bench report self-test (log: $(B)/logs/bench-report.tap)"
	@scripts/tests/bench-report-test.sh > $(B)/logs/bench-report.tap 2>&1 || true
	@if [ -f userspace/Makefile ]; then \
		echo "  HOST    userspace unit tests (log: $(B)/logs/userspace.tap)"; \
		$(MAKE) -s -C userspace check > $(B)/logs/userspace.tap 2>&1 || true; \
	fi

HOST_TAPS = $$(for f in $(B)/logs/*.tap; do [ -e $$f ] && echo --host-tap $$f; done)

# The verdict comes from check-results.py, which reads the serial logs
# (and the host TAP), not from QEMU's exit status.
vmcheck: image-$(KERNEL)
	@scripts/vm-check.sh $(KERNEL) $(B) "$(T)"

check: image-$(KERNEL) host-check
	@scripts/vm-check.sh $(KERNEL) $(B) "$(T)" -- $(HOST_TAPS)

# The soak suite alone (not in make check): DURATION seconds of load, then
# the module's objects and the memory must be back to their baseline.  The
# suite's own limit and QEMU's allow for boot, warm-up and a slow machine.
soak: image-debug
	@echo "  SOAK    $(DURATION) s on the debug kernel"
	@WSR_VM_ARGS="wsr.soak_seconds=$(DURATION) wsr.timeout=$$(($(DURATION) + 900))" \
		QEMU_TIMEOUT=$${QEMU_TIMEOUT:-$$(($(DURATION) + 1500))} \
		scripts/vm-check.sh debug $(B) soak

# The fuzz suite alone, for DURATION seconds: the verdict (which also
# fails on any kernel report in the guest's dmesg), wsr-fuzz's report, and
# the verdict's last line again.
SEED ?= 1
fuzz: image-debug
	@mkdir -p $(B)/logs; QEMU_TIMEOUT=$$(($(DURATION) + 1200)) \
		WSR_VM_ARGS="wsr.fuzz_seconds=$(DURATION) wsr.fuzz_seed=$(SEED) wsr.timeout=$$(($(DURATION) + 400))" \
		scripts/vm-check.sh debug $(B) fuzz | tee $(B)/logs/fuzz.txt; \
	rc=$${PIPESTATUS[0]}; \
	sed -n 's/\r$$//; s/^# \(wsr-fuzz: .*\)/\1/p; s/^#   /  /p' \
		$(B)/logs/vm-debug-main.log; \
	tail -1 $(B)/logs/fuzz.txt; exit $$rc

# The main job: boot the performance kernel under -icount (guest time
# tracks instructions, so timings are of native order) and run wsr-demo:
# snapshot real KVM guests, record working sets, restore through every
# backend, print the tables.
DEMO_LOG = $(B)/logs/vm-perf-demo.log
demo: image-perf
	@echo "  DEMO    perf kernel, -icount (log: $(DEMO_LOG)); this takes a while"
	@rm -f $(DEMO_LOG)
	@MICROVM_DISK=$(B)/microvm-perf.img QEMU_ICOUNT=1 \
		QEMU_TIMEOUT=$${QEMU_TIMEOUT:-3600} scripts/run-qemu.sh \
		$$(cat $(B)/kdir-perf)/arch/x86/boot/bzImage $(B)/initramfs-perf.cpio.gz \
		$(B)/data.img $(DEMO_LOG) wsr.mode=demo || true
	@grep -q '^WSR-DEMO-END rc=0' $(DEMO_LOG) || \
		{ echo "demo: FAILED (see $(DEMO_LOG))"; exit 1; }
	@echo "demo: done (tables above; full log in $(DEMO_LOG))"

# The benchmark: wsr-bench in the test VM (performance kernel, -icount,
# nothing else running on the host): every workload on every device
# model, every backend, cold and warm, BENCH_REPEATS runs of each in a
# random order, and batches of concurrent restores; then the tables,
# CSV files and gnuplot charts in $(B)/bench (scripts/bench-report.py).
# BENCH_MODELS, BENCH_WORKLOADS, BENCH_REPEATS, BENCH_CONC,
# BENCH_CONC_REPEATS (0: no batches) and BENCH_ROWS (wsr-bench's
# WSR_BENCH_ROWS) narrow it: comma-separated lists.
BENCH_DIR = $(B)/bench
BENCH_LOG = $(B)/logs/vm-perf-bench.log
BENCH_ENV = $(foreach v,MODELS WORKLOADS REPEATS CONC CONC_REPEATS ROWS,$(if $(BENCH_$(v)),wsr.env.WSR_BENCH_$(v)=$(BENCH_$(v))))
bench: image-perf deps-bench
	@echo "  BENCH   perf kernel, -icount (log: $(BENCH_LOG)); up to an hour"
	@rm -rf $(BENCH_LOG) $(BENCH_DIR); mkdir -p $(BENCH_DIR)
	@QEMU_ICOUNT=1 QEMU_MEM=$${QEMU_MEM:-8G} QEMU_KEEP_DISK=1 \
		QEMU_TIMEOUT=$${QEMU_TIMEOUT:-4200} scripts/run-qemu.sh \
		$$(cat $(B)/kdir-perf)/arch/x86/boot/bzImage $(B)/initramfs-perf.cpio.gz \
		$(B)/data.img $(BENCH_LOG) wsr.mode=bench $(BENCH_ENV) || true
	@for f in runs conc devices zsnap recordings; do \
		debugfs -R "dump /bench/$$f.jsonl $(BENCH_DIR)/$$f.jsonl" \
			$(BENCH_LOG).disk.img 2>/dev/null; done; \
		rm -f $(BENCH_LOG).disk.img
	@ok=1; grep -q '^WSR-BENCH-END rc=0' $(BENCH_LOG) || { ok=0; \
		echo "bench: FAILED (see $(BENCH_LOG))"; \
		grep 'wsr-bench:.*FAILED' $(BENCH_LOG) | head; }; \
	/usr/bin/python3 scripts/bench-report.py $(BENCH_DIR) && [ $$ok = 1 ]

# Interactive shell in the test VM (Ctrl-A X quits QEMU).
shell: image-debug
	@MICROVM_DISK=$(B)/microvm-debug.img QEMU_INTERACTIVE=1 scripts/run-qemu.sh $$(cat $(B)/kdir-debug)/arch/x86/boot/bzImage \
		$(B)/initramfs-debug.cpio.gz $(B)/data.img $(B)/logs/vm-shell.log wsr.mode=shell

# --- keep-alive evaluation ---------------------------------------------------
# GDSF, LRU and TTL on Azure-shaped invocation traces, in wsr-kasim (the
# userspace port of module/wsr_keepalive.c): tables and a PNG in
# $(B)/bench-keepalive.  Host only, a few minutes.
bench-keepalive: deps-bench
	@$(MAKE) -s -C userspace/keepalive wsr-kasim
	@userspace/keepalive/bench-keepalive.sh $(B)/bench-keepalive

# The same policies in the test VM (debug kernel): restores issued from a
# 64-snapshot trace through wsr, GDSF and LRU at 3 budgets, next to what
# wsr-kasim gets on the same trace (selftests/wsr_kabench.c).
bench-keepalive-vm: image-debug
	@mkdir -p $(B)/logs; QEMU_TIMEOUT=$${QEMU_TIMEOUT:-4000} \
		scripts/vm-check.sh debug $(B) kabench | tee $(B)/logs/kabench.txt; \
	rc=$${PIPESTATUS[0]}; \
	sed -n 's/\r$$//; s/^.*# kabench: //p' $(B)/logs/vm-debug-main.log; \
	exit $$rc

# --- style ------------------------------------------------------------------
CHECKPATCH = $$(ls -d $${WSR_CACHE:-$$HOME/.cache/wsr}/src-*/scripts/checkpatch.pl | head -1)
style: deps-style kernel-debug
	@echo "  CHECKPATCH module/"
	@$(CHECKPATCH) --no-tree --quiet --show-types -f \
		$$(ls module/*.[ch] module/include/uapi/linux/*.h | grep -v "\.mod\.c$$")
	@# stdin: given a path inside a git tree, checkpatch checks it as a file.
	@for p in $$(grep -v '^#' mm-patches/series); do \
		echo "  CHECKPATCH mm-patches/$$p"; \
		$(CHECKPATCH) --no-tree --quiet - < mm-patches/$$p || exit 1; \
	done
	@echo "style: clean"

clean:
	rm -rf $(B)
	-$(MAKE) -s -C selftests clean
	-if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace clean; fi

.PHONY: all userspace host-check vmcheck check soak fuzz demo bench shell style clean \
	bench-keepalive bench-keepalive-vm
