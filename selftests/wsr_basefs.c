// SPDX-License-Identifier: GPL-2.0
/*
 * Basefs suite: named bases as files of wsrfs (WSR_FEATURE_NAMED_BASE),
 * for VMMs that map guest memory by path.  Checked here:
 *  - the file: st_size, owner and mode of the snapshot, statfs f_type,
 *    lseek(SEEK_END), readdir, WSR_IOC_BASE_LIST;
 *  - copy-on-write through the path: a MAP_PRIVATE writer's pages are
 *    invisible to another mapping, a new mapping and the file; write(2),
 *    ftruncate(2), chmod(2) and shared writable mappings fail with EPERM,
 *    read(2) with EINVAL,
 *    a shared read-only mapping reads the snapshot and cannot be made
 *    writable;
 *  - sharing: two processes mapping the path share one base (its folios
 *    counted once, 2 MiB folios PMD-mapped in both), one region;
 *  - permissions: a user who may not read the snapshot gets EACCES
 *    through the path; a chmod of the snapshot applies at once; only the
 *    creator or root may drop or bind a base;
 *  - drop while mapped: the name goes at once, mappings and open files
 *    keep working, the region goes with the last of them;
 *  - bad names, ranges and struct fields: -errno;
 *  - restore and record through the name (WSR_IOC_BASE_OPEN).
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define BASE_OFF	(8 * WSR_HUGE)
#define BASE_LEN	(4 * WSR_HUGE)
#define BASE_PAGES	(BASE_LEN / WSR_PAGE)
#define PRIV_SNAP	"/tmp/wsr-basefs-snap"
#define PRIV_LEN	(1ULL << 20)
#define NOBODY		65534

FIXTURE(basefs)
{
	int snap;
	int dev;
	char dir[64];
	char path[128];
	char name[WSR_BASE_NAME_MAX];
	bool mounted;
	int64_t regions;
	struct wsr_knob_save knobs[2];
};

FIXTURE_VARIANT(basefs)
{
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(basefs, huge)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(basefs, small)
{
	.flags = WSR_CREATE_NO_HUGE,
};

static int base_create(int dev, const char *name, int fd, uint32_t flags,
		       uint64_t off, uint64_t len)
{
	struct wsr_base_create bc;

	memset(&bc, 0, sizeof(bc));
	memcpy(bc.name, name, strnlen(name, sizeof(bc.name)));
	bc.fd = fd;
	bc.flags = flags;
	bc.offset = off;
	bc.length = len;
	return wsr_ioctl(dev, WSR_IOC_BASE_CREATE, &bc);
}

static int base_name_ioctl(int dev, unsigned long cmd, const char *name)
{
	struct wsr_base_name bn;

	memset(&bn, 0, sizeof(bn));
	memcpy(bn.name, name, strnlen(name, sizeof(bn.name)));
	return wsr_ioctl(dev, cmd, &bn);
}

/* The BASE_LIST entry of @name in *@out; -ENOENT if there is none. */
static int base_find(int dev, const char *name, struct wsr_base_info *out)
{
	struct wsr_base_info v[WSR_BASE_MAX];
	struct wsr_base_list bl;
	uint64_t i;
	int ret;

	memset(&bl, 0, sizeof(bl));
	bl.entries = (uintptr_t)v;
	bl.count = WSR_BASE_MAX;
	ret = wsr_ioctl(dev, WSR_IOC_BASE_LIST, &bl);
	if (ret)
		return ret;
	for (i = 0; i < bl.count; i++) {
		if (!strcmp(v[i].name, name)) {
			*out = v[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* Is @name an entry of the directory @dir? */
static bool dir_has(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		found |= !strcmp(e->d_name, name);
	closedir(d);
	return found;
}

/* A 1 MiB snapshot whose every 64-bit word is its offset ^ @seed. */
static int make_priv_snap(uint64_t seed, mode_t mode)
{
	uint64_t *buf = malloc(PRIV_LEN), i;
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < PRIV_LEN / 8; i++)
		buf[i] = i * 8 ^ seed;
	unlink(PRIV_SNAP);
	fd = open(PRIV_SNAP, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		ret = -errno;
	else if (write(fd, buf, PRIV_LEN) != (ssize_t)PRIV_LEN)
		ret = -EIO;
	free(buf);
	if (fd >= 0 && (ret || fchmod(fd, mode))) {
		close(fd);
		return ret ? ret : -errno;
	}
	return fd;
}

/* Words of @mem that are not offset ^ @seed (the private snapshot). */
static uint64_t priv_bad(const void *mem, uint64_t len, uint64_t seed)
{
	const uint64_t *w = mem;
	uint64_t i, bad = 0;

	for (i = 0; i < len / 8; i++)
		bad += w[i] != (i * 8 ^ seed);
	return bad;
}

FIXTURE_SETUP(basefs)
{
	struct wsr_api api;
	int64_t r;

	self->snap = -1;
	self->dev = wsr_open();
	if (self->dev == -ENOENT)
		WSR_SETUP_SKIP("no " WSR_DEV " (module not loaded)");
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, wsr_handshake(self->dev, &api));
	if (!(api.features & WSR_FEATURE_NAMED_BASE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_NAMED_BASE");
	if (!(variant->flags & WSR_CREATE_NO_HUGE) &&
	    !(api.features & WSR_FEATURE_HUGE))
		WSR_SETUP_SKIP("module lacks WSR_FEATURE_HUGE");
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[0], "huge_enabled", 1));
	ASSERT_EQ(0, wsr_knob_override(&self->knobs[1], "base_max_kb", 0));
	self->snap = open(WSR_SNAP, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->snap) TH_LOG("missing " WSR_SNAP);
	strcpy(self->dir, "/tmp/wsrfs.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	ASSERT_EQ(0, mount("wsrfs", self->dir, "wsrfs", 0, NULL))
		TH_LOG("mount -t wsrfs: %s", strerror(errno));
	self->mounted = true;
	snprintf(self->name, sizeof(self->name), "bfs-%d", getpid());
	snprintf(self->path, sizeof(self->path), "%s/%s", self->dir,
		 self->name);
	r = wsr_wait_regions(-1, 0);
	ASSERT_LE(0, r);
	self->regions = r;
}

FIXTURE_TEARDOWN(basefs)
{
	int i;

	if (self->dev >= 0) {
		base_name_ioctl(self->dev, WSR_IOC_BASE_DROP, self->name);
		close(self->dev);
	}
	if (self->mounted) {
		EXPECT_EQ(0, umount(self->dir));
		rmdir(self->dir);
	}
	if (self->snap >= 0)
		close(self->snap);
	unlink(PRIV_SNAP);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, wsr_knob_restore(&self->knobs[i]));
	/* Every region the test made is gone. */
	if (self->regions >= 0)
		EXPECT_EQ(self->regions, wsr_wait_regions(self->regions, 5000));
}

/* The file, as stat(2), statfs(2), lseek(2), readdir and the list see it. */
TEST_F(basefs, file_attributes)
{
	struct wsr_base_info info;
	struct stat st, sst;
	struct statfs sfs;
	int fd;

	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, fstat(self->snap, &sst));
	EXPECT_FALSE(dir_has(self->dir, self->name));
	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 variant->flags, BASE_OFF, BASE_LEN));
	EXPECT_EQ(-EEXIST, base_create(self->dev, self->name, self->snap,
				       variant->flags, 0, BASE_LEN));
	EXPECT_TRUE(dir_has(self->dir, self->name));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ((off_t)BASE_LEN, st.st_size);
	EXPECT_EQ(sst.st_uid, st.st_uid);
	EXPECT_EQ(sst.st_gid, st.st_gid);
	EXPECT_EQ(sst.st_mode & 07777, st.st_mode & 07777);
	ASSERT_EQ(0, statfs(self->path, &sfs));
	EXPECT_EQ((long)WSRFS_MAGIC, (long)sfs.f_type);
	EXPECT_EQ(4096L, (long)sfs.f_bsize);
	fd = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ((off_t)BASE_LEN, lseek(fd, 0, SEEK_END));
	close(fd);

	ASSERT_EQ(0, base_find(self->dev, self->name, &info));
	EXPECT_EQ(BASE_OFF, info.offset);
	EXPECT_EQ(BASE_LEN, info.length);
	EXPECT_EQ((uint64_t)sst.st_ino, info.snap_ino);
	EXPECT_EQ(sst.st_uid, info.uid);
	EXPECT_EQ(sst.st_mode & 07777, info.mode);
	EXPECT_EQ(variant->flags, info.flags);
	EXPECT_EQ(0ULL, info.resident_huge + info.resident_small);
	EXPECT_EQ(0ULL, info.faults);
	/* One region for the name, none per open. */
	EXPECT_EQ(self->regions + 1, wsr_wait_regions(-1, 0));
}

