/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VXLAN (RFC 7348): the 8-byte header between the outer UDP header and
 * the inner Ethernet frame, what a tunnel port accepts from the underlay,
 * and the outer UDP source port a frame is sent from.
 *
 *   flags (0x08: the I flag, VNI valid) | 24 reserved bits
 *   VNI (24 bits)                       | 8 reserved bits
 *
 * As Linux's vxlan driver does, a packet with any other flag or a
 * reserved bit set is refused (RFC 7348 says to ignore them; Linux does
 * not, and a frame meant for an extension we do not speak is not ours).
 */
#ifndef VHU_SWITCH_VXLAN_H
#define VHU_SWITCH_VXLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

#define SW_VXLAN_HLEN 8
#define SW_VXLAN_PORT 4789
#define SW_VXLAN_VNI_MAX 0xffffff
/* Bytes a frame grows by on an IPv4 / IPv6 underlay, outer Ethernet
 * included (what the guests' MTU must leave room for), and the part of it
 * that counts against the underlay's IP MTU. */
#define SW_VXLAN_OVERHEAD4 50
#define SW_VXLAN_IP_OVERHEAD4 36
#define SW_VXLAN_OVERHEAD6 70
#define SW_VXLAN_IP_OVERHEAD6 56
#define SW_VXLAN_MAX_REMOTES 16

/* An underlay address: IPv4, or IPv6 with the interface of a link-local
 * one ("fe80::1%eth0"; resolved to an index where the sockets are). */
struct sw_ip {
	int family;                 /* AF_INET, AF_INET6; 0: unset */
	struct in_addr v4;
	struct in6_addr v6;
	char scope[IFNAMSIZ];
};

/* A unicast address in s (dotted quad, or IPv6 with %IFNAME required for
 * a link-local one): 0, or -1. */
int sw_ip_parse(const char *s, struct sw_ip *ip);
bool sw_ip_eq(const struct sw_ip *a, const struct sw_ip *b);
/* Printed back as parsed, into buf of len bytes (at least SW_IP_STRLEN). */
#define SW_IP_STRLEN (INET6_ADDRSTRLEN + IFNAMSIZ + 1)
const char *sw_ip_str(const struct sw_ip *ip, char *buf, size_t len);

void sw_vxlan_header(uint8_t *h, uint32_t vni);

/* The VNI of a datagram of len bytes (VXLAN header and inner frame), or
 * -1 when it is too short for a header and an Ethernet header or its
 * flags or reserved bits are wrong. Which port the VNI belongs to is the
 * caller's: tunnel ports of one local address and UDP port share their
 * sockets. */
int32_t sw_vxlan_vni(const uint8_t *d, uint32_t len);

/* A hash of the inner frame's flow (MACs, and for IPv4/IPv6 the addresses,
 * protocol and TCP/UDP ports), the same for every frame of a flow, so the
 * underlay can spread flows by the outer source port as it does Linux's. */
uint32_t sw_vxlan_flow_hash(const uint8_t *frame, uint32_t len);

#endif
