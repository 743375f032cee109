// SPDX-License-Identifier: GPL-2.0
/*
 * wsr-microvm: snapshot and restore a Linux microVM with stock QEMU, the
 * way Kata Containers' VM templating does, and time it.
 *
 *   wsr-microvm snapshot --dir D
 *	Boot the guest (fn-sqlite as /init) with its RAM in D/fn.mem
 *	(memory-backend-file,share=on), wait for FN-READY, then save the
 *	device state to D/fn.state with migration's x-ignore-shared, so the
 *	RAM stays in the file.
 *
 *   wsr-microvm restore --dir D --mem PATH [--instances K] [--request N]
 *			[--prefetch CMD]
 *	Run CMD (sh -c; e.g. "wsrctl base restore NAME --ws WS [--async]"),
 *	then start K QEMUs at once with -incoming from D/fn.state and their RAM
 *	mapped MAP_PRIVATE from PATH (share=off): the raw D/fn.mem, or a wsr
 *	base path.  Each asks one request (N + its index) on the serial
 *	console and checks the answer against fn-sqlite --local.  One line
 *	per instance: milliseconds from the start (CMD included) to the guest
 *	running and to its answer.
 *
 * QEMU, the guest kernel and initramfs come from WSR_MICROVM_ROOT
 * (default /opt/microvm): qemu (a wrapper that runs Debian's binary with
 * its staged libraries), bzImage, fn.cpio.gz and fn-sqlite.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RAM_MB_DEFAULT	256
#define BOOT_TIMEOUT_MS	(5 * 60 * 1000)
#define STEP_TIMEOUT_MS	(60 * 1000)
#define MAX_INSTANCES	16
#define DEFAULT_APPEND	"console=ttyS0 earlyprintk=ttyS0 panic=-1 reboot=t"

struct vm {
	pid_t pid;
	int serial_in;		/* QEMU's stdin: the guest's ttyS0 input */
	int serial_out;		/* QEMU's stdout: ttyS0 output */
	int qmp;
	char qmp_path[108];
	char log_path[PATH_MAX];
	int resumed;		/* QMP said RESUME: the guest runs */
	char buf[8192];		/* serial bytes not yet consumed */
	size_t len;
};

static int verbose;

