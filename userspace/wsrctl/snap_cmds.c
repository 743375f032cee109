// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * wsrctl snapshot compress|decompress|info: compressed snapshots
 * (wsr-zsnap(5)).  libwsr encodes and parses the index; the chunks are
 * compressed here with liblz4 and libzstd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <lz4.h>
#include <zstd.h>
#include "wsrctl.h"

#define ZSTD_LEVEL	3

static const char *const codec_names[WSR_ZSNAP_NCODECS] = {
	[WSR_ZSNAP_ZERO] = "zero",
	[WSR_ZSNAP_RAW] = "raw",
	[WSR_ZSNAP_LZ4] = "lz4",
	[WSR_ZSNAP_ZSTD] = "zstd",
};

/* What a -errno of wsr_zsnap_*() means for a compressed snapshot. */
static const char *zs_strerror(int err)
{
	switch (-err) {
	case EPROTO:
		return "not a wsr compressed snapshot (bad magic)";
	case EPROTONOSUPPORT:
		return "unsupported compressed-snapshot format version";
	case ENODATA:
		return "truncated compressed snapshot";
	case EFBIG:
		return "compressed snapshot is longer than its index says";
	case EBADMSG:
		return "checksum mismatch, the compressed snapshot is corrupt";
	case EOVERFLOW:
		return "chunk size or length beyond the format's limits";
	case EUCLEAN:
		return "inconsistent compressed-snapshot index";
	default:
		return strerror(-err);
	}
}

static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0)
			return -errno;
		if (!n)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

