/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal TAP producer for the host unit tests.  TEST(name) registers a
 * function; CHECK() records a failure with a "# file:line" diagnostic and
 * carries on; SKIP() ends a test as skipped.  main() in unit.c prints the
 * plan and one "ok N - name" / "not ok N - name" line per test.
 */
#ifndef WSR_TAP_H
#define WSR_TAP_H

#include <stdio.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
};

extern int tap_failed;
extern const char *tap_skip;
void tap_register(const char *name, void (*fn)(void));

#define TEST(id)							\
	static void test_##id(void);					\
	__attribute__((constructor)) static void reg_##id(void)	\
	{								\
		tap_register(#id, test_##id);				\
	}								\
	static void test_##id(void)

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			tap_failed++;					\
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,	\
			       __LINE__, #cond);			\
		}							\
	} while (0)

/* CHECK with a printf-style explanation. */
#define CHECKF(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			tap_failed++;					\
			printf("# %s:%d: CHECK(%s) failed: ", __FILE__,	\
			       __LINE__, #cond);			\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	CHECKF((long long)(a) == (long long)(b), "%lld != %lld",	\
	       (long long)(a), (long long)(b))

#define SKIP(why)							\
	do {								\
		tap_skip = (why);					\
		return;							\
	} while (0)

/* Shared helpers (helpers.c) */
#include <stdint.h>
#include <stddef.h>
#include <libwsr.h>

/* A fixed, valid snapshot identity for @npages pages. */
struct wsr_snapshot_id test_id(uint64_t npages);
/* A one-recording working set from a page list; aborts on failure. */
struct wsr_ws *test_ws(const struct wsr_snapshot_id *id,
		       const uint64_t *pages, size_t n);
/* A fresh temporary directory (removed at exit). */
const char *test_tmpdir(void);
/* Write @len bytes to @path; 0 or -errno. */
int test_write_file(const char *path, const void *buf, size_t len);

#endif