/* Copy-on-write through the path; nothing is written to the base. */
TEST_F_TIMEOUT(basefs, cow_isolation, 120)
{
	char *a, *b, *c, *s, buf[8];
	int fd, fd2;

	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 variant->flags, BASE_OFF, BASE_LEN));
	fd = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	a = mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	b = mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, wsr_cmp_file(a, self->snap, BASE_OFF, BASE_LEN));
	memset(a + 5 * WSR_PAGE, 0x5a, WSR_PAGE);
	memset(a + WSR_HUGE + 17, 0xa5, 100);
	EXPECT_EQ(0x5a, a[5 * WSR_PAGE + 4095]);
	EXPECT_EQ((char)0xa5, a[WSR_HUGE + 17]);
	/* The other mapping, a new one and the file never see the writes. */
	EXPECT_EQ(-1, wsr_cmp_file(b, self->snap, BASE_OFF, BASE_LEN));
	fd2 = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	c = mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd2, 0);
	ASSERT_NE(MAP_FAILED, c);
	EXPECT_EQ(-1, wsr_cmp_file(c, self->snap, BASE_OFF, BASE_LEN));
	EXPECT_TRUE(wsr_page_equal(b + 5 * WSR_PAGE, self->snap,
				   BASE_OFF + 5 * WSR_PAGE));
	EXPECT_FALSE(wsr_page_equal(a + 5 * WSR_PAGE, self->snap,
				    BASE_OFF + 5 * WSR_PAGE));

	/* Refused: EPERM, as for a memfd sealed against writes. */
	memset(buf, 1, sizeof(buf));
	errno = 0;
	EXPECT_EQ(-1, write(fd, buf, sizeof(buf)));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPERM, errno);
	/* Not readable by read(2): the file is for mapping. */
	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(fd, BASE_LEN * 2));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, fchmod(fd, 0666));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0));
	EXPECT_EQ(EPERM, errno);
	/* Shared read-only reads the snapshot, and stays read-only. */
	s = mmap(NULL, BASE_LEN, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, s);
	EXPECT_EQ(-1, wsr_cmp_file(s, self->snap, BASE_OFF, BASE_LEN));
	errno = 0;
	EXPECT_EQ(-1, mprotect(s, BASE_LEN, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* Beyond the base: refused. */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, BASE_LEN + WSR_PAGE, PROT_READ,
				   MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The writer's own pages survive the others' unmapping. */
	munmap(b, BASE_LEN);
	munmap(c, BASE_LEN);
	munmap(s, BASE_LEN);
	EXPECT_EQ(0x5a, a[5 * WSR_PAGE]);
	munmap(a, BASE_LEN);
	close(fd2);
	close(fd);
}

/*
 * Two processes map the path: one base (its folios once), 2 MiB folios
 * mapped by PMD in each where allowed; every byte right in both.
 */
TEST_F_TIMEOUT(basefs, two_processes_share_base, 150)
{
	int i, status, ready[2][2], go[2][2];
	struct wsr_base_info info;
	pid_t pid[2];
	char code;

	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 variant->flags, BASE_OFF, BASE_LEN));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe(ready[i]));
		ASSERT_EQ(0, pipe(go[i]));
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			int fd = open(self->path, O_RDWR | O_CLOEXEC);
			char *m, c = 0;
			long pmd;
			int j;

			/* Its own go pipe and the earlier ones' (inherited). */
			for (j = 0; j <= i; j++)
				close(go[j][1]);
			m = fd < 0 ? MAP_FAILED :
			    mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE, fd, 0);
			if (m == MAP_FAILED)
				c = 1;
			else if (wsr_cmp_file(m, self->snap, BASE_OFF,
					      BASE_LEN) != -1)
				c = 2;
			pmd = c ? 0 : wsr_smaps_kb(m, "FilePmdMapped");
			if (!c && (variant->flags & WSR_CREATE_NO_HUGE ?
				   pmd != 0 : pmd != (long)(BASE_LEN >> 10)))
				c = 3;
			if (write(ready[i][1], &c, 1) != 1)
				_exit(1);
			/* Hold the mapping until the parent looked. */
			if (read(go[i][0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		close(ready[i][1]);
		close(go[i][0]);
		/* One after the other: the second finds the base loaded. */
		ASSERT_EQ(1, read(ready[i][0], &code, 1));
		EXPECT_EQ(0, code) TH_LOG("child %d: check %d failed", i, code);
	}
	/* Both map it now: each unit once, for two processes. */
	ASSERT_EQ(0, base_find(self->dev, self->name, &info));
	EXPECT_EQ(BASE_PAGES, info.resident_huge * WSR_HUGE_PAGES +
			      info.resident_small);
	EXPECT_EQ(variant->flags & WSR_CREATE_NO_HUGE ? 0 : BASE_LEN / WSR_HUGE,
		  info.resident_huge);
	EXPECT_EQ(self->regions + 1, wsr_wait_regions(-1, 0));
	for (i = 0; i < 2; i++) {
		close(go[i][1]);
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
}

/* Run @fn as uid/gid NOBODY in a child; its exit status. */
static int as_nobody(int (*fn)(const char *path, int dev), const char *path,
		     int dev)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		_exit(fn(path, dev));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

/* 0 when reading is refused with EACCES in every way. */
static int nobody_refused(const char *path, int dev)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0)
		return 1;
	if (errno != EACCES)
		return 2;
	fd = open(path, O_RDWR);
	if (fd >= 0 || errno != EACCES)
		return 3;
	return 0;
}

