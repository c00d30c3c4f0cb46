/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port SPEC, as --port and vhu-ctl add-port give it:
 *
 *   vhost-user:NAME[,path=PATH][,client][,queues=N][,tx-retries=N][,tag=VID|,trunks=LIST][,AFF]
 *   tap:NAME[,ifname=IF][,queues=N][,offloads=on|off][,tag=VID|,trunks=LIST][,AFF]
 *   vxlan:NAME,local=IP,remote=IP[,remote=IP...],vni=N[,dstport=P][,tag=VID|,trunks=LIST][,AFF]
 *   afxdp:NAME,ifname=IF[,queues=N][,mode=auto|native|generic]
 *         [,zerocopy=auto|on|off][,umem-frames=N][,tag=VID|,trunks=LIST][,AFF]
 *   AFF = rxq-affinity=Q:CPU[+Q:CPU...]
 *   each with [,external-ids:KEY=VALUE]... (ext_ids.h)
 *
 * A server port without path= listens on SOCK_DIR/NAME; a client port
 * needs path=; a tap port's interface is NAME unless ifname= says. queues:
 * the most vhost-user queue pairs offered (default VHU_MAX_QUEUE_PAIRS: the
 * guest enables what it wants of them, and only those are polled), or a
 * multi-queue tap's queues (default 1). rxq-affinity: rx queue Q is polled
 * by the PMD on CPU (as --pmd-cpus names CPUs, like OVS's
 * other_config:pmd-rxq-affinity); pairs are joined by '+' because ','
 * ends an option, each Q once and below queues. A
 * takes checksum and segmentation offloads from the kernel and gives them
 * to it unless offloads=off (then every frame crosses complete). tag and
 * trunks: the port's VLAN mode (vlan.h), at most one of them. A vxlan
 * port (vxlan.h) receives on local:dstport (4789) and sends to each remote
 * (up to SW_VXLAN_MAX_REMOTES, of local's family: IPv4, or IPv6 with
 * %IFNAME on a link-local one): its VNI, 0..16777215, is
 * the port's one network; with tag= it is that VLAN on the bridge.
 * tx-retries (OVS's tx-retries-max): how many more enqueue attempts a
 * burst to the guest makes when its ring did not take the whole burst,
 * 0..SW_TX_RETRIES_MAX, SW_TX_RETRIES_DEFAULT unless given
 * (port_vhost.c says how they wait).
 * An afxdp port (docs/afxdp.md) owns queues 0..N-1 of an existing
 * interface through AF_XDP sockets: mode= is how the XDP program is
 * attached (auto: native, else generic), zerocopy= the socket's bind
 * mode (auto: whatever the driver can), umem-frames= the frames of each
 * queue's UMEM (a power of two, SW_XDP_FRAMES_MIN..MAX; half receive,
 * half transmit).
 */
#ifndef VHU_SWITCH_PORT_SPEC_H
#define VHU_SWITCH_PORT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <vhu/vhu.h>
#include "ext_ids.h"
#include "sw_core.h"
#include "vlan.h"
#include "vxlan.h"

enum sw_port_type { PORT_VHOST, PORT_TAP, PORT_VXLAN, PORT_AFXDP };
enum sw_xdp_mode { SW_XDP_AUTO, SW_XDP_NATIVE, SW_XDP_GENERIC };
enum sw_xdp_zc { SW_ZC_AUTO, SW_ZC_ON, SW_ZC_OFF };

#define SW_XDP_FRAMES_MIN 128
#define SW_XDP_FRAMES_MAX 65536
#define SW_XDP_FRAMES_DEFAULT 4096

/* rxq-affinity: rx queue q is pinned to the PMD on CPU cpu[q] when bit q
 * of mask is set. */
struct sw_rxq_affinity {
	uint32_t mask;
	uint16_t cpu[VHU_MAX_QUEUE_PAIRS];
};
#define SW_AFF_FMT_MAX (16 + VHU_MAX_QUEUE_PAIRS * 9)

/* The queues a port of type t has without queues=. */
uint16_t sw_port_default_queues(enum sw_port_type t);
/* Q:CPU[+Q:CPU...] or none into a, each Q below queues. 0, or -EINVAL
 * with err set and a untouched. */
int sw_rxq_affinity_parse(const char *s, uint16_t queues, struct sw_rxq_affinity *a,
			  char *err, size_t errlen);
/* rxq-affinity=... (or "" when nothing is pinned). */
void sw_rxq_affinity_format(const struct sw_rxq_affinity *a, char *buf, size_t len);
#define SW_TX_RETRIES_DEFAULT 8   /* OVS's default */
#define SW_TX_RETRIES_MAX 32      /* and its maximum */

struct sw_port_spec {
	enum sw_port_type type;
	char name[SW_NAME_MAX];
	char path[SW_PATH_MAX];   /* vhost-user */
	bool client;              /* vhost-user */
	uint8_t tx_retries;       /* vhost-user */
	uint16_t queues;          /* vhost-user queue pairs; tap queues */
	struct sw_rxq_affinity aff;
	char ifname[IFNAMSIZ];    /* tap, afxdp */
	bool no_offloads;         /* tap: offloads=off */
	struct sw_vlan vlan;
	/* vxlan */
	struct sw_ip local, remote[SW_VXLAN_MAX_REMOTES];
	unsigned nremote;
	uint32_t vni;
	uint16_t dstport;
	struct sw_ext_ids ext;
	/* afxdp */
	enum sw_xdp_mode xdp_mode;
	enum sw_xdp_zc zerocopy;
	uint32_t umem_frames;
};

/* 0, or -EINVAL with err set (s is then undefined). */
int sw_port_spec_parse(const char *spec, const char *sock_dir, struct sw_port_spec *s,
		       char *err, size_t errlen);
/* s as the spec that makes it again (options at their defaults left
 * out; a server port's path too when it is sock_dir/NAME). 0, or
 * -ENOSPC when len is too small. */
int sw_port_spec_format(const struct sw_port_spec *s, const char *sock_dir, char *buf,
			size_t len);
/* set-port NAME OPTS: what may change on a running port (its VLAN mode:
 * tag=VID|none, trunks=LIST|none; rxq-affinity=LIST|none;
 * external-ids:KEY=VALUE, an empty VALUE removing KEY; tx-retries=N on a
 * vhost-user port), comma separated, applied in order to s. 0, or -EINVAL
 * with err set and s untouched. */
int sw_port_set_parse(const char *opts, struct sw_port_spec *s, char *err, size_t errlen);
/* A name with '/' or '\' would reach outside the socket directory. */
bool sw_port_name_has_sep(const char *name, size_t len);

#endif
