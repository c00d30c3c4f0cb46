/* SPDX-License-Identifier: BSD-3-Clause */
/* Feature names for the tools' --disable-features and log lines. The
 * names are the devargs/QEMU spellings people already type. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <vhu/vhu.h>
#include "feature_names.h"

#ifndef VHOST_USER_F_PROTOCOL_FEATURES
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#endif
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif

struct feature_name {
	const char *name;
	unsigned bit;
};

static const struct feature_name features[] = {
	{ "csum", VIRTIO_NET_F_CSUM },
	{ "guest_csum", VIRTIO_NET_F_GUEST_CSUM },
	{ "ctrl_guest_offloads", VIRTIO_NET_F_CTRL_GUEST_OFFLOADS },
	{ "mtu", VIRTIO_NET_F_MTU },
	{ "mac", VIRTIO_NET_F_MAC },
	{ "guest_tso4", VIRTIO_NET_F_GUEST_TSO4 },
	{ "guest_tso6", VIRTIO_NET_F_GUEST_TSO6 },
	{ "guest_ecn", VIRTIO_NET_F_GUEST_ECN },
	{ "guest_ufo", VIRTIO_NET_F_GUEST_UFO },
	{ "host_tso4", VIRTIO_NET_F_HOST_TSO4 },
	{ "host_tso6", VIRTIO_NET_F_HOST_TSO6 },
	{ "host_ecn", VIRTIO_NET_F_HOST_ECN },
	{ "host_ufo", VIRTIO_NET_F_HOST_UFO },
	{ "guest_uso4", VHU_NET_F_GUEST_USO4 },
	{ "guest_uso6", VHU_NET_F_GUEST_USO6 },
	{ "host_uso", VHU_NET_F_HOST_USO },
	{ "mrg_rxbuf", VIRTIO_NET_F_MRG_RXBUF },
	{ "status", VIRTIO_NET_F_STATUS },
	{ "ctrl_vq", VIRTIO_NET_F_CTRL_VQ },
	{ "ctrl_rx", VIRTIO_NET_F_CTRL_RX },
	{ "ctrl_vlan", VIRTIO_NET_F_CTRL_VLAN },
	{ "guest_announce", VIRTIO_NET_F_GUEST_ANNOUNCE },
	{ "mq", VIRTIO_NET_F_MQ },
	{ "ctrl_mac_addr", VIRTIO_NET_F_CTRL_MAC_ADDR },
	{ "notify_on_empty", VIRTIO_F_NOTIFY_ON_EMPTY },
	{ "log_all", VHOST_F_LOG_ALL },
	{ "any_layout", VIRTIO_F_ANY_LAYOUT },
	{ "indirect", VIRTIO_RING_F_INDIRECT_DESC },
	{ "event_idx", VIRTIO_RING_F_EVENT_IDX },
	{ "protocol_features", VHOST_USER_F_PROTOCOL_FEATURES },
	{ "version_1", VIRTIO_F_VERSION_1 },
	{ "iommu_platform", VIRTIO_F_ACCESS_PLATFORM },
	{ "packed", VIRTIO_F_RING_PACKED },
	{ "in_order", VIRTIO_F_IN_ORDER },
	{ "notification_data", VIRTIO_F_NOTIFICATION_DATA },
};

#define NB_FEATURES (sizeof(features) / sizeof(features[0]))

static const struct feature_name protocol_features[] = {
	{ "mq", 0 }, { "log_shmfd", 1 }, { "rarp", 2 }, { "reply_ack", 3 },
	{ "net_mtu", 4 }, { "backend_req", 5 }, { "cross_endian", 6 },
	{ "crypto_session", 7 }, { "pagefault", 8 }, { "config", 9 },
	{ "backend_send_fd", 10 }, { "host_notifier", 11 },
	{ "inflight_shmfd", 12 }, { "reset_device", 13 },
	{ "inband_notifications", 14 }, { "configure_mem_slots", 15 },
	{ "status", 16 },
};

/* "a,b,c" -> bits; a plain number is taken as a bit index so features
 * without a name here can still be turned off. */
static int parse_list(const struct feature_name *t, size_t n, const char *list,
		      uint64_t *bits)
{
	char buf[512];
	char *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, list);
	*bits = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(tok, t[i].name) == 0)
				break;
		if (i < n) {
			*bits |= 1ULL << t[i].bit;
			continue;
		}
		char *end;
		unsigned long b = strtoul(tok, &end, 10);
		if (*tok == '\0' || *end != '\0' || b > 63) {
			fprintf(stderr, "unknown feature '%s'\n", tok);
			return -EINVAL;
		}
		*bits |= 1ULL << b;
	}
	return 0;
}

int feature_parse_list(const char *list, uint64_t *bits)
{
	return parse_list(features, NB_FEATURES, list, bits);
}

int protocol_feature_parse_list(const char *list, uint64_t *bits)
{
	return parse_list(protocol_features,
			  sizeof(protocol_features) / sizeof(protocol_features[0]), list, bits);
}

/* Space-separated names, unknown bits as "bitN". */
void feature_format(uint64_t bits, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < 64 && off < len; b++) {
		if (!(bits & (1ULL << b)))
			continue;
		const char *name = NULL;
		for (size_t i = 0; i < NB_FEATURES; i++)
			if (features[i].bit == b)
				name = features[i].name;
		int n = name ? snprintf(buf + off, len - off, "%s%s", off ? " " : "", name)
			     : snprintf(buf + off, len - off, "%sbit%u", off ? " " : "", b);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