/* 0 when it reads the private snapshot but may not open it O_RDWR. */
static int nobody_reads(const char *path, int dev)
{
	int fd = open(path, O_RDWR);
	char *m;

	if (fd >= 0 || errno != EACCES)
		return 1;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 2;
	m = mmap(NULL, PRIV_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return 3;
	if (priv_bad(m, PRIV_LEN, 0x1234))
		return 4;
	m[0] = 1;
	return m[0] == 1 ? 0 : 5;
}

/* 0 when neither drop nor bind is allowed to a stranger. */
static int nobody_manages(const char *path, int dev)
{
	const char *name = strrchr(path, '/') + 1;

	if (base_name_ioctl(dev, WSR_IOC_BASE_DROP, name) != -EPERM)
		return 1;
	if (base_name_ioctl(dev, WSR_IOC_BASE_OPEN, name) != -EPERM)
		return 2;
	return 0;
}

/*
 * The snapshot's owner and mode decide, at every open: a user who may
 * not read it gets EACCES through the path; after a chmod to 0644 it
 * reads (but may not open O_RDWR, which needs write permission).
 */
TEST_F(basefs, permissions)
{
	struct stat st;
	int priv, fd;

	priv = make_priv_snap(0x1234, 0600);
	ASSERT_LE(0, priv);
	ASSERT_EQ(0, fchown(priv, 0, 0));
	ASSERT_EQ(0, base_create(self->dev, self->name, priv, variant->flags,
				 0, PRIV_LEN));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ(0, as_nobody(nobody_refused, self->path, self->dev));
	/* Root, the owner, opens it for writing (as QEMU does). */
	fd = open(self->path, O_RDWR | O_CLOEXEC);
	EXPECT_LE(0, fd);
	close(fd);

	ASSERT_EQ(0, fchmod(priv, 0644));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0644U, st.st_mode & 07777);
	EXPECT_EQ(0, as_nobody(nobody_reads, self->path, self->dev));
	/* Back to 0600: refused again at once. */
	ASSERT_EQ(0, fchmod(priv, 0600));
	EXPECT_EQ(0, as_nobody(nobody_refused, self->path, self->dev));
	/* Drop and bind: the creator's (root's) alone. */
	EXPECT_EQ(0, as_nobody(nobody_manages, self->path, self->dev));
	EXPECT_EQ(0, stat(self->path, &st));
	close(priv);
}

