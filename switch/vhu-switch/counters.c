/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-ctl stats: every counter in one table, and the three forms made
 * from it (text, JSON, Prometheus text exposition format 0.0.4).
 *
 * Counters per port, queue and direction: packets and bytes that crossed,
 * dropped (tx: the guest had no room after its retries, or no running
 * guest, or no room to retag a frame for it; rx: runt frames, frames of
 * a VLAN the port does not carry), errors (tap read/write failures).
 * rx_vlan_dropped says how many of rx_dropped were for their VLAN,
 * tx_failure_drops how many of tx_dropped a running guest had no room for
 * after tx_retries more attempts; behind a vIOMMU, tx_iotlb_kept the frames
 * a guest took none of (an IOTLB miss, mostly) and the switch kept for the
 * next tries, tx_iotlb_drops those of them it gave up on; rx_iotlb_misses and
 * tx_iotlb_misses the IOTLB misses libvhu asked the frontend about on
 * the guest's vrings the port receives from and sends to (struct
 * vhu_vring_stats' iotlb_misses, its devices' added up). Queue q of a vhost-user port is queue
 * pair q: rx = guest vring 2q+1, tx = vring 2q. Tunnel and afxdp ports
 * add rows of their own (docs/vxlan.md, docs/afxdp.md).
 */
#include <inttypes.h>
#include <string.h>
#include "sw.h"

enum {
	C_RX_PACKETS, C_RX_BYTES, C_RX_DROPPED, C_RX_ERRORS,
	C_TX_PACKETS, C_TX_BYTES, C_TX_DROPPED, C_TX_ERRORS,
	C_NQ,                     /* the counters above (and C_XDP's) are also per queue */
	C_OL_WHOLE = C_NQ, C_OL_SEGMENTED, C_OL_CSUM, C_VLAN_DROPPED, C_TX_RETRIES,
	C_TX_FAIL_DROPS, C_TX_IOTLB_KEPT, C_TX_IOTLB_DROPS, C_RX_IOTLB_MISSES, C_TX_IOTLB_MISSES,
	C_RX_SIZE,                /* SW_SIZE_BINS each */
	C_TX_SIZE = C_RX_SIZE + SW_SIZE_BINS,
	C_VX = C_TX_SIZE + SW_SIZE_BINS,   /* from here: tunnel ports only */
	C_VX_BAD = C_VX, C_VX_VNI, C_VX_SRC, C_VX_BIG, C_VX_MTU, C_VX_GRO,
	C_XDP,                    /* from here: afxdp ports only, per queue */
	C_N = C_XDP + AFXDP_NSTATS
};

