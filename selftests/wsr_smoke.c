// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke suite: proves the rig.  The module is loaded by /init; these tests
 * check that its device appears, answers the handshake, and that the module
 * unloads and loads again cleanly (dmesg is checked by the host afterwards).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/wsr.h>

#include "wsr_harness.h"
#include "wsr_test_util.h"

#define MISC_MAJOR	10

TEST(module_live)
{
	struct stat st;
	char state[32];

	if (access("/sys/module/wsr", F_OK))
		SKIP(return, "wsr module not loaded");
	ASSERT_EQ(0, wsr_read_text("/sys/module/wsr/initstate", state,
				   sizeof(state)));
	EXPECT_STREQ("live\n", state);
	ASSERT_EQ(0, stat(WSR_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

TEST(handshake)
{
	struct wsr_api api = { .api = WSR_API_VERSION };
	int fd = open(WSR_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "no " WSR_DEV);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, WSR_IOC_API, &api));
	EXPECT_EQ(WSR_API_VERSION, api.api);
	EXPECT_TRUE(api.ioctls & (1ULL << _IOC_NR(WSR_IOC_API)));
	EXPECT_TRUE(api.ioctls & (1ULL << _IOC_NR(WSR_IOC_CREATE)));
	/* An ioctl number the module does not define. */
	EXPECT_EQ(-1, ioctl(fd, _IO(WSR_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(unload_while_open_refused)
{
	int fd = open(WSR_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		SKIP(return, "no " WSR_DEV);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, wsr_unload_module());
	EXPECT_EQ(0, access("/sys/module/wsr", F_OK));
	close(fd);
}

TEST(unload_and_reload)
{
	struct stat st;
	int i;

	if (access("/sys/module/wsr", F_OK))
		SKIP(return, "wsr module not loaded");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, wsr_unload_module());
		EXPECT_EQ(-1, stat(WSR_DEV, &st));
		EXPECT_EQ(ENOENT, errno);
		EXPECT_NE(0, access("/sys/module/wsr", F_OK));
		ASSERT_EQ(0, wsr_load_module());
		ASSERT_EQ(0, stat(WSR_DEV, &st));
		EXPECT_TRUE(S_ISCHR(st.st_mode));
	}
	/* Loading it twice is refused, and the loaded copy stays. */
	EXPECT_EQ(-EEXIST, wsr_load_module());
	EXPECT_EQ(0, stat(WSR_DEV, &st));
}

WSR_HARNESS_MAIN