/*
 * Dropping removes the name at once; a mapping and an open file keep
 * working (new pages load from the snapshot), a new base may take the
 * name, and the old region goes with the last mapping.
 */
TEST_F_TIMEOUT(basefs, drop_while_mapped, 120)
{
	struct wsr_base_info info;
	struct stat st;
	char *m, *m2;
	int fd;

	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 variant->flags, BASE_OFF, BASE_LEN));
	fd = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	m = mmap(NULL, BASE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, wsr_cmp_file(m, self->snap, BASE_OFF, WSR_HUGE));
	m[3] = 7;

	ASSERT_EQ(0, base_name_ioctl(self->dev, WSR_IOC_BASE_DROP,
				     self->name));
	EXPECT_EQ(-ENOENT, base_name_ioctl(self->dev, WSR_IOC_BASE_DROP,
					   self->name));
	errno = 0;
	EXPECT_EQ(-1, stat(self->path, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_FALSE(dir_has(self->dir, self->name));
	EXPECT_EQ(-ENOENT, base_find(self->dev, self->name, &info));

	/* The mapping reads on, pages it had and pages it had not. */
	EXPECT_EQ(7, m[3]);
	EXPECT_EQ(-1, wsr_cmp_file(m + WSR_HUGE, self->snap,
				   BASE_OFF + WSR_HUGE, BASE_LEN - WSR_HUGE));
	/* The open file maps on. */
	m2 = mmap(NULL, BASE_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, m2);
	EXPECT_EQ(-1, wsr_cmp_file(m2, self->snap, BASE_OFF, BASE_LEN));
	close(fd);

	/* The name again, over another range: the path shows the new one. */
	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 variant->flags, 0, WSR_HUGE));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ((off_t)WSR_HUGE, st.st_size);
	EXPECT_EQ(self->regions + 2, wsr_wait_regions(-1, 0));
	EXPECT_EQ(-1, wsr_cmp_file(m2, self->snap, BASE_OFF, BASE_LEN));
	munmap(m2, BASE_LEN);
	EXPECT_EQ(self->regions + 2, wsr_wait_regions(-1, 0));
	munmap(m, BASE_LEN);
	/* The dropped base's region went with its last mapping. */
	EXPECT_EQ(self->regions + 1, wsr_wait_regions(self->regions + 1, 5000));
}

