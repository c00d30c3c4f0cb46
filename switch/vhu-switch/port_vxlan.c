/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VXLAN tunnel ports (RFC 7348 over IPv4 or IPv6): the bridge's frames to other
 * hosts' switches, or to the Linux kernel's vxlan devices, inside UDP.
 *
 * The kernel's UDP sockets carry them: it routes, resolves the next hop,
 * builds the outer IPv4 and UDP headers and their checksum, and leaves DF
 * clear and the TTL at 64, as its own vxlan driver does by default.
 * Receiving (port_vxlan_rx.c): one socket per queue bound to
 * local:dstport (SO_REUSEPORT spreads flows over them), shared by every
 * tunnel port of that address and port (struct vxlan_group: tenants'
 * VNIs on one address, as the kernel's vxlan devices share theirs), read
 * by the group's first port, each datagram handed to the port of its VNI. Sending: the
 * outer UDP source port is taken from a hash of the inner flow, as Linux
 * does, so an underlay with ECMP spreads flows; here that is the port of
 * one of TX_SOCKS sockets bound to ephemeral ports, and a burst is one
 * sendmmsg a socket used; with UDP GSO (add_dgram) same-size datagrams to
 * one remote share one message (VHU_VXLAN_NO_GSO=1 turns it off, for
 * comparing). Frames to an unknown or group destination go to
 * every remote (head-end replication); a known MAC's frames go to the
 * remote it was learnt from (pkt->user, set by the PMD from the fdb).
 *
 * Offloads: none are taken (ol_caps 0), so egress.c hands us complete
 * frames: GSO packets segmented, checksums filled in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vhu/pkt.h>
#include "sw.h"

/* Messages of one sendmmsg, and segments of one frame. */
#define TX_BATCH 64
#define TX_IOV 8

/* ip:port as a socket address; a link-local IPv6 address's interface is
 * looked up here, in the switch's namespace. */
static int sockaddr_of(struct port *p, const struct sw_ip *ip, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)ss;
		sa->sin_family = AF_INET;
		sa->sin_addr = ip->v4;
		sa->sin_port = htons(port);
		*len = sizeof(*sa);
		return 0;
	}
	struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
	sa->sin6_family = AF_INET6;
	sa->sin6_addr = ip->v6;
	sa->sin6_port = htons(port);
	if (ip->scope[0] && !(sa->sin6_scope_id = if_nametoindex(ip->scope))) {
		snprintf(err, errlen, "port %s: no interface %s here for a link-local address",
			 p->name, ip->scope);
		return -ENODEV;
	}
	*len = sizeof(*sa);
	return 0;
}

