/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding database: (VLAN, MAC) -> port, learnt from source
 * addresses.
 *
 * PMDs look up and learn concurrently without a lock. An entry's key packs
 * the MAC (48 bits), the VLAN (12 bits) and two state bits into one 64-bit
 * atomic; where it is (SW_DEST: port and tunnel remote) is a second atomic
 * beside it. A learner reserves a free entry (BUSY), writes dest and time,
 * then publishes the key (VALID) with release; a MAC move is one store of
 * dest. A reader loads the key with acquire, then dest, then the key
 * again: the same key both times means dest belongs to that MAC (the entry was not freed and reused
 * in between). Entries live in a window of FDB_WAYS slots chosen by hash;
 * a window that is full means the MAC is not learnt (its traffic is
 * flooded), never that another entry is evicted under a reader.
 * last_seen is written only when the second changes, so a steady flow does
 * not bounce the cache line between PMDs.
 */
#include <errno.h>
#include <stdio.h>
#include "bridge.h"

#define FDB_SIZE SW_FDB_SIZE
#define FDB_WAYS SW_FDB_WAYS
#define VALID (1ULL << 63)
#define BUSY (1ULL << 62)   /* reserved by a learner, not yet readable */
#define STATIC (1ULL << 61) /* added by the operator: not learnt over, not aged */
#define ID_MASK ((1ULL << 60) - 1)

void sw_fdb_init(struct sw_fdb *fdb)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		atomic_init(&fdb->e[i].key, 0);
		atomic_init(&fdb->e[i].last_seen, 0);
		atomic_init(&fdb->e[i].dest, 0);
	}
}

/* What a key holds besides its state bits. */
static inline uint64_t id_of(const uint8_t *m, uint16_t vlan)
{
	return (uint64_t)(vlan & 0xfff) << 48 | (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 |
	       (uint64_t)m[2] << 24 | (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

static inline unsigned slot_of(uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ULL;
	return (unsigned)(h >> 51) & (FDB_SIZE - 1);
}

#define KEY_MAC(k) ((k) & 0xffffffffffffULL)
#define KEY_VLAN(k) ((uint16_t)(((k) >> 48) & 0xfff))

unsigned sw_fdb_window(const uint8_t *m, uint16_t vlan)
{
	return slot_of(id_of(m, vlan));
}

int32_t sw_fdb_lookup(const struct sw_fdb *fdb, const uint8_t *m, uint16_t vlan)
{
	uint64_t id = id_of(m, vlan);
	const struct sw_fdb_entry *w = &fdb->e[slot_of(id)];

	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_acquire);
		if (!(k & VALID) || (k & ID_MASK) != id)
			continue;
		uint32_t dest = atomic_load_explicit(&w[i].dest, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&w[i].key, memory_order_relaxed) != k)
			return -1; /* freed under us: unknown, which floods */
		return (int32_t)dest;
	}
	return -1;
}

/* "port P" or "port P remote R", for log lines. */
static const char *dest_str(uint32_t d, char *buf, size_t len)
{
	if (SW_DEST_REMOTE(d))
		snprintf(buf, len, "port %u remote %u", SW_DEST_PORT(d), SW_DEST_REMOTE(d));
	else
		snprintf(buf, len, "port %u", SW_DEST_PORT(d));
	return buf;
}

static void refresh(struct sw_fdb_entry *e, const uint8_t *m, uint16_t vlan, uint32_t dest,
		    uint32_t now)
{
	uint32_t old = atomic_load_explicit(&e->dest, memory_order_relaxed);
	if (old != dest) {
		/* The MAC moved (a VM migrated, a cable was replugged, a
		 * station behind a tunnel now sits behind another remote). */
		atomic_store_explicit(&e->dest, dest, memory_order_relaxed);
		char a[40], b[40];
		SW_LOG("fdb: %02x:%02x:%02x:%02x:%02x:%02x vlan %u moved from %s to %s", m[0], m[1],
		       m[2], m[3], m[4], m[5], vlan, dest_str(old, a, sizeof(a)),
		       dest_str(dest, b, sizeof(b)));
	}
	if (atomic_load_explicit(&e->last_seen, memory_order_relaxed) != now)
		atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
}

