/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 6.1 kselftest harness runs every test and ignores argv.  The rig needs
 * to run one test by name (make vmcheck T=suite:test), so WSR_HARNESS_MAIN
 * drops the tests whose "fixture.test" or "test" name does not match the
 * WSR_TEST environment variable before handing over to the harness.
 */
#ifndef WSR_HARNESS_H
#define WSR_HARNESS_H

#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"

static int wsr_test_selected(const char *filter,
			     const struct __fixture_metadata *f,
			     const struct __test_metadata *t)
{
	size_t flen = strlen(f->name);

	if (!strcmp(filter, t->name))
		return 1;
	return !strncmp(filter, f->name, flen) && filter[flen] == '.' &&
	       !strcmp(filter + flen + 1, t->name);
}

/* Rebuild each fixture's test list, keeping only the selected tests. */
static void wsr_filter_tests(void)
{
	const char *filter = getenv("WSR_TEST");
	struct __fixture_metadata *f;
	struct __test_metadata *t, *next, *head, *tail;

	if (!filter || !*filter)
		return;
	for (f = __fixture_list; f; f = f->next) {
		head = NULL;
		tail = NULL;
		for (t = f->tests; t; t = next) {
			next = t->next;
			if (!wsr_test_selected(filter, f, t))
				continue;
			t->next = NULL;
			if (!head) {
				head = t;
			} else {
				tail->next = t;
				t->prev = tail;
			}
			tail = t;
		}
		if (head)
			head->prev = tail;
		f->tests = head;
	}
}

#define WSR_HARNESS_MAIN					\
	int main(int argc, char **argv)				\
	{							\
		wsr_filter_tests();				\
		return test_harness_run(argc, argv);		\
	}

#endif /* WSR_HARNESS_H */
