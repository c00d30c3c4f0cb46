/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port SPEC, as --port and vhu-ctl add-port give it:
 *
 *   vhost-user:NAME[,path=PATH][,client][,queues=N]
 *   tap:NAME[,ifname=IF][,queues=N][,offloads=on|off]
 *
 * A server port without path= listens on SOCK_DIR/NAME; a client port
 * needs path=; a tap port's interface is NAME unless ifname= says. queues:
 * vhost-user queue pairs offered, or a multi-queue tap's queues. A tap
 * takes checksum and segmentation offloads from the kernel and gives them
 * to it unless offloads=off (then every frame crosses complete).
 */
#ifndef VHU_SWITCH_PORT_SPEC_H
#define VHU_SWITCH_PORT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "sw_core.h"

enum sw_port_type { PORT_VHOST, PORT_TAP };

struct sw_port_spec {
	enum sw_port_type type;
	char name[SW_NAME_MAX];
	char path[SW_PATH_MAX];   /* vhost-user */
	bool client;              /* vhost-user */
	uint16_t queues;          /* vhost-user queue pairs; tap queues */
	char ifname[IFNAMSIZ];    /* tap */
	bool no_offloads;         /* tap: offloads=off */
};

/* 0, or -EINVAL with err set (s is then undefined). */
int sw_port_spec_parse(const char *spec, const char *sock_dir, struct sw_port_spec *s,
		       char *err, size_t errlen);
/* A name with '/' or '\' would reach outside the socket directory. */
bool sw_port_name_has_sep(const char *name, size_t len);

#endif