void sw_fdb_learn(struct sw_fdb *fdb, const uint8_t *m, uint16_t vlan, uint32_t dest,
		  uint32_t now)
{
	uint64_t id = id_of(m, vlan);
	struct sw_fdb_entry *w = &fdb->e[slot_of(id)];
	int free_slot = -1;

	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_acquire);
		if (!(k & (VALID | BUSY))) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if ((k & ID_MASK) != id)
			continue;
		if ((k & (VALID | STATIC)) == VALID)
			refresh(&w[i], m, vlan, dest, now);
		return; /* BUSY: another PMD is learning it right now */
	}
	if (free_slot < 0)
		return;
	uint64_t zero = 0;
	struct sw_fdb_entry *e = &w[free_slot];
	if (!atomic_compare_exchange_strong(&e->key, &zero, BUSY | id))
		return; /* another PMD took the slot; the next packet learns */
	atomic_store_explicit(&e->dest, dest, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	atomic_store_explicit(&e->key, VALID | id, memory_order_release);
	/* Two PMDs learning the same MAC at once into different free slots
	 * may both insert; keep the first copy only. */
	for (int i = 0; i < free_slot; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_relaxed);
		if ((k & (VALID | BUSY)) && (k & ID_MASK) == id) {
			uint64_t mine = VALID | id;
			atomic_compare_exchange_strong(&e->key, &mine, 0);
			break;
		}
	}
}

/* The ctl thread calls this after no PMD can receive from port any more
 * (or, after a VLAN change, in the VLANs it left), so nothing re-learns
 * the port behind its back. */
void sw_fdb_flush_port(struct sw_fdb *fdb, uint16_t port)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if ((k & VALID) && SW_DEST_PORT(atomic_load(&fdb->e[i].dest)) == port)
			atomic_compare_exchange_strong(&fdb->e[i].key, &k, 0);
	}
}

/* The control thread's: one at a time, against PMDs that learn. */
int sw_fdb_add_static(struct sw_fdb *fdb, const uint8_t *m, uint16_t vlan, uint32_t dest)
{
	uint64_t id = id_of(m, vlan);
	struct sw_fdb_entry *w = &fdb->e[slot_of(id)];

	sw_fdb_del(fdb, m, vlan);
	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t zero = 0;
		if (!atomic_compare_exchange_strong(&w[i].key, &zero, BUSY | id))
			continue;
		atomic_store_explicit(&w[i].dest, dest, memory_order_relaxed);
		atomic_store_explicit(&w[i].last_seen, 0, memory_order_relaxed);
		atomic_store_explicit(&w[i].key, VALID | STATIC | id, memory_order_release);
		/* A PMD may have learnt the MAC in an earlier slot meanwhile. */
		for (unsigned j = 0; j < FDB_WAYS; j++) {
			uint64_t k = atomic_load(&w[j].key);
			if (j != i && (k & VALID) && !(k & STATIC) && (k & ID_MASK) == id)
				atomic_compare_exchange_strong(&w[j].key, &k, 0);
		}
		return 0;
	}
	return -ENOSPC;
}

int sw_fdb_del(struct sw_fdb *fdb, const uint8_t *m, uint16_t vlan)
{
	uint64_t id = id_of(m, vlan);
	struct sw_fdb_entry *w = &fdb->e[slot_of(id)];
	int rc = -ENOENT;

	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t k = atomic_load(&w[i].key);
		if ((k & VALID) && (k & ID_MASK) == id &&
		    atomic_compare_exchange_strong(&w[i].key, &k, 0))
			rc = 0;
	}
	return rc;
}

/* Unsigned differences: a clock that wraps still ages right. */
unsigned sw_fdb_age(struct sw_fdb *fdb, uint32_t now, uint32_t max_age)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if (!(k & VALID) || (k & STATIC))
			continue;
		uint32_t seen = atomic_load(&fdb->e[i].last_seen);
		if (now - seen > max_age && atomic_compare_exchange_strong(&fdb->e[i].key, &k, 0)) {
			n++;
			SW_LOG("fdb: %012llx vlan %u on port %u aged out after %u s",
			       (unsigned long long)KEY_MAC(k), KEY_VLAN(k),
			       SW_DEST_PORT(atomic_load(&fdb->e[i].dest)), now - seen);
		}
	}
	return n;
}

void sw_fdb_walk(const struct sw_fdb *fdb,
		 void (*fn)(const uint8_t *mac, uint16_t vlan, uint32_t dest, uint32_t age,
			    void *arg),
		 void *arg, uint32_t now)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if (!(k & VALID))
			continue;
		uint8_t m[6];
		for (int b = 0; b < 6; b++)
			m[b] = (uint8_t)(k >> (40 - 8 * b));
		fn(m, KEY_VLAN(k), atomic_load(&fdb->e[i].dest),
		   (k & STATIC) ? UINT32_MAX : now - atomic_load(&fdb->e[i].last_seen), arg);
	}
}
