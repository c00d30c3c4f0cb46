/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "common/log.h"
#include "proto/backend_chan.h"
#include "proto/wire.h"

void vhu_backend_chan_init(struct vhu_backend_chan *c) VHU_NO_TSA
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->fd = -1;
}

void vhu_backend_chan_fini(struct vhu_backend_chan *c)
{
	vhu_backend_chan_set_fd(c, -1);
	free(c->sent);
	c->sent = NULL;
	pthread_mutex_destroy(&c->lock);
}

void vhu_backend_chan_set_fd(struct vhu_backend_chan *c, int fd)
{
	vhu_mutex_lock(&c->lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	c->nsent = 0;
	vhu_mutex_unlock(&c->lock);
}

bool vhu_backend_chan_has_fd(struct vhu_backend_chan *c)
{
	vhu_mutex_lock(&c->lock);
	bool has = c->fd >= 0;
	vhu_mutex_unlock(&c->lock);
	return has;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* True when the same miss went out recently; else records it as sent. */
static bool held(struct vhu_backend_chan *c, uint64_t page, uint8_t perm)
	VHU_REQUIRES(c->lock)
{
	uint64_t now = now_ns();

	if (!c->sent && !(c->sent = calloc(VHU_MISS_SLOTS, sizeof(*c->sent))))
		return false; /* sent unrecorded: may go again sooner */
	for (uint32_t i = 0; i < c->nsent; i++) {
		if (c->sent[i].page != page || c->sent[i].perm != perm)
			continue;
		if (now - c->sent[i].at_ns < VHU_MISS_RESEND_NS)
			return true;
		c->sent[i].at_ns = now;
		return false;
	}
	uint32_t s = c->nsent < VHU_MISS_SLOTS ? c->nsent++ : c->next_slot++ % VHU_MISS_SLOTS;
	c->sent[s].page = page;
	c->sent[s].perm = perm;
	c->sent[s].at_ns = now;
	return false;
}

bool vhu_backend_chan_iotlb_miss(struct vhu_backend_chan *c, const char *name,
				 uint64_t iova, uint8_t perm)
{
	struct {
		struct vhu_msg_hdr hdr;
		struct vhost_iotlb_msg m;
	} __attribute__((packed)) w;
	bool sent = false;

	memset(&w, 0, sizeof(w));
	w.hdr.request = VHU_BACKEND_REQ_IOTLB_MSG;
	w.hdr.flags = VHU_MSG_VERSION;
	w.hdr.size = sizeof(w.m);
	w.m.iova = iova;
	w.m.perm = perm;
	w.m.type = VHOST_IOTLB_MISS;

	vhu_mutex_lock(&c->lock);
	if (c->fd < 0 || held(c, iova >> 12, perm)) {
		c->misses_held++;
		vhu_mutex_unlock(&c->lock);
		return false;
	}
	/* Never blocks a burst: a full socket drops this miss, and the
	 * burst meets the address again later. */
	ssize_t r = send(c->fd, &w, sizeof(w), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == (ssize_t)sizeof(w)) {
		c->misses_sent++;
		sent = true;
	} else if (r >= 0) {
		/* A partial message would garble every later one. */
		VHU_ERR("%s: backend channel took %zd of %zu bytes: closed", name, r,
			sizeof(w));
		close(c->fd);
		c->fd = -1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		VHU_ERR("%s: IOTLB miss on the backend channel: %s: closed", name,
			strerror(errno));
		close(c->fd);
		c->fd = -1;
	}
	vhu_mutex_unlock(&c->lock);
	return sent;
}

void vhu_backend_chan_misses_answered(struct vhu_backend_chan *c, uint64_t iova,
				      uint64_t size)
{
	uint64_t first = iova >> 12, last = (iova + (size - 1)) >> 12; /* checked: no wrap */

	vhu_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->nsent;) {
		if (c->sent[i].page >= first && c->sent[i].page <= last)
			c->sent[i] = c->sent[--c->nsent];
		else
			i++;
	}
	vhu_mutex_unlock(&c->lock);
}