static int full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* A progress bar on stderr when it is a terminal. */
static void progress(int tty, uint64_t done, uint64_t total)
{
	int w = 40, k;

	if (!tty || !total)
		return;
	k = (int)(done * w / total);
	fprintf(stderr, "\r[%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 " MiB",
		k, "########################################", w - k, "",
		(int)(done * 100 / total), done >> 20, total >> 20);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int all_zero(const unsigned char *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/*
 * Compress @len bytes of @in with @codec into @out (@cap bytes).  Returns
 * the stored length, or 0 when compression does not pay (store raw).
 */
static size_t compress_chunk(int codec, ZSTD_CCtx *cctx, const void *in,
			     size_t len, void *out, size_t cap)
{
	size_t n;

	if (codec == WSR_ZSNAP_LZ4) {
		int r = LZ4_compress_default(in, out, (int)len, (int)cap);

		n = r > 0 ? (size_t)r : 0;
	} else {
		n = ZSTD_compressCCtx(cctx, out, cap, in, len, ZSTD_LEVEL);
		if (ZSTD_isError(n))
			n = 0;
	}
	return n < len ? n : 0;
}

struct compress_opts {
	int codec;
	uint32_t chunk;
};

static int compress_file(const char *inp, const char *outp,
			 const struct compress_opts *o)
{
	struct wsr_zsnap_info info;
	struct wsr_zsnap *z = NULL;
	ZSTD_CCtx *cctx = NULL;
	unsigned char *raw = NULL, *cbuf = NULL;
	int in = -1, out = -1, ret = EXIT_FAIL, err;
	int tty = isatty(STDERR_FILENO) && !opt_json;
	uint64_t i, len, pos;
	size_t cap, n;
	void *idx;
	size_t idxlen;
	struct stat st;

	in = open(inp, O_RDONLY);
	if (in < 0 || fstat(in, &st)) {
		ret = fail(inp, "%s", strerror(errno));
		goto out;
	}
	len = (uint64_t)st.st_size;
	if (!len || len % WSR_PAGE_SIZE || len > WSR_ZSNAP_MAX_LENGTH) {
		ret = fail(inp, "size %" PRIu64 " is not a non-zero multiple of 4096 up to 1 TiB",
			   len);
		goto out;
	}
	err = wsr_zsnap_create(o->chunk, len, &z);
	if (err) {
		ret = fail(inp, "%s", strerror(-err));
		goto out;
	}
	wsr_zsnap_info(z, &info);
	cap = o->codec == WSR_ZSNAP_LZ4 ? (size_t)LZ4_compressBound((int)o->chunk)
					: ZSTD_compressBound(o->chunk);
	raw = malloc(o->chunk);
	cbuf = malloc(cap);
	cctx = o->codec == WSR_ZSNAP_ZSTD ? ZSTD_createCCtx() : NULL;
	if (!raw || !cbuf || (o->codec == WSR_ZSNAP_ZSTD && !cctx)) {
		ret = fail(inp, "out of memory");
		goto out;
	}
	out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		ret = fail(outp, "%s", strerror(errno));
		goto out;
	}
	pos = info.data_offset;
	for (i = 0; i < info.nchunks; i++) {
		uint64_t off = i * o->chunk;
		size_t clen = len - off < o->chunk ? len - off : o->chunk;
		const void *stored = cbuf;
		int codec = o->codec;

		err = full_pread(in, raw, clen, off);
		if (err) {
			ret = fail(inp, "read at %" PRIu64 ": %s", off,
				   strerror(-err));
			goto out;
		}
		if (all_zero(raw, clen)) {
			codec = WSR_ZSNAP_ZERO;
			n = 0;
		} else {
			n = compress_chunk(codec, cctx, raw, clen, cbuf, cap);
			if (!n) {
				codec = WSR_ZSNAP_RAW;
				stored = raw;
				n = clen;
			}
		}
		err = wsr_zsnap_add_chunk(z, i, codec, n ? stored : NULL,
					  (uint32_t)n);
		if (!err && n)
			err = full_pwrite(out, stored, n, pos);
		if (err) {
			ret = fail(outp, "chunk %" PRIu64 ": %s", i,
				   strerror(-err));
			goto out;
		}
		pos += n;
		progress(tty, off + clen, len);
	}
	err = wsr_zsnap_encode(z, &idx, &idxlen);
	if (!err) {
		err = full_pwrite(out, idx, idxlen, 0);
		free(idx);
	}
	/* The data may be all zero chunks: the file still ends at pos. */
	if (!err && ftruncate(out, (off_t)pos))
		err = -errno;
	if (!err && fsync(out))
		err = -errno;
	if (err) {
		ret = fail(outp, "%s", strerror(-err));
		goto out;
	}
	ret = EXIT_OK;
out:
	if (out >= 0 && close(out) && ret == EXIT_OK)
		ret = fail(outp, "%s", strerror(errno));
	if (in >= 0)
		close(in);
	ZSTD_freeCCtx(cctx);
	free(raw);
	free(cbuf);
	wsr_zsnap_free(z);
	return ret;
}

/* Open and parse a compressed snapshot, reporting errors. */
static int load_zsnap(const char *path, int *fdp, struct wsr_zsnap **z)
{
	int fd = open(path, O_RDONLY), err;

	if (fd < 0)
		return fail(path, "%s", strerror(errno));
	err = wsr_zsnap_load(fd, z);
	if (err) {
		close(fd);
		return fail(path, "%s", zs_strerror(err));
	}
	*fdp = fd;
	return EXIT_OK;
}

/* Decompress chunk @i (entry @c, @clen raw bytes) from @stored into @raw. */
static int decompress_chunk(const struct wsr_zsnap_chunk *c, ZSTD_DCtx *dctx,
			    const void *stored, void *raw, size_t clen)
{
	size_t n;
	int r;

	switch (c->codec) {
	case WSR_ZSNAP_ZERO:
		memset(raw, 0, clen);
		return 0;
	case WSR_ZSNAP_RAW:
		memcpy(raw, stored, clen);
		return 0;
	case WSR_ZSNAP_LZ4:
		r = LZ4_decompress_safe(stored, raw, (int)c->length, (int)clen);
		return r == (int)clen ? 0 : -EBADMSG;
	default:
		n = ZSTD_decompressDCtx(dctx, raw, clen, stored, c->length);
		return !ZSTD_isError(n) && n == clen ? 0 : -EBADMSG;
	}
}

static int decompress_file(const char *inp, const char *outp)
{
	struct wsr_zsnap_info info;
	struct wsr_zsnap_chunk c;
	struct wsr_zsnap *z = NULL;
	unsigned char *raw = NULL, *stored = NULL;
	ZSTD_DCtx *dctx = NULL;
	int in = -1, out = -1, ret, err = 0;
	int tty = isatty(STDERR_FILENO) && !opt_json;
	uint64_t i;

	ret = load_zsnap(inp, &in, &z);
	if (ret)
		return ret;
	ret = EXIT_FAIL;
	wsr_zsnap_info(z, &info);
	raw = malloc(info.chunk_size);
	stored = malloc(info.chunk_size);
	dctx = ZSTD_createDCtx();
	if (!raw || !stored || !dctx) {
		ret = fail(inp, "out of memory");
		goto out;
	}
	out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		ret = fail(outp, "%s", strerror(errno));
		goto out;
	}
	for (i = 0; i < info.nchunks; i++) {
		uint64_t off = i * info.chunk_size;
		size_t clen = info.length - off < info.chunk_size ?
			      info.length - off : info.chunk_size;

		wsr_zsnap_chunk(z, i, &c);
		err = full_pread(in, stored, c.length, c.offset);
		if (!err)
			err = wsr_zsnap_verify_chunk(z, i, stored, c.length);
		if (!err)
			err = decompress_chunk(&c, dctx, stored, raw, clen);
		if (err) {
			ret = fail(inp, "chunk %" PRIu64 " (%s, offset %" PRIu64 "): %s",
				   i, codec_names[c.codec], c.offset,
				   err == -EBADMSG && !wsr_zsnap_verify_chunk(z, i, stored, c.length) ?
				   "does not decompress to its size" : zs_strerror(err));
			goto out;
		}
		/* Zero chunks stay holes of a sparse file. */
		if (c.codec != WSR_ZSNAP_ZERO) {
			err = full_pwrite(out, raw, clen, off);
			if (err) {
				ret = fail(outp, "%s", strerror(-err));
				goto out;
			}
		}
		progress(tty, off + clen, info.length);
	}
	if (ftruncate(out, (off_t)info.length)) {
		ret = fail(outp, "%s", strerror(errno));
		goto out;
	}
	ret = EXIT_OK;
out:
	if (out >= 0 && close(out) && ret == EXIT_OK)
		ret = fail(outp, "%s", strerror(errno));
	close(in);
	ZSTD_freeDCtx(dctx);
	free(raw);
	free(stored);
	wsr_zsnap_free(z);
	return ret;
}