static int udp_socket(struct port *p, const struct sw_ip *ip, uint16_t port, bool reuse,
		      char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = sockaddr_of(p, ip, port, &ss, &len, err, errlen);
	if (rc < 0)
		return rc;
	int fd = socket(ip->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	/* Outer packets may be fragmented on the way, as Linux's vxlan
	 * leaves DF clear: the MTU check is ours (tx_mtu_dropped). */
	int pmtu = ip->family == AF_INET ? IP_PMTUDISC_DONT : IPV6_PMTUDISC_DONT;

	if (fd < 0 ||
	    (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (ip->family == AF_INET ?
		     setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) :
		     setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu))) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		char a[SW_IP_STRLEN];
		snprintf(err, errlen, "port %s: cannot bind a UDP socket to %s port %u: %s", p->name,
			 sw_ip_str(ip, a, sizeof(a)), port, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

/* The IP MTU toward remote r, from the kernel's route (IP_MTU or
 * IPV6_MTU of a connected socket); 1500 when it cannot say. */
static unsigned path_mtu(struct port *p, unsigned r)
{
	struct vxlan_port *v = &p->vx;
	int fd = socket(v->local.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 0;
	socklen_t len = sizeof(mtu);
	char a[SW_IP_STRLEN];

	sw_ip_str(&v->remote[r], a, sizeof(a));
	if (fd < 0 || connect(fd, (struct sockaddr *)&v->to[r], v->tolen) < 0 ||
	    (v->local.family == AF_INET ? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) :
					  getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &len)) < 0 ||
	    mtu < 576) {
		SW_LOG("port %s: no route MTU toward %s (%s); assuming 1500", p->name, a,
		       strerror(errno));
		mtu = 1500;
	}
	if (fd >= 0)
		close(fd);
	SW_LOG("port %s: remote %u %s, path MTU %d: frames of up to %d bytes (guest MTU %d)",
	       p->name, r + 1, a, mtu, mtu - (int)v->ip_overhead, mtu - (int)v->ip_overhead - 14);
	return (unsigned)mtu;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

const struct port *vxlan_group_reader(const struct sw_conf *c, const struct port *p)
{
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *o = c->ports[c->live[i]];
		if (o == p || (o->type == PORT_VXLAN && o->vx.grp == p->vx.grp))
			return o;
	}
	return p;
}

/* p's receive sockets: a running tunnel port's of the same local address
 * and UDP port, or new ones. */
static int group_join(struct port *p, char *err, size_t errlen)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	struct vxlan_port *v = &p->vx;
	struct vxlan_group *g = NULL;
	const struct port *member = NULL;
	char a[SW_IP_STRLEN];

	sw_ip_str(&v->local, a, sizeof(a));
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *o = c->ports[c->live[i]];
		if (o->type != PORT_VXLAN || o->vx.dstport != v->dstport ||
		    !sw_ip_eq(&o->vx.local, &v->local))
			continue;
		if (o->vx.vni == v->vni)
			return ERR("port %s: VNI %u on %s port %u is port %s's already", p->name,
				   v->vni, a, v->dstport, o->name);
		g = o->vx.grp;
		member = o;
	}
	if (g && g->queues != p->queues)
		return ERR("port %s: shares %s port %u with port %s, which has %u queue%s: give "
			   "queues=%u",
			   p->name, a, v->dstport, member->name, g->queues, g->queues == 1 ? "" : "s",
			   g->queues);
	if (g) {
		g->refs++;
		v->grp = g;
		SW_LOG("port %s: VNI %u shares %s port %u with port %s", p->name, v->vni, a,
		       v->dstport, member->name);
		return 0;
	}
	if (!(g = calloc(1, sizeof(*g))))
		return ERR("out of memory");
	g->refs = 1;
	g->queues = p->queues;
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		g->fds[q] = -1;
	v->grp = g;
	/* UDP GRO (Linux 5.0): a read may carry several datagrams. */
	g->gro = !getenv("VHU_VXLAN_NO_GRO");
	for (unsigned q = 0; q < g->queues; q++) {
		int fd = udp_socket(p, &v->local, v->dstport, true, err, errlen), one = 1;
		if (fd < 0)
			return fd;
		g->fds[q] = fd;
		if (g->gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			g->gro = false;
	}
	for (unsigned q = 0; g->gro && q < g->queues; q++)
		if (!(g->over[q] = malloc((size_t)SW_BURST * SW_VXLAN_GRO_BYTES)) ||
		    !(g->left[q] = calloc(SW_VXLAN_LEFT, sizeof(*g->left[q]))))
			return ERR("out of memory");
	SW_LOG("port %s: receives on %s port %u, UDP GRO %s", p->name, a, v->dstport,
	       g->gro ? "on" : "off");
	return 0;
}

static void group_leave(struct vxlan_port *v)
{
	struct vxlan_group *g = v->grp;

	v->grp = NULL;
	if (!g || --g->refs)
		return;
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++) {
		if (g->fds[q] >= 0)
			close(g->fds[q]);
		if (g->left[q])
			vhu_pkt_free_bulk(g->left[q], g->nleft[q]);
		free(g->left[q]);
		free(g->over[q]);
	}
	free(g);
}

