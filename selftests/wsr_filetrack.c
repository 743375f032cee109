// SPDX-License-Identifier: GPL-2.0
/*
 * File tracker suite (WSR_IOC_TRACK_FILE, needs the mm-patches kernel): the
 * working set of a plain MAP_PRIVATE mapping of /data/snap-64M, touched in
 * a scripted order by another process the way an unmodified VMM touches
 * its snapshot, must come back from WSR_IOC_GET_WS exactly:
 *
 *  - cold: the file out of the page cache and MADV_RANDOM (no readahead),
 *    so every first touch is a major fault through filemap_fault();
 *    reads and private writes, touches outside the tracked range and
 *    repeated touches mixed in;
 *  - warm: the file in the page cache and fault-around at work; each touch
 *    is resolved by fault-around, which maps its neighbours too: by default
 *    only the touched pages are recorded, with WSR_TRACK_FILE_AROUND every
 *    page fault-around maps, window by window;
 *  - a KVM guest: the test process is the VMM, the mapping its guest
 *    memory; the guest's loads reach the host mm through KVM's
 *    get_user_pages() and are recorded in the guest's access order;
 *  - validation of every field, the mincore()-style permission rule,
 *    -ENOSPC sizing, and exclusion with a region on the same fd.
 *
 * On a kernel without the mm-patches the handshake must not report
 * WSR_FEATURE_FILE_TRACK, WSR_IOC_TRACK_FILE must fail with -ENOTTY, and
 * the other tests SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

/* The child maps [MAP_OFF, MAP_OFF + MAP_LEN); [TRACK_OFF, ...) is tracked. */
#define MAP_OFF			(2 * WSR_HUGE)
#define MAP_LEN			(16 * WSR_HUGE)
#define MAP_PAGES		(MAP_LEN / WSR_PAGE)
#define TRACK_OFF		(4 * WSR_HUGE)
#define TRACK_LEN		(8 * WSR_HUGE)
#define TRACK_PAGES		(TRACK_LEN / WSR_PAGE)
/* Mapping page index of tracked page 0. */
#define TRACK_BASE		((TRACK_OFF - MAP_OFF) / WSR_PAGE)

#define COLD_TOUCHES		300
#define WARM_WINDOWS		48
#define FAULT_AROUND		"/sys/kernel/debug/fault_around_bytes"
#define PERM_FILE		"/data/wsr-filetrack-perm"

static bool in_track(uint64_t map_index)
{
	return map_index >= TRACK_BASE && map_index < TRACK_BASE + TRACK_PAGES;
}

static int track_start(int dev, int fd, uint32_t flags)
{
	return wsr_track_file(dev, WSR_TRACK_START, fd, flags, TRACK_OFF,
			  TRACK_LEN, NULL);
}

/* Stop and return the counters in @tf. */
static int track_stop(int dev, struct wsr_track_file *tf)
{
	return wsr_track_file(dev, WSR_TRACK_STOP, 0, 0, 0, 0, tf);
}

/* Copy the record out with the -ENOSPC sizing protocol; -errno or count. */
static long get_ws(int dev, struct wsr_ws_entry **out)
{
	struct wsr_get_ws g;
	struct wsr_ws_entry *e;
	int ret;

	memset(&g, 0, sizeof(g));
	ret = wsr_ioctl(dev, WSR_IOC_GET_WS, &g);
	if (ret && ret != -ENOSPC)
		return ret;
	e = calloc(g.count + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	g.entries = (uintptr_t)e;
	ret = wsr_ioctl(dev, WSR_IOC_GET_WS, &g);
	if (ret || g.flags || g.dropped) {
		free(e);
		return ret ? ret : -EOVERFLOW;
	}
	*out = e;
	return g.count;
}

/* Map @len bytes of @fd at @off MAP_PRIVATE, 2 MiB aligned in memory. */
static char *map_aligned(int fd, uint64_t off, uint64_t len)
{
	char *res, *p;

	res = mmap(NULL, len + WSR_HUGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)res + WSR_HUGE - 1) & ~(WSR_HUGE - 1));
	p = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		 fd, off);
	if (p == MAP_FAILED) {
		munmap(res, len + WSR_HUGE);
		return NULL;
	}
	if (p > res)
		munmap(res, p - res);
	munmap(p + len, res + len + WSR_HUGE - (p + len));
	return p;
}