/* The size bins' names are made from their ranges (size_bin.h). */
static const struct {
	const char *key, *help;
} ctr[C_N] = {
	[C_RX_PACKETS] = { "rx_packets", "Frames received from the port." },
	[C_RX_BYTES] = { "rx_bytes", "Bytes of the frames received from the port." },
	[C_RX_DROPPED] = { "rx_dropped", "Frames from the port dropped (runts, VLANs it does not carry)." },
	[C_RX_ERRORS] = { "rx_errors", "Receive errors (tap or tunnel socket reads that failed)." },
	[C_TX_PACKETS] = { "tx_packets", "Frames sent to the port." },
	[C_TX_BYTES] = { "tx_bytes", "Bytes of the frames sent to the port." },
	[C_TX_DROPPED] = { "tx_dropped", "Frames for the port dropped (no room, no running guest)." },
	[C_TX_ERRORS] = { "tx_errors", "Transmit errors (tap and tunnel writes that failed)." },
	[C_OL_WHOLE] = { "tx_ol_whole", "Offload frames handed to the port whole." },
	[C_OL_SEGMENTED] = { "tx_ol_segmented", "GSO packets segmented in software for the port." },
	[C_OL_CSUM] = { "tx_ol_csum", "Partial checksums completed in software for the port." },
	[C_VLAN_DROPPED] = { "rx_vlan_dropped", "Frames from the port dropped for their VLAN (in rx_dropped)." },
	[C_TX_RETRIES] = { "tx_retries", "Enqueue attempts to the guest after a burst's first." },
	[C_TX_FAIL_DROPS] = { "tx_failure_drops", "Frames the guest's ring had no room for after the retries (in tx_dropped)." },
	[C_TX_IOTLB_KEPT] = { "tx_iotlb_kept", "Frames a guest behind a vIOMMU took none of (an IOTLB miss, mostly), kept for its next tries." },
	[C_TX_IOTLB_DROPS] = { "tx_iotlb_drops", "Kept frames dropped: past one kept burst, no copy, not taken in 100 ms, or their queue disabled (in tx_dropped)." },
	[C_RX_IOTLB_MISSES] = { "rx_iotlb_misses", "IOTLB misses libvhu sent the frontend for the guest's transmit vrings (a page once until answered)." },
	[C_TX_IOTLB_MISSES] = { "tx_iotlb_misses", "IOTLB misses libvhu sent the frontend for the guest's receive vrings (a page once until answered)." },
	[C_VX_BAD] = { "rx_vxlan_bad", "Tunnel datagrams that were not VXLAN frames." },
	[C_VX_VNI] = { "rx_vxlan_vni", "Tunnel frames of another VNI." },
	[C_VX_SRC] = { "rx_vxlan_src", "Tunnel datagrams from an address that is not a remote." },
	[C_VX_BIG] = { "rx_vxlan_big", "Tunnel datagrams too big to take." },
	[C_VX_MTU] = { "tx_mtu_dropped", "Frames too big for the underlay's MTU toward a remote." },
	[C_VX_GRO] = { "rx_vxlan_gro", "Tunnel datagrams that came several to a read (UDP GRO)." },
	/* afxdp_stats' order (sw.h); xsk_: the kernel's XDP_STATISTICS. */
	[C_XDP + 0] = { "rx_xdp_no_pkt", "Frames received while the PMD's packet pool was empty (in rx_dropped)." },
	[C_XDP + 1] = { "rx_xdp_bad_desc", "Receive descriptors outside the receive frames, or runts (in rx_errors)." },
	[C_XDP + 2] = { "tx_xdp_ring_full", "Frames not sent: the kernel had not taken the tx ring's earlier ones (in tx_dropped)." },
	[C_XDP + 3] = { "tx_xdp_no_frame", "Frames not sent: every transmit frame was with the kernel (in tx_dropped)." },
	[C_XDP + 4] = { "xsk_rx_dropped", "Frames the kernel dropped for the AF_XDP sockets (XDP_STATISTICS)." },
	[C_XDP + 5] = { "xsk_rx_invalid_descs", "Receive descriptors the kernel found invalid (XDP_STATISTICS)." },
	[C_XDP + 6] = { "xsk_tx_invalid_descs", "Invalid tx ring descriptors (XDP_STATISTICS)." },
	[C_XDP + 7] = { "xsk_rx_ring_full", "Frames dropped for a full rx ring (XDP_STATISTICS)." },
	[C_XDP + 8] = { "xsk_rx_fill_ring_empty_descs", "Times the fill ring was empty (XDP_STATISTICS)." },
	[C_XDP + 9] = { "xsk_tx_ring_empty_descs", "Times the kernel found nothing to send, not a loss (XDP_STATISTICS)." },
};

static bool is_size(unsigned c)
{
	return c >= C_RX_SIZE && c < C_VX;
}

/* rx_65_to_127_packets, ..., tx_1519_to_max_packets: OVS's names. */
static const char *key(unsigned c, char *buf, size_t len)
{
	if (!is_size(c))
		return ctr[c].key;
	unsigned first, last;
	const char *dir = c < C_TX_SIZE ? "rx" : "tx";
	sw_size_bin_range((c - C_RX_SIZE) % SW_SIZE_BINS, &first, &last);
	if (last)
		snprintf(buf, len, "%s_%u_to_%u_packets", dir, first, last);
	else
		snprintf(buf, len, "%s_%u_to_max_packets", dir, first);
	return buf;
}