int vxlan_port_open(struct port *p, char *err, size_t errlen)
{
	struct vxlan_port *v = &p->vx;
	int fd = 0;

	sw_vxlan_header(v->hdr, v->vni);
	v->ip_overhead = v->local.family == AF_INET ? SW_VXLAN_IP_OVERHEAD4 : SW_VXLAN_IP_OVERHEAD6;
	for (unsigned r = 0; r < v->nremote; r++)
		if ((fd = sockaddr_of(p, &v->remote[r], v->dstport, &v->to[r], &v->tolen, err,
				      errlen)) < 0)
			goto fail;
	if ((fd = group_join(p, err, errlen)) < 0)
		goto fail;
	for (unsigned i = 0; i < SW_VXLAN_TX_SOCKS; i++) {
		if ((fd = udp_socket(p, &v->local, 0, false, err, errlen)) < 0)
			goto fail;
		v->tx_fd[i] = fd;
	}
	for (unsigned r = 0; r < v->nremote; r++)
		v->mtu[r] = path_mtu(p, r);
	/* UDP GSO (Linux 4.18): a socket that takes the option takes the
	 * control message. */
	int zero = 0;
	v->gso = !getenv("VHU_VXLAN_NO_GSO") &&
		 setsockopt(v->tx_fd[0], SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	SW_LOG("port %s: UDP GSO %s", p->name, v->gso ? "on" : "off");
	atomic_store(&p->state, PS_RUNNING);
	return 0;
fail:
	vxlan_port_close(p);
	return fd;
}

void vxlan_port_close(struct port *p)
{
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++) {
		vhu_pkt_free_bulk(p->rx_spare[q], p->nspare[q]);
		p->nspare[q] = 0;
	}
	group_leave(&p->vx);
	for (unsigned i = 0; i < SW_VXLAN_TX_SOCKS; i++) {
		if (p->vx.tx_fd[i] >= 0)
			close(p->vx.tx_fd[i]);
		p->vx.tx_fd[i] = -1;
	}
	atomic_store(&p->state, PS_DOWN);
}

/* Datagrams of one UDP GSO send (the kernel's UDP_MAX_SEGMENTS is 64 on
 * older kernels) and the payload bytes it may carry. */
#define GSO_SEGS 64
#define GSO_BYTES 65000
#define TX_IOV_POOL 1024

/* A burst's messages for one socket. With UDP GSO, consecutive datagrams
 * of one size to one remote share a message (its iovecs follow each
 * other in the pool) and a UDP_SEGMENT control message: the kernel takes
 * them through its stack once and cuts them into datagrams at the end. */
