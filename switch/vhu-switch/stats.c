/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counting a burst (stats_count), and the text of show and fdb replies
 * (what the counters mean and stats' forms: counters.c; an afxdp port
 * adds its own, port_afxdp_io.c, and the kernel's).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/pkt.h>
#include "feature_names.h"
#include "sw.h"

uint64_t stats_count(struct sw_qstats *s, struct vhu_pkt **pkts, uint16_t n,
		     uint16_t dropped)
{
	uint64_t bytes = 0;

	/* The size bins' counts, 9 bits each in one word (a register; an
	 * array indexed by each frame's bin would chain loads and stores),
	 * added up at most 511 frames at a time so that none carries. */
	for (uint16_t i = 0; i < n;) {
		uint16_t end = n - i > 511 ? i + 511 : n;
		uint64_t bins = 0;
		for (; i < end; i++) {
			uint32_t len = pkts[i]->pkt_len;
			bytes += len;
			bins += 1ull << (9 * sw_size_bin(len));
		}
		for (unsigned b = 0; b < SW_SIZE_BINS; b++, bins >>= 9)
			if (bins & 511)
				atomic_fetch_add_explicit(&s->size[b], bins & 511, memory_order_relaxed);
	}
	if (n) {
		atomic_fetch_add_explicit(&s->packets, n, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed);
	}
	if (dropped)
		atomic_fetch_add_explicit(&s->dropped, dropped, memory_order_relaxed);
	return bytes;
}

void out_printf(struct sw_out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->buf && (size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
		char *b = realloc(o->buf, cap);
		if (!b)
			return;
		o->buf = b;
		o->cap = cap;
	}
}

const char *port_state_name(const struct port *p)
{
	static const char *const n[] = { "down", "connected", "running" };
	int s = atomic_load(&p->state);
	return s >= 0 && s <= PS_RUNNING ? n[s] : "?";
}

const char *port_type_name(const struct port *p)
{
	static const char *const n[] = { [PORT_VHOST] = "vhost-user", [PORT_TAP] = "tap",
					 [PORT_VXLAN] = "vxlan", [PORT_AFXDP] = "afxdp" };
	return n[p->type];
}

/* After a port's lines: its external-ids, when it has any. */
static void show_ext_ids(struct sw_out *o, const struct port *p) SW_REQUIRES(sw_ctl_lock)
{
	if (!p->spec.ext.n)
		return;
	out_printf(o, "  external-ids");
	for (unsigned i = 0; i < p->spec.ext.n; i++)
		out_printf(o, " %s=%s", p->spec.ext.id[i].key, p->spec.ext.id[i].val);
	out_printf(o, "\n");
}

static void show_port(struct sw_out *o, const struct port *p) SW_REQUIRES(sw_ctl_lock)
{
	char vlan[128];
	sw_vlan_format(&p->spec.vlan, vlan, sizeof(vlan));
	out_printf(o, "port %s: type %s state %s vlan %s", p->name, port_type_name(p),
		   port_state_name(p), vlan);
	char ol[64];
	sw_ol_names(atomic_load(&p->ol_caps), ol, sizeof(ol));
	if (p->type == PORT_TAP) {
		out_printf(o, " ifname %s queues %u offloads [%s]\n", p->ifname, p->queues, ol);
		return;
	}
	if (p->type == PORT_AFXDP) {
		out_printf(o, " ifname %s queues %u xdp %s sockets %s umem-frames %u\n", p->ifname,
			   p->queues, afxdp_mode(p), afxdp_zerocopy(p) ? "zero-copy" : "copy",
			   p->spec.umem_frames);
		return;
	}
	if (p->type == PORT_VXLAN) {
		char a[SW_IP_STRLEN];
		out_printf(o, " local %s port %u vni %u queues %u remotes",
			   sw_ip_str(&p->vx.local, a, sizeof(a)), p->vx.dstport, p->vx.vni,
			   p->queues);
		for (unsigned r = 0; r < p->vx.nremote; r++)
			out_printf(o, " %s(mtu %u)", sw_ip_str(&p->vx.remote[r], a, sizeof(a)),
				   p->vx.mtu[r]);
		const struct port *r = vxlan_group_reader(atomic_load(&sw_conf), p);
		if (r != p)
			out_printf(o, " received by %s", r->name);
		out_printf(o, "\n");
		return;
	}
	uint64_t f = atomic_load(&p->features);
	out_printf(o, " %s %s queues %u tx-retries %u", p->client ? "client" : "server",
		   p->path, p->queues, p->spec.tx_retries);
	if (atomic_load(&p->state) != PS_RUNNING) {
		out_printf(o, "\n");
		return;
	}
	unsigned rxm = atomic_load(&p->guest_rx_mask), txm = atomic_load(&p->guest_tx_mask);
	char names[768];
	feature_format(f, names, sizeof(names));
	out_printf(o, " device %" PRIu64 " vrings %u enabled %d enabled-rxq 0x%x enabled-txq 0x%x\n"
		   "  features 0x%016" PRIx64 " [%s]\n  offloads taken on transmit [%s]\n",
		   atomic_load(&p->dev_id), atomic_load(&p->nr_vring), __builtin_popcount(txm), rxm,
		   txm, f, names, ol);
}

void cmd_show(struct sw_out *o)
{
	const struct sw_conf *c = atomic_load(&sw_conf);

	out_printf(o, "vhu-switch: %u port%s, %u pmd%s, mac ageing %u s, io timeout %u ms, "
		   "max connections %u\n", c->nb_live, c->nb_live == 1 ? "" : "s",
		   sw_opts.nb_pmds, sw_opts.nb_pmds == 1 ? "" : "s", sw_opts.mac_age,
		   sw_opts.io_timeout_ms, sw_opts.max_connections);
	for (unsigned i = 0; i < c->nb_live; i++) {
		show_port(o, c->ports[c->live[i]]);
		show_ext_ids(o, c->ports[c->live[i]]);
	}
}

/* A MAC learnt through a tunnel shows the remote it is behind. */
static void fdb_line(const uint8_t *m, uint16_t vlan, uint32_t dest, uint32_t age, void *arg)
{
	struct sw_out *o = arg;
	const struct sw_conf *c = atomic_load(&sw_conf);
	uint16_t port = SW_DEST_PORT(dest), r = SW_DEST_REMOTE(dest);
	const struct port *p = port < SW_MAX_PORTS ? c->ports[port] : NULL;
	char remote[SW_IP_STRLEN + 1] = "";

	if (p && p->type == PORT_VXLAN && r && r <= p->vx.nremote) {
		remote[0] = ' ';
		sw_ip_str(&p->vx.remote[r - 1], remote + 1, SW_IP_STRLEN);
	}
	char a[16];
	if (age == UINT32_MAX)
		snprintf(a, sizeof(a), "static");
	else
		snprintf(a, sizeof(a), "%u", age);
	out_printf(o, "%-16s %4u %02x:%02x:%02x:%02x:%02x:%02x %s%s\n", p ? p->name : "?", vlan,
		   m[0], m[1], m[2], m[3], m[4], m[5], a, remote);
}

void cmd_fdb(struct sw_out *o)
{
	out_printf(o, "%-16s %4s %-17s %s\n", "port", "vlan", "mac", "age [remote]");
	sw_fdb_walk(&sw_fdb, fdb_line, o, sw_now_s());
}