static int parse_codec(const char *s)
{
	if (!strcmp(s, "lz4"))
		return WSR_ZSNAP_LZ4;
	if (!strcmp(s, "zstd"))
		return WSR_ZSNAP_ZSTD;
	return 0;
}

static int cmd_snapshot_compress(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "codec", required_argument, NULL, 'c' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct compress_opts o = {
		.codec = WSR_ZSNAP_LZ4, .chunk = WSR_ZSNAP_CHUNK_DEFAULT,
	};
	uint64_t v;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jc:C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'c':
			o.codec = parse_codec(optarg);
			if (!o.codec)
				return usage_error("snapshot compress",
						   "bad --codec '%s' (lz4 or zstd)",
						   optarg);
			break;
		case 'C':
			if (parse_u64(optarg, &v) || v < WSR_ZSNAP_CHUNK_MIN ||
			    v > WSR_ZSNAP_CHUNK_MAX || (v & (v - 1)))
				return usage_error("snapshot compress",
						   "bad --chunk '%s' (a power of two from 64K to 2M)",
						   optarg);
			o.chunk = (uint32_t)v;
			break;
		case 'h':
			print_help(stdout, "snapshot compress");
			return EXIT_OK;
		default:
			return usage_error("snapshot compress", "bad option");
		}
	}
	if (argc - optind != 2)
		return usage_error("snapshot compress", "expected IN and OUT");
	return compress_file(argv[optind], argv[optind + 1], &o);
}

/*
 * Options of decompress and info: --json and --help.  Returns -1 to go
 * on, else the exit status.
 */