/* Names, ranges and struct fields the ioctls refuse. */
TEST_F(basefs, bad_arguments)
{
	static const char *const bad[] = {
		"", ".hidden", ".", "..", "a/b", "a b", "caf\xc3\xa9", "x\n",
	};
	struct wsr_base_create bc;
	struct wsr_base_list bl;
	struct wsr_base_info info;
	struct stat st;
	size_t i;
	int fresh;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, base_create(self->dev, bad[i], self->snap,
					       0, 0, WSR_HUGE))
			TH_LOG("bad name number %zu", i);
	memset(&bc, 0, sizeof(bc));
	memset(bc.name, 'a', sizeof(bc.name));
	bc.fd = self->snap;
	bc.length = WSR_HUGE;
	EXPECT_EQ(-ENAMETOOLONG, wsr_ioctl(self->dev, WSR_IOC_BASE_CREATE,
					   &bc));
	/* Bytes after the NUL must be zero. */
	strcpy(bc.name, "ok");
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_BASE_CREATE, &bc));
	memset(bc.name, 0, sizeof(bc.name));
	strcpy(bc.name, self->name);
	bc.reserved[3] = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_BASE_CREATE, &bc));
	bc.reserved[3] = 0;
	bc.flags = WSR_CREATE_TRACK;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_BASE_CREATE, &bc));
	EXPECT_EQ(-EINVAL, base_create(self->dev, self->name, self->snap, 0,
				       0, 0));
	EXPECT_EQ(-EINVAL, base_create(self->dev, self->name, self->snap, 0,
				       100, WSR_HUGE));
	EXPECT_EQ(-EINVAL, base_create(self->dev, self->name, self->snap, 0,
				       0, WSR_SNAP_SIZE + WSR_PAGE));
	EXPECT_EQ(-EINVAL, base_create(self->dev, self->name, self->snap, 0,
				       WSR_SNAP_SIZE, WSR_PAGE));
	EXPECT_EQ(-EBADF, base_create(self->dev, self->name, 999, 0, 0,
				      WSR_HUGE));
	/* None of these made a base. */
	EXPECT_EQ(-ENOENT, base_find(self->dev, self->name, &info));
	EXPECT_EQ(-1, stat(self->path, &st));

	EXPECT_EQ(-ENOENT, base_name_ioctl(self->dev, WSR_IOC_BASE_DROP,
					   self->name));
	EXPECT_EQ(-ENOENT, base_name_ioctl(self->dev, WSR_IOC_BASE_OPEN,
					   self->name));
	EXPECT_EQ(-EINVAL, base_name_ioctl(self->dev, WSR_IOC_BASE_DROP,
					   "../x"));
	memset(&info, 0, sizeof(info));
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_BASE_INFO, &info));
	memset(&bl, 0, sizeof(bl));
	bl.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, wsr_ioctl(self->dev, WSR_IOC_BASE_LIST, &bl));
	EXPECT_EQ(-ENOTTY, wsr_ioctl(self->dev,
				     _IOW(WSR_IOC_MAGIC, 0x0d, bc), &bc));

	/* A list too small reports the count needed. */
	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap, 0, 0,
				 WSR_HUGE));
	memset(&bl, 0, sizeof(bl));
	EXPECT_EQ(-ENOSPC, wsr_ioctl(self->dev, WSR_IOC_BASE_LIST, &bl));
	EXPECT_LE(1ULL, bl.count);
	/* A fd bound to a base cannot create a region or bind again. */
	fresh = wsr_open_api();
	ASSERT_LE(0, fresh);
	ASSERT_EQ(0, base_name_ioctl(fresh, WSR_IOC_BASE_OPEN, self->name));
	EXPECT_EQ(-EBUSY, base_name_ioctl(fresh, WSR_IOC_BASE_OPEN,
					  self->name));
	EXPECT_EQ(-EBUSY, wsr_create(fresh, self->snap, 0, 0, WSR_HUGE));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, wsr_ioctl(fresh, WSR_IOC_BASE_INFO, &info));
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(WSR_HUGE, info.length);
	close(fresh);
}

