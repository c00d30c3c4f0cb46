/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frontend's control connection: connect (or accept one backend),
 * message round-trips, and the negotiation and vring setup sequence QEMU
 * uses, so backends are tested against the order they meet in the field.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

/* Protocol features the frontend implements: the rest change the message
 * sequence in ways it does not follow. */
#define FE_KNOWN_PROTOCOL_FEATURES \
	((1ull << VHU_PROTO_F_MQ) | (1ull << VHU_PROTO_F_REPLY_ACK) | \
	 (1ull << VHU_PROTO_F_STATUS) | (1ull << VHU_PROTO_F_CONFIGURE_MEM_SLOTS))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A reply that never comes must not hang the caller; the poll() before
 * each message covers its start, these cover a peer stalling mid-message. */
static void set_sock_timeouts(int sock)
{
	struct timeval tv = { .tv_sec = FE_REPLY_TIMEOUT_MS / 1000 };
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int do_connect(struct vhu_fe *fe, const struct sockaddr_un *sa)
{
	int64_t end = now_ms() + fe->opts.connect_timeout_ms;
	int err;

	for (unsigned tries = 0;; tries++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return s;
		err = -errno;
		close(s);
		/* The backend may not be listening yet: retry until the
		 * timeout, on the errors a late start gives. */
		if ((err != -ENOENT && err != -ECONNREFUSED) || now_ms() >= end)
			break;
		usleep(tries < 10 ? 10000 : 50000);
	}
	VHU_ERR("fe %s: connect: %s", fe->path, strerror(-err));
	return err;
}

static int do_accept(struct vhu_fe *fe, const struct sockaddr_un *sa)
{
	struct stat st;
	int ls, s, r;

	/* A socket file left by an earlier frontend would make bind fail;
	 * anything else at that path is not ours to remove. */
	if (lstat(fe->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(fe->path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	if (bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(ls, 1) < 0) {
		r = -errno;
		VHU_ERR("fe %s: listen: %s", fe->path, strerror(errno));
		close(ls);
		return r;
	}
	fe->listening_created = true;
	struct pollfd pfd = { .fd = ls, .events = POLLIN };
	do {
		r = poll(&pfd, 1, fe->opts.connect_timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		r = r == 0 ? -ETIMEDOUT : -errno;
		VHU_ERR("fe %s: no backend connected within %d ms", fe->path,
			fe->opts.connect_timeout_ms);
		close(ls);
		return r;
	}
	s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	r = -errno;
	close(ls);
	return s >= 0 ? s : r;
}

int fe_connect(struct vhu_fe *fe)
{
	struct sockaddr_un sa;
	int s = fill_addr(fe->path, &sa);

	if (s < 0)
		return s;
	s = fe->opts.server ? do_accept(fe, &sa) : do_connect(fe, &sa);
	if (s < 0)
		return s;
	set_sock_timeouts(s);
	fe->sock = s;
	return 0;
}

int fe_send_msg(struct vhu_fe *fe, uint32_t request, uint32_t flags,
		const void *payload, uint32_t size, const int *fds, int nfds)
{
	struct vhu_msg msg;

	if (size > VHU_MAX_PAYLOAD || nfds < 0 || nfds > VHU_MAX_MSG_FDS ||
	    (size && !payload) || (nfds && !fds))
		return -EINVAL;
	msg.hdr.request = request;
	msg.hdr.flags = flags | VHU_MSG_VERSION;
	msg.hdr.size = size;
	if (size)
		memcpy(msg.p.raw, payload, size);
	msg.nfds = nfds;
	for (int i = 0; i < nfds; i++)
		msg.fds[i] = fds[i];
	return vhu_msg_send(fe->sock, &msg);
}

int fe_recv_msg(struct vhu_fe *fe, struct vhu_msg *msg, int timeout_ms, bool keep_fds)
{
	struct pollfd pfd = { .fd = fe->sock, .events = POLLIN };
	int r;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	r = vhu_msg_recv(fe->sock, msg);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return r;
	/* Only GET_INFLIGHT_FD's reply carries an fd the frontend keeps. */
	if (!keep_fds)
		vhu_msg_close_fds(msg);
	return 0;
}

int fe_get_reply(struct vhu_fe *fe, uint32_t request, struct vhu_msg *msg,
		 uint32_t size, bool keep_fds)
{
	int r = fe_recv_msg(fe, msg, FE_REPLY_TIMEOUT_MS, keep_fds);

	if (r < 0) {
		VHU_ERR("fe %s: %s: no reply: %s", fe->path, vhu_req_name(request),
			strerror(-r));
		return r;
	}
	if (msg->hdr.request != request || !(msg->hdr.flags & VHU_MSG_REPLY) ||
	    (msg->hdr.flags & VHU_MSG_VERSION_MASK) != VHU_MSG_VERSION ||
	    msg->hdr.size != size) {
		VHU_ERR("fe %s: %s: bad reply (request %u flags %#x size %u)", fe->path,
			vhu_req_name(request), msg->hdr.request, msg->hdr.flags,
			msg->hdr.size);
		vhu_msg_close_fds(msg);
		return -EPROTO;
	}
	return 0;
}

/* A request with no reply of its own: with REPLY_ACK we ask for an ack, so
 * a backend that refuses it is caught here, at the message at fault. */
int fe_request(struct vhu_fe *fe, uint32_t req, const void *payload,
	       uint32_t size, const int *fds, int nfds)
{
	bool ack = fe_has(fe->protocol_features, VHU_PROTO_F_REPLY_ACK);
	struct vhu_msg msg;
	int r;

	r = fe_send_msg(fe, req, ack ? VHU_MSG_NEED_REPLY : 0, payload, size, fds, nfds);
	if (r < 0) {
		VHU_ERR("fe %s: %s: send: %s", fe->path, vhu_req_name(req), strerror(-r));
		return r;
	}
	if (!ack)
		return 0;
	r = fe_get_reply(fe, req, &msg, sizeof(uint64_t), false);
	if (r < 0)
		return r;
	if (msg.p.u64 != 0) {
		VHU_ERR("fe %s: %s: backend replied failure %llu", fe->path,
			vhu_req_name(req), (unsigned long long)msg.p.u64);
		return -EIO;
	}
	return 0;
}

static int request_u64(struct vhu_fe *fe, uint32_t req, uint64_t v)
{
	return fe_request(fe, req, &v, sizeof(v), NULL, 0);
}

static int query_u64(struct vhu_fe *fe, uint32_t req, uint64_t *v)
{
	struct vhu_msg msg;
	int r = fe_send_msg(fe, req, 0, NULL, 0, NULL, 0);

	if (r < 0)
		return r;
	r = fe_get_reply(fe, req, &msg, sizeof(uint64_t), false);
	if (r == 0)
		*v = msg.p.u64;
	return r;
}

static int add_status(struct vhu_fe *fe, uint8_t bits)
{
	uint64_t s = 0;
	int r;

	if (!fe_has(fe->protocol_features, VHU_PROTO_F_STATUS))
		return 0;
	r = query_u64(fe, VHU_REQ_GET_STATUS, &s);
	if (r < 0)
		return r;
	return request_u64(fe, VHU_REQ_SET_STATUS, (s & 0xff) | bits);
}

static uint64_t want_features(const struct vhu_fe *fe)
{
	uint64_t want = fe->opts.features ? fe->opts.features
					  : vhu_fe_default_features(fe->opts.queue_pairs);

	if (!fe->opts.no_protocol_features)
		want |= 1ull << VHU_F_PROTOCOL_FEATURES;
	if (fe->opts.packed)
		want |= 1ull << VIRTIO_F_RING_PACKED;
	if (fe->opts.iommu)
		want |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
	return want;
}

static uint64_t want_protocol_features(const struct vhu_fe *fe)
{
	uint64_t want = fe->opts.protocol_features ? fe->opts.protocol_features
						   : FE_KNOWN_PROTOCOL_FEATURES;

	if (fe->opts.inflight)
		want |= 1ull << VHU_PROTO_F_INFLIGHT_SHMFD;
	/* As QEMU: misses need the backend channel, updates an ack. */
	if (fe->opts.iommu)
		want |= (1ull << VHU_PROTO_F_BACKEND_REQ) | (1ull << VHU_PROTO_F_REPLY_ACK);
	return want;
}

int fe_negotiate(struct vhu_fe *fe, bool again)
{
	uint64_t offered, pf_offered, qnum = 1;
	int r;

	fe->protocol_features = 0; /* nothing is in force on a new connection */
	r = query_u64(fe, VHU_REQ_GET_FEATURES, &offered);
	if (r < 0)
		return r;
	if (!again) {
		fe->features = offered & want_features(fe);
	} else if ((offered & fe->features) != fe->features) {
		/* The same ones again: the rings and headers in guest memory
		 * were laid out for them. */
		VHU_ERR("fe %s: the backend now offers features %#llx, without %#llx the "
			"rings were set up with", fe->path, (unsigned long long)offered,
			(unsigned long long)(fe->features & ~offered));
		return -EOPNOTSUPP;
	}
	fe->packed = fe_has(fe->features, VIRTIO_F_RING_PACKED);
	if (!fe->packed && (fe->opts.ring_size & (fe->opts.ring_size - 1))) {
		VHU_ERR("fe %s: ring size %u needs packed rings, which the backend "
			"does not offer", fe->path, fe->opts.ring_size);
		return -EOPNOTSUPP;
	}
	if (fe_has(fe->features, VHU_F_PROTOCOL_FEATURES)) {
		r = query_u64(fe, VHU_REQ_GET_PROTOCOL_FEATURES, &pf_offered);
		if (r < 0)
			return r;
		fe->protocol_features = pf_offered & want_protocol_features(fe);
		/* REPLY_ACK is not in force until this message is through. */
		r = fe_send_msg(fe, VHU_REQ_SET_PROTOCOL_FEATURES, 0,
				&fe->protocol_features, sizeof(uint64_t), NULL, 0);
		if (r < 0)
			return r;
		if (fe_has(fe->protocol_features, VHU_PROTO_F_MQ)) {
			r = query_u64(fe, VHU_REQ_GET_QUEUE_NUM, &qnum);
			if (r < 0)
				return r;
		}
		if (fe_has(fe->protocol_features, VHU_PROTO_F_CONFIGURE_MEM_SLOTS)) {
			r = query_u64(fe, VHU_REQ_GET_MAX_MEM_SLOTS, &fe->max_mem_slots);
			if (r < 0)
				return r;
			if (fe->max_mem_slots < fe->nregions + fe->nhot) {
				VHU_ERR("fe %s: the backend takes %llu memory regions, we have %u",
					fe->path, (unsigned long long)fe->max_mem_slots,
					fe->nregions + fe->nhot);
				return -ENOSPC;
			}
		}
	}
	if (fe->opts.iommu) {
		uint64_t need = (1ull << VHU_PROTO_F_BACKEND_REQ) | (1ull << VHU_PROTO_F_REPLY_ACK);
		if (!fe_has(fe->features, VIRTIO_F_ACCESS_PLATFORM) ||
		    (fe->protocol_features & need) != need) {
			VHU_ERR("fe %s: vIOMMU wanted; the backend lacks ACCESS_PLATFORM, "
				"BACKEND_REQ or REPLY_ACK", fe->path);
			return -EOPNOTSUPP;
		}
		r = fe_iotlb_open(fe);
		if (r < 0)
			return r;
	}
	if (fe->nqp > 1 && (!fe_has(fe->features, VIRTIO_NET_F_MQ) || qnum < fe->nqp)) {
		VHU_ERR("fe %s: %u queue pairs wanted, backend has %llu%s", fe->path,
			fe->nqp, (unsigned long long)qnum,
			fe_has(fe->features, VIRTIO_NET_F_MQ) ? "" : " (no MQ)");
		return -EOPNOTSUPP;
	}
	r = fe_request(fe, VHU_REQ_SET_OWNER, NULL, 0, NULL, 0);
	if (r < 0)
		return r;
	r = request_u64(fe, VHU_REQ_SET_FEATURES, fe->features);
	if (r < 0)
		return r;
	r = add_status(fe, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK);
	if (r < 0)
		return r;

	fe->mrg_rxbuf = fe_has(fe->features, VIRTIO_NET_F_MRG_RXBUF);
	fe->event_idx = fe_has(fe->features, VIRTIO_RING_F_EVENT_IDX);
	fe->hdr_len = fe->mrg_rxbuf || fe_has(fe->features, VIRTIO_F_VERSION_1)
		? sizeof(struct virtio_net_hdr_mrg_rxbuf) : sizeof(struct virtio_net_hdr);
	return 0;
}

/* Where the backend is to start: the frontend's own view, since a backend
 * that went away could not say (GET_VRING_BASE). Split: the used index it
 * has seen (what it got back; entries the backend used after that are
 * taken again unless an inflight region says otherwise). Packed: the used
 * position and wrap counter, bit 15, or, with an inflight region, the
 * position the backend recorded there. At creation: 0, and 0 wrap 1. */
static uint32_t vring_base(const struct vhu_fe *fe, const struct fe_vq *vq)
{
	uint16_t pos = vq->last_used;
	bool wrap = vq->used_wrap;

	if (!vq->packed)
		return vq->last_used;
	if (fe_inflight_packed_pos(fe, vq, &pos, &wrap) &&
	    (pos != vq->last_used || wrap != vq->used_wrap))
		VHU_INFO("fe %s: vring %u: inflight region says used position %u wrap %u "
			 "(we have seen %u wrap %u)", fe->path, vq->index, pos, wrap,
			 vq->last_used, vq->used_wrap);
	return pos | (uint32_t)wrap << 15;
}

static int setup_vring(struct vhu_fe *fe, struct fe_vq *vq)
{
	struct vhost_vring_state st = { .index = vq->index, .num = vq->num };
	const void *d = vq->packed ? (const void *)vq->pdesc : (const void *)vq->desc;
	const void *a = vq->packed ? (const void *)vq->drv_event : (const void *)vq->avail;
	const void *u = vq->packed ? (const void *)vq->dev_event : (const void *)vq->used;
	/* Our own addresses (as QEMU's), or with a vIOMMU the IOVAs. */
	struct vhost_vring_addr addr = {
		.index = vq->index,
		.desc_user_addr = fe->opts.iommu ? fe_mem_dev_addr(fe, d) : (uint64_t)(uintptr_t)d,
		.avail_user_addr = fe->opts.iommu ? fe_mem_dev_addr(fe, a) : (uint64_t)(uintptr_t)a,
		.used_user_addr = fe->opts.iommu ? fe_mem_dev_addr(fe, u) : (uint64_t)(uintptr_t)u,
	};
	const uint8_t *used = u;
	uint64_t idx = vq->index;
	int r;

	/* QEMU sends the used ring's guest-physical address for logging. */
	for (uint16_t i = 0; i < fe->nregions; i++) {
		const struct fe_region *rg = &fe->regions[i];
		if (used >= rg->va && used < rg->va + rg->size)
			addr.log_guest_addr = rg->gpa + (uint64_t)(used - rg->va);
	}
	if ((r = fe_request(fe, VHU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0)) < 0)
		return r;
	st.num = vring_base(fe, vq);
	if ((r = fe_request(fe, VHU_REQ_SET_VRING_BASE, &st, sizeof(st), NULL, 0)) < 0)
		return r;
	if ((r = fe_request(fe, VHU_REQ_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0)) < 0)
		return r;
	if ((r = fe_request(fe, VHU_REQ_SET_VRING_KICK, &idx, sizeof(idx), &vq->kickfd, 1)) < 0)
		return r;
	return fe_request(fe, VHU_REQ_SET_VRING_CALL, &idx, sizeof(idx), &vq->callfd, 1);
}

int fe_setup_vrings(struct vhu_fe *fe)
{
	int r = fe_inflight_setup(fe);

	if (r == 0)
		r = fe_mem_announce(fe);
	for (uint16_t i = 0; r == 0 && i < fe->nvq; i++)
		r = setup_vring(fe, &fe->vqs[i]);
	/* With protocol features the rings start disabled. */
	if (fe_has(fe->features, VHU_F_PROTOCOL_FEATURES)) {
		for (uint16_t i = 0; r == 0 && i < fe->nvq; i++) {
			struct vhost_vring_state st = { .index = i, .num = 1 };
			r = fe_request(fe, VHU_REQ_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
		}
	}
	if (r == 0)
		r = add_status(fe, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_DRIVER_OK);
	return r;
}

int fe_get_vring_base(struct vhu_fe *fe, uint16_t vring)
{
	struct vhost_vring_state st = { .index = vring };
	struct vhu_msg msg;
	int r;

	r = fe_send_msg(fe, VHU_REQ_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	if (r < 0)
		return r;
	r = fe_get_reply(fe, VHU_REQ_GET_VRING_BASE, &msg, sizeof(st), false);
	if (r < 0)
		return r;
	if (msg.p.state.index != vring) {
		VHU_ERR("fe %s: GET_VRING_BASE %u: reply is for vring %u", fe->path,
			vring, msg.p.state.index);
		return -EPROTO;
	}
	return (int)(msg.p.state.num & 0xffff);
}

void fe_stop(struct vhu_fe *fe)
{
	if (fe->sock < 0)
		return;
	/* As QEMU stops a device: status reset, then every ring's state. */
	if (fe_has(fe->protocol_features, VHU_PROTO_F_STATUS) &&
	    request_u64(fe, VHU_REQ_SET_STATUS, 0) < 0)
		return;
	for (uint16_t i = 0; i < fe->nvq; i++) {
		int r = fe_get_vring_base(fe, i);
		if (r == -EPIPE || r == -ECONNRESET || r == -ETIMEDOUT)
			return;
	}
}
