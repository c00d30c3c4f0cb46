/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segments whose data is not their own: a pool segment pointed at memory
 * someone else owns (a guest's transmit buffer, for zero-copy dequeue),
 * with a release call made when the segment is freed. The segment's own
 * buffer is unused meanwhile and holds the release call, so struct
 * vhu_pkt (fixed layout) carries nothing new: a segment is external when
 * its buf is not its own buffer, and freeing it puts its buffer back
 * before it returns to the pool.
 */
#ifndef VHU_PKT_EXT_H
#define VHU_PKT_EXT_H

#include <stdint.h>
#include <vhu/pkt.h>

/* Points seg (fresh from a pool, one segment) at len bytes at data,
 * which must stay readable until release(owner, cookie) is called
 * (vhu_pkt_attach_ext with neither headroom nor tailroom). */
void vhu_pkt_ext_attach(struct vhu_pkt *seg, uint8_t *data, uint32_t len,
			vhu_pkt_ext_release release, void *owner, uint64_t cookie);

#endif
