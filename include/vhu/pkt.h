/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu packet buffers and pools: the mbuf/mempool role.
 *
 * A packet is one or more segments (vhu_pkt linked through ->next). Every
 * segment comes from a fixed-size pool created up front, so the data path
 * never allocates: vhu_pkt_alloc_bulk() and vhu_pkt_free_bulk() move whole
 * bursts in and out of a pool with one lock round-trip per burst.
 *
 * Threads: pools are shared, and allocating from and freeing to one are
 * [any] (a spinlock inside). A packet belongs to whoever holds the
 * pointer; the functions that take one are called by that thread.
 *
 * ABI: struct vhu_pkt and struct vhu_pkt_offload are fixed layout for a
 * soname major. Programs read and write their fields directly, and the
 * inline helpers below are compiled into them, so a field cannot be
 * added or moved without raising the major (include/vhu/version.h).
 * The segments themselves are only ever allocated by the library.
 */
#ifndef VHU_PKT_H
#define VHU_PKT_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Offload metadata carried between the virtio-net header and the packet,
 * in host byte order. Field meanings are those of struct virtio_net_hdr.
 * Fixed layout (see above). */
struct vhu_pkt_offload {
	uint8_t flags;      /* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type;   /* VIRTIO_NET_HDR_GSO_* */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

struct vhu_pkt_pool;

/* One segment (64 bytes, one cache line). Fixed layout (see above). */
struct vhu_pkt {
	uint8_t *buf;              /* start of the segment's buffer */
	struct vhu_pkt *next;      /* next segment, NULL on the last */
	struct vhu_pkt_pool *pool; /* owner */
	uint32_t buf_len;          /* bytes in buf */
	uint32_t data_off;         /* data starts at buf + data_off */
	uint32_t data_len;         /* bytes of data in this segment */
	uint32_t pkt_len;          /* whole packet; valid in the first segment */
	uint16_t nb_segs;          /* valid in the first segment */
	uint16_t port;             /* free for the application (vhu-switch: in-port) */
	uint32_t user;             /* free for the application */
	struct vhu_pkt_offload ol; /* valid in the first segment */
};

/* Headroom left before data in a fresh segment. */
#define VHU_PKT_HEADROOM 128u
/* Bytes of a zero-copy packet's start the library copies into its first
 * segment (VHU_DEQUEUE_ZERO_COPY in vhu.h); shorter packets are copied
 * whole. */
#define VHU_PKT_ZC_HEAD 128u

static inline uint8_t *vhu_pkt_data(const struct vhu_pkt *p)
{
	return p->buf + p->data_off;
}

static inline uint32_t vhu_pkt_tailroom(const struct vhu_pkt *p)
{
	return p->buf_len - p->data_off - p->data_len;
}

/* VLAN tags (802.1Q, 802.1ad, and the older 0x9100) the library looks
 * through in a frame's Ethernet header. */
#define VHU_PKT_MAX_TAGS 4

/* IP version of an Ethernet frame by its EtherType, looking through up to
 * VHU_PKT_MAX_TAGS tags in the first segment: 4, 6, or 0 (neither, more
 * tags, or headers past the segment). */
static inline unsigned vhu_pkt_ip_version(const struct vhu_pkt *p)
{
	const uint8_t *d = vhu_pkt_data(p);

	for (uint32_t off = 12, tags = 0; off + 2 <= p->data_len; off += 4, tags++) {
		uint16_t et = (uint16_t)(d[off] << 8 | d[off + 1]);
		if (et == 0x0800)
			return 4;
		if (et == 0x86dd)
			return 6;
		if ((et != 0x8100 && et != 0x88a8 && et != 0x9100) || tags == VHU_PKT_MAX_TAGS)
			return 0;
	}
	return 0;
}

/* Creates a pool of n segments, each with data_room bytes (at most
 * 1 MiB) after the headroom; name (may be NULL) is for log lines. Memory
 * is allocated and touched here, never later. Returns NULL with errno
 * set (EINVAL, ENOMEM) on failure. [any] */
struct vhu_pkt_pool *vhu_pkt_pool_create(const char *name, uint32_t n,
					 uint32_t data_room);
/* Frees the pool (NULL: nothing). Every segment should have been
 * returned (a warning says how many were not; they become invalid), and
 * no other thread may use the pool any more. */
void vhu_pkt_pool_destroy(struct vhu_pkt_pool *pool);
/* Segments free in the pool at this moment. [any] */
uint32_t vhu_pkt_pool_avail(const struct vhu_pkt_pool *pool);
/* Segments in the pool (n at creation). [any] */
uint32_t vhu_pkt_pool_size(const struct vhu_pkt_pool *pool);
/* Bytes of data room of each segment (without headroom; at least the
 * data_room asked for). [any] */
uint32_t vhu_pkt_pool_data_room(const struct vhu_pkt_pool *pool);

/* All-or-nothing: returns 0 and fills pkts[0..n), or -ENOMEM (nothing
 * taken) when fewer than n are free. Each segment comes back reset (one
 * segment, empty, headroom). [any] */
int vhu_pkt_alloc_bulk(struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
		       unsigned n);
/* One segment, or NULL when the pool is empty. [any] */
struct vhu_pkt *vhu_pkt_alloc(struct vhu_pkt_pool *pool);
/* Frees whole packets (all their segments) to their own pools; NULL
 * entries are skipped. [any] */
void vhu_pkt_free_bulk(struct vhu_pkt **pkts, unsigned n);
void vhu_pkt_free(struct vhu_pkt *pkt);

/* Appends len bytes of room at the tail of a one-segment packet; returns a
 * pointer to them or NULL when the segment has no room (or pkt has more
 * than one segment). */
uint8_t *vhu_pkt_append(struct vhu_pkt *pkt, uint32_t len);

/* Copies the packet's bytes (all segments) from offset off into dst, at
 * most len bytes; returns the number copied. */
uint32_t vhu_pkt_read(const struct vhu_pkt *pkt, uint32_t off, void *dst,
		      uint32_t len);

/* Segments whose data lives in memory the application owns (an AF_XDP
 * UMEM frame, say), so that a frame reaches its destination without a
 * copy into a pool segment first. release(owner, cookies, n) hands the
 * memory back: called once for each such segment freed, from whichever
 * thread frees it, outside the pool's lock, with the cookies of up to n
 * segments of one owner and one release function freed together. */
typedef void (*vhu_pkt_ext_release)(void *owner, const uint64_t *cookies, unsigned n);

/* Makes seg (fresh from a pool, one segment) refer to buf_len bytes at
 * buf, its data data_len bytes at buf + data_off (the bytes before are
 * headroom, those after tailroom: whoever holds the packet may write all
 * of them). buf must stay valid until release(owner, &cookie, ...) is
 * called; data_off + data_len must not exceed buf_len. The segment's own
 * buffer is unused meanwhile, and back when it returns to its pool. */
void vhu_pkt_attach_ext(struct vhu_pkt *seg, uint8_t *buf, uint32_t buf_len,
			uint32_t data_off, uint32_t data_len,
			vhu_pkt_ext_release release, void *owner, uint64_t cookie);

/* Returns a one-segment copy of pkt (metadata included) from pool, or NULL
 * when the pool is empty or the packet does not fit one segment. Reads
 * pkt, allocates from pool: [any] for the pool. */
struct vhu_pkt *vhu_pkt_clone(const struct vhu_pkt *pkt,
			      struct vhu_pkt_pool *pool);

/* Software offloads, for an egress (a guest, a tap, a capture) that cannot
 * take what a packet asks for. Both read and write only the packet the
 * caller holds and allocate only from the pool given, no syscalls: [any].
 * Outputs carry VIRTIO_NET_HDR_F_DATA_VALID and no other offload: their
 * checksums are computed, so a receiver that can be told (a guest with
 * GUEST_CSUM, a tap) need not verify them again; the library drops the
 * flag for a guest that did not negotiate it. */

/* VIRTIO_NET_HDR_GSO_UDP_L4 (USO: UDP datagrams each of gso_size payload
 * bytes), which older UAPI headers (Debian 12's) lack. */
#define VHU_NET_HDR_GSO_UDP_L4 5

/* Completes a partial checksum: for a packet with
 * VIRTIO_NET_HDR_F_NEEDS_CSUM, whose field at csum_start + csum_offset
 * holds the pseudo-header sum, stores there the checksum of bytes
 * [csum_start, end) (across segments; the two bytes may straddle two),
 * a UDP one (csum_offset 6) of 0 as 0xffff; then clears NEEDS_CSUM,
 * csum_start and csum_offset and sets DATA_VALID. Returns 0 (also when
 * there was nothing to do: no NEEDS_CSUM), or -EINVAL, packet untouched,
 * when the field is not inside pkt_len or the packet is a GSO one (its
 * segments get their own checksums: vhu_pkt_gso_segment). */
int vhu_pkt_csum_complete(struct vhu_pkt *pkt);

/* Segments a GSO packet (ol.gso_type TCPV4 or TCPV6, with or without
 * GSO_ECN, or VHU_NET_HDR_GSO_UDP_L4) into frames of at most gso_size
 * payload bytes, each a new packet from pool (chained when one segment
 * is too small) with complete headers: Ethernet and VLAN tags as found;
 * IPv4 total length, id (+1 per frame) and header checksum, or IPv6
 * payload length; TCP sequence number, with CWR on the first frame only
 * and FIN and PSH on the last only, or UDP length; the TCP or UDP
 * checksum. port and user are copied; ol is DATA_VALID alone (above).
 * Headers are parsed from the packet: Ethernet with up to 4 802.1Q/802.1ad
 * tags, IPv4 (options allowed, fragments refused) or IPv6 without
 * extension headers, TCP (options allowed) or UDP; NEEDS_CSUM with
 * csum_start at the TCP/UDP header and the protocol's csum_offset is
 * required, hdr_len must be 0 or cover the headers, within pkt_len.
 * Returns the number of frames stored in out[0..n) (1 when the payload
 * fits one); pkt is left as it was, the caller still owns and frees it.
 * Errors, nothing allocated and out[] undefined: -EINVAL for a packet
 * that is not GSO or whose headers and metadata do not agree (headers
 * past the end, gso_size 0, no payload, csum_start elsewhere, an IP
 * version or transport other than the GSO type's); -ENOTSUP for what is
 * not handled (legacy UFO, other GSO types, IPv6 extension headers,
 * more tags); -ENOBUFS when more than max frames would be needed;
 * -ENOMEM when the pool ran dry. */
int vhu_pkt_gso_segment(struct vhu_pkt *pkt, struct vhu_pkt_pool *pool,
			struct vhu_pkt **out, unsigned max);

#ifdef __cplusplus
}
#endif
#endif