/* WSR_BASE_MAX names at most; the next gets ENOSPC. */
TEST_F_TIMEOUT(basefs, name_limit, 120)
{
	struct wsr_base_info info;
	char name[WSR_BASE_NAME_MAX + 16];
	int i, made = 0, ret = 0;

	for (i = 0; i <= WSR_BASE_MAX && !ret; i++) {
		snprintf(name, sizeof(name), "%s.%d", self->name, i);
		ret = base_create(self->dev, name, self->snap,
				  variant->flags, 0, WSR_PAGE);
		made += !ret;
	}
	EXPECT_EQ(-ENOSPC, ret);
	/* Bases of other tests or users may exist: at most the limit. */
	EXPECT_LE(1, made);
	EXPECT_GE(WSR_BASE_MAX, made);
	for (i = 0; i < made; i++) {
		snprintf(name, sizeof(name), "%s.%d", self->name, i);
		EXPECT_EQ(0, base_find(self->dev, name, &info));
		EXPECT_EQ(0, base_name_ioctl(self->dev, WSR_IOC_BASE_DROP,
					     name));
	}
}

/*
 * Through a bound /dev/wsr fd: a restore loads into the base that the
 * path maps (the mapping then faults on resident pages only, no I/O),
 * and the tracker records the first touches of a process that maps the
 * path, in order.
 */
