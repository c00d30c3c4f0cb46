/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding database: MAC -> port, learnt from source addresses.
 *
 * PMDs look up and learn concurrently without a lock. Each entry packs the
 * MAC (48 bits), the port index (15 bits) and a valid bit into one 64-bit
 * atomic, so a reader always sees a MAC with the port it belongs to, and a
 * MAC move is one store. Entries live in a window of FDB_WAYS slots chosen
 * by hash; a window that is full means the MAC is not learnt (its traffic
 * is flooded), never that another entry is evicted under a reader.
 * last_seen is written only when the second changes, so a steady flow does
 * not bounce the cache line between PMDs.
 */
#include "bridge.h"

#define FDB_SIZE SW_FDB_SIZE
#define FDB_WAYS SW_FDB_WAYS
#define VALID (1ULL << 63)

void sw_fdb_init(struct sw_fdb *fdb)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		atomic_init(&fdb->e[i].key, 0);
		atomic_init(&fdb->e[i].last_seen, 0);
	}
}

static inline uint64_t mac64(const uint8_t *m)
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
	       (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

static inline unsigned slot_of(uint64_t mac)
{
	uint64_t h = mac * 0x9e3779b97f4a7c15ULL;
	return (unsigned)(h >> 51) & (FDB_SIZE - 1);
}

#define KEY_MAC(k) ((k) & 0xffffffffffffULL)
#define KEY_PORT(k) ((uint16_t)(((k) >> 48) & 0x7fff))

unsigned sw_fdb_window(const uint8_t *m)
{
	return slot_of(mac64(m));
}

int sw_fdb_lookup(const struct sw_fdb *fdb, const uint8_t *m)
{
	uint64_t mac = mac64(m);
	const struct sw_fdb_entry *w = &fdb->e[slot_of(mac)];

	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_relaxed);
		if ((k & VALID) && KEY_MAC(k) == mac)
			return KEY_PORT(k);
	}
	return -1;
}

void sw_fdb_learn(struct sw_fdb *fdb, const uint8_t *m, uint16_t port, uint32_t now)
{
	uint64_t mac = mac64(m), want = VALID | (uint64_t)(port & 0x7fff) << 48 | mac;
	struct sw_fdb_entry *w = &fdb->e[slot_of(mac)];
	int free_slot = -1;

	for (unsigned i = 0; i < FDB_WAYS; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_relaxed);
		if (!(k & VALID)) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (KEY_MAC(k) != mac)
			continue;
		if (k != want) {
			/* The MAC moved (a VM migrated, a cable was replugged). */
			atomic_store_explicit(&w[i].key, want, memory_order_relaxed);
			SW_LOG("fdb: %02x:%02x:%02x:%02x:%02x:%02x moved from port %u to port %u",
			       m[0], m[1], m[2], m[3], m[4], m[5], KEY_PORT(k), port);
		}
		if (atomic_load_explicit(&w[i].last_seen, memory_order_relaxed) != now)
			atomic_store_explicit(&w[i].last_seen, now, memory_order_relaxed);
		return;
	}
	if (free_slot < 0)
		return;
	uint64_t zero = 0;
	atomic_store_explicit(&w[free_slot].last_seen, now, memory_order_relaxed);
	if (!atomic_compare_exchange_strong(&w[free_slot].key, &zero, want))
		return; /* another PMD took the slot; the next packet learns */
	/* Two PMDs learning the same MAC at once may both insert; keep the
	 * first copy only. */
	for (int i = 0; i < free_slot; i++) {
		uint64_t k = atomic_load_explicit(&w[i].key, memory_order_relaxed);
		if ((k & VALID) && KEY_MAC(k) == mac) {
			atomic_compare_exchange_strong(&w[free_slot].key, &want, 0);
			break;
		}
	}
}

/* The ctl thread calls this after no PMD can receive from port any more,
 * so nothing re-learns the port behind its back. */
void sw_fdb_flush_port(struct sw_fdb *fdb, uint16_t port)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if ((k & VALID) && KEY_PORT(k) == port)
			atomic_compare_exchange_strong(&fdb->e[i].key, &k, 0);
	}
}

/* Unsigned differences: a clock that wraps still ages right. */
unsigned sw_fdb_age(struct sw_fdb *fdb, uint32_t now, uint32_t max_age)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if (!(k & VALID))
			continue;
		uint32_t seen = atomic_load(&fdb->e[i].last_seen);
		if (now - seen > max_age && atomic_compare_exchange_strong(&fdb->e[i].key, &k, 0)) {
			n++;
			SW_LOG("fdb: %012llx on port %u aged out after %u s",
			       (unsigned long long)KEY_MAC(k), KEY_PORT(k), now - seen);
		}
	}
	return n;
}

void sw_fdb_walk(const struct sw_fdb *fdb,
		 void (*fn)(const uint8_t *mac, uint16_t port, uint32_t age, void *arg),
		 void *arg, uint32_t now)
{
	for (unsigned i = 0; i < FDB_SIZE + FDB_WAYS; i++) {
		uint64_t k = atomic_load(&fdb->e[i].key);
		if (!(k & VALID))
			continue;
		uint8_t m[6];
		for (int b = 0; b < 6; b++)
			m[b] = (uint8_t)(k >> (40 - 8 * b));
		fn(m, KEY_PORT(k), now - atomic_load(&fdb->e[i].last_seen), arg);
	}
}