static const char *root_dir(void)
{
	const char *r = getenv("WSR_MICROVM_ROOT");

	return r && *r ? r : "/opt/microvm";
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wsr-microvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Lines longer than the caller's buffer are cut: only their start matters. */
static void copy_line(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Print the end of QEMU's log, then fail: the reason is usually there. */
static void vm_die(struct vm *vm, const char *what)
{
	char line[512];
	FILE *f = fopen(vm->log_path, "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "  qemu: %s", line);
		fclose(f);
	}
	if (vm->pid > 0)
		kill(vm->pid, SIGKILL);
	die("%s (QEMU log: %s)", what, vm->log_path);
}

static void vm_start(struct vm *vm, const char *mem, int share,
		     const char *incoming, unsigned int ram_mb)
{
	char ram[160], kernel[PATH_MAX], initrd[PATH_MAX], qemu[PATH_MAX];
	char qmp[160], memsize[32];
	const char *append = getenv("WSR_MICROVM_APPEND");
	int in[2], out[2], log;
	static int seq;

	snprintf(vm->qmp_path, sizeof(vm->qmp_path), "/tmp/wsr-microvm-%d-%d.qmp",
		 getpid(), seq);
	snprintf(vm->log_path, sizeof(vm->log_path), "/tmp/wsr-microvm-%d-%d.log",
		 getpid(), seq++);
	unlink(vm->qmp_path);
	snprintf(qemu, sizeof(qemu), "%s/qemu", root_dir());
	snprintf(kernel, sizeof(kernel), "%s/bzImage", root_dir());
	snprintf(initrd, sizeof(initrd), "%s/fn.cpio.gz", root_dir());
	snprintf(ram, sizeof(ram),
		 "memory-backend-file,id=ram,size=%uM,mem-path=%s,share=%s",
		 ram_mb, mem, share ? "on" : "off");
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", vm->qmp_path);
	snprintf(memsize, sizeof(memsize), "%uM", ram_mb);
	if (!append)
		append = DEFAULT_APPEND;
	if (access(qemu, X_OK))
		die("%s: %s (no stock QEMU staged in this image)", qemu, strerror(errno));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	log = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log < 0)
		die("%s: %s", vm->log_path, strerror(errno));
	vm->pid = fork();
	if (vm->pid < 0)
		die("fork: %s", strerror(errno));
	if (vm->pid == 0) {
		const char *argv[] = {
			qemu, "-M", "microvm,memory-backend=ram", "-accel", "kvm",
			"-cpu", "host", "-smp", "1", "-m", memsize,
			"-object", ram, "-nodefaults", "-no-user-config",
			"-display", "none", "-serial", "stdio", "-qmp", qmp,
			"-kernel", kernel, "-initrd", initrd, "-append",
			append,
			incoming ? "-incoming" : NULL, incoming, NULL,
		};

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(log, 2);
		execv(qemu, (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(log);
	vm->serial_in = in[1];
	vm->serial_out = out[0];
	vm->qmp = -1;
	vm->len = 0;
	vm->resumed = 0;
}

/* Wait for a serial line starting with @prefix; copy it to @line. */
static void vm_wait_line(struct vm *vm, const char *prefix, char *line,
			 size_t size, int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = vm->serial_out, .events = POLLIN };
		char *nl;
		ssize_t n;

		while ((nl = memchr(vm->buf, '\n', vm->len))) {
			size_t l = nl - vm->buf;

			if (l && vm->buf[l - 1] == '\r')
				vm->buf[l - 1] = '\0';
			*nl = '\0';
			if (verbose)
				fprintf(stderr, "[%.0f ms] guest: %s\n", now_ms(), vm->buf);
			if (!strncmp(vm->buf, prefix, strlen(prefix))) {
				copy_line(line, size, vm->buf);
				vm->len -= l + 1;
				memmove(vm->buf, nl + 1, vm->len);
				return;
			}
			vm->len -= l + 1;
			memmove(vm->buf, nl + 1, vm->len);
		}
		if (vm->len == sizeof(vm->buf))
			vm->len = 0;	/* an overlong line: not ours */
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			vm_die(vm, "timed out waiting for the guest");
		n = read(vm->serial_out, vm->buf + vm->len, sizeof(vm->buf) - vm->len);
		if (n <= 0)
			vm_die(vm, "QEMU exited");
		vm->len += n;
	}
}

/*
 * Read QMP lines until one contains @want (copied to @line if given);
 * fail on an error reply.
 */
static void qmp_wait(struct vm *vm, const char *want, char *line, size_t size,
		     int timeout_ms)
{
	static char in[65536];
	static size_t len;
	double end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = vm->qmp, .events = POLLIN };
		char *nl;
		ssize_t n;

		while ((nl = memchr(in, '\n', len))) {
			int hit;

			*nl = '\0';
			if (verbose)
				fprintf(stderr, "[%.0f ms] qmp: %s\n", now_ms(), in);
			if (strstr(in, "\"error\""))
				vm_die(vm, in);
			if (strstr(in, "\"event\": \"RESUME\""))
				vm->resumed = 1;
			hit = strstr(in, want) != NULL;
			if (hit && line)
				copy_line(line, size, in);
			len -= nl + 1 - in;
			memmove(in, nl + 1, len);
			if (hit)
				return;
		}
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			vm_die(vm, "timed out waiting for QMP");
		n = read(vm->qmp, in + len, sizeof(in) - 1 - len);
		if (n <= 0)
			vm_die(vm, "QMP connection closed");
		len += n;
	}
}

static void qmp_send(struct vm *vm, const char *json, const char *want)
{
	size_t len = strlen(json);

	if (verbose)
		fprintf(stderr, "[%.0f ms] qmp> %s", now_ms(), json);
	if (write(vm->qmp, json, len) != (ssize_t)len)
		vm_die(vm, "QMP write failed");
	qmp_wait(vm, want, NULL, 0, STEP_TIMEOUT_MS);
}