TEST_F_TIMEOUT(basefs, restore_and_record, 150)
{
	uint64_t ws[24], i, n = 24;
	struct wsr_ws_entry got[64];
	struct wsr_get_ws g;
	struct wsr_restore rs;
	struct wsr_stats st0, st;
	int bound, fd, status;
	char *m;
	pid_t pid;

	ASSERT_EQ(0, wsr_drop_caches());
	ASSERT_EQ(0, base_create(self->dev, self->name, self->snap,
				 WSR_CREATE_NO_HUGE, BASE_OFF, BASE_LEN));
	bound = wsr_open_api();
	ASSERT_LE(0, bound);
	ASSERT_EQ(0, base_name_ioctl(bound, WSR_IOC_BASE_OPEN, self->name));
	for (i = 0; i < n; i++)
		ws[i] = 3 + i * 41;
	ASSERT_EQ(0, wsr_restore(bound, ws, n, 0, &rs));
	EXPECT_EQ(n, rs.from_cache + rs.from_device);
	ASSERT_EQ(0, wsr_get_stats(bound, &st0));
	EXPECT_EQ(n, st0.resident_small);

	fd = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	m = mmap(NULL, BASE_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(wsr_page_equal(m + ws[i] * WSR_PAGE, self->snap,
					   BASE_OFF + ws[i] * WSR_PAGE));
	ASSERT_EQ(0, wsr_get_stats(bound, &st));
	EXPECT_EQ(st0.pages_device, st.pages_device);
	EXPECT_EQ(st0.faults_device, st.faults_device);
	EXPECT_EQ(st.faults, st.faults_present);
	munmap(m, BASE_LEN);
	close(fd);

	/* Record a child that maps the path and touches pages 9, 2, 700. */
	ASSERT_EQ(0, wsr_track(bound, WSR_TRACK_START));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cfd = open(self->path, O_RDONLY);
		volatile char *cm;

		if (cfd < 0)
			_exit(1);
		cm = mmap(NULL, BASE_LEN, PROT_READ, MAP_PRIVATE, cfd, 0);
		if (cm == MAP_FAILED)
			_exit(2);
		(void)cm[9 * WSR_PAGE];
		(void)cm[2 * WSR_PAGE + 5];
		(void)cm[700 * WSR_PAGE];
		(void)cm[9 * WSR_PAGE + 1];
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, wsr_track(bound, WSR_TRACK_STOP));
	memset(&g, 0, sizeof(g));
	g.entries = (uintptr_t)got;
	g.count = 64;
	ASSERT_EQ(0, wsr_ioctl(bound, WSR_IOC_GET_WS, &g));
	ASSERT_EQ(3ULL, g.count);
	EXPECT_EQ(9ULL, got[0].index);
	EXPECT_EQ(2ULL, got[1].index);
	EXPECT_EQ(700ULL, got[2].index);
	EXPECT_LE(got[0].ns, got[1].ns);
	EXPECT_LE(got[1].ns, got[2].ns);
	close(bound);
}

WSR_HARNESS_MAIN
