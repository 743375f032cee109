// SPDX-License-Identifier: GPL-2.0
/*
 * fn-sqlite: the function a Linux microVM guest runs for the stock-QEMU
 * restores.  As the guest's /init it builds an in-memory SQLite database
 * of orders (its "init"), says FN-READY on the serial console and then
 * answers requests, one per line:
 *
 *	q N	-> FN-ANSWER N <rows> <checksum>
 *
 * Request N sums the orders of 64 customers chosen by N, grouped by item,
 * through the customer index: each request touches SQLite's code, the
 * index's inner pages and its own share of the table, as a small query
 * function does.  Run as "fn-sqlite --local N..." it builds the same
 * database in-process and prints the same answers, which is how the host
 * checks what a restored guest says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define ORDERS		120000
#define CUSTOMERS	4000
#define ITEMS		500
#define PER_REQUEST	64

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "fn-sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
	exit(1);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(db, sql);
}

/* A fixed generator, so every build of the database is the same. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static sqlite3 *build_database(void)
{
	static const char *const words[] = {
		"express", "gift", "fragile", "bulk", "return", "priority",
		"standard", "backorder", "refurbished", "international",
	};
	uint64_t seed = 0x5eed5eedULL;
	sqlite3_stmt *ins;
	sqlite3 *db;
	char note[96];
	int i;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die(db, "open");
	exec_sql(db, "PRAGMA cache_size=-65536;"
		 "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INT,"
		 " item INT, qty INT, price REAL, note TEXT);"
		 "BEGIN;");
	if (sqlite3_prepare_v2(db, "INSERT INTO orders VALUES(?,?,?,?,?,?)",
			       -1, &ins, NULL) != SQLITE_OK)
		die(db, "prepare insert");
	for (i = 0; i < ORDERS; i++) {
		uint64_t r = next_rand(&seed);

		snprintf(note, sizeof(note), "%s %s order %d for %llu",
			 words[r % 10], words[(r >> 8) % 10], i,
			 (unsigned long long)(r >> 20) % 100000);
		sqlite3_bind_int(ins, 1, i);
		sqlite3_bind_int(ins, 2, (int)((r >> 4) % CUSTOMERS));
		sqlite3_bind_int(ins, 3, (int)((r >> 16) % ITEMS));
		sqlite3_bind_int(ins, 4, 1 + (int)((r >> 28) % 9));
		sqlite3_bind_double(ins, 5, (double)((r >> 32) % 10000) / 100.0);
		sqlite3_bind_text(ins, 6, note, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die(db, "insert");
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	exec_sql(db, "COMMIT; CREATE INDEX by_customer ON orders(customer);");
	return db;
}

/* One request: rows seen and a checksum over the grouped result. */
static void answer(sqlite3 *db, long n, FILE *out)
{
	sqlite3_stmt *q;
	uint64_t sum = 1469598103934665603ULL;
	long rows = 0;
	int first = (int)((n * 2654435761UL) % (CUSTOMERS - PER_REQUEST));

	if (sqlite3_prepare_v2(db,
			       "SELECT item, count(*), sum(qty * price), max(length(note))"
			       " FROM orders WHERE customer BETWEEN ? AND ?"
			       " GROUP BY item ORDER BY item", -1, &q, NULL) != SQLITE_OK)
		die(db, "prepare query");
	sqlite3_bind_int(q, 1, first);
	sqlite3_bind_int(q, 2, first + PER_REQUEST - 1);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t v[4];
		int c;

		v[0] = sqlite3_column_int64(q, 0);
		v[1] = sqlite3_column_int64(q, 1);
		v[2] = (int64_t)(sqlite3_column_double(q, 2) * 100.0 + 0.5);
		v[3] = sqlite3_column_int64(q, 3);
		for (c = 0; c < 4; c++)
			sum = (sum ^ (uint64_t)v[c]) * 1099511628211ULL;
		rows += v[1];
	}
	sqlite3_finalize(q);
	fprintf(out, "FN-ANSWER %ld %ld %016llx\n", n, rows,
		(unsigned long long)sum);
	fflush(out);
}

/* PID 1: the console is the first serial port; no echo, whole lines. */
static FILE *open_console(void)
{
	struct termios t;
	FILE *f;
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (tcgetattr(fd, &t) == 0) {
		t.c_lflag &= ~(ECHO | ECHONL);
		t.c_lflag |= ICANON;
		t.c_oflag &= ~OPOST;
		tcsetattr(fd, TCSANOW, &t);
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	f = fdopen(fd, "r+");
	return f;
}

static int serve(void)
{
	char line[64];
	sqlite3 *db;
	FILE *con;

	con = open_console();
	if (!con) {
		fprintf(stderr, "fn-sqlite: no console: %s\n", strerror(errno));
		return 1;
	}
	db = build_database();
	fprintf(con, "FN-READY orders=%d\n", ORDERS);
	fflush(con);
	while (fgets(line, sizeof(line), con)) {
		char *end;
		long n;

		if (line[0] != 'q' || line[1] != ' ')
			continue;
		n = strtol(line + 2, &end, 10);
		if (end == line + 2 || n < 0)
			continue;
		answer(db, n, con);
	}
	return 0;
}

int main(int argc, char **argv)
{
	sqlite3 *db;
	int i;

	if (argc >= 2 && strcmp(argv[1], "--local") == 0) {
		db = build_database();
		for (i = 2; i < argc; i++)
			answer(db, strtol(argv[i], NULL, 10), stdout);
		sqlite3_close(db);
		return 0;
	}
	if (getpid() != 1) {
		fprintf(stderr, "usage: fn-sqlite --local N... (or run as a guest's /init)\n");
		return 2;
	}
	serve();
	/* init must not exit: the guest would panic. */
	for (;;)
		pause();
}
