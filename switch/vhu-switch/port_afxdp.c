/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AF_XDP ports: queues 0..N-1 of an existing interface (a NIC, or a veth
 * standing in for one) owned by the switch through one XDP socket each
 * (docs/afxdp.md). This file sets them up and takes them down; the data
 * path is port_afxdp_io.c.
 *
 * The XDP program is libxdp's own xsk_def_prog (redirect to the XSKMAP
 * entry of the frame's rx queue, pass when there is none), opened with
 * libxdp and loaded by libbpf, its map sized to the interface's queues.
 * It is attached through a bpf_link, not with libxdp's netlink attach
 * that xsk_socket__create would do: a link belongs to the fd we hold, so
 * the kernel detaches the program when the switch exits in any way,
 * kill -9 included. libxdp's own attach leaves its dispatcher on the
 * interface after kill -9 (tests/peers/switch_afxdp.sh shows both).
 * The sockets are made with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD and put
 * into the map before the program is attached, so every queue is ready
 * when the first frame is redirected.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "port_afxdp.h"
#include "sw.h"

/* How long a queue released a moment ago is waited for: 1 s. */
#define BUSY_TRIES 20
#define BUSY_WAIT_NS 50000000L
#define ERR(rc, ...) (snprintf(err, errlen, __VA_ARGS__), (rc))

/* Whether this kernel and these privileges allow AF_XDP at all. */
static int check_af_xdp(struct port *p, char *err, size_t errlen)
{
	int s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		close(s);
		return 0;
	}
	int e = errno;
	if (e == EAFNOSUPPORT)
		return ERR(-e, "port %s: this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)",
			   p->name);
	if (e == EPERM || e == EACCES)
		return ERR(-e, "port %s: AF_XDP needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF "
			   "(run as root)", p->name);
	return ERR(-e, "port %s: cannot open an AF_XDP socket: %s", p->name, strerror(e));
}

/* The interface's rx queues (ethtool -l), or 0 when its driver does not say. */
static unsigned if_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = 0;

	if (s < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(s, SIOCETHTOOL, &ifr) == 0)
		n = ch.combined_count > ch.rx_count ? ch.combined_count : ch.rx_count;
	close(s);
	return n;
}

/* libbpf's and libxdp's warnings in our log; their chatter (sections of
 * libxdp's object libbpf does not know, and so on) not. */
static int lib_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	SW_LOG("libbpf: %s", line);
	return 0;
}

static int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return level == LIBXDP_WARN ? lib_log(LIBBPF_WARN, fmt, ap) : 0;
}

/* libxdp's redirect program, its map sized for nq queues, loaded. */
static int load_prog(struct port *p, struct afxdp_port *x, unsigned nq, char *err, size_t errlen)
{
	libbpf_set_print(lib_log);
	libxdp_set_print(libxdp_log);
	x->prog = xdp_program__find_file("xsk_def_xdp_prog.o", "xdp", NULL);
	long e = libxdp_get_error(x->prog);
	if (e) {
		x->prog = NULL;
		return ERR((int)e, "port %s: cannot open libxdp's xsk_def_xdp_prog.o: %s "
			   "(is libxdp1 installed?)", p->name, strerror((int)-e));
	}
	struct bpf_object *obj = xdp_program__bpf_obj(x->prog);
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "xsks_map");
	if (!map || bpf_map__set_max_entries(map, nq) < 0)
		return ERR(-ENOENT, "port %s: libxdp's program has no xsks_map", p->name);
	int rc = bpf_object__load(obj);
	if (rc < 0)
		return ERR(rc, "port %s: cannot load the XDP program: %s%s", p->name, strerror(-rc),
			   rc == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN)" : "");
	return 0;
}

static int map_fd(struct afxdp_port *x)
{
	return bpf_map__fd(bpf_object__find_map_by_name(xdp_program__bpf_obj(x->prog), "xsks_map"));
}

static int attach(struct afxdp_port *x, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);
	struct bpf_program *bp =
		bpf_object__find_program_by_name(xdp_program__bpf_obj(x->prog), "xsk_def_prog");
	int fd = bpf_link_create(bp ? bpf_program__fd(bp) : -1, x->ifindex, BPF_XDP, &o);
	return fd < 0 ? -errno : fd;
}