/*
 * A child process that opens @file (then runs as @uid, unless 0), maps
 * [@off, @off + @len) of it and touches mapping pages @idx[0..n) in order,
 * writing where @wr[i], with MADV_RANDOM if @random.  Returns the child's
 * exit status (0 on success).
 */
static int touch_file_as(const char *file, uint64_t off, uint64_t len,
			 uid_t uid, const uint64_t *idx, const bool *wr, int n,
			 bool random)
{
	int status, i, fd;
	pid_t pid;
	char *mem;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		/* Opened first: /data itself is root's alone. */
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(5);
		mem = map_aligned(fd, off, len);
		if (!mem)
			_exit(3);
		if (random && madvise(mem, len, MADV_RANDOM))
			_exit(4);
		for (i = 0; i < n; i++) {
			if (wr && wr[i])
				__atomic_store_n((uint64_t *)(mem + idx[i] *
							      WSR_PAGE),
						 i, __ATOMIC_RELAXED);
			else
				wsr_touch(mem, idx[i]);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The "VMM": a toucher of the snapshot's tracked mapping, as root. */
static int run_toucher(const uint64_t *idx, const bool *wr, int n,
		       bool random)
{
	return touch_file_as(WSR_SNAP, MAP_OFF, MAP_LEN, 0, idx, wr, n,
			     random);
}

/* fault_around_bytes in pages, mounting debugfs if needed; 0 if unknown. */
static uint64_t fault_around_pages(void)
{
	char buf[64];

	if (wsr_read_text(FAULT_AROUND, buf, sizeof(buf))) {
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		if (wsr_read_text(FAULT_AROUND, buf, sizeof(buf)))
			return 0;
	}
	return strtoull(buf, NULL, 0) / WSR_PAGE;
}

/* Load the mapped range into the page cache without readahead marks. */
static int warm_cache(int snap)
{
	const size_t step = 1 << 20;
	uint64_t off;
	char *buf;
	int fd, ret = 0;

	fd = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(step);
	ret = buf ? -posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) : -ENOMEM;
	for (off = MAP_OFF; !ret && off < MAP_OFF + MAP_LEN; off += step)
		ret = wsr_pread_full(fd, buf, step, off);
	free(buf);
	close(fd);
	return ret;
}

FIXTURE(filetrack)
{
	int dev;
	int snap;
	struct wsr_api api;
	unsigned char *vec;
};

FIXTURE_SETUP(filetrack)
{
	ASSERT_EQ(0, wsr_drop_caches());
	self->snap = -1;
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &self->api));
	if (!(self->api.features & WSR_FEATURE_FILE_TRACK))
		WSR_SETUP_SKIP("no WSR_FEATURE_FILE_TRACK (kernel without mm-patches)");
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	self->vec = malloc(MAP_PAGES);
	ASSERT_NE(NULL, self->vec);
}

