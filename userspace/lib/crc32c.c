// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as used by iSCSI,
 * ext4 and btrfs.  Table driven; the table is built on first use.
 */
#include <pthread.h>
#include "wsr-private.h"

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
		crc32c_table[i] = c;
	}
}

/*
 * wsr__crc32c() - continue a CRC-32C over @len bytes.  Start with crc = 0;
 * the pre- and post-inversion are done here, so calls chain.
 */
uint32_t wsr__crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc32c_once, crc32c_init);
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
