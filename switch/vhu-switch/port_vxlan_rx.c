/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiving for the tunnel ports of one local address and UDP port (sw.h's
 * struct vxlan_group): each datagram to the port of its VNI, from one of
 * that port's remotes, or dropped and counted.
 *
 * A datagram is read straight into a packet after its 8-byte VXLAN header.
 * With UDP GRO (the group's sockets ask for it; VHU_VXLAN_NO_GRO=1 does
 * not, for comparing) one read may carry several datagrams of one flow,
 * gso_size bytes each but the last: a sender's UDP GSO (another vhu-switch
 * sends so) or the NIC's GRO coalesced them, and the kernel's stack took
 * them once. The first lands in the packet as before; the rest go on into
 * the queue's overflow area and are copied into packets of their own.
 * What a poll has no room for waits in the queue's backlog, returned
 * before the socket is read again; the reads a poll makes shrink as the
 * datagrams a read carries grow, so the backlog stays about a burst.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <vhu/pkt.h>
#include "sw.h"

struct rx_ctx {
	const struct sw_conf *c;
	struct vxlan_group *g;
	uint16_t q, n, got;
	struct vhu_pkt **out;
	struct port *m;   /* the port of m_vni, NULL when none */
	int32_t m_vni;
	uint16_t bad, vni, big, nobuf, gro;
	bool mixed;
};

static int remote_of(const struct vxlan_port *v, const struct sockaddr_storage *from)
{
	for (unsigned r = 0; r < v->nremote; r++) {
		if (from->ss_family != v->to[r].ss_family)
			return -1;
		if (from->ss_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)from, *b = (const void *)&v->to[r];
			if (a->sin_addr.s_addr == b->sin_addr.s_addr)
				return (int)r;
		} else {
			const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&v->to[r];
			if (!memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) &&
			    (!IN6_IS_ADDR_LINKLOCAL(&b->sin6_addr) || a->sin6_scope_id == b->sin6_scope_id))
				return (int)r;
		}
	}
	return -1;
}

/* The port of vni in the group whose first port is slot s, or NULL. */
static struct port *member(const struct sw_conf *c, uint16_t s, int32_t vni)
{
	for (; s < SW_MAX_PORTS; s = c->vx_next[s])
		if (c->ports[s]->vx.vni == (uint32_t)vni)
			return c->ports[s];
	return NULL;
}

/* A datagram of len bytes: its header at hdr, its frame at pkt's data.
 * True when pkt was taken (returned, or kept in the backlog, or dropped
 * for want of room there); false when refused (counted, pkt still the
 * caller's). */
static bool take(struct rx_ctx *x, uint16_t first, struct vhu_pkt *pkt, const uint8_t *hdr,
		 uint32_t len, const struct sockaddr_storage *from)
{
	int32_t v = sw_vxlan_vni(hdr, len);
	int rem;

	if (v < 0) {
		x->bad++;
		return false;
	}
	if (v != x->m_vni) {
		x->m = member(x->c, first, v);
		x->m_vni = x->m ? v : -1;
	}
	if (!x->m) {
		x->vni++;
		return false;
	}
	if ((rem = remote_of(&x->m->vx, from)) < 0) {
		/* Bad input, rare: counted on its own. */
		atomic_fetch_add_explicit(&x->m->vx.rx_src, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&x->m->rx[x->q].dropped, 1, memory_order_relaxed);
		return false;
	}
	pkt->data_len = pkt->pkt_len = len - SW_VXLAN_HLEN;
	pkt->user = SW_DEST(x->m->idx, (unsigned)rem + 1);
	if (x->got < x->n) {
		x->mixed |= x->got && SW_DEST_PORT(x->out[x->got - 1]->user) != x->m->idx;
		x->out[x->got++] = pkt;
	} else if (x->g->nleft[x->q] < SW_VXLAN_LEFT) {
		x->g->left[x->q][x->g->nleft[x->q]++] = pkt;
	} else {
		x->nobuf++;
		vhu_pkt_free_bulk(&pkt, 1);
	}
	return true;
}

