// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Merging drained histogram entries into the recording by key, and the set
 * of stack ids it holds (rec_store.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_store.h"
#include "util.h"

/* Positions (+1; 0 is empty) of one array's elements, found by their key:
 * open addressing, so a slot is 4 bytes, and the array may move. */
struct key_index {
	__u32 *slots;
	size_t cap;
	size_t nr;
};

struct rec_store {
	struct key_index offcpu;
	struct key_index locks;
	struct key_index holders;
	struct id_set stack_ids;
};

/* Keys are multiples of 8 bytes, zero-padded by the BPF side. */
static size_t key_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	__u64 h = 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t key_slot(const struct key_index *ix, const void *base, size_t elem_size,
		       const void *key, size_t key_size)
{
	size_t i = key_hash(key, key_size) & (ix->cap - 1);
	const char *elems = base;

	while (ix->slots[i] &&
	       memcmp(elems + (size_t)(ix->slots[i] - 1) * elem_size, key, key_size))
		i = (i + 1) & (ix->cap - 1);
	return i;
}

static int key_index_grow(struct key_index *ix, const void *base, size_t elem_size,
			  size_t key_size)
{
	struct key_index bigger = { .cap = ix->cap ? ix->cap * 2 : 1024, .nr = ix->nr };
	const char *elems = base;
	size_t i;

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (i = 0; i < ix->cap; i++) {
		const void *key;

		if (!ix->slots[i])
			continue;
		key = elems + (size_t)(ix->slots[i] - 1) * elem_size;
		bigger.slots[key_slot(&bigger, base, elem_size, key, key_size)] = ix->slots[i];
	}
	free(ix->slots);
	*ix = bigger;
	return 0;
}

/*
 * The element of arr (nr elements, key first) with this key, appended as a
 * zeroed element with the key when there is none; NULL when out of memory.
 * The index must have seen every element: arrays merged into are filled
 * only here.
 */
static void *key_index_get(struct key_index *ix, void **arr, size_t *nr, size_t elem_size,
			   const void *key, size_t key_size)
{
	size_t slot;
	char *elem;

	if ((ix->nr + 1) * 2 > ix->cap && key_index_grow(ix, *arr, elem_size, key_size))
		return NULL;
	slot = key_slot(ix, *arr, elem_size, key, key_size);
	if (ix->slots[slot])
		return (char *)*arr + (size_t)(ix->slots[slot] - 1) * elem_size;
	if (*nr >= UINT32_MAX - 1)
		return NULL;
	elem = array_push(arr, nr, elem_size);
	if (!elem)
		return NULL;
	memcpy(elem, key, key_size);
	ix->slots[slot] = (__u32)*nr;	/* the new element's position + 1 */
	ix->nr++;
	return elem;
}

static struct rec_store *store_of(struct recording *rec)
{
	if (!rec->store)
		rec->store = calloc(1, sizeof(*rec->store));
	return rec->store;
}

void rec_store_free(struct rec_store *store)
{
	if (!store)
		return;
	free(store->offcpu.slots);
	free(store->locks.slots);
	free(store->holders.slots);
	id_set_free(&store->stack_ids);
	free(store);
}

int rec_merge_offcpu(struct recording *rec, const struct offcpu_key *key,
		     const struct offcpu_val *val)
{
	struct rec_store *s = store_of(rec);
	struct offcpu_key k = *key;
	struct rec_offcpu *o;

	if (!s)
		return -ENOMEM;
	k.comm[TASK_COMM_LEN - 1] = '\0';
	o = key_index_get(&s->offcpu, (void **)&rec->offcpu, &rec->nr_offcpu, sizeof(*o), &k,
			  sizeof(k));
	if (!o)
		return -ENOMEM;
	o->val.count += val->count;
	o->val.total_ns += val->total_ns;
	o->val.blocked_ns += val->blocked_ns;
	if (val->max_ns > o->val.max_ns)
		o->val.max_ns = val->max_ns;
	return 0;
}

int rec_merge_lock(struct recording *rec, const struct lock_key *key, const struct lock_val *val)
{
	struct rec_store *s = store_of(rec);
	struct rec_lock *l;

	if (!s)
		return -ENOMEM;
	l = key_index_get(&s->locks, (void **)&rec->locks, &rec->nr_locks, sizeof(*l), key,
			  sizeof(*key));
	if (!l)
		return -ENOMEM;
	l->val.count += val->count;
	l->val.total_ns += val->total_ns;
	l->val.runnable_ns += val->runnable_ns;
	if (val->max_ns > l->val.max_ns)
		l->val.max_ns = val->max_ns;
	return 0;
}

int rec_merge_lock_holder(struct recording *rec, const struct lock_holder_key *key,
			  const struct lock_holder_val *val)
{
	struct rec_store *s = store_of(rec);
	struct rec_lock_holder *h;

	if (!s)
		return -ENOMEM;
	h = key_index_get(&s->holders, (void **)&rec->lock_holders, &rec->nr_lock_holders,
			  sizeof(*h), key, sizeof(*key));
	if (!h)
		return -ENOMEM;
	h->val.wakes += val->wakes;
	h->val.woken += val->woken;
	h->val.woken_wait_ns += val->woken_wait_ns;
	return 0;
}

bool rec_has_stack_id(const struct recording *rec, __u64 id)
{
	return rec->store && id_set_has(&rec->store->stack_ids, id);
}

int rec_store_stack(struct recording *rec, __u64 id, __u32 flags, __u32 nr, const __u64 *ips)
{
	struct rec_store *s = store_of(rec);
	int err;

	if (!s)
		return -ENOMEM;
	if (!id || id_set_has(&s->stack_ids, id))
		return 0;
	err = rec_add_stack(rec, id, flags, nr, ips);
	if (!err)
		err = id_set_add(&s->stack_ids, id);
	return err;
}
