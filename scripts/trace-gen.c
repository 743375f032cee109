// SPDX-License-Identifier: GPL-2.0
/*
 * trace-gen - write what a trace payload's init writes into @pages
 * resident pages (heap pages 0 .. pages-1) with content parameter
 * @random, to stdout: capture-trace.sh compresses it to pick the
 * parameter that matches the real process memory's compressibility.
 *
 * usage: trace-gen RANDOM PAGES
 */
#include <stdio.h>
#include <stdlib.h>
#include "payload.h"

int main(int argc, char **argv)
{
	uint64_t page, words[TRACE_PAGE_WORDS], pages;
	unsigned int random, k;

	if (argc != 3) {
		fprintf(stderr, "usage: trace-gen RANDOM PAGES\n");
		return 2;
	}
	random = strtoul(argv[1], NULL, 0);
	pages = strtoull(argv[2], NULL, 0);
	for (page = 0; page < pages; page++) {
		for (k = 0; k < TRACE_PAGE_WORDS; k++)
			words[k] = trace_word(page, k, random);
		if (fwrite(words, sizeof(words), 1, stdout) != 1)
			return 1;
	}
	return 0;
}