/* Copies len bytes from offset off of a read's bytes (spread over iov). */
static void gather(const struct iovec *iov, unsigned niov, uint32_t off, uint8_t *dst,
		   uint32_t len)
{
	for (unsigned k = 0; k < niov && len; k++) {
		if (off >= iov[k].iov_len) {
			off -= (uint32_t)iov[k].iov_len;
			continue;
		}
		uint32_t c = (uint32_t)iov[k].iov_len - off;
		if (c > len)
			c = len;
		memcpy(dst, (const uint8_t *)iov[k].iov_base + off, c);
		dst += c;
		len -= c;
		off = 0;
	}
}

/* The datagrams after the first of a coalesced read of len bytes, seg
 * bytes each but the last: each copied into a packet of its own. */
static void split(struct rx_ctx *x, uint16_t first, struct vhu_pkt_pool *pool,
		  const struct iovec *iov, uint32_t len, uint32_t seg,
		  const struct sockaddr_storage *from)
{
	struct vhu_pkt *np[SW_VXLAN_GRO_SEGS];
	unsigned k = 0, cnt = (len - 1) / seg; /* after the first */

	if (cnt > SW_VXLAN_GRO_SEGS)
		cnt = SW_VXLAN_GRO_SEGS; /* more than UDP GRO makes: the rest is big */
	x->gro = (uint16_t)(x->gro + cnt + 1);
	if (vhu_pkt_alloc_bulk(pool, np, cnt) != 0) {
		x->nobuf = (uint16_t)(x->nobuf + cnt);
		return;
	}
	for (; k < cnt; k++) {
		uint32_t off = (k + 1) * seg, dl = len - off < seg ? len - off : seg;
		uint8_t h[SW_VXLAN_HLEN];
		if (dl < SW_VXLAN_HLEN || dl - SW_VXLAN_HLEN > vhu_pkt_tailroom(np[k])) {
			x->bad++;
			vhu_pkt_free_bulk(&np[k], 1);
			continue;
		}
		gather(iov, 3, off, h, SW_VXLAN_HLEN);
		gather(iov, 3, off + SW_VXLAN_HLEN, vhu_pkt_data(np[k]), dl - SW_VXLAN_HLEN);
		if (!take(x, first, np[k], h, dl, from))
			vhu_pkt_free_bulk(&np[k], 1);
	}
	if ((len - 1) / seg > cnt)
		x->big++;
}

/* gso_size of a coalesced read, or 0. */
static uint32_t gro_size(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (uint32_t)v : 0;
		}
	return 0;
}

/* Up to n packets from the backlog, in order. */
static uint16_t drain(struct rx_ctx *x)
{
	struct vxlan_group *g = x->g;
	uint16_t have = g->nleft[x->q], k = have < x->n ? have : x->n;

	for (uint16_t i = 0; i < k; i++) {
		x->out[i] = g->left[x->q][i];
		x->mixed |= i && SW_DEST_PORT(x->out[i]->user) != SW_DEST_PORT(x->out[i - 1]->user);
	}
	memmove(g->left[x->q], g->left[x->q] + k, (size_t)(have - k) * sizeof(g->left[0][0]));
	g->nleft[x->q] = (uint16_t)(have - k);
	x->got = k;
	return k;
}

/* Several VNIs in one burst: each port's frames together, in their order
 * (a stable sort by port; the ports are few). */
static void group_by_port(struct vhu_pkt **pkts, uint16_t got)
{
	struct vhu_pkt *in[SW_BURST];
	uint16_t k = 0;

	memcpy(in, pkts, got * sizeof(*in));
	for (uint16_t i = 0; i < got; i++) {
		if (!in[i])
			continue;
		uint16_t port = SW_DEST_PORT(in[i]->user);
		for (uint16_t j = i; j < got; j++)
			if (in[j] && SW_DEST_PORT(in[j]->user) == port) {
				pkts[k++] = in[j];
				in[j] = NULL;
			}
	}
}

uint16_t vxlan_rx(const struct sw_conf *c, struct port *p, uint16_t q,
		  struct vhu_pkt_pool *pool, struct vhu_pkt **pkts, uint16_t n)
{
	struct vxlan_group *g = p->vx.grp;
	struct vhu_pkt **sp = p->rx_spare[q];
	uint16_t ns = p->nspare[q];
	struct rx_ctx x = { .c = c, .g = g, .q = q, .n = n > SW_BURST ? SW_BURST : n,
			    .out = pkts, .m_vni = -1 };
	struct mmsghdr msg[SW_BURST];
	struct iovec iov[SW_BURST][3];
	struct sockaddr_storage from[SW_BURST];
	uint8_t hdr[SW_BURST][SW_VXLAN_HLEN];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm[SW_BURST];