static int simple_opts(int argc, char **argv, const char *verb)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = 1;
			break;
		case 'h':
			print_help(stdout, verb);
			return EXIT_OK;
		default:
			return usage_error(verb, "bad option");
		}
	}
	return -1;
}

static int cmd_snapshot_decompress(int argc, char **argv)
{
	int ret = simple_opts(argc, argv, "snapshot decompress");

	if (ret >= 0)
		return ret;
	if (argc - optind != 2)
		return usage_error("snapshot decompress", "expected IN and OUT");
	return decompress_file(argv[optind], argv[optind + 1]);
}

static double ratio(uint64_t raw, uint64_t stored)
{
	return stored ? (double)raw / (double)stored : 0.0;
}

static int cmd_snapshot_info(int argc, char **argv)
{
	struct wsr_zsnap_info in;
	struct wsr_zsnap *z;
	int fd, ret, k;

	const char *path;

	ret = simple_opts(argc, argv, "snapshot info");
	if (ret >= 0)
		return ret;
	if (argc - optind != 1)
		return usage_error("snapshot info", "expected one FILE");
	path = argv[optind];
	ret = load_zsnap(path, &fd, &z);
	if (ret)
		return ret;
	close(fd);
	wsr_zsnap_info(z, &in);
	wsr_zsnap_free(z);
	if (opt_json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kstr(&j, "file", path);
		json_ku64(&j, "version", in.version);
		json_ku64(&j, "chunk_size", in.chunk_size);
		json_ku64(&j, "length", in.length);
		json_ku64(&j, "file_size", in.file_size);
		json_ku64(&j, "chunks", in.nchunks);
		json_kfixed(&j, "ratio", ratio(in.length, in.file_size), 3);
		json_kfixed(&j, "zero_share",
			    (double)in.chunks[WSR_ZSNAP_ZERO] / in.nchunks, 4);
		json_key(&j, "codecs");
		json_begin_object(&j);
		for (k = 1; k < WSR_ZSNAP_NCODECS; k++) {
			json_key(&j, codec_names[k]);
			json_begin_object(&j);
			json_ku64(&j, "chunks", in.chunks[k]);
			json_ku64(&j, "raw_bytes", in.raw_bytes[k]);
			json_ku64(&j, "stored_bytes", in.stored[k]);
			json_end_object(&j);
		}
		json_end_object(&j);
		json_end_object(&j);
		json_finish(&j);
		return EXIT_OK;
	}
	printf("file:        %s\n", path);
	printf("format:      wsr-zsnap version %u, %u KiB chunks\n", in.version,
	       in.chunk_size >> 10);
	printf("length:      %" PRIu64 " (%.1f MiB) in %" PRIu64 " chunks\n",
	       in.length, in.length / 1048576.0, in.nchunks);
	printf("file size:   %" PRIu64 " (%.1f MiB), ratio %.2fx\n",
	       in.file_size, in.file_size / 1048576.0,
	       ratio(in.length, in.file_size));
	printf("zero chunks: %" PRIu64 " (%.1f%% of the chunks, store nothing)\n",
	       in.chunks[WSR_ZSNAP_ZERO],
	       100.0 * in.chunks[WSR_ZSNAP_ZERO] / in.nchunks);
	printf("%-6s %10s %14s %14s %8s\n", "codec", "chunks", "raw bytes",
	       "stored bytes", "ratio");
	for (k = 1; k < WSR_ZSNAP_NCODECS; k++) {
		printf("%-6s %10" PRIu64 " %14" PRIu64 " %14" PRIu64, codec_names[k],
		       in.chunks[k], in.raw_bytes[k], in.stored[k]);
		if (in.stored[k])
			printf(" %7.2fx\n", ratio(in.raw_bytes[k], in.stored[k]));
		else
			printf(" %8s\n", "-");
	}
	return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct subverb sub[] = {
		{ "compress", cmd_snapshot_compress },
		{ "decompress", cmd_snapshot_decompress },
		{ "info", cmd_snapshot_info },
	};

	return run_subverb("snapshot", sub, sizeof(sub) / sizeof(sub[0]), argc,
			   argv);
}