/* mode=auto: native, else generic, saying why native failed. */
static int attach_prog(struct port *p, struct afxdp_port *x, char *err, size_t errlen)
	SW_REQUIRES(sw_ctl_lock)
{
	enum sw_xdp_mode m = p->spec.xdp_mode;
	int fd = -EOPNOTSUPP;

	if (m != SW_XDP_GENERIC) {
		fd = attach(x, XDP_FLAGS_DRV_MODE);
		x->native = fd >= 0;
		if (fd < 0 && m == SW_XDP_AUTO && fd != -EBUSY && fd != -EEXIST && fd != -EPERM)
			SW_LOG("port %s: native XDP on %s failed (%s: the driver has no XDP support "
			       "or the interface's settings exclude it); using generic XDP", p->name,
			       p->ifname, strerror(-fd));
	}
	if (fd < 0 && m != SW_XDP_NATIVE && fd != -EBUSY && fd != -EEXIST && fd != -EPERM)
		fd = attach(x, XDP_FLAGS_SKB_MODE);
	if (fd == -EBUSY || fd == -EEXIST)
		return ERR(fd, "port %s: %s already has an XDP program attached (see ip link show "
			   "%s; ip link set %s xdp off removes it)", p->name, p->ifname, p->ifname,
			   p->ifname);
	if (fd == -EPERM)
		return ERR(fd, "port %s: attaching XDP to %s needs CAP_NET_ADMIN and CAP_BPF",
			   p->name, p->ifname);
	if (fd < 0)
		return ERR(fd, "port %s: cannot attach %s XDP to %s: %s", p->name,
			   m == SW_XDP_NATIVE ? "native" : "generic", p->ifname, strerror(-fd));
	x->link_fd = fd;
	return 0;
}

