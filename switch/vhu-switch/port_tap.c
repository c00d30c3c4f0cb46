/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tap ports: a kernel interface on /dev/net/tun (IFF_TAP | IFF_NO_PI), the
 * slow path to the host's network stack or a namespace. One read or write
 * per packet: the kernel has no burst interface for tap fds without
 * vhost-net, and the fd is non-blocking so a PMD never sleeps in it.
 * The interface may be moved to another network namespace after creation;
 * the fd keeps working.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vhu/pkt.h>
#include "sw.h"

#define TAP_MAX_FRAME 9018 /* jumbo frame with a VLAN tag */

int tap_port_open(struct port *p, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "port %s: cannot open /dev/net/tun: %s", p->name,
			 strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "port %s: cannot create tap %s: %s", p->name,
			 p->ifname, strerror(e));
		close(fd);
		return -e;
	}
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifr.ifr_name);
	/* Bring the link up so the switch side is ready; addresses and the
	 * peer side are the administrator's business. */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
				SW_LOG("port %s: cannot set %s up: %s", p->name, p->ifname,
				       strerror(errno));
		}
		close(s);
	}
	p->fd = fd;
	p->queues = 1;
	atomic_store(&p->state, PS_RUNNING);
	return 0;
}

void tap_port_close(struct port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	atomic_store(&p->state, PS_DOWN);
}

uint16_t tap_rx(struct port *p, struct vhu_pkt_pool *pool,
		struct vhu_pkt **pkts, uint16_t n)
{
	uint16_t got = 0;

	if (vhu_pkt_alloc_bulk(pool, pkts, n) < 0)
		return 0;
	while (got < n) {
		struct vhu_pkt *pkt = pkts[got];
		/* Frames over one segment are read into two; the kernel
		 * never gives us more than the tap's MTU plus headers. */
		struct vhu_pkt *seg2 = NULL;
		struct iovec iov[2] = {
			{ vhu_pkt_data(pkt), vhu_pkt_tailroom(pkt) },
		};
		int niov = 1;
		if (got + 1 < n) {
			seg2 = pkts[n - 1];
			iov[1] = (struct iovec){ vhu_pkt_data(seg2), vhu_pkt_tailroom(seg2) };
			niov = 2;
		}
		ssize_t r = readv(p->fd, iov, niov);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				atomic_fetch_add_explicit(&p->rx[0].errors, 1, memory_order_relaxed);
			break;
		}
		if ((size_t)r > iov[0].iov_len) {
			/* Chain the second segment; it leaves the free tail. */
			pkt->data_len = (uint32_t)iov[0].iov_len;
			seg2->data_len = (uint32_t)((size_t)r - iov[0].iov_len);
			pkt->next = seg2;
			pkt->nb_segs = 2;
			n--;
		} else {
			pkt->data_len = (uint32_t)r;
		}
		pkt->pkt_len = (uint32_t)r;
		got++;
	}
	vhu_pkt_free_bulk(pkts + got, n - got);
	return got;
}

void tap_tx(struct port *p, struct vhu_pkt **pkts, uint16_t n)
{
	uint16_t sent = 0, errs = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct iovec iov[8];
		int niov = 0;
		for (struct vhu_pkt *s = pkts[i]; s && niov < 8; s = s->next)
			iov[niov++] = (struct iovec){ vhu_pkt_data(s), s->data_len };
		ssize_t r = writev(p->fd, iov, niov);
		if (r == (ssize_t)pkts[i]->pkt_len)
			pkts[sent++] = pkts[i]; /* keep the sent ones in front for capture */
		else if (r < 0 && errno != EAGAIN && errno != EIO)
			errs++;
	}
	/* Reordering pkts is safe: the caller only frees the input burst. */
	port_capture(p, pkts, sent);
	stats_count(&p->tx[0], pkts, sent, (uint16_t)(n - sent - errs));
	if (errs)
		atomic_fetch_add_explicit(&p->tx[0].errors, errs, memory_order_relaxed);
}
