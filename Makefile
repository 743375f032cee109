# SPDX-License-Identifier: GPL-2.0
#
# wsr - working-set-aware restore for microVM snapshots.
#
#   make              build the test kernel, module, userspace, selftests, images
#   make check        host unit tests, then every selftest suite in QEMU
#   make vmcheck T=suite[:test][,...]   only the named suites in QEMU
#   make demo         restore real snapshots through wsr and the baselines
#   make style        checkpatch on module/ and mm-patches/
#
# Variables: B (build directory, default ./build), WSR_CACHE (kernel cache,
# default ~/.cache/wsr), WSR_PATCHES=0 (kernel without mm-patches),
# T (tests to run), QEMU_TIMEOUT (seconds).

B ?= $(CURDIR)/build
T ?=
WSR_PATCHES ?= 1
export WSR_PATCHES

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
KBUILD = $(CURDIR)/kernel/build.sh
KDIR_debug = $$(cat $(B)/kdir-debug)
KDIR_perf = $$(cat $(B)/kdir-perf)
SUITES = $$($(MAKE) -s -C selftests list)

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

image-%: deps-vm module-% selftests-% userspace
	@echo "  IMAGE   $(B)/initramfs-$*.cpio.gz"
	@WSR_KO=$(B)/module-$*/wsr.ko SELFTEST_DIR=$(B)/selftests \
		SUITES="$(SUITES)" BINS="$(GUEST_BINS)" SHARE="$(GUEST_SHARE)" \
		scripts/mkinitramfs.sh $(B)/initramfs-$*.cpio.gz
	@echo "  DISK    $(B)/data.img"
	@scripts/mkdisk.sh $(B)/data.img

# --- test runs --------------------------------------------------------------
host-check: userspace
	@mkdir -p $(B)/logs
	@rm -f $(B)/logs/*.tap
	@echo "  HOST    rig self-test (log: $(B)/logs/rig.tap)"
	@scripts/tests/check-results-test.sh > $(B)/logs/rig.tap 2>&1 || true
	@if [ -f userspace/Makefile ]; then \
		echo "  HOST    userspace unit tests (log: $(B)/logs/userspace.tap)"; \
		$(MAKE) -s -C userspace check > $(B)/logs/userspace.tap 2>&1 || true; \
	fi

HOST_TAPS = $$(for f in $(B)/logs/*.tap; do [ -e $$f ] && echo --host-tap $$f; done)

# The run's verdict comes from check-results.py, which reads the serial log
# (and the host TAP), not from QEMU's exit status.
VM_SUITES = $$(if [ -n "$(T)" ]; then echo "$(T)" | tr ',' ' ' | sed 's/:[^ ]*//g'; else echo $(SUITES); fi)
define vm_run
	@echo "  QEMU    $(1) kernel, suites: $(VM_SUITES) (log: $(B)/logs/vm-$(1).log)"
	@scripts/run-qemu.sh $$(cat $(B)/kdir-$(1))/arch/x86/boot/bzImage \
		$(B)/initramfs-$(1).cpio.gz $(B)/data.img $(B)/logs/vm-$(1).log \
		$(if $(T),wsr.tests=$(T)) || true
endef

vmcheck: image-debug
	$(call vm_run,debug)
	@scripts/check-results.py --log $(B)/logs/vm-debug.log --suites "$(VM_SUITES)"

check: image-debug host-check
	$(call vm_run,debug)
	@scripts/check-results.py --log $(B)/logs/vm-debug.log --suites "$(VM_SUITES)" $(HOST_TAPS)

# Until the VMM lands, the demo boots the performance kernel and runs the
# smoke suite.
demo: image-perf
	@echo "  DEMO    (no VMM yet: running the smoke suite on the perf kernel)"
	@QEMU_ICOUNT=1 scripts/run-qemu.sh $$(cat $(B)/kdir-perf)/arch/x86/boot/bzImage \
		$(B)/initramfs-perf.cpio.gz $(B)/data.img $(B)/logs/vm-perf.log \
		wsr.tests=smoke || true
	@scripts/check-results.py --log $(B)/logs/vm-perf.log --suites smoke

# Interactive shell in the test VM (Ctrl-A X quits QEMU).
shell: image-debug
	@QEMU_INTERACTIVE=1 scripts/run-qemu.sh $$(cat $(B)/kdir-debug)/arch/x86/boot/bzImage \
		$(B)/initramfs-debug.cpio.gz $(B)/data.img $(B)/logs/vm-shell.log wsr.mode=shell

# --- style ------------------------------------------------------------------
CHECKPATCH = $$(ls -d $${WSR_CACHE:-$$HOME/.cache/wsr}/src-*/scripts/checkpatch.pl | head -1)
style: deps-style kernel-debug
	@echo "  CHECKPATCH module/"
	@$(CHECKPATCH) --no-tree --quiet --strict --show-types -f \
		$$(ls module/*.[ch] module/include/uapi/linux/*.h | grep -v "\.mod\.c$$")
	@for p in $$(grep -v '^#' mm-patches/series); do \
		echo "  CHECKPATCH mm-patches/$$p"; \
		$(CHECKPATCH) --no-tree --quiet mm-patches/$$p || exit 1; \
	done
	@echo "style: clean"

clean:
	rm -rf $(B)
	-$(MAKE) -s -C selftests clean
	-if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace clean; fi

.PHONY: all userspace host-check vmcheck check demo shell style clean
