/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tap ports: a kernel interface on /dev/net/tun (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR), the way to the host's network stack or a namespace.
 *
 * Every frame crosses with a virtio-net header, so offloads pass both
 * ways: with offloads=on (the default) TUNSETOFFLOAD lets the kernel hand
 * us TCP and UDP packets of up to 64 KiB with a partial checksum (its TSO
 * and USO), and what we write may be the same. One read or write per
 * packet: a tap fd has no batch call without vhost-net (no recvmmsg or
 * sendmmsg on it), so the syscall per packet is paid per 64 KiB, not per
 * 1500 bytes. Packets for reads are allocated ahead and kept from poll to
 * poll, so an idle poll costs a read and no allocation. What a 64 KiB
 * packet has past its first segment is read into one 64 KiB segment from
 * the PMD's big pool, which joins the packet (no copy of ours; the
 * DPDK's LINEARBUF idea): a copy of it into 2 KiB segments cost 12% of
 * the PMD, and reading straight into 33 such segments made the kernel's
 * copy as much slower. When the big pool is empty the read spills into a
 * per-queue area that is copied. The fds are non-blocking so a PMD never
 * sleeps in them.
 *
 * queues=N opens N fds on one interface (IFF_MULTI_QUEUE): each is an rx
 * queue a PMD polls, and PMD n writes on fd n % N. The interface may be
 * moved to another network namespace after creation; the fds keep
 * working (bring the link up there).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vhu/pkt.h>
#include "sw.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* A GSO packet from the kernel: 64 KiB of IP plus Ethernet and tags. */
#define TAP_RX_MAX (65536 + 64)
/* Segments of a packet written at once: 64 KiB in 2 KiB segments, with
 * room to spare, plus the header. */
#define TAP_TX_IOV 64
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static int tap_open_queue(struct port *p, unsigned q, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "port %s: cannot open /dev/net/tun: %s", p->name,
			 strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(p->queues > 1 ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
	int hdr = (int)sizeof(struct virtio_net_hdr), le = 1;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		snprintf(err, errlen, "port %s: cannot create tap %s (queue %u): %s", p->name,
			 p->ifname, q, strerror(e));
		close(fd);
		return -e;
	}
	/* The header is little-endian (virtio 1.x); the ioctl only matters on
	 * a big-endian host, where it may be missing: then native is used. */
	(void)ioctl(fd, TUNSETVNETLE, &le);
	if (q == 0)
		snprintf(p->ifname, sizeof(p->ifname), "%s", ifr.ifr_name);
	p->fds[q] = fd;
	return 0;
}

/* What the kernel may hand us; returns the SW_OL_* set the port then
 * takes on transmit (the kernel accepts whatever it would send). */
static unsigned tap_set_offloads(struct port *p)
{
	unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	unsigned ol = SW_OL_CSUM | SW_OL_TSO4 | SW_OL_TSO6 | SW_OL_ECN;

	if (p->no_offloads) {
		if (ioctl(p->fds[0], TUNSETOFFLOAD, 0) < 0)
			SW_LOG("port %s: cannot turn offloads off: %s", p->name, strerror(errno));
		return 0;
	}
	if (ioctl(p->fds[0], TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0)
		return ol | SW_OL_USO4 | SW_OL_USO6;
	/* A kernel older than 6.2 knows no USO. */
	if (ioctl(p->fds[0], TUNSETOFFLOAD, tso) == 0)
		return ol;
	SW_LOG("port %s: no offloads on %s: %s", p->name, p->ifname, strerror(errno));
	return ioctl(p->fds[0], TUNSETOFFLOAD, TUN_F_CSUM) == 0 ? SW_OL_CSUM : 0;
}

void sw_link_up(struct port *p)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			SW_LOG("port %s: cannot set %s up: %s", p->name, p->ifname,
			       strerror(errno));
	}
	close(s);
}