static const char *help(unsigned c)
{
	if (!is_size(c))
		return ctr[c].help;
	return c < C_TX_SIZE ? "Frames received from the port of these sizes (bytes, no FCS)." :
			       "Frames sent to the port of these sizes (bytes, no FCS).";
}

static bool has(const struct port *p, unsigned c)
{
	return c < C_VX || p->type == (c < C_XDP ? PORT_VXLAN : PORT_AFXDP);
}

/* Whether counter c is also shown per queue. */
static bool per_queue(unsigned c)
{
	return c < C_NQ || c >= C_XDP;
}

static uint64_t ld(const _Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static uint64_t qval(const struct port *p, unsigned c, unsigned q)
{
	const struct sw_qstats *s = c < C_TX_PACKETS || (c >= C_RX_SIZE && c < C_TX_SIZE) ?
					    &p->rx[q] : &p->tx[q];
	if (is_size(c))
		return ld(&s->size[(c - C_RX_SIZE) % SW_SIZE_BINS]);
	switch (c % 4) {
	case 0: return ld(&s->packets);
	case 1: return ld(&s->bytes);
	case 2: return ld(&s->dropped);
	default: return ld(&s->errors);
	}
}

static uint64_t xdp_val(const struct port *p, unsigned c, int q)
{
	uint64_t v[AFXDP_NSTATS] = { 0 };

	for (unsigned i = q < 0 ? 0 : (unsigned)q; i < (q < 0 ? p->queues : (unsigned)q + 1); i++)
		afxdp_stats(p, i, v);
	return v[c - C_XDP];
}

/* Counter c of port p: of queue q, or of the whole port when q < 0. */
static uint64_t val(const struct port *p, unsigned c, int q)
{
	if (c >= C_XDP)
		return xdp_val(p, c, q);
	if (c < C_NQ || is_size(c)) {
		if (q >= 0)
			return qval(p, c, (unsigned)q);
		uint64_t v = 0;
		for (unsigned i = 0; i < p->queues; i++)
			v += qval(p, c, i);
		return v;
	}
	switch (c) {
	case C_OL_WHOLE: return ld(&p->ol_whole);
	case C_OL_SEGMENTED: return ld(&p->ol_segmented);
	case C_OL_CSUM: return ld(&p->ol_csum);
	case C_VLAN_DROPPED: return ld(&p->vlan_dropped);
	case C_TX_RETRIES: return ld(&p->tx_retries);
	case C_TX_FAIL_DROPS: return ld(&p->tx_fail_drops);
	case C_TX_IOTLB_KEPT: return ld(&p->tx_iotlb_kept);
	case C_TX_IOTLB_DROPS: return ld(&p->tx_iotlb_drops);
	case C_RX_IOTLB_MISSES:
	case C_TX_IOTLB_MISSES:
		return p->type == PORT_VHOST ? vhost_iotlb_misses(p, c == C_TX_IOTLB_MISSES) : 0;
	case C_VX_BAD: return ld(&p->vx.rx_bad);
	case C_VX_VNI: return ld(&p->vx.rx_vni);
	case C_VX_SRC: return ld(&p->vx.rx_src);
	case C_VX_BIG: return ld(&p->vx.rx_big);
	case C_VX_GRO: return ld(&p->vx.rx_gro);
	default: return ld(&p->vx.tx_mtu);
	}
}

/* " key N" (text) or "\"key\": N, ..." (JSON) for p's counters: of
 * queue q (those counted per queue), or of the port when q < 0. */
static void put_vals(struct sw_out *o, const struct port *p, int q, bool json)
{
	char b[48];
	bool first = true;
	for (unsigned c = 0; c < C_N; c++) {
		if (!has(p, c) || (q >= 0 && !per_queue(c)))
			continue;
		out_printf(o, json ? "%s\"%s\": %" PRIu64 : "%s%s %" PRIu64,
			   json ? (first ? "" : ", ") : " ", key(c, b, sizeof(b)), val(p, c, q));
		first = false;
	}
}

/* Queues listed: a vhost-user port's that its guest set up or that
 * counted something (it offers 16; a guest uses what it wants). */
static unsigned listed_queues(const struct port *p)
{
	unsigned nq = p->type == PORT_VHOST ? (atomic_load(&p->nr_vring) + 1) / 2 : p->queues;

	for (unsigned q = nq; q < p->queues; q++)
		for (unsigned c = 0; c < C_NQ; c++)
			if (qval(p, c, q))
				nq = q + 1;
	return nq < 1 ? 1 : nq > p->queues ? p->queues : nq;
}

static void port_text(struct sw_out *o, const struct port *p)
{
	unsigned nq = listed_queues(p);

	out_printf(o, "port %s:", p->name);
	put_vals(o, p, -1, false);
	out_printf(o, "\n");
	for (unsigned q = 0; nq > 1 && q < nq; q++) {
		out_printf(o, "  queue %u:", q);
		put_vals(o, p, (int)q, false);
		out_printf(o, "\n");
	}
}

/* A port name may hold '"' (port_spec.c refuses '/', '\' and blanks):
 * escaped, as JSON strings and Prometheus label values want. */
static void put_quoted(struct sw_out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s; s++)
		out_printf(o, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	out_printf(o, "\"");
}

static void port_json(struct sw_out *o, const struct port *p, bool first)
{
	out_printf(o, "%s\n  {\"name\": ", first ? "" : ",");
	put_quoted(o, p->name);
	out_printf(o, ", \"type\": \"%s\", \"state\": \"%s\", ", port_type_name(p),
		   port_state_name(p));
	put_vals(o, p, -1, true);
	out_printf(o, ", \"queues\": [");
	for (unsigned q = 0, nq = listed_queues(p); q < nq; q++) {
		out_printf(o, "%s{\"queue\": %u, ", q ? ", " : "", q);
		put_vals(o, p, (int)q, true);
		out_printf(o, "}");
	}
	out_printf(o, "]}");
}

/* One metric family per counter, its samples together (the format wants
 * them so): per queue where the counter is, else per port. */
static void prometheus(struct sw_out *o, const struct sw_conf *c, const char *name)
{
	char b[48];
	for (unsigned k = 0; k < C_N; k++) {
		bool head = false;
		const char *m = key(k, b, sizeof(b));
		for (unsigned i = 0; i < c->nb_live; i++) {
			const struct port *p = c->ports[c->live[i]];
			if ((name && strcmp(p->name, name)) || !has(p, k))
				continue;
			if (!head) {
				out_printf(o, "# HELP vhu_port_%s_total %s\n# TYPE vhu_port_%s_total counter\n",
					   m, help(k), m);
				head = true;
			}
			int nq = per_queue(k) ? (int)listed_queues(p) : 0;
			for (int q = per_queue(k) ? 0 : -1; q < nq; q++) {
				out_printf(o, "vhu_port_%s_total{port=", m);
				put_quoted(o, p->name);
				if (q >= 0)
					out_printf(o, ",queue=\"%d\"", q);
				out_printf(o, "} %" PRIu64 "\n", val(p, k, q));
			}
		}
	}
}

int cmd_stats(struct sw_out *o, const char *name, enum sw_stats_fmt fmt)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	bool first = true;

	if (name && !port_find(c, name))
		return -1;
	if (fmt == SW_STATS_PROMETHEUS) {
		prometheus(o, c, name);
		return 0;
	}
	if (fmt == SW_STATS_JSON)
		out_printf(o, "{\"ports\": [");
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		if (name && strcmp(p->name, name))
			continue;
		if (fmt == SW_STATS_JSON)
			port_json(o, p, first);
		else
			port_text(o, p);
		first = false;
	}
	if (fmt == SW_STATS_JSON)
		out_printf(o, "\n]}\n");
	return 0;
}