static int open_queue(struct port *p, struct afxdp_port *x, unsigned q, int mfd, char *err,
		      size_t errlen)
	SW_REQUIRES(sw_ctl_lock)
{
	struct xdp_queue *xq = &x->q[q];
	uint32_t n = p->spec.umem_frames;

	xq->half = n / 2;
	xq->area_len = (uint64_t)n * XDP_FRAME;
	void *a = mmap(NULL, xq->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	xq->tx_free = calloc(xq->half, sizeof(*xq->tx_free));
	if (a == MAP_FAILED || !xq->tx_free) {
		if (a != MAP_FAILED)
			munmap(a, xq->area_len);
		return ERR(-ENOMEM, "port %s: no memory for %u frames of queue %u", p->name, n, q);
	}
	xq->area = a;
	struct xsk_umem_config uc = { .fill_size = xq->half, .comp_size = xq->half,
				      .frame_size = XDP_FRAME };
	int rc = xsk_umem__create(&xq->umem, a, xq->area_len, &xq->fill, &xq->comp, &uc);
	if (rc)
		return ERR(rc, "port %s: queue %u: cannot register the UMEM: %s", p->name, q,
			   strerror(-rc));
	static const __u16 zc[] = { [SW_ZC_AUTO] = 0, [SW_ZC_ON] = XDP_ZEROCOPY,
				    [SW_ZC_OFF] = XDP_COPY };
	struct xsk_socket_config sc = {
		.rx_size = xq->half, .tx_size = xq->half,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = (__u16)(XDP_USE_NEED_WAKEUP | zc[p->spec.zerocopy]),
	};
	/* A socket of this queue closed just before (del-port, add-port)
	 * leaves the queue busy until the kernel's deferred release has run. */
	for (int i = 0; i < BUSY_TRIES; i++) {
		rc = xsk_socket__create(&xq->xsk, p->ifname, q, xq->umem, &xq->rx, &xq->tx, &sc);
		if (rc != -EBUSY)
			break;
		nanosleep(&(struct timespec){ 0, BUSY_WAIT_NS }, NULL);
	}
	if (rc == -EBUSY)
		return ERR(rc, "port %s: %s queue %u is in use by another AF_XDP socket", p->name,
			   p->ifname, q);
	if (rc == -EOPNOTSUPP && p->spec.zerocopy == SW_ZC_ON)
		return ERR(rc, "port %s: %s has no zero-copy AF_XDP (zerocopy=auto or off)",
			   p->name, p->ifname);
	if (rc)
		return ERR(rc, "port %s: cannot bind an AF_XDP socket to %s queue %u: %s", p->name,
			   p->ifname, q, strerror(-rc));
	xq->fd = xsk_socket__fd(xq->xsk);
	rc = xsk_socket__update_xskmap(xq->xsk, mfd);
	if (rc)
		return ERR(rc, "port %s: queue %u: cannot enter the socket in the XSKMAP: %s",
			   p->name, q, strerror(-rc));
	struct xdp_options opt;
	socklen_t ol = sizeof(opt);
	if (q == 0 && getsockopt(xq->fd, SOL_XDP, XDP_OPTIONS, &opt, &ol) == 0)
		x->zerocopy = opt.flags & XDP_OPTIONS_ZEROCOPY;
	/* Every receive frame to the kernel; the transmit ones wait with us. */
	uint32_t idx;
	if (xsk_ring_prod__reserve(&xq->fill, xq->half, &idx) != xq->half)
		return ERR(-EIO, "port %s: queue %u: fill ring short", p->name, q);
	for (uint32_t i = 0; i < xq->half; i++)
		*xsk_ring_prod__fill_addr(&xq->fill, idx + i) = (uint64_t)i * XDP_FRAME;
	xsk_ring_prod__submit(&xq->fill, xq->half);
	for (uint32_t i = 0; i < xq->half; i++)
		xq->tx_free[i] = (uint64_t)(xq->half + i) * XDP_FRAME;
	xq->ntx_free = xq->half;
	return 0;
}

static int setup(struct port *p, struct afxdp_port *x, char *err, size_t errlen)
	SW_REQUIRES(sw_ctl_lock)
{
	int rc = check_af_xdp(p, err, errlen);
	if (rc)
		return rc;
	x->ifindex = (int)if_nametoindex(p->ifname);
	if (!x->ifindex)
		return ERR(-ENODEV, "port %s: no interface %s here", p->name, p->ifname);
	unsigned nq = if_queues(p->ifname);
	if (nq && p->queues > nq)
		return ERR(-EINVAL, "port %s: %s has %u queue%s (ethtool -l), queues=%u asks for more",
			   p->name, p->ifname, nq, nq == 1 ? "" : "s", p->queues);
	rc = load_prog(p, x, nq > p->queues ? nq : p->queues, err, errlen);
	for (unsigned q = 0; !rc && q < p->queues; q++)
		rc = open_queue(p, x, q, map_fd(x), err, errlen);
	return rc ? rc : attach_prog(p, x, err, errlen);
}

int afxdp_port_open(struct port *p, char *err, size_t errlen)
	SW_REQUIRES(sw_ctl_lock)
{
	struct afxdp_port *x = calloc(1, sizeof(*x));

	if (!x)
		return ERR(-ENOMEM, "port %s: out of memory", p->name);
	x->link_fd = -1;
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		x->q[q].fd = -1;
	p->xdp = x;
	int rc = setup(p, x, err, errlen);
	if (rc) {
		afxdp_port_close(p);
		return rc;
	}
	atomic_store(&p->ol_caps, 0); /* no vnet header: egress.c completes frames */
	sw_link_up(p);
	SW_LOG("port %s: %s XDP on %s, %s sockets, %u frames a queue", p->name,
	       x->native ? "native" : "generic", p->ifname, x->zerocopy ? "zero-copy" : "copy-mode",
	       p->spec.umem_frames);
	if (!x->zerocopy && p->spec.zerocopy == SW_ZC_AUTO)
		SW_LOG("port %s: %s has no zero-copy AF_XDP: frames are copied by the kernel",
		       p->name, p->ifname);
	atomic_store(&p->state, PS_RUNNING);
	return 0;
}

/* The program first, so that nothing is redirected to a closing socket. */
void afxdp_port_close(struct port *p)
{
	struct afxdp_port *x = p->xdp;

	if (!x)
		return;
	if (x->link_fd >= 0)
		close(x->link_fd);
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++) {
		struct xdp_queue *xq = &x->q[q];
		if (xq->xsk)
			xsk_socket__delete(xq->xsk);
		if (xq->umem)
			xsk_umem__delete(xq->umem);
		if (xq->area)
			munmap(xq->area, xq->area_len);
		free(xq->tx_free);
	}
	if (x->prog)
		xdp_program__close(x->prog);
	free(x);
	p->xdp = NULL;
	atomic_store(&p->state, PS_DOWN);
}

const char *afxdp_mode(const struct port *p)
{
	return !p->xdp ? "down" : p->xdp->native ? "native" : "generic";
}

bool afxdp_zerocopy(const struct port *p)
{
	return p->xdp && p->xdp->zerocopy;
}