static void qmp_connect(struct vm *vm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double end = now_ms() + STEP_TIMEOUT_MS;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vm->qmp_path);
	for (;;) {
		vm->qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (vm->qmp < 0)
			die("socket: %s", strerror(errno));
		if (!connect(vm->qmp, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(vm->qmp);
		if (now_ms() > end || waitpid(vm->pid, NULL, WNOHANG) == vm->pid)
			vm_die(vm, "QEMU's QMP socket never appeared");
		usleep(2000);
	}
	qmp_wait(vm, "\"QMP\"", NULL, 0, STEP_TIMEOUT_MS);
	qmp_send(vm, "{\"execute\":\"qmp_capabilities\"}\n", "\"return\"");
	qmp_send(vm, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
		 "{\"capabilities\":[{\"capability\":\"x-ignore-shared\","
		 "\"state\":true}]}}\n", "\"return\"");
}

static void vm_stop(struct vm *vm)
{
	/*
	 * Wait for quit's reply before closing: QEMU drops the queued
	 * commands of a monitor whose peer hung up.
	 */
	if (vm->qmp >= 0) {
		qmp_send(vm, "{\"execute\":\"quit\"}\n", "\"return\"");
		close(vm->qmp);
	} else {
		kill(vm->pid, SIGKILL);
	}
	waitpid(vm->pid, NULL, 0);
	close(vm->serial_in);
	close(vm->serial_out);
	unlink(vm->qmp_path);
	unlink(vm->log_path);
}

/* Copy @from to @to and make it durable: the snapshot lives on disk. */
static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 20];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (in < 0 || out < 0)
		die("copy %s to %s: %s", from, to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			die("%s: %s", to, strerror(errno));
	if (n < 0 || fsync(out))
		die("copy %s to %s: %s", from, to, strerror(errno));
	close(in);
	close(out);
}

static int cmd_snapshot(const char *dir, unsigned int ram_mb)
{
	char mem[PATH_MAX], state[PATH_MAX], json[PATH_MAX + 128], line[4096];
	char live[PATH_MAX], ready_line[128];
	struct vm vm;
	double t0 = now_ms(), ready, saved;

	snprintf(mem, sizeof(mem), "%s/fn.mem", dir);
	snprintf(state, sizeof(state), "%s/fn.state", dir);
	/*
	 * The live guest's RAM is a tmpfs file, as Kata's template is:
	 * share=on over a disk filesystem would write back every page the
	 * guest dirties while it boots.  The snapshot is then copied to disk.
	 */
	snprintf(live, sizeof(live), "/tmp/wsr-microvm-%d.mem", getpid());
	unlink(mem);
	unlink(state);
	vm_start(&vm, live, 1, NULL, ram_mb);
	qmp_connect(&vm);
	vm_wait_line(&vm, "FN-READY", ready_line, sizeof(ready_line),
		     BOOT_TIMEOUT_MS);
	ready = now_ms();
	/*
	 * No "stop" first: migration stops the guest when it completes, and
	 * a template saved running is restored running (autostart).
	 */
	snprintf(json, sizeof(json), "{\"execute\":\"migrate\",\"arguments\":"
		 "{\"uri\":\"exec:cat > %s\"}}\n", state);
	qmp_send(&vm, json, "\"return\"");
	for (;;) {
		static const char q[] = "{\"execute\":\"query-migrate\"}\n";

		if (write(vm.qmp, q, sizeof(q) - 1) != sizeof(q) - 1)
			vm_die(&vm, "QMP write failed");
		qmp_wait(&vm, "\"return\"", line, sizeof(line), STEP_TIMEOUT_MS);
		if (strstr(line, "\"completed\""))
			break;
		if (strstr(line, "\"failed\"") || strstr(line, "\"cancelled\""))
			vm_die(&vm, line);
		usleep(20000);
	}
	vm_stop(&vm);
	saved = now_ms();
	copy_file(live, mem);
	unlink(live);
	printf("snapshot: guest ready in %.0f ms (%s), state saved in %.0f ms, memory copied in %.0f ms: %s %s\n",
	       ready - t0, ready_line, saved - ready, now_ms() - saved, mem,
	       state);
	return 0;
}

/* fn-sqlite --local computes the answer a restored guest must give. */
static void expected_answer(long request, char *out, size_t size)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s/fn-sqlite --local %ld", root_dir(), request);
	p = popen(cmd, "r");
	if (!p || !fgets(out, size, p))
		die("%s gave no answer", cmd);
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