struct tx_batch {
	struct mmsghdr msg[TX_BATCH];
	uint16_t dgrams[TX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cm[TX_BATCH];
	struct iovec iov[TX_IOV_POOL];
	unsigned niov, bytes;     /* iovecs used; payload of the last message */
	uint16_t n;
	unsigned last_r;
	uint32_t last_size;
};

/* Sends the batch on fd; returns the datagrams the kernel took. */
static unsigned flush_sock(int fd, struct tx_batch *b, uint16_t *errs)
{
	unsigned sent = 0, dgrams = 0;

	while (sent < b->n) {
		int r = sendmmsg(fd, b->msg + sent, b->n - sent, MSG_DONTWAIT);
		if (r <= 0) {
			/* Full socket buffer: the rest is dropped, as a full
			 * ring is. Other errors (no route) count as errors. */
			if (r < 0 && errno != EAGAIN && errno != ENOBUFS)
				for (unsigned k = sent; k < b->n; k++)
					*errs = (uint16_t)(*errs + b->dgrams[k]);
			break;
		}
		for (int k = 0; k < r; k++)
			dgrams += b->dgrams[sent + (unsigned)k];
		sent += (unsigned)r;
	}
	b->n = 0;
	b->niov = 0;
	return dgrams;
}

/* Adds one datagram (the VXLAN header, then the frame's nseg segments,
 * size bytes in all) for remote r: to the last message when GSO allows,
 * else as a new one (flushing a full batch first). */
static unsigned add_dgram(struct vxlan_port *v, int fd, struct tx_batch *b, unsigned r,
			  const struct iovec *seg, unsigned nseg, uint32_t size, uint16_t *errs)
{
	unsigned done = 0;

	if (v->gso && b->n && b->last_r == r && b->last_size == size &&
	    b->dgrams[b->n - 1] < GSO_SEGS && b->bytes + size <= GSO_BYTES &&
	    b->niov + nseg + 1 <= TX_IOV_POOL) {
		struct msghdr *mh = &b->msg[b->n - 1].msg_hdr;
		b->iov[b->niov++] = (struct iovec){ v->hdr, SW_VXLAN_HLEN };
		memcpy(b->iov + b->niov, seg, nseg * sizeof(*seg));
		b->niov += nseg;
		mh->msg_iovlen += nseg + 1;
		b->bytes += size;
		if (++b->dgrams[b->n - 1] == 2) {
			mh->msg_control = b->cm[b->n - 1].buf;
			mh->msg_controllen = sizeof(b->cm[b->n - 1].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(mh);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t gso = (uint16_t)size;
			memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		}
		return 0;
	}
	if (b->n == TX_BATCH || b->niov + nseg + 1 > TX_IOV_POOL)
		done = flush_sock(fd, b, errs);
	struct iovec *iov = b->iov + b->niov;
	iov[0] = (struct iovec){ v->hdr, SW_VXLAN_HLEN };
	memcpy(iov + 1, seg, nseg * sizeof(*seg));
	b->niov += nseg + 1;
	b->msg[b->n].msg_hdr = (struct msghdr){ .msg_name = &v->to[r], .msg_namelen = v->tolen,
						.msg_iov = iov, .msg_iovlen = nseg + 1 };
	b->dgrams[b->n++] = 1;
	b->bytes = size;
	b->last_r = r;
	b->last_size = size;
	return done;
}

void vxlan_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	struct vxlan_port *v = &p->vx;
	struct tx_batch b;
	uint16_t mtu_drop = 0, errs = 0, seg_errs = 0, nsent = 0;
	unsigned msgs = 0, delivered = 0, sock = 0;
	unsigned q = pmd % p->queues;

	/* The flow of a frame picks its socket (its outer source port); a
	 * batch is flushed when the socket changes (a burst is mostly one
	 * flow, so mostly once). */
	b.n = 0;
	b.niov = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct vhu_pkt *pkt = pkts[i];
		unsigned s_of = sw_vxlan_flow_hash(vhu_pkt_data(pkt), pkt->data_len) %
				SW_VXLAN_TX_SOCKS;
		unsigned r0 = 0, r1 = v->nremote;
		if (pkt->user && pkt->user <= v->nremote)
			r0 = pkt->user - 1, r1 = pkt->user;
		struct iovec seg[TX_IOV];
		unsigned nseg = 0;
		const struct vhu_pkt *s = pkt;
		for (; s && nseg < TX_IOV - 1; s = s->next)
			seg[nseg++] = (struct iovec){ vhu_pkt_data(s), s->data_len };
		if (s) {
			seg_errs++; /* more segments than a frame after egress.c has */
			continue;
		}
		if (b.n && s_of != sock)
			delivered += flush_sock(v->tx_fd[sock], &b, &errs);
		sock = s_of;
		bool any = false;
		for (unsigned r = r0; r < r1; r++) {
			if (pkt->pkt_len + v->ip_overhead > v->mtu[r]) {
				mtu_drop++;
				continue;
			}
			delivered += add_dgram(v, v->tx_fd[sock], &b, r, seg, nseg,
					       SW_VXLAN_HLEN + pkt->pkt_len, &errs);
			msgs++;
			any = true;
		}
		if (any)
			pkts[nsent++] = pkt;
	}
	if (b.n)
		delivered += flush_sock(v->tx_fd[sock], &b, &errs);
	port_capture(p, pkts, nsent);
	/* tx_packets counts frames handed to the kernel for at least one
	 * remote; tx_dropped counts copies (a frame for one remote) that did
	 * not go: a full socket buffer, or too big for the path (also in
	 * tx_mtu_dropped); tx_errors copies the kernel refused, and frames
	 * with too many segments. */
	uint16_t lost = (uint16_t)(msgs - delivered - errs);
	stats_count(&p->tx[q], pkts, nsent, (uint16_t)(lost + mtu_drop));
	if (errs + seg_errs)
		atomic_fetch_add_explicit(&p->tx[q].errors, errs + seg_errs, memory_order_relaxed);
	if (mtu_drop)
		atomic_fetch_add_explicit(&v->tx_mtu, mtu_drop, memory_order_relaxed);
}
