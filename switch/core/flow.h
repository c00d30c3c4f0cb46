/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port flows: one rule per input port that overrides the learning bridge,
 * the OpenFlow rules OVS users write with ovs-ofctl for a cross-connect:
 *
 *   in_port=NAME,actions=output:NAME | drop | normal
 *
 * Precedence, as sw_flow_resolve() applies it:
 *  1. a port with a rule is governed by it; a port without one learns;
 *  2. normal: the bridge decides (the rule still counts the packets);
 *  3. drop: dropped;
 *  4. output:NAME to a port that exists and is not the input: sent there,
 *     whatever the MACs say;
 *  5. output to a port that is gone, or to the input port itself: dropped
 *     (OVS drops an output to a missing ofport, and needs the in_port
 *     action to send back where a frame came from);
 *  6. a rule whose input port is gone does nothing until a port of that
 *     name is back: rules name ports, not slots, so they outlive them;
 *  7. a new rule for an input port replaces the old one.
 */
#ifndef VHU_SWITCH_FLOW_H
#define VHU_SWITCH_FLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sw_core.h"

enum sw_flow_action { FLOW_OUTPUT, FLOW_DROP, FLOW_NORMAL };

/* Counters: PMDs add once per burst. */
struct sw_flow {
	char in[SW_NAME_MAX];
	enum sw_flow_action action;
	char out[SW_NAME_MAX];
	_Atomic uint64_t packets, bytes;
};

/* What happens to a burst from one input slot: no flow (learning bridge),
 * or the flow and where it sends, resolved to a slot. */
#define SW_FWD_NORMAL (-1)
#define SW_FWD_DROP (-2)
struct sw_fwd {
	struct sw_flow *flow;
	int16_t out;
};

/* At most one rule per input port, so SW_MAX_PORTS rules. */
struct sw_flow_table {
	struct sw_flow *rule[SW_MAX_PORTS];
};

/* Parses spec into f (its counters untouched). 0, or -EINVAL with err set. */
int sw_flow_parse(const char *spec, struct sw_flow *f, char *err, size_t errlen);
/* f as the spec that makes it: "in_port=A,actions=output:B|drop|normal". */
void sw_flow_format(const struct sw_flow *f, char *buf, size_t len);
/* Puts f in the table, in place of the rule of the same input port if any
 * (*old: that rule, or NULL). Returns the index used, or -ENOSPC. */
int sw_flow_put(struct sw_flow_table *t, struct sw_flow *f, struct sw_flow **old);
/* Takes the rules of input port in (NULL: all) out of the table into
 * gone[SW_MAX_PORTS]; returns how many. */
unsigned sw_flow_take(struct sw_flow_table *t, const char *in, struct sw_flow **gone);
/* Puts n rules taken by sw_flow_take back. */
void sw_flow_put_back(struct sw_flow_table *t, struct sw_flow **gone, unsigned n);
/* Fills fwd[] (by input slot) from the table; names[slot] is the name of
 * the port in that slot, NULL for an empty slot. */
void sw_flow_resolve(const struct sw_flow_table *t, const char *const names[SW_MAX_PORTS],
		     struct sw_fwd fwd[SW_MAX_PORTS]);

#endif