FIXTURE_TEARDOWN(filetrack)
{
	free(self->vec);
	if (self->snap >= 0)
		close(self->snap);
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * Cold cache, MADV_RANDOM: the record is exactly the first touches inside
 * the tracked range, relative to its start, in touch order; each one was a
 * major fault and fault-around mapped nothing in the range.
 */
TEST_F(filetrack, cold_exact_order)
{
	uint64_t idx[COLD_TOUCHES + COLD_TOUCHES / 10], want[COLD_TOUCHES];
	bool wr[COLD_TOUCHES + COLD_TOUCHES / 10];
	uint64_t *perm, t0, elapsed, last = 0;
	struct wsr_ws_entry *ws = NULL;
	struct wsr_track_file tf;
	int n = 0, nwant = 0, nwant_wr = 0, i;
	long count;

	perm = malloc(MAP_PAGES * sizeof(*perm));
	ASSERT_NE(NULL, perm);
	for (i = 0; i < (int)MAP_PAGES; i++)
		perm[i] = i;
	wsr_shuffle(perm, MAP_PAGES, 0x5eed0f11e7ac4ULL);
	/* Distinct first touches, every third a write, every tenth repeated. */
	for (i = 0; i < COLD_TOUCHES; i++) {
		idx[n] = perm[i];
		wr[n++] = i % 3 == 2;
		if (in_track(perm[i])) {
			want[nwant++] = perm[i] - TRACK_BASE;
			nwant_wr += wr[n - 1];
		}
		if (i % 10 == 9) {
			idx[n] = perm[i - 5];
			wr[n++] = i % 20 == 19;
		}
	}
	free(perm);
	ASSERT_LT(50, nwant);
	ASSERT_GT(COLD_TOUCHES, nwant);

	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_file_resident(self->snap, MAP_OFF, MAP_LEN,
				       self->vec))
		TH_LOG("snapshot pages still cached after POSIX_FADV_DONTNEED");

	t0 = wsr_now_ns();
	ASSERT_EQ(0, track_start(self->dev, self->snap, 0));
	ASSERT_EQ(0, run_toucher(idx, wr, n, true));
	ASSERT_EQ(0, track_stop(self->dev, &tf));
	elapsed = wsr_now_ns() - t0;

	count = get_ws(self->dev, &ws);
	ASSERT_EQ(nwant, count);
	for (i = 0; i < nwant; i++) {
		ASSERT_EQ(want[i], ws[i].index) TH_LOG("entry %d", i);
		ASSERT_LE(last, ws[i].ns);
		ASSERT_GT(elapsed, ws[i].ns);
		last = ws[i].ns;
	}
	/*
	 * Each first touch was a major fault, which drops the mmap_lock for
	 * the read and is retried: the retry of a read fault finds the page
	 * by fault-around, that of a write (COW, no fault-around) by a second
	 * filemap_fault().  Fault-around never mapped a neighbour: none was
	 * cached and not yet mapped.
	 */
	EXPECT_EQ(nwant, tf.major);
	EXPECT_EQ(nwant_wr, tf.faults - tf.major);
	EXPECT_EQ(nwant - nwant_wr, tf.around_hits);
	EXPECT_EQ(0, tf.around);
	TH_LOG("cold: %d touches, %ld recorded (%d writes), faults %llu major %llu around_hits %llu",
	       n, count, nwant_wr, (unsigned long long)tf.faults,
	       (unsigned long long)tf.major,
	       (unsigned long long)tf.around_hits);
	for (i = 0; i < 6; i++)
		TH_LOG("ws[%d] = { .index = %llu, .ns = %llu }", i,
		       (unsigned long long)ws[i].index,
		       (unsigned long long)ws[i].ns);
	free(ws);

	/* STOP keeps the record; nothing is added after it. */
	ASSERT_EQ(0, run_toucher(idx, wr, 1, true));
	ASSERT_EQ(nwant, get_ws(self->dev, &ws));
	free(ws);
	/* RESET drops it. */
	ASSERT_EQ(0, wsr_track_file(self->dev, WSR_TRACK_RESET, 0, 0, 0, 0, &tf));
	EXPECT_EQ(0, tf.faults);
	EXPECT_EQ(0, get_ws(self->dev, &ws));
	free(ws);
}

/*
 * Warm cache, fault-around on: touch one page in each of WARM_WINDOWS
 * fault-around windows.  Each touch is resolved by fault-around, which maps
 * the whole window; by default the record holds the touched pages, with
 * WSR_TRACK_FILE_AROUND the windows in touch order, each in page order.
 */
