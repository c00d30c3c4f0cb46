/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters and the text of show / stats / fdb replies.
 *
 * Counters per port, queue and direction: packets and bytes that crossed,
 * dropped (tx: the guest had no room within the retry time, or no running
 * guest, or no room to retag a frame for it; rx: runt frames, frames of
 * a VLAN the port does not carry), errors (tap read/write failures).
 * rx_vlan_dropped says how many of rx_dropped were for their VLAN. An
 * afxdp port adds its own (port_afxdp_io.c) and the kernel's. Queue q of a
 * vhost-user port is queue pair q: rx = guest vring 2q+1, tx = vring 2q.
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

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
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

static const char *state_name(const struct port *p)
{
	static const char *const n[] = { "down", "connected", "running" };
	int s = atomic_load(&p->state);
	return s >= 0 && s <= PS_RUNNING ? n[s] : "?";
}

static const char *type_name(const struct port *p)
{
	static const char *const n[] = { [PORT_VHOST] = "vhost-user", [PORT_TAP] = "tap",
					 [PORT_VXLAN] = "vxlan", [PORT_AFXDP] = "afxdp" };
	return n[p->type];
}

void cmd_show(struct sw_out *o)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	char names[768];

	out_printf(o, "vhu-switch: %u port%s, %u pmd%s, mac ageing %u s\n", c->nb_live,
		   c->nb_live == 1 ? "" : "s", sw_opts.nb_pmds,
		   sw_opts.nb_pmds == 1 ? "" : "s", sw_opts.mac_age);
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		char vlan[128];
		sw_vlan_format(&p->spec.vlan, vlan, sizeof(vlan));
		out_printf(o, "port %s: type %s state %s vlan %s", p->name, type_name(p),
			   state_name(p), vlan);
		char ol[64];
		sw_ol_names(atomic_load(&p->ol_caps), ol, sizeof(ol));
		if (p->type == PORT_TAP) {
			out_printf(o, " ifname %s queues %u offloads [%s]\n", p->ifname, p->queues, ol);
			continue;
		}
		if (p->type == PORT_AFXDP) {
			out_printf(o, " ifname %s queues %u xdp %s sockets %s umem-frames %u\n",
				   p->ifname, p->queues, afxdp_mode(p),
				   afxdp_zerocopy(p) ? "zero-copy" : "copy", p->spec.umem_frames);
			continue;
		}
		if (p->type == PORT_VXLAN) {
			char a[SW_IP_STRLEN];
			out_printf(o, " local %s port %u vni %u queues %u remotes",
				   sw_ip_str(&p->vx.local, a, sizeof(a)), p->vx.dstport, p->vx.vni,
				   p->queues);
			for (unsigned r = 0; r < p->vx.nremote; r++)
				out_printf(o, " %s(mtu %u)", sw_ip_str(&p->vx.remote[r], a, sizeof(a)),
					   p->vx.mtu[r]);
			out_printf(o, "\n");
			continue;
		}
		uint64_t f = atomic_load(&p->features);
		out_printf(o, " %s %s queues %u", p->client ? "client" : "server", p->path,
			   p->queues);
		if (atomic_load(&p->state) != PS_RUNNING) {
			out_printf(o, "\n");
			continue;
		}
		unsigned rxm = atomic_load(&p->guest_rx_mask), txm = atomic_load(&p->guest_tx_mask);
		feature_format(f, names, sizeof(names));
		out_printf(o, " device %" PRIu64 " vrings %u enabled-rxq 0x%x enabled-txq 0x%x\n"
			   "  features 0x%016" PRIx64 " [%s]\n  offloads taken on transmit [%s]\n",
			   atomic_load(&p->dev_id), atomic_load(&p->nr_vring), rxm, txm, f, names, ol);
	}
}

struct totals {
	uint64_t v[8];
};

static void qget(const struct sw_qstats *s, uint64_t *v)
{
	v[0] = atomic_load_explicit(&s->packets, memory_order_relaxed);
	v[1] = atomic_load_explicit(&s->bytes, memory_order_relaxed);
	v[2] = atomic_load_explicit(&s->dropped, memory_order_relaxed);
	v[3] = atomic_load_explicit(&s->errors, memory_order_relaxed);
}

