/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu-switch's command line (vhu-switch --help prints it). */
#ifndef VHU_SWITCH_OPTS_H
#define VHU_SWITCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "sw_core.h"

struct sw_opts {
	const char *control;       /* control socket */
	const char *sock_dir;      /* server port sockets DIR/NAME */
	unsigned sock_mode;        /* server sockets; 0: the library's 0660 */
	/* --socket-group: the group of the control and server port sockets
	 * (0660 unless --socket-mode); main.c resolves sock_gid at start */
	const char *sock_group;
	gid_t sock_gid;
	int pmd_cpus[SW_MAX_PMDS];
	unsigned nb_pmds;
	bool pinned;
	unsigned mac_age;          /* seconds */
	uint64_t disable;          /* virtio features not offered on vhost-user ports */
	uint64_t disable_proto;    /* vhost-user protocol features not offered */
	bool no_ring_resync;       /* VHU_NO_RING_RESYNC on vhost-user ports */
	/* VHU_DEQUEUE_ZERO_COPY on vhost-user ports (--zero-copy,
	 * --no-zero-copy): a guest's frame reaches another guest in one copy */
	bool zero_copy;
	bool populate_mem;         /* VHU_POPULATE_MEM on vhost-user ports */
	/* The library's control-plane limits, on every vhost-user port's
	 * socket: vhu_driver_set_io_timeout (both kinds of port) and
	 * vhu_driver_set_max_connections (server ports); libvhu's defaults
	 * unless --io-timeout-ms, --max-connections */
	unsigned io_timeout_ms, max_connections;
	const char *db;            /* --db FILE: the configuration kept across restarts */
	const char *ports[SW_MAX_PORTS], *flows[SW_MAX_PORTS];   /* checked when added */
	unsigned nb_ports, nb_flows;
};

#define SW_MAC_AGE_DEFAULT 300
/* Off: in make bench's testpmd loop (bench rows switch-zc against
 * switch-normal, split-mrg, 3 reps of 4 s) zero-copy measured 12.1 against
 * 12.8 Mpps at 64 B and 5.2 against 5.5 at 1518 B: with both guests'
 * buffers in cache, the second copy costs less than holding the buffer. */
#define SW_ZERO_COPY_DEFAULT false
#define SW_MAC_AGE_MAX (86400u * 365)
/* More than any fd limit a switch runs with. */
#define SW_MAX_CONNECTIONS_MAX (1u << 20)

void sw_opts_default(struct sw_opts *o);
/* Fills o (after sw_opts_default) from argv; argv may be reordered.
 * 0: run; 1: --help was asked; -EINVAL: bad, err says why. */
int sw_opts_parse(struct sw_opts *o, int argc, char **argv, char *err, size_t errlen);
/* "1", "0,2", "2-3": one PMD per CPU. 0, or -EINVAL with err set. */
int sw_opts_parse_cpus(struct sw_opts *o, const char *s, char *err, size_t errlen);
void sw_opts_usage(FILE *f);
/* The PMD pinned to cpu, or -1 (none there, or PMDs not pinned). */
int sw_opts_pmd_on_cpu(const struct sw_opts *o, unsigned cpu);

#endif
