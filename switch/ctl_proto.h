/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control protocol between vhu-ctl and vhu-switch, the one place both
 * sides take it from.
 *
 * Framing: a unix stream socket, one request per connection. The client
 * sends one line of at most VHU_CTL_LINE_MAX bytes, words separated by
 * spaces or tabs (so no word may contain one), ending in '\n'. The switch
 * answers with text lines and a last line "OK" or "ERR why", then closes.
 *
 * With --db, the switch writes what add-port, del-port, set-port, add-flow
 * and del-flows changed to its file before answering (static fdb entries
 * are runtime state, as OVS's fdb/add is).
 *
 * Requests, as they travel (vhu-ctl's own command line differs only for
 * capture, whose --count and --timeout become the two numbers):
 *   add-port [--may-exist] SPEC | del-port [--if-exists] NAME |
 *   set-port NAME OPTS | find-port external-id:KEY=VALUE | show |
 *   stats [NAME] [--json | --prometheus] | fdb | add-fdb PORT MAC [vlan=N] [remote=IP] |
 *   del-fdb MAC [vlan=N] |
 *   add-flow FLOW | del-flows [in_port=NAME] | dump-flows |
 *   capture NAME FILE COUNT TIMEOUT_S     (FILE absolute) |
 *   pmd-stats | pmd-rxq-show | pmd-stats-clear | pmd-rxq-rebalance
 */
#ifndef VHU_SWITCH_CTL_PROTO_H
#define VHU_SWITCH_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Where the switch's sockets live unless told otherwise: server port
 * sockets DIR/NAME and the control socket. Created 0755 when missing. */
#define VHU_SWITCH_RUN_DIR "/run/vhu"
#define VHU_CTL_DEFAULT_PATH VHU_SWITCH_RUN_DIR "/vhu-switch.ctl"

#define VHU_CTL_LINE_MAX 4096      /* request line, '\n' included */
/* The longest port SPEC: what fits an add-port request (and a --db line). */
#define VHU_CTL_SPEC_MAX (VHU_CTL_LINE_MAX - sizeof("add-port --may-exist \n"))
#define VHU_CTL_MAX_WORDS 8        /* command and its arguments */
#define VHU_CTL_RECV_TIMEOUT_S 5   /* for the request line to arrive */
#define VHU_CTL_REPLY_OK "OK"
#define VHU_CTL_REPLY_ERR "ERR "   /* followed by the reason */

/* capture: how many packets and for how long at most. */
#define VHU_CTL_CAPTURE_COUNT 100
#define VHU_CTL_CAPTURE_TIMEOUT_S 10
#define VHU_CTL_CAPTURE_MAX_S 3600

enum vhu_ctl_cmd {
	VHU_CTL_ADD_PORT, VHU_CTL_DEL_PORT, VHU_CTL_SET_PORT, VHU_CTL_FIND_PORT, VHU_CTL_SHOW,
	VHU_CTL_STATS, VHU_CTL_FDB,
	VHU_CTL_ADD_FDB, VHU_CTL_DEL_FDB, VHU_CTL_PMD_STATS, VHU_CTL_PMD_RXQ_SHOW,
	VHU_CTL_PMD_STATS_CLEAR, VHU_CTL_PMD_RXQ_REBALANCE,
	VHU_CTL_ADD_FLOW, VHU_CTL_DEL_FLOWS, VHU_CTL_DUMP_FLOWS, VHU_CTL_CAPTURE,
};

struct vhu_ctl_req {
	const char *name;
	enum vhu_ctl_cmd cmd;
	unsigned min_args, max_args;   /* words after the name, on the wire */
	bool changes;                  /* what it changes is kept in --db */
};

/* The request named name, or NULL. */
static inline const struct vhu_ctl_req *vhu_ctl_req_find(const char *name)
{
	static const struct vhu_ctl_req reqs[] = {
		{ "add-port", VHU_CTL_ADD_PORT, 1, 2, true },
		{ "del-port", VHU_CTL_DEL_PORT, 1, 2, true },
		{ "set-port", VHU_CTL_SET_PORT, 2, 2, true },
		{ "find-port", VHU_CTL_FIND_PORT, 1, 1, false },
		{ "show", VHU_CTL_SHOW, 0, 0, false },
		{ "stats", VHU_CTL_STATS, 0, 2, false },
		{ "fdb", VHU_CTL_FDB, 0, 0, false },
		{ "add-fdb", VHU_CTL_ADD_FDB, 2, 4, false },
		{ "del-fdb", VHU_CTL_DEL_FDB, 1, 2, false },
		{ "add-flow", VHU_CTL_ADD_FLOW, 1, 1, true },
		{ "del-flows", VHU_CTL_DEL_FLOWS, 0, 1, true },
		{ "dump-flows", VHU_CTL_DUMP_FLOWS, 0, 0, false },
		{ "capture", VHU_CTL_CAPTURE, 4, 4, false },
		{ "pmd-stats", VHU_CTL_PMD_STATS, 0, 0, false },
		{ "pmd-rxq-show", VHU_CTL_PMD_RXQ_SHOW, 0, 0, false },
		{ "pmd-stats-clear", VHU_CTL_PMD_STATS_CLEAR, 0, 0, false },
		{ "pmd-rxq-rebalance", VHU_CTL_PMD_RXQ_REBALANCE, 0, 0, false },
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		if (strcmp(reqs[i].name, name) == 0)
			return &reqs[i];
	return NULL;
}

#endif
