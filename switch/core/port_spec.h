/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A port SPEC, as --port and vhu-ctl add-port give it:
 *
 *   vhost-user:NAME[,path=PATH][,client][,queues=N][,tag=VID|,trunks=LIST]
 *   tap:NAME[,ifname=IF][,queues=N][,offloads=on|off][,tag=VID|,trunks=LIST]
 *   vxlan:NAME,local=IP,remote=IP[,remote=IP...],vni=N[,dstport=P][,tag=VID|,trunks=LIST]
 *   afxdp:NAME,ifname=IF[,queues=N][,mode=auto|native|generic]
 *         [,zerocopy=auto|on|off][,umem-frames=N][,tag=VID|,trunks=LIST]
 *
 * A server port without path= listens on SOCK_DIR/NAME; a client port
 * needs path=; a tap port's interface is NAME unless ifname= says. queues:
 * vhost-user queue pairs offered, or a multi-queue tap's queues. A tap
 * takes checksum and segmentation offloads from the kernel and gives them
 * to it unless offloads=off (then every frame crosses complete). tag and
 * trunks: the port's VLAN mode (vlan.h), at most one of them. A vxlan
 * port (vxlan.h) receives on local:dstport (4789) and sends to each remote
 * (up to SW_VXLAN_MAX_REMOTES, of local's family: IPv4, or IPv6 with
 * %IFNAME on a link-local one): its VNI, 0..16777215, is
 * the port's one network; with tag= it is that VLAN on the bridge.
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
#include "sw_core.h"
#include "vlan.h"
#include "vxlan.h"

enum sw_port_type { PORT_VHOST, PORT_TAP, PORT_VXLAN, PORT_AFXDP };
enum sw_xdp_mode { SW_XDP_AUTO, SW_XDP_NATIVE, SW_XDP_GENERIC };
enum sw_xdp_zc { SW_ZC_AUTO, SW_ZC_ON, SW_ZC_OFF };

#define SW_XDP_FRAMES_MIN 128
#define SW_XDP_FRAMES_MAX 65536
#define SW_XDP_FRAMES_DEFAULT 4096

struct sw_port_spec {
	enum sw_port_type type;
	char name[SW_NAME_MAX];
	char path[SW_PATH_MAX];   /* vhost-user */
	bool client;              /* vhost-user */
	uint16_t queues;          /* vhost-user queue pairs; tap queues */
	char ifname[IFNAMSIZ];    /* tap, afxdp */
	bool no_offloads;         /* tap: offloads=off */
	struct sw_vlan vlan;
	/* vxlan */
	struct sw_ip local, remote[SW_VXLAN_MAX_REMOTES];
	unsigned nremote;
	uint32_t vni;
	uint16_t dstport;
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
/* set-port NAME OPTS: what may change on a running port, today its VLAN
 * mode (tag=VID|none, trunks=LIST|none, comma separated, applied in
 * order) into v. 0, or -EINVAL with err set and v untouched. */
int sw_port_set_parse(const char *name, const char *opts, struct sw_vlan *v, char *err,
		      size_t errlen);
/* A name with '/' or '\' would reach outside the socket directory. */
bool sw_port_name_has_sep(const char *name, size_t len);

#endif