TEST_F(filetrack, warm_fault_around)
{
	uint64_t win = fault_around_pages(), nwin, idx[WARM_WINDOWS];
	uint64_t *perm, want_touch[WARM_WINDOWS], ntouch = 0, nw = 0;
	struct wsr_ws_entry *ws = NULL;
	struct wsr_track_file tf;
	long count;
	uint64_t i, j;

	if (win < 2 || win > 512)
		SKIP(return, "fault-around disabled or unknown (%s)",
		     FAULT_AROUND);
	nwin = MAP_PAGES / win;
	perm = malloc(nwin * sizeof(*perm));
	ASSERT_NE(NULL, perm);
	for (i = 0; i < nwin; i++)
		perm[i] = i;
	wsr_shuffle(perm, nwin, 0xfa417a40ULL);
	for (i = 0; i < WARM_WINDOWS; i++) {
		idx[i] = perm[i] * win + (i * 7) % win;
		if (in_track(idx[i]))
			want_touch[ntouch++] = idx[i] - TRACK_BASE;
	}
	ASSERT_LT(5, ntouch);

	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, warm_cache(self->snap));
	ASSERT_EQ(MAP_PAGES, wsr_file_resident(self->snap, MAP_OFF, MAP_LEN,
					       self->vec));

	/* Default: the touched pages only. */
	ASSERT_EQ(0, track_start(self->dev, self->snap, 0));
	ASSERT_EQ(0, run_toucher(idx, NULL, WARM_WINDOWS, false));
	ASSERT_EQ(0, track_stop(self->dev, &tf));
	count = get_ws(self->dev, &ws);
	ASSERT_EQ(ntouch, count);
	for (i = 0; i < ntouch; i++)
		ASSERT_EQ(want_touch[i], ws[i].index) TH_LOG("entry %llu",
							    (unsigned long long)i);
	free(ws);
	EXPECT_EQ(0, tf.faults);
	EXPECT_EQ(0, tf.major);
	EXPECT_EQ(ntouch, tf.around_hits);
	EXPECT_EQ(ntouch * (win - 1), tf.around);

	/* WSR_TRACK_FILE_AROUND: every page fault-around mapped. */
	ASSERT_EQ(0, track_start(self->dev, self->snap,
				 WSR_TRACK_FILE_AROUND));
	ASSERT_EQ(0, run_toucher(idx, NULL, WARM_WINDOWS, false));
	ASSERT_EQ(0, track_stop(self->dev, &tf));
	count = get_ws(self->dev, &ws);
	ASSERT_EQ(ntouch * win, count);
	for (i = 0; i < WARM_WINDOWS; i++) {
		if (!in_track(idx[i]))
			continue;
		for (j = 0; j < win; j++, nw++)
			ASSERT_EQ(idx[i] / win * win + j - TRACK_BASE,
				  ws[nw].index) TH_LOG("entry %llu",
						       (unsigned long long)nw);
	}
	free(ws);
	free(perm);
	EXPECT_EQ(ntouch, tf.around_hits);
	EXPECT_EQ(ntouch * (win - 1), tf.around);
	TH_LOG("warm: window %llu pages, %llu touches in range",
	       (unsigned long long)win, (unsigned long long)ntouch);
}

/* Two trackers of the same file see the same touches. */
TEST_F(filetrack, two_trackers)
{
	uint64_t idx[] = { TRACK_BASE + 7, 3, TRACK_BASE + 1000,
			   TRACK_BASE + 2 };
	struct wsr_ws_entry *ws = NULL;
	int dev2 = wsr_open();
	struct wsr_api api;
	long count;

	ASSERT_LE(0, dev2);
	ASSERT_EQ(0, wsr_handshake(dev2, &api));
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, track_start(self->dev, self->snap, 0));
	ASSERT_EQ(0, track_start(dev2, self->snap, 0));
	ASSERT_EQ(0, run_toucher(idx, NULL, 4, true));
	ASSERT_EQ(0, track_stop(dev2, NULL));

	count = get_ws(dev2, &ws);
	ASSERT_EQ(3, count);
	EXPECT_EQ(7, ws[0].index);
	EXPECT_EQ(1000, ws[1].index);
	EXPECT_EQ(2, ws[2].index);
	free(ws);
	/* Closing one tracker leaves the other recording. */
	close(dev2);
	idx[0] = TRACK_BASE + 9;
	ASSERT_EQ(0, run_toucher(idx, NULL, 1, true));
	count = get_ws(self->dev, &ws);
	ASSERT_EQ(4, count);
	EXPECT_EQ(9, ws[3].index);
	free(ws);
}

/*
 * KVM guest memory: slot 0 (anonymous, GPA 0) holds 16-bit real-mode code
 * that loads one byte from each page whose segment is listed at GPA
 * KVM_LIST, then halts; slot 1 (GPA KVM_GPA) is a MAP_PRIVATE mapping of
 * the snapshot at TRACK_OFF, which is tracked.
 */
#define KVM_GPA			0x10000ULL
#define KVM_PAGES		128
#define KVM_TOUCHES		40
#define KVM_LIST		0x100

static const unsigned char kvm_code[] = {
	0xbe, KVM_LIST & 0xff, KVM_LIST >> 8,	/* mov si, KVM_LIST	*/
	0xad,					/* 1: lodsw		*/
	0x85, 0xc0,				/* test ax, ax		*/
	0x74, 0x09,				/* jz 2f		*/
	0x8e, 0xc0,				/* mov es, ax		*/
	0x26, 0x8a, 0x06, 0x00, 0x00,		/* mov al, es:[0]	*/
	0xeb, 0xf2,				/* jmp 1b		*/
	0xf4,					/* 2: hlt		*/
};