static void restore_one(const char *dir, const char *mem, long request,
			int index, unsigned int ram_mb, const char *expect,
			double t0)
{
	char json[PATH_MAX + 128], req[32], line[256];
	double running, answered;
	struct vm vm;

	/* defer: x-ignore-shared must be on before the stream is read. */
	vm_start(&vm, mem, 0, "defer", ram_mb);
	qmp_connect(&vm);
	snprintf(json, sizeof(json), "{\"execute\":\"migrate-incoming\","
		 "\"arguments\":{\"uri\":\"exec:cat %s/fn.state\"}}\n", dir);
	qmp_send(&vm, json, "\"return\"");
	if (!vm.resumed)
		qmp_wait(&vm, "\"RESUME\"", NULL, 0, STEP_TIMEOUT_MS);
	running = now_ms();
	snprintf(req, sizeof(req), "q %ld\n", request);
	if (write(vm.serial_in, req, strlen(req)) != (ssize_t)strlen(req))
		vm_die(&vm, "cannot write the request");
	vm_wait_line(&vm, "FN-ANSWER", line, sizeof(line), STEP_TIMEOUT_MS);
	answered = now_ms();
	vm_stop(&vm);
	printf("restore %d: mem=%s request=%ld running_ms=%.1f answer_ms=%.1f %s\n",
	       index, mem, request, running - t0, answered - t0,
	       strcmp(line, expect) ? "answer=BAD" : "answer=ok");
	if (strcmp(line, expect))
		die("instance %d answered \"%s\", expected \"%s\"", index, line, expect);
}

static int cmd_restore(const char *dir, const char *mem, long request,
		       int instances, unsigned int ram_mb, const char *prefetch)
{
	char expect[MAX_INSTANCES][256];
	pid_t pids[MAX_INSTANCES];
	int i, failed = 0;
	double t0;

	if (instances < 1 || instances > MAX_INSTANCES)
		die("--instances must be 1..%d", MAX_INSTANCES);
	for (i = 0; i < instances; i++)
		expected_answer(request + i, expect[i], sizeof(expect[i]));
	fflush(stdout);
	t0 = now_ms();
	if (prefetch) {
		int rc = system(prefetch);

		if (rc)
			die("--prefetch '%s' failed (status %d)", prefetch, rc);
		printf("prefetch: %.1f ms: %s\n", now_ms() - t0, prefetch);
		fflush(stdout);
	}
	for (i = 0; i < instances; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			restore_one(dir, mem, request + i, i, ram_mb, expect[i],
				    t0);
			fflush(stdout);
			_exit(0);
		}
	}
	for (i = 0; i < instances; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	if (failed)
		die("%d of %d restores failed", failed, instances);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: wsr-microvm snapshot --dir DIR [--ram MB]\n"
		"       wsr-microvm restore --dir DIR --mem PATH [--request N]"
		" [--instances K] [--ram MB] [--prefetch CMD]\n");
	exit(2);
}

static long number(const char *opt, const char *arg, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < 0 || v > max)
		die("%s: bad number '%s'", opt, arg);
	return v;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *mem = NULL, *prefetch = NULL;
	unsigned int ram_mb = RAM_MB_DEFAULT;
	long request = 1;
	int instances = 1, i;

	if (argc < 2)
		usage();
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i];

		if (i + 1 >= argc)
			usage();
		if (!strcmp(opt, "--dir"))
			dir = argv[++i];
		else if (!strcmp(opt, "--mem"))
			mem = argv[++i];
		else if (!strcmp(opt, "--request"))
			request = number(opt, argv[++i], 1L << 30);
		else if (!strcmp(opt, "--instances"))
			instances = (int)number(opt, argv[++i], MAX_INSTANCES);
		else if (!strcmp(opt, "--prefetch"))
			prefetch = argv[++i];
		else if (!strcmp(opt, "--ram"))
			ram_mb = (unsigned int)number(opt, argv[++i], 1 << 16);
		else
			usage();
	}
	if (!dir)
		usage();
	verbose = getenv("WSR_MICROVM_VERBOSE") != NULL;
	/* A dead QEMU must not kill us through its serial pipe. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "snapshot"))
		return cmd_snapshot(dir, ram_mb);
	if (!strcmp(argv[1], "restore") && mem)
		return cmd_restore(dir, mem, request, instances, ram_mb,
				   prefetch);
	usage();
	return 2;
}
