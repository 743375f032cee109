// SPDX-License-Identifier: GPL-2.0
/*
 * wsr pool: 2 MiB folios kept for reuse by regions.
 *
 * Lock order: wsr_pool_lock is a leaf spinlock.
 *
 * A region returns its 2 MiB folios here when it is destroyed.  A folio
 * comes back to the pool only if the region held the last reference
 * (checked with folio_ref_freeze(), so a late GUP pin or speculative
 * reference makes it go back to the page allocator by its last put
 * instead); up to pool_size folios are kept.  While a folio sits in the
 * pool its memory is KASAN-poisoned, so any use of a page after its region
 * returned it is reported; it is unpoisoned when handed out.
 */
#include <linux/gfp.h>
#include <linux/kasan.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/spinlock.h>

#include "wsr_internal.h"

#if defined(CONFIG_KASAN) && defined(WSR_KASAN_PAGE_EXPORTS)
/* mm-patches/0002 exports __kasan_{,un}poison_pages(). */
static void wsr_pool_poison(struct folio *folio)
{
	kasan_poison_pages(&folio->page, folio_order(folio), false);
}

static void wsr_pool_unpoison(struct folio *folio)
{
	kasan_unpoison_pages(&folio->page, folio_order(folio), false);
}
#elif defined(CONFIG_KASAN_GENERIC)
/*
 * Unpatched 6.1: kasan_poison() is exported by mm/kasan/shadow.c but
 * declared only in the private mm/kasan/kasan.h, and the page-level
 * helpers are not exported (mm-patches/0002 does that).  Use the exported
 * symbol with its 6.1 prototype.  Generic KASAN: shadow value 0 means
 * accessible, 0xFF (KASAN_PAGE_FREE) a freed page.
 */
void kasan_poison(const void *addr, size_t size, u8 value, bool init);
#define WSR_KASAN_PAGE_FREE	0xFF

static void wsr_pool_poison(struct folio *folio)
{
	kasan_poison(folio_address(folio), folio_size(folio),
		     WSR_KASAN_PAGE_FREE, false);
}

static void wsr_pool_unpoison(struct folio *folio)
{
	kasan_poison(folio_address(folio), folio_size(folio), 0, false);
}
#else
static void wsr_pool_poison(struct folio *folio) { }
static void wsr_pool_unpoison(struct folio *folio) { }
#endif

static DEFINE_SPINLOCK(wsr_pool_lock);
/* protected by wsr_pool_lock: free folios (linked by ->lru) and count */
static LIST_HEAD(wsr_pool_list);
static unsigned long wsr_pool_nr;

/**
 * wsr_pool_get() - take a 2 MiB folio
 *
 * Return: an order-9 folio with one reference and unpoisoned, undefined
 * contents, from the pool or the page allocator; NULL if none is available.
 * Context: process context, may sleep.
 */
struct folio *wsr_pool_get(void)
{
	struct folio *folio;

	spin_lock(&wsr_pool_lock);
	folio = list_first_entry_or_null(&wsr_pool_list, struct folio, lru);
	if (folio) {
		list_del_init(&folio->lru);
		wsr_pool_nr--;
	}
	spin_unlock(&wsr_pool_lock);
	if (folio) {
		wsr_pool_unpoison(folio);
		return folio;
	}
	/*
	 * Not movable: the folio is not on the LRU and has no mapping, so it
	 * could not be migrated out of ZONE_MOVABLE.
	 */
	return folio_alloc(GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOWARN,
			   WSR_CHUNK_ORDER);
}

/**
 * wsr_pool_put() - give back a region's 2 MiB folio
 * @folio: folio from wsr_pool_get(); the caller's reference is consumed
 *
 * Context: process context.
 */
void wsr_pool_put(struct folio *folio)
{
	bool keep = false;

	if (folio_ref_freeze(folio, 1)) {
		/* Sole owner: nobody maps or pins it. */
		VM_WARN_ON_ONCE_FOLIO(folio_mapped(folio), folio);
		folio_clear_dirty(folio);
		folio_ref_unfreeze(folio, 1);
		spin_lock(&wsr_pool_lock);
		if (wsr_pool_nr < READ_ONCE(wsr_pool_size)) {
			wsr_pool_poison(folio);
			list_add(&folio->lru, &wsr_pool_list);
			wsr_pool_nr++;
			keep = true;
		}
		spin_unlock(&wsr_pool_lock);
	}
	if (!keep)
		folio_put(folio);
}

/**
 * wsr_pool_trim() - free pooled folios beyond a count
 * @keep: folios to keep
 *
 * Context: process context.
 */
void wsr_pool_trim(unsigned long keep)
{
	struct folio *folio;

	for (;;) {
		spin_lock(&wsr_pool_lock);
		folio = NULL;
		if (wsr_pool_nr > keep) {
			folio = list_first_entry(&wsr_pool_list, struct folio,
						 lru);
			list_del_init(&folio->lru);
			wsr_pool_nr--;
		}
		spin_unlock(&wsr_pool_lock);
		if (!folio)
			break;
		wsr_pool_unpoison(folio);
		folio_put(folio);
	}
}

/**
 * wsr_pool_free() - folios in the pool
 *
 * Return: the number of free 2 MiB folios kept.
 * Context: any.
 */
unsigned long wsr_pool_free(void)
{
	return READ_ONCE(wsr_pool_nr);
}
