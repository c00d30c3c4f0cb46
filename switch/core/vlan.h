/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VLANs (802.1Q): a port's mode and what it means for one frame.
 *
 *   all      (neither option) every VLAN; untagged frames are VLAN 0
 *   tag=VID  access port: untagged frames are in VLAN VID, and leave
 *            untagged; a frame tagged with another VID is dropped
 *   trunks=LIST  trunk: tagged frames of the VLANs in LIST pass tagged;
 *            untagged frames only when LIST has 0 (VLAN 0 = untagged)
 *
 * A frame leaves tagged when its VLAN is not 0 and the port is not an
 * access port. A priority tag (VID 0) is removed on the way in (its
 * priority bits are lost), so inside the switch a frame is tagged exactly
 * when it came tagged through a non-access port. Only 0x8100 is a tag
 * here: an 802.1ad (0x88a8) outer tag is payload of VLAN 0, as in OVS's
 * default vlan-limit of one.
 */
#ifndef VHU_SWITCH_VLAN_H
#define VHU_SWITCH_VLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vhu/pkt.h>

#define SW_VLAN_NONE 0       /* untagged */
#define SW_VLAN_VID_MAX 4094 /* 4095 is reserved */
#define SW_VLAN_TPID 0x8100

enum sw_vlan_mode { SW_VLAN_ALL, SW_VLAN_ACCESS, SW_VLAN_TRUNK };

struct sw_vlan {
	enum sw_vlan_mode mode;
	uint16_t tag;                 /* access */
	uint64_t trunks[64];          /* trunk: a bit per VID */
};

/* Parses the value of a tag= or trunks= option ("none" clears it: the
 * port takes all VLANs again) into v, replacing its mode. 0, or -EINVAL
 * with err set and v untouched. */
int sw_vlan_parse_tag(struct sw_vlan *v, const char *s, char *err, size_t errlen);
int sw_vlan_parse_trunks(struct sw_vlan *v, const char *s, char *err, size_t errlen);
/* Room for any mode printed: 4095 VIDs as "A:" or "A-B:" runs at worst. */
#define SW_VLAN_FMT_MAX 16384

/* "all", "access 10" or "trunk 10:20:100-199" into buf (truncated to len). */
void sw_vlan_format(const struct sw_vlan *v, char *buf, size_t len);
/* The same as the option that sets it: "", "tag=10", "trunks=10:20:100-199". */
void sw_vlan_format_opt(const struct sw_vlan *v, char *buf, size_t len);

static inline bool sw_vlan_carries(const struct sw_vlan *v, uint16_t vid)
{
	if (v->mode == SW_VLAN_ALL)
		return true;
	if (v->mode == SW_VLAN_ACCESS)
		return vid == v->tag;
	return (v->trunks[vid >> 6] >> (vid & 63)) & 1;
}

/* Whether a frame of VLAN vid leaves port v tagged. */
static inline bool sw_vlan_tagged_out(const struct sw_vlan *v, uint16_t vid)
{
	return vid != SW_VLAN_NONE && v->mode != SW_VLAN_ACCESS;
}

/* What a frame coming in on port v is. */
#define SW_VLAN_IN_DROP (-1)  /* a VLAN the port does not carry, or a bad tag */

/* The VLAN of a frame of len bytes (len >= 14) coming in on port v, or
 * SW_VLAN_IN_DROP. *pop is set when the frame has a priority tag the
 * caller must remove first. */
static inline int sw_vlan_in(const struct sw_vlan *v, const uint8_t *frame, uint32_t len,
			     bool *pop)
{
	unsigned vid = SW_VLAN_NONE;

	*pop = false;
	if (frame[12] == (SW_VLAN_TPID >> 8) && frame[13] == (SW_VLAN_TPID & 0xff)) {
		if (len < 18)
			return SW_VLAN_IN_DROP;
		vid = (unsigned)(frame[14] & 0x0f) << 8 | frame[15];
		if (vid > SW_VLAN_VID_MAX)
			return SW_VLAN_IN_DROP;
		*pop = vid == SW_VLAN_NONE;
		if (v->mode == SW_VLAN_ACCESS && vid != SW_VLAN_NONE)
			return SW_VLAN_IN_DROP;
	}
	if (v->mode == SW_VLAN_ACCESS)
		return v->tag;
	return sw_vlan_carries(v, (uint16_t)vid) ? (int)vid : SW_VLAN_IN_DROP;
}

/* Puts an 802.1Q tag of vid on pkt, or takes its tag off, in place,
 * moving the offload offsets with the headers. 0, or a negative errno
 * with the packet untouched: -ENOSPC (no headroom, or the Ethernet header
 * not in the first segment), -EINVAL (no tag to take off in the first
 * segment, or a partial checksum that starts inside it). */
int sw_vlan_push(struct vhu_pkt *pkt, uint16_t vid);
int sw_vlan_pop(struct vhu_pkt *pkt);

#endif
