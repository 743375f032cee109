// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Option parsing from a table per verb: each verb describes its options
 * (name, short key, type, where the value goes in the verb's own struct)
 * and opts_parse() does the getopt_long() loop, the value checks and the
 * one-line usage errors for all of them.  --json and --help are every
 * verb's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "wsrctl.h"

#define OPTS_MAX	24

static int opt_list_add(struct opt_list *l, int key, const char *arg)
{
	const char **v = realloc(l->arg, (l->n + 1) * sizeof(*v));
	char *k;

	if (!v)
		return -ENOMEM;
	l->arg = v;
	k = realloc(l->key, l->n + 1);
	if (!k)
		return -ENOMEM;
	l->key = k;
	l->arg[l->n] = arg;
	l->key[l->n++] = (char)key;
	return 0;
}

void opt_list_free(struct opt_list *l)
{
	free(l->arg);
	free(l->key);
	l->arg = NULL;
	l->key = NULL;
	l->n = 0;
}

/* Store one option's value; EXIT_OK or EXIT_USAGE after the message. */
static int opt_store(const char *verb, const struct opt *o, void *dst,
		     const char *arg)
{
	char *p = (char *)dst + o->off;
	uint64_t v;

	switch (o->type) {
	case OPT_FLAG:
		*(unsigned int *)p |= o->val;
		return EXIT_OK;
	case OPT_STR:
		*(const char **)p = arg;
		return EXIT_OK;
	case OPT_U64:
		if (parse_u64(arg, &v) || (o->max && v > o->max))
			return usage_error(verb, "bad --%s '%s'", o->name, arg);
		*(uint64_t *)p = v;
		if (o->seen)
			*(int *)((char *)dst + o->seen) = 1;
		return EXIT_OK;
	default:	/* OPT_LIST */
		if (opt_list_add((struct opt_list *)p, o->key, arg))
			return fail("wsrctl", "out of memory");
		return EXIT_OK;
	}
}

/* The getopt_long() table and short-option string of @tab. */
static void opt_build(const struct opt *tab, bool stop, struct option *lo,
		      char *so)
{
	size_t n = 0;

	*so++ = stop ? '+' : ':';
	if (stop)
		*so++ = ':';
	for (; tab[n].name; n++) {
		lo[n].name = tab[n].name;
		lo[n].has_arg = tab[n].type == OPT_FLAG ? no_argument :
			       required_argument;
		lo[n].flag = NULL;
		lo[n].val = tab[n].key;
		*so++ = (char)tab[n].key;
		if (tab[n].type != OPT_FLAG)
			*so++ = ':';
	}
	lo[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ 0 };
	strcpy(so, "jh");
}

int opts_parse(const char *verb, const struct opt *tab, void *dst, int argc,
	       char **argv, bool stop)
{
	struct option lo[OPTS_MAX + 3];
	char so[3 * OPTS_MAX + 8];
	int c, i, ret;

	opt_build(tab, stop, lo, so);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == 'j') {
			opt_json = 1;
			continue;
		}
		if (c == 'h') {
			print_help(stdout, verb);
			return OPT_HELP;
		}
		if (c == '?' || c == ':')
			return usage_error(verb, "%s option '%s'",
					   c == ':' ? "missing value of" :
					   "unknown", argv[optind - 1]);
		for (i = 0; tab[i].name && tab[i].key != c; i++)
			;
		ret = opt_store(verb, &tab[i], dst, optarg);
		if (ret)
			return ret;
	}
	return EXIT_OK;
}