/* Run vCPU 0 until it halts; 0, or the unexpected exit reason + 1000. */
static int kvm_run_to_hlt(int vcpu, struct kvm_run *run)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			return 0;
		if (run->exit_reason != KVM_EXIT_INTR)
			return 1000 + run->exit_reason;
	}
}

TEST_F(filetrack, kvm_guest)
{
	struct kvm_userspace_memory_region slot;
	uint64_t perm[KVM_PAGES], want[KVM_TOUCHES];
	struct wsr_ws_entry *ws = NULL;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, i, n = 0;
	uint16_t *list;
	char *code, *mem;
	long run_size;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		SKIP(return, "no /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);

	code = mmap(NULL, KVM_GPA, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, code);
	memcpy(code, kvm_code, sizeof(kvm_code));
	list = (uint16_t *)(code + KVM_LIST);
	for (i = 0; i < KVM_PAGES; i++)
		perm[i] = i;
	wsr_shuffle(perm, KVM_PAGES, 0x6b766d6775657374ULL);
	for (i = 0; i < KVM_TOUCHES; i++) {
		want[i] = perm[i];
		list[n++] = (KVM_GPA + perm[i] * WSR_PAGE) >> 4;
		if (i % 8 == 7)		/* a repeated touch */
			list[n++] = (KVM_GPA + perm[i - 3] * WSR_PAGE) >> 4;
	}
	list[n] = 0;

	mem = mmap(NULL, KVM_PAGES * WSR_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE, self->snap, TRACK_OFF);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, madvise(mem, KVM_PAGES * WSR_PAGE, MADV_RANDOM));

	memset(&slot, 0, sizeof(slot));
	slot.slot = 0;
	slot.memory_size = KVM_GPA;
	slot.userspace_addr = (uintptr_t)code;
	ASSERT_EQ(0, ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot));
	slot.slot = 1;
	slot.guest_phys_addr = KVM_GPA;
	slot.memory_size = KVM_PAGES * WSR_PAGE;
	slot.userspace_addr = (uintptr_t)mem;
	ASSERT_EQ(0, ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot));

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, run_size);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu,
		   0);
	ASSERT_NE(MAP_FAILED, run);
	ASSERT_EQ(0, ioctl(vcpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds = sregs.cs;
	sregs.es = sregs.cs;
	sregs.ss = sregs.cs;
	sregs.ds.type = 3;	/* data, read/write, accessed */
	sregs.es.type = 3;
	sregs.ss.type = 3;
	ASSERT_EQ(0, ioctl(vcpu, KVM_SET_SREGS, &sregs));
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 2;
	ASSERT_EQ(0, ioctl(vcpu, KVM_SET_REGS, &regs));

	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, wsr_file_resident(self->snap, TRACK_OFF,
				       KVM_PAGES * WSR_PAGE, self->vec));
	ASSERT_EQ(0, wsr_track_file(self->dev, WSR_TRACK_START, self->snap, 0,
				TRACK_OFF, KVM_PAGES * WSR_PAGE, NULL));
	ASSERT_EQ(0, kvm_run_to_hlt(vcpu, run));
	ASSERT_EQ(0, track_stop(self->dev, NULL));
	/* The guest went through the whole list: ES holds the last segment. */
	ASSERT_EQ(0, ioctl(vcpu, KVM_GET_SREGS, &sregs));
	EXPECT_EQ(list[n - 1], sregs.es.selector);

	ASSERT_EQ(KVM_TOUCHES, get_ws(self->dev, &ws));
	for (i = 0; i < KVM_TOUCHES; i++)
		ASSERT_EQ(want[i], ws[i].index) TH_LOG("entry %d", i);
	free(ws);

	munmap(run, run_size);
	close(vcpu);
	close(vm);
	close(kvm);
	munmap(mem, KVM_PAGES * WSR_PAGE);
	munmap(code, KVM_GPA);
}

