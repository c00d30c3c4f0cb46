/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port's external-ids: free-form KEY=VALUE pairs an orchestrator sets
 * (OVS's external_ids, e.g. iface-id=UUID) to find its ports again with
 * vhu-ctl find-port. They live in the port's spec (and so in the --db
 * file); forwarding never reads them.
 *
 * Bounds, so that a port's spec stays one request line: at most
 * SW_EXT_IDS_MAX pairs a port, a KEY of 1..SW_EXT_ID_KEY_MAX bytes of
 * [A-Za-z0-9_.:-], a VALUE of 1..SW_EXT_ID_VAL_MAX printable ASCII bytes
 * without blanks, ',' (it ends a spec option), '"' or '\' (so that no
 * output has to quote them).
 */
#ifndef VHU_SWITCH_EXT_IDS_H
#define VHU_SWITCH_EXT_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define SW_EXT_IDS_MAX 8
#define SW_EXT_ID_KEY_MAX 32
#define SW_EXT_ID_VAL_MAX 128
/* The spec option; find-port also takes OVS's singular "external-id:". */
#define SW_EXT_IDS_OPT "external-ids:"

struct sw_ext_id {
	char key[SW_EXT_ID_KEY_MAX + 1], val[SW_EXT_ID_VAL_MAX + 1];
};

/* In the order they were first set. */
struct sw_ext_ids {
	unsigned n;
	struct sw_ext_id id[SW_EXT_IDS_MAX];
};

/* The length of the "external-ids:" or "external-id:" that tok starts
 * with, or 0. */
size_t sw_ext_id_prefix(const char *tok);
/* "KEY=VALUE" (after the prefix) into id; empty_ok: VALUE may be empty
 * (set-port's way to remove KEY). 0, or -EINVAL with err set. */
int sw_ext_id_parse(const char *kv, bool empty_ok, struct sw_ext_id *id, char *err,
		    size_t errlen);
/* Sets id's KEY to its VALUE, or removes KEY when VALUE is empty. 0, or
 * -EINVAL with err set and ids untouched when there is no room. */
int sw_ext_ids_set(struct sw_ext_ids *ids, const struct sw_ext_id *id, char *err,
		   size_t errlen);
/* KEY's VALUE, or NULL. */
const char *sw_ext_ids_get(const struct sw_ext_ids *ids, const char *key);

#endif