int tap_port_open(struct port *p, char *err, size_t errlen)
{
	for (unsigned q = 0; q < p->queues; q++) {
		int rc = tap_open_queue(p, q, err, errlen);
		if (!rc) {
			p->rxbuf[q] = malloc(TAP_RX_MAX);
			rc = p->rxbuf[q] ? 0 : -ENOMEM;
			if (rc)
				snprintf(err, errlen, "port %s: out of memory", p->name);
		}
		if (rc) {
			tap_port_close(p);
			return rc;
		}
	}
	atomic_store(&p->ol_caps, tap_set_offloads(p));
	/* Bring the link up so the switch side is ready; addresses and the
	 * peer side are the administrator's business. */
	sw_link_up(p);
	atomic_store(&p->state, PS_RUNNING);
	return 0;
}

void tap_port_close(struct port *p)
{
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++) {
		vhu_pkt_free_bulk(p->rx_spare[q], p->nspare[q]);
		p->nspare[q] = 0;
		vhu_pkt_free(p->rx_big[q]);
		p->rx_big[q] = NULL;
		if (p->fds[q] >= 0)
			close(p->fds[q]);
		p->fds[q] = -1;
		free(p->rxbuf[q]);
		p->rxbuf[q] = NULL;
	}
	atomic_store(&p->state, PS_DOWN);
}

/* The kernel's header into pkt->ol, checked as a guest's would be: the
 * kernel is a peer whose input we validate too. */
static bool hdr_to_ol(const struct virtio_net_hdr *h, struct vhu_pkt *pkt)
{
	struct vhu_pkt_offload *ol = &pkt->ol;

	ol->flags = h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
	ol->gso_type = h->gso_type;
	ol->hdr_len = le16toh(h->hdr_len);
	ol->gso_size = le16toh(h->gso_size);
	ol->csum_start = le16toh(h->csum_start);
	ol->csum_offset = le16toh(h->csum_offset);
	if ((ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)ol->csum_start + ol->csum_offset + 2 > pkt->pkt_len)
		return false;
	if (ol->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
	case VHU_NET_HDR_GSO_UDP_L4:
		break;
	default:
		return false;
	}
	return ol->gso_size && ol->gso_size <= pkt->pkt_len &&
	       (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

/* len bytes from the receive area into segments chained after last,
 * taken with one allocation: the segments added, or -1 when the pool ran
 * dry. */
static int chain_rest(struct vhu_pkt *last, const uint8_t *src, uint32_t len,
		      struct vhu_pkt_pool *pool)
{
	struct vhu_pkt *segs[TAP_RX_MAX / 1024 + 2];
	uint32_t room = vhu_pkt_pool_data_room(pool);
	unsigned need = (len + room - 1) / room;

	if (need > sizeof(segs) / sizeof(segs[0]) || vhu_pkt_alloc_bulk(pool, segs, need) < 0)
		return -1;
	for (unsigned i = 0; i < need; i++) {
		struct vhu_pkt *sg = segs[i];
		uint32_t n = MIN(len, vhu_pkt_tailroom(sg));
		memcpy(vhu_pkt_data(sg), src, n);
		sg->data_len = n;
		last->next = sg;
		last = sg;
		src += n;
		len -= n;
	}
	return (int)need;
}

/* A spare that a read filled but that is not handed out: empty again. */
static void spare_reset(struct vhu_pkt *pkt)
{
	vhu_pkt_free(pkt->next);
	pkt->next = NULL;
	pkt->nb_segs = 1;
	pkt->data_len = pkt->pkt_len = 0;
	pkt->ol = (struct vhu_pkt_offload){ 0 };
}

uint16_t tap_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		struct vhu_pkt_pool *big, struct vhu_pkt **pkts, uint16_t n)
{
	struct vhu_pkt **sp = p->rx_spare[q];
	uint16_t got = 0, bad = 0, drop = 0, ns = p->nspare[q];
	int fd = p->fds[q];

	if (n > SW_BURST)
		n = SW_BURST;
	if (ns < n && vhu_pkt_alloc_bulk(pool, sp + ns, n - ns) == 0)
		ns = n;
	/* At most n reads a poll, good frames or not. */
	for (uint16_t tries = 0; tries < n && ns; tries++) {
		struct vhu_pkt *pkt = sp[ns - 1];
		struct virtio_net_hdr h;
		uint32_t room = vhu_pkt_tailroom(pkt);
		struct vhu_pkt *bg = p->rx_big[q];
		if (!bg)
			bg = p->rx_big[q] = vhu_pkt_alloc(big);
		struct iovec iov[3] = {
			{ &h, sizeof(h) },
			{ vhu_pkt_data(pkt), room },
			bg ? (struct iovec){ vhu_pkt_data(bg), vhu_pkt_tailroom(bg) }
			   : (struct iovec){ p->rxbuf[q], TAP_RX_MAX },
		};
		ssize_t r = readv(fd, iov, 3);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				atomic_fetch_add_explicit(&p->rx[q].errors, 1, memory_order_relaxed);
			break;
		}
		if ((size_t)r < sizeof(h) + 14) {
			bad++;
			continue;
		}
		uint32_t len = (uint32_t)((size_t)r - sizeof(h));
		int m = 0;
		pkt->data_len = MIN(len, room);
		pkt->pkt_len = len;
		if (len > room && bg) {
			/* The rest is in the big segment: it joins the packet. */
			bg->data_len = len - room;
			pkt->next = bg;
			p->rx_big[q] = NULL;
			m = 1;
		} else if (len > room && (m = chain_rest(pkt, p->rxbuf[q], len - room, pool)) < 0) {
			spare_reset(pkt);
			drop++;
			continue;
		}
		pkt->nb_segs = (uint16_t)(1 + (m > 0 ? m : 0));
		if (!hdr_to_ol(&h, pkt)) {
			spare_reset(pkt);
			bad++;
			continue;
		}
		pkts[got++] = pkt;
		ns--;
	}
	p->nspare[q] = ns;
	if (bad)
		atomic_fetch_add_explicit(&p->rx[q].errors, bad, memory_order_relaxed);
	if (bad + drop)
		atomic_fetch_add_explicit(&p->rx[q].dropped, bad + drop, memory_order_relaxed);
	return got;
}