TEST_F(filetrack, validation)
{
	struct wsr_track_file tf;
	struct wsr_get_ws g;
	struct wsr_ws_entry e[2];
	uint64_t idx[] = { TRACK_BASE, TRACK_BASE + 1, TRACK_BASE + 2 };
	int wfd, dir, pfd[2], dev2;
	struct wsr_api api;

	/* Fields an op does not use, pad, reserved, op and flags. */
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_STOP, 0, 0, 0, 0,
				      NULL));	/* nothing started */
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, 0, self->snap, 0, TRACK_OFF,
				      TRACK_LEN, NULL));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, 99, 0, 0, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, track_start(self->dev, self->snap, 1U << 31));
	memset(&tf, 0, sizeof(tf));
	tf.fd = self->snap;
	tf.op = WSR_TRACK_START;
	tf.offset = TRACK_OFF;
	tf.length = TRACK_LEN;
	tf.pad = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_TRACK_FILE, &tf));
	tf.pad = 0;
	tf.reserved[3] = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_TRACK_FILE, &tf));

	/* Ranges. */
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, self->snap,
				      0, 100, WSR_PAGE, NULL));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, self->snap,
				      0, 0, WSR_PAGE + 1, NULL));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, self->snap,
				      0, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, self->snap,
				      0, -WSR_PAGE, 2 * WSR_PAGE, NULL));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, self->snap,
				      0, WSR_SNAP_SIZE - WSR_PAGE,
				      2 * WSR_PAGE, NULL));
	EXPECT_EQ(0, wsr_track_file(self->dev, WSR_TRACK_START, self->snap, 0,
				WSR_SNAP_SIZE - WSR_PAGE, WSR_PAGE, NULL));

	/* Files. */
	EXPECT_EQ(-EBADF, wsr_track_file(self->dev, WSR_TRACK_START, -1, 0, 0,
				     WSR_PAGE, NULL));
	dir = open("/data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, dir, 0, 0,
				      WSR_PAGE, NULL));
	close(dir);
	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(-EINVAL, wsr_track_file(self->dev, WSR_TRACK_START, pfd[0], 0,
				      0, WSR_PAGE, NULL));
	close(pfd[0]);
	close(pfd[1]);
	wfd = open(WSR_SNAP, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);
	EXPECT_EQ(-EBADF, wsr_track_file(self->dev, WSR_TRACK_START, wfd, 0, 0,
				     WSR_PAGE, NULL));
	close(wfd);
	/* shmem faults bypass filemap_fault(): refused, not an empty record. */
	wfd = memfd_create("wsr-filetrack", MFD_CLOEXEC);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, ftruncate(wfd, WSR_HUGE));
	EXPECT_EQ(-EOPNOTSUPP, wsr_track_file(self->dev, WSR_TRACK_START, wfd, 0,
					  0, WSR_PAGE, NULL));
	close(wfd);
	wfd = open("/tmp/wsr-filetrack", O_RDWR | O_CREAT | O_TRUNC |
		   O_CLOEXEC, 0600);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, ftruncate(wfd, WSR_HUGE));
	EXPECT_EQ(-EOPNOTSUPP, wsr_track_file(self->dev, WSR_TRACK_START, wfd, 0,
					  0, WSR_PAGE, NULL));
	close(wfd);
	unlink("/tmp/wsr-filetrack");

	/* -ENOSPC reports the count needed, and the entries are intact. */
	ASSERT_EQ(0, wsr_drop_file_cache(self->snap));
	ASSERT_EQ(0, track_start(self->dev, self->snap, 0));
	ASSERT_EQ(0, run_toucher(idx, NULL, 3, true));
	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)e;
	g.count = 2;
	EXPECT_EQ(-ENOSPC, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));
	EXPECT_EQ(3, g.count);
	g.count = 2;
	g.pad = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_GET_WS, &g));

	/* A tracking fd cannot also hold a region, and the other way round. */
	EXPECT_EQ(-EBUSY, wsr_create(self->dev, self->snap, 0, 0, WSR_HUGE));
	dev2 = wsr_open();
	ASSERT_LE(0, dev2);
	ASSERT_EQ(0, wsr_handshake(dev2, &api));
	ASSERT_EQ(0, wsr_create(dev2, self->snap, 0, 0, WSR_HUGE));
	EXPECT_EQ(-EBUSY, track_start(dev2, self->snap, 0));
	close(dev2);
}

/*
 * Tracking shows other processes' accesses: like mincore(), only for a
 * file the caller owns or may open for writing.
 */
