/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The backend channel (VHOST_USER_PROTOCOL_F_BACKEND_REQ): the socket the
 * frontend gave us with SET_BACKEND_REQ_FD, on which the backend sends
 * requests of its own. vhu sends one kind, VHOST_USER_BACKEND_IOTLB_MSG
 * with a VHOST_IOTLB_MISS, and asks for no reply.
 *
 * A miss is met by a burst on a data-path thread, possibly on several
 * vrings at once, while the control thread may replace the fd: the fd and
 * the record of misses sent are under the channel's own mutex, and sends
 * never block (a full socket drops the miss; the burst that needs the
 * address meets it again and resends later).
 */
#ifndef VHU_PROTO_BACKEND_CHAN_H
#define VHU_PROTO_BACKEND_CHAN_H

#include <stdbool.h>
#include <stdint.h>
#include "common/mutex.h"

/* Backend-to-frontend request numbers (vhost-user.rst, "Back-end message
 * types"). */
#define VHU_BACKEND_REQ_IOTLB_MSG 1

/* A miss of the same page and rights is sent again only after this long
 * without an IOTLB update in between (a frontend that does not answer is
 * not flooded; one that answers is asked again at once next time). */
#define VHU_MISS_RESEND_NS (100ull * 1000 * 1000)
#define VHU_MISS_SLOTS 64

/* Every field but the lock is under the lock. */
struct vhu_backend_chan {
	vhu_mutex lock;
	int fd;
	/* VHU_MISS_SLOTS records, allocated at the first miss: a device
	 * without a vIOMMU (most) carries a pointer, not 1.5 KiB. */
	struct vhu_miss_sent {
		uint64_t page;
		uint64_t at_ns;
		uint8_t perm;
	} *sent;
	uint32_t nsent;
	uint32_t next_slot;
	uint64_t misses_sent;
	uint64_t misses_held; /* not resent yet */
};

void vhu_backend_chan_init(struct vhu_backend_chan *c);
/* Closes the fd and destroys the mutex. */
void vhu_backend_chan_fini(struct vhu_backend_chan *c);
/* Takes fd (-1: none), closing the one held before. */
void vhu_backend_chan_set_fd(struct vhu_backend_chan *c, int fd);
bool vhu_backend_chan_has_fd(struct vhu_backend_chan *c);
/* Asks the frontend to translate iova with perm (VHOST_ACCESS_*), unless
 * the same was asked within VHU_MISS_RESEND_NS. name is for log lines.
 * True when the request went out (the vring's iotlb_misses count these:
 * what the frontend sees). */
bool vhu_backend_chan_iotlb_miss(struct vhu_backend_chan *c, const char *name,
				 uint64_t iova, uint8_t perm);
/* An update of [iova, iova+size) arrived: misses in it may be sent again
 * at once. */
void vhu_backend_chan_misses_answered(struct vhu_backend_chan *c, uint64_t iova,
				      uint64_t size);

#endif