static void ol_to_hdr(const struct vhu_pkt_offload *ol, struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16(ol->csum_start);
		h->csum_offset = htole16(ol->csum_offset);
	} else if (ol->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		h->gso_type = ol->gso_type;
		h->gso_size = htole16(ol->gso_size);
		h->hdr_len = htole16(ol->hdr_len);
	}
}

void tap_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	uint16_t sent = 0, errs = 0;
	int fd = p->fds[pmd % p->queues];

	for (uint16_t i = 0; i < n; i++) {
		struct virtio_net_hdr h;
		struct iovec iov[TAP_TX_IOV];
		int niov = 1;
		ol_to_hdr(&pkts[i]->ol, &h);
		iov[0] = (struct iovec){ &h, sizeof(h) };
		const struct vhu_pkt *s = pkts[i];
		for (; s && niov < TAP_TX_IOV; s = s->next)
			iov[niov++] = (struct iovec){ vhu_pkt_data(s), s->data_len };
		if (s) {
			errs++; /* more segments than a packet of 64 KiB has */
			continue;
		}
		ssize_t r = writev(fd, iov, niov);
		if (r == (ssize_t)(sizeof(h) + pkts[i]->pkt_len))
			pkts[sent++] = pkts[i]; /* keep the sent ones in front for capture */
		else if (r < 0 && errno != EAGAIN && errno != EIO)
			errs++;
	}
	/* Reordering pkts is safe: the caller only frees the input burst. */
	port_capture(p, pkts, sent);
	unsigned q = pmd % p->queues;
	stats_count(&p->tx[q], pkts, sent, (uint16_t)(n - sent - errs));
	if (errs)
		atomic_fetch_add_explicit(&p->tx[q].errors, errs, memory_order_relaxed);
}