TEST_F(filetrack, permission)
{
	int fd, status, dev;
	pid_t pid;
	char page[WSR_PAGE];
	struct wsr_api api;

	unlink(PERM_FILE);
	fd = open(PERM_FILE, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	memset(page, 0x5a, sizeof(page));
	ASSERT_EQ(sizeof(page), write(fd, page, sizeof(page)));
	close(fd);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/*
		 * Open /dev/wsr and the file as root, then drop root: the
		 * rule applies to the caller, not to whoever opened the fd.
		 */
		dev = wsr_open();
		if (dev < 0 || wsr_handshake(dev, &api))
			_exit(11);
		fd = open(PERM_FILE, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(12);
		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (wsr_track_file(dev, WSR_TRACK_START, fd, 0, 0, WSR_PAGE,
			       NULL) != -EPERM)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink(PERM_FILE);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

#define UID_FILE	"/data/wsr-filetrack-uid"
#define NOBODY		65534

/*
 * Without CAP_SYS_ADMIN a tracker records the faults of its own user's
 * tasks only: root's touches of the file are neither recorded nor counted.
 */
TEST_F(filetrack, unprivileged_sees_own_uid_only)
{
	const uint64_t root_pages[] = { 1, 2 }, own_pages[] = { 5, 6 };
	struct {
		int ret;
		struct wsr_track_file tf;
		struct wsr_get_ws g;
		struct wsr_ws_entry e[8];
	} res;
	int fd, ready[2], go[2], out[2], status, dev;
	char page[WSR_PAGE], c;
	struct wsr_api api;
	pid_t pid;
	int i;

	unlink(UID_FILE);
	fd = open(UID_FILE, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	memset(page, 0x5a, sizeof(page));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(sizeof(page), write(fd, page, sizeof(page)));
	ASSERT_EQ(0, fchown(fd, NOBODY, NOBODY));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, wsr_drop_file_cache(fd));
	close(fd);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(out));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		close(go[1]);
		close(out[0]);
		memset(&res, 0, sizeof(res));
		dev = wsr_open();
		if (dev < 0 || wsr_handshake(dev, &api))
			_exit(11);
		fd = open(UID_FILE, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(12);
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(10);
		res.ret = wsr_track_file(dev, WSR_TRACK_START, fd, 0, 0,
				     16 * WSR_PAGE, NULL);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(13);
		if (!res.ret)
			res.ret = track_stop(dev, &res.tf);
		res.g.entries = (uintptr_t)res.e;
		res.g.count = 8;
		if (!res.ret)
			res.ret = wsr_ioctl(dev, WSR_IOC_GET_WS, &res.g);
		_exit(write(out[1], &res, sizeof(res)) == sizeof(res) ? 0 : 14);
	}
	close(ready[1]);
	close(go[0]);
	close(out[1]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		unlink(UID_FILE);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	EXPECT_EQ(0, touch_file_as(UID_FILE, 0, 16 * WSR_PAGE, 0, root_pages,
				   NULL, 2, true));
	EXPECT_EQ(0, touch_file_as(UID_FILE, 0, 16 * WSR_PAGE, NOBODY,
				   own_pages, NULL, 2, true));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(sizeof(res), read(out[0], &res, sizeof(res)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink(UID_FILE);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, res.ret);
	/* Both of its own faults, none of root's. */
	EXPECT_EQ(2ULL, res.tf.faults);
	EXPECT_EQ(2ULL, res.tf.major);
	ASSERT_EQ(2ULL, res.g.count);
	EXPECT_EQ(own_pages[0], res.e[0].index);
	EXPECT_EQ(own_pages[1], res.e[1].index);
}

/*
 * Runs on every kernel: the feature bit, the ioctl bit and the ioctl itself
 * agree; without the mm-patches WSR_IOC_TRACK_FILE is unknown (-ENOTTY).
 */
TEST(feature_matches_ioctl)
{
	struct wsr_track_file tf;
	struct wsr_api api;
	bool feat, bit;
	int dev, snap, ret;

	dev = wsr_open();
	if (dev == -ENOENT)
		SKIP(return, "no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, wsr_handshake(dev, &api));
	feat = api.features & WSR_FEATURE_FILE_TRACK;
	bit = api.ioctls & WSR_IOCTL_BIT(WSR_IOC_TRACK_FILE);
	ASSERT_EQ(feat, bit);
	snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, snap);
	ret = wsr_track_file(dev, WSR_TRACK_START, snap, 0, 0, WSR_HUGE, &tf);
	if (feat) {
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, track_stop(dev, NULL));
	} else {
		ASSERT_EQ(-ENOTTY, ret);
	}
	TH_LOG("WSR_FEATURE_FILE_TRACK %s", feat ? "present" : "absent");
	close(snap);
	close(dev);
}

WSR_HARNESS_MAIN