	if (g->nleft[q]) {
		drain(&x);
		if (x.mixed)
			group_by_port(pkts, x.got);
		return x.got;
	}
	if (ns < x.n && vhu_pkt_alloc_bulk(pool, sp + ns, x.n - ns) == 0)
		ns = x.n;
	/* Kept on every path: an idle poll must not leak what it allocated. */
	p->nspare[q] = ns;
	if (!ns)
		return 0;
	/* As many reads as should fill the burst at the last reads' rate. */
	uint16_t nr = ns;
	if (g->gro && g->per_read[q] > 1)
		nr = (uint16_t)(ns / g->per_read[q] ? ns / g->per_read[q] : 1);
	/* The spares are used from the top, as tap_rx does. */
	for (uint16_t i = 0; i < nr; i++) {
		struct vhu_pkt *pkt = sp[ns - 1 - i];
		iov[i][0] = (struct iovec){ hdr[i], SW_VXLAN_HLEN };
		iov[i][1] = (struct iovec){ vhu_pkt_data(pkt), vhu_pkt_tailroom(pkt) };
		msg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
						  .msg_iov = iov[i], .msg_iovlen = 2 };
		if (g->gro) {
			iov[i][2] = (struct iovec){ g->over[q] + (size_t)i * SW_VXLAN_GRO_BYTES,
						    SW_VXLAN_GRO_BYTES };
			msg[i].msg_hdr.msg_iovlen = 3;
			msg[i].msg_hdr.msg_control = cm[i].buf;
			msg[i].msg_hdr.msg_controllen = sizeof(cm[i].buf);
		}
	}
	int r = recvmmsg(g->fds[q], msg, nr, MSG_DONTWAIT, NULL);
	if (r <= 0) {
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			atomic_fetch_add_explicit(&p->rx[q].errors, 1, memory_order_relaxed);
		return 0;
	}
	/* The spares not used or refused stay. */
	struct vhu_pkt *keep[SW_BURST];
	uint16_t nkeep = 0;
	unsigned dgrams = 0;
	for (int i = 0; i < r; i++) {
		struct vhu_pkt *pkt = sp[ns - 1 - i];
		uint32_t len = msg[i].msg_len, room = SW_VXLAN_HLEN + vhu_pkt_tailroom(pkt);
		uint32_t seg = g->gro ? gro_size(&msg[i].msg_hdr) : 0;
		if (!seg || seg > len)
			seg = len;
		if (!seg)
			seg = 1; /* an empty datagram: refused as bad below */
		dgrams += (len + seg - 1) / seg;
		if ((msg[i].msg_hdr.msg_flags & MSG_TRUNC) || seg > room) {
			x.big = (uint16_t)(x.big + (len + seg - 1) / seg);
		} else {
			bool taken = take(&x, p->idx, pkt, hdr[i], seg, &from[i]);
			if (len > seg)
				split(&x, p->idx, pool, iov[i], len, seg, &from[i]);
			if (taken)
				continue;
		}
		keep[nkeep++] = pkt;
	}
	if (g->gro)
		g->per_read[q] = (uint16_t)((dgrams + (unsigned)r - 1) / (unsigned)r);
	/* Unused spares (below the r taken) and refused ones, back on top. */
	ns = (uint16_t)(ns - r);
	for (uint16_t i = 0; i < nkeep; i++)
		sp[ns++] = keep[i];
	p->nspare[q] = ns;
	uint16_t drop = (uint16_t)(x.bad + x.vni + x.big + x.nobuf);
	if (drop) {
		atomic_fetch_add_explicit(&p->rx[q].dropped, drop, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->vx.rx_bad, x.bad, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->vx.rx_vni, x.vni, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->vx.rx_big, x.big, memory_order_relaxed);
	}
	if (x.gro)
		atomic_fetch_add_explicit(&p->vx.rx_gro, x.gro, memory_order_relaxed);
	if (x.mixed)
		group_by_port(pkts, x.got);
	return x.got;
}
