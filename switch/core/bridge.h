/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The learning bridge: the forwarding database ((VLAN, MAC) -> port slot,
 * learnt from source addresses, aged by the caller's clock) and the
 * decision for one frame: one output port, flood, or nowhere. The VLAN of
 * a frame is vlan.h's business; here it is part of the key, so the same
 * MAC in two VLANs is two stations.
 *
 * PMDs look up and learn concurrently without a lock (bridge.c says how);
 * aging, flushing and walking run on one other thread at a time.
 */
#ifndef VHU_SWITCH_BRIDGE_H
#define VHU_SWITCH_BRIDGE_H

#include <stdatomic.h>
#include <stdint.h>
#include "sw_core.h"

#define SW_FDB_SIZE 8192   /* hash slots */
#define SW_FDB_WAYS 8      /* a MAC lives in the window of WAYS entries at its slot */

struct sw_fdb_entry {
	_Atomic uint64_t key;          /* state bits, VLAN, MAC */
	_Atomic uint32_t last_seen;    /* the caller's seconds */
	_Atomic uint32_t dest;         /* SW_DEST */
};

/* Where a MAC is: a port slot, and for a tunnel port which of its remotes
 * (1-based; 0 for other ports), in one word so both change together. */
#define SW_DEST(port, remote) ((uint32_t)(port) | (uint32_t)(remote) << 16)
#define SW_DEST_PORT(d) ((uint16_t)((d) & 0xffff))
#define SW_DEST_REMOTE(d) ((uint16_t)((uint32_t)(d) >> 16))

struct sw_fdb {
	struct sw_fdb_entry e[SW_FDB_SIZE + SW_FDB_WAYS];
};

void sw_fdb_init(struct sw_fdb *fdb);
/* Learns (or moves, or refreshes) mac in vlan at dest (SW_DEST) at time
 * now. A full window leaves the MAC unlearnt: its traffic floods. */
void sw_fdb_learn(struct sw_fdb *fdb, const uint8_t *mac, uint16_t vlan, uint32_t dest,
		  uint32_t now);
/* Where mac in vlan is (SW_DEST), or -1 when unknown. */
int32_t sw_fdb_lookup(const struct sw_fdb *fdb, const uint8_t *mac, uint16_t vlan);
/* Forgets every MAC of port, static ones included. */
void sw_fdb_flush_port(struct sw_fdb *fdb, uint16_t port);
/* A static entry (vhu-ctl add-fdb): mac in vlan is at dest until deleted
 * or its port goes; learning does not move it, ageing does not remove it.
 * Replaces a learnt entry of the same MAC. 0, or -ENOSPC when its window
 * is full of other MACs. */
int sw_fdb_add_static(struct sw_fdb *fdb, const uint8_t *mac, uint16_t vlan, uint32_t dest);
/* Forgets mac in vlan, static or learnt: 0, or -ENOENT. */
int sw_fdb_del(struct sw_fdb *fdb, const uint8_t *mac, uint16_t vlan);
/* Forgets what was not seen for more than max_age seconds; returns how many. */
unsigned sw_fdb_age(struct sw_fdb *fdb, uint32_t now, uint32_t max_age);
/* Calls fn for each entry with its age in seconds. */
/* age is UINT32_MAX for a static entry. */
void sw_fdb_walk(const struct sw_fdb *fdb,
		 void (*fn)(const uint8_t *mac, uint16_t vlan, uint32_t dest, uint32_t age,
			    void *arg),
		 void *arg, uint32_t now);
/* First entry of the window of mac in vlan (tests fill one on purpose). */
unsigned sw_fdb_window(const uint8_t *mac, uint16_t vlan);

/* Where a frame goes: a dest (SW_DEST, >= 0) or one of these. */
#define SW_TO_FLOOD (-1)   /* every live port but the input (sw_bridge_flood) */
#define SW_TO_NONE (-2)    /* the destination is behind the input port */
#define SW_TO_RUNT (-3)    /* shorter than an Ethernet header: dropped */

/* The bridge on one frame of len bytes from in (SW_DEST: the slot, and
 * the remote for a tunnel port), in vlan. live: the slots that hold a
 * port; a learnt port that is gone floods. Learns the source unless it is
 * a group address (not a station). */
static inline int32_t sw_bridge_decide(struct sw_fdb *fdb, const uint8_t *frame, uint32_t len,
				       uint16_t vlan, uint32_t in, uint64_t live, uint32_t now)
{
	if (len < 14)
		return SW_TO_RUNT;
	if (!(frame[6] & 1))
		sw_fdb_learn(fdb, frame + 6, vlan, in, now);
	if (frame[0] & 1)
		return SW_TO_FLOOD;
	int32_t d = sw_fdb_lookup(fdb, frame, vlan);
	uint16_t o = SW_DEST_PORT(d);
	if (d < 0 || o >= SW_MAX_PORTS || !((live >> o) & 1))
		return SW_TO_FLOOD;
	return o == SW_DEST_PORT(in) ? SW_TO_NONE : d;
}

/* The ports a flooded frame from in goes to: the nb_live slots of live[]
 * but in, into out[]. Returns how many. (The switch narrows this to the
 * ports of the frame's VLAN.) */
static inline unsigned sw_bridge_flood(const uint16_t *live, unsigned nb_live, uint16_t in,
				       uint16_t *out)
{
	unsigned n = 0;
	for (unsigned k = 0; k < nb_live; k++)
		if (live[k] != in)
			out[n++] = live[k];
	return n;
}

#endif
