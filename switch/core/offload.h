/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which offloads a packet needs of the port it leaves by, and which a port
 * can take: the switch's decision to pass a packet whole, segment it or
 * complete its checksum in software, for each egress port on its own.
 */
#ifndef VHU_SWITCH_OFFLOAD_H
#define VHU_SWITCH_OFFLOAD_H

#include <stdint.h>
#include <vhu/pkt.h>

/* Offloads, as a set. */
#define SW_OL_CSUM 0x01u /* a partial checksum (NEEDS_CSUM) */
#define SW_OL_TSO4 0x02u
#define SW_OL_TSO6 0x04u
#define SW_OL_ECN  0x08u /* TSO with the ECN bit (GSO_ECN) */
#define SW_OL_USO4 0x10u
#define SW_OL_USO6 0x20u
#define SW_OL_ALL  0x3fu

/* What pkt needs of an egress to leave whole: 0 for a plain packet. The
 * IP version of a USO packet is vhu_pkt_ip_version's; one that is neither
 * IPv4 nor IPv6 there needs both USO bits. */
unsigned sw_ol_needs(const struct vhu_pkt *pkt);

/* What a guest takes, from the virtio features it negotiated (GUEST_*:
 * GSO only together with GUEST_CSUM, as the spec requires). */
unsigned sw_ol_of_guest(uint64_t features);

/* The offloads as words for show ("csum tso4 ..."; "none"). */
void sw_ol_names(unsigned ol, char *buf, size_t len);

#endif