static const char *const keys[8] = {
	"rx_packets", "rx_bytes", "rx_dropped", "rx_errors",
	"tx_packets", "tx_bytes", "tx_dropped", "tx_errors",
};

static void put_vals(struct sw_out *o, const uint64_t *v, bool json)
{
	for (int k = 0; k < 8; k++) {
		if (json)
			out_printf(o, "%s\"%s\": %" PRIu64, k ? ", " : "", keys[k], v[k]);
		else
			out_printf(o, " %s %" PRIu64, keys[k], v[k]);
	}
}

/* The port's counters that explain others (sw.h), after its totals. */
static void put_ol(struct sw_out *o, const struct port *p, bool json)
{
	static const char *const k[4] = { "tx_ol_whole", "tx_ol_segmented", "tx_ol_csum",
					  "rx_vlan_dropped" };
	uint64_t v[4] = { atomic_load_explicit(&p->ol_whole, memory_order_relaxed),
			  atomic_load_explicit(&p->ol_segmented, memory_order_relaxed),
			  atomic_load_explicit(&p->ol_csum, memory_order_relaxed),
			  atomic_load_explicit(&p->vlan_dropped, memory_order_relaxed) };

	for (int i = 0; i < 4; i++)
		out_printf(o, json ? ", \"%s\": %" PRIu64 : " %s %" PRIu64, k[i], v[i]);
	if (p->type == PORT_AFXDP)
		afxdp_put_stats(o, p, -1, json);
	if (p->type != PORT_VXLAN)
		return;
	static const char *const kx[5] = { "rx_vxlan_bad", "rx_vxlan_vni", "rx_vxlan_src",
					   "rx_vxlan_big", "tx_mtu_dropped" };
	const struct vxlan_port *x = &p->vx;
	uint64_t vx[5] = { atomic_load(&x->rx_bad), atomic_load(&x->rx_vni), atomic_load(&x->rx_src),
			   atomic_load(&x->rx_big), atomic_load(&x->tx_mtu) };
	for (int i = 0; i < 5; i++)
		out_printf(o, json ? ", \"%s\": %" PRIu64 : " %s %" PRIu64, kx[i], vx[i]);
}

static void port_stats(struct sw_out *o, const struct port *p, bool json, bool first)
{
	uint64_t tot[8] = { 0 }, qv[VHU_MAX_QUEUE_PAIRS][8];

	for (unsigned q = 0; q < p->queues; q++) {
		qget(&p->rx[q], qv[q]);
		qget(&p->tx[q], qv[q] + 4);
		for (int k = 0; k < 8; k++)
			tot[k] += qv[q][k];
	}
	if (json) {
		out_printf(o, "%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"state\": \"%s\", ",
			   first ? "" : ",", p->name, type_name(p), state_name(p));
		put_vals(o, tot, true);
		put_ol(o, p, true);
		out_printf(o, ", \"queues\": [");
		for (unsigned q = 0; q < p->queues; q++) {
			out_printf(o, "%s{\"queue\": %u, ", q ? ", " : "", q);
			put_vals(o, qv[q], true);
			if (p->type == PORT_AFXDP)
				afxdp_put_stats(o, p, (int)q, true);
			out_printf(o, "}");
		}
		out_printf(o, "]}");
		return;
	}
	out_printf(o, "port %s:", p->name);
	put_vals(o, tot, false);
	put_ol(o, p, false);
	out_printf(o, "\n");
	if (p->queues > 1)
		for (unsigned q = 0; q < p->queues; q++) {
			out_printf(o, "  queue %u:", q);
			put_vals(o, qv[q], false);
			if (p->type == PORT_AFXDP)
				afxdp_put_stats(o, p, (int)q, false);
			out_printf(o, "\n");
		}
}

int cmd_stats(struct sw_out *o, const char *name, bool json)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	bool first = true;

	if (name && !port_find(c, name))
		return -1;
	if (json)
		out_printf(o, "{\"ports\": [");
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		if (name && strcmp(p->name, name))
			continue;
		port_stats(o, p, json, first);
		first = false;
	}
	if (json)
		out_printf(o, "\n]}\n");
	return 0;
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
