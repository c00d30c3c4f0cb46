/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu_msg_check: every request is held to its row of the message table,
 * the rows say what the spec says (the table below is this test's own
 * reading of it), and a request whose protocol feature is not in force is
 * refused as an unknown one is. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include "backend/conn.h"
#include "backend/msg.h"
#include "t.h"

static struct vhu_socket sock;
static struct vhu_dev dev;
static struct vhu_msg msg;

#define MEM_HDR offsetof(struct vhu_mem_table_wire, regions)
#define REG_SZ sizeof(struct vhu_mem_region_wire)

static void reset(void)
{
	memset(&sock, 0, sizeof(sock));
	memset(&dev, 0, sizeof(dev));
	sock.max_queue_pairs = 16;
	/* Every feature in force: the shape tests below are not about gates. */
	sock.protocol_features = ~0ull;
	dev.protocol_features = ~0ull;
	dev.sock = &sock;
	dev.fd = -1;
	dev.reply_fd = -1;
	snprintf(dev.name, sizeof(dev.name), "unit#0");
}

/* A message of request req, flags version 1, size bytes, nfds fds
 * (placeholder numbers: vhu_msg_check never touches them). */
static void mk(uint32_t req, uint32_t size, int nfds)
{
	memset(&msg, 0, sizeof(msg));
	msg.hdr.request = req;
	msg.hdr.flags = VHU_MSG_VERSION;
	msg.hdr.size = size;
	msg.nfds = nfds;
	for (int i = 0; i < VHU_MAX_MSG_FDS; i++)
		msg.fds[i] = i < nfds ? 100 + i : -1;
}

/* Runs vhu_msg_check on msg; a refusal must come with a log line. */
static int check_line(int line)
{
	const struct vhu_msg_meta *m = vhu_msg_meta_get(msg.hdr.request);
	if (!m) {
		fprintf(stderr, "%s:%d: no table row for request %u\n", __FILE__, line,
			msg.hdr.request);
		t_fail++;
		return -9999;
	}
	unsigned logs = t_log_count;
	int r = vhu_msg_check(&dev, &msg, m);
	if (r < 0 && t_log_count == logs) {
		fprintf(stderr, "%s:%d: refusal %d without a log line\n", __FILE__, line, r);
		t_fail++;
	}
	return r;
}
#define CHK() check_line(__LINE__)

static void test_good(void)
{
	reset();
	mk(VHU_REQ_GET_FEATURES, 0, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_FEATURES, 8, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_OWNER, 0, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_RESET_OWNER, 0, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_RESET_OWNER, 8, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_GET_STATUS, 0, 0);
	CHECK_EQ(CHK(), 0);
	/* reply / need-reply bits do not disturb the version check */
	mk(VHU_REQ_SET_FEATURES, 8, 0);
	msg.hdr.flags = VHU_MSG_VERSION | VHU_MSG_NEED_REPLY;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_VRING_NUM, sizeof(struct vhost_vring_state), 0);
	msg.p.state.index = 31;
	msg.p.state.num = 256;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr), 0);
	msg.p.addr.index = 0;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_VRING_KICK, 8, 1);
	msg.p.u64 = 3;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_VRING_CALL, 8, 0);
	msg.p.u64 = 31 | VHU_VRING_NOFD;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_VRING_ERR, 8, 1);
	msg.p.u64 = 0;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ, 1);
	msg.p.mem.nregions = 1;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + 8 * REG_SZ, 8);
	msg.p.mem.nregions = 8;
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_LOG_BASE, sizeof(struct vhu_log_wire), 1);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_SET_BACKEND_REQ_FD, 0, 1);
	CHECK_EQ(CHK(), 0);
}

static void test_version(void)
{
	static const uint32_t bad[] = { 0x0, 0x2, 0x3, VHU_MSG_REPLY, 0x2 | VHU_MSG_NEED_REPLY,
					0xfffffffe };
	reset();
	for (size_t i = 0; i < VHU_ARRAY_SIZE(bad); i++) {
		mk(VHU_REQ_GET_FEATURES, 0, 0);
		msg.hdr.flags = bad[i];
		CHECK_EQ(CHK(), -EPROTO);
		mk(VHU_REQ_SET_VRING_KICK, 8, 1);
		msg.hdr.flags = bad[i];
		CHECK_EQ(CHK(), -EPROTO);
	}
}

static void test_sizes(void)
{
	reset();
	/* fixed-size u64 requests */
	static const uint32_t u64_reqs[] = { VHU_REQ_SET_FEATURES, VHU_REQ_SET_PROTOCOL_FEATURES,
					     VHU_REQ_SET_VRING_KICK, VHU_REQ_SET_VRING_CALL,
					     VHU_REQ_SET_VRING_ERR, VHU_REQ_SEND_RARP,
					     VHU_REQ_NET_SET_MTU, VHU_REQ_SET_STATUS };
	for (size_t i = 0; i < VHU_ARRAY_SIZE(u64_reqs); i++) {
		uint32_t sz[] = { 0, 4, 7, 9, 16, VHU_MAX_PAYLOAD };
		for (size_t j = 0; j < VHU_ARRAY_SIZE(sz); j++) {
			mk(u64_reqs[i], sz[j], 0);
			msg.p.u64 = VHU_VRING_NOFD;
			CHECK_EQ(CHK(), -EMSGSIZE);
		}
	}
	/* no-payload requests */
	mk(VHU_REQ_GET_FEATURES, 8, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_GET_PROTOCOL_FEATURES, 1, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_GET_QUEUE_NUM, 8, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_OWNER, 4, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_RESET_OWNER, 9, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	/* vring state / addr */
	mk(VHU_REQ_SET_VRING_NUM, sizeof(struct vhost_vring_state) - 1, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_VRING_BASE, sizeof(struct vhost_vring_state) + 1, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_GET_VRING_BASE, 0, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_VRING_ENABLE, 4, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr) - 8, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr) + 8, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_LOG_BASE, sizeof(struct vhu_log_wire) - 1, 1);
	CHECK_EQ(CHK(), -EMSGSIZE);

	/* SET_MEM_TABLE: size must match nregions */
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ, 1);
	msg.p.mem.nregions = 2;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + 2 * REG_SZ, 2);
	msg.p.mem.nregions = 1;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + 8 * REG_SZ, 8);
	msg.p.mem.nregions = 9;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ, 1);
	msg.p.mem.nregions = 0;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR, 1); /* header only, 0 regions */
	msg.p.mem.nregions = 0;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ, 1);
	msg.p.mem.nregions = 0x80000001u; /* * 32 wraps to 32 in 32 bits */
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ + 1, 1);
	msg.p.mem.nregions = 1;
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + 9 * REG_SZ, 8);
	msg.p.mem.nregions = 9;
	CHECK_EQ(CHK(), -EMSGSIZE);
}

static void test_fds(void)
{
	reset();
	/* u64 vring requests: one fd unless NOFD, then none */
	static const uint32_t reqs[] = { VHU_REQ_SET_VRING_KICK, VHU_REQ_SET_VRING_CALL,
					 VHU_REQ_SET_VRING_ERR };
	for (size_t i = 0; i < VHU_ARRAY_SIZE(reqs); i++) {
		mk(reqs[i], 8, 0);
		msg.p.u64 = 0;
		CHECK_EQ(CHK(), -EBADF);
		mk(reqs[i], 8, 2);
		msg.p.u64 = 0;
		CHECK_EQ(CHK(), -EBADF);
		mk(reqs[i], 8, 1);
		msg.p.u64 = VHU_VRING_NOFD;
		CHECK_EQ(CHK(), -EBADF);
		mk(reqs[i], 8, 1);
		msg.p.u64 = 5 | VHU_VRING_NOFD;
		CHECK_EQ(CHK(), -EBADF);
		mk(reqs[i], 8, 0);
		msg.p.u64 = 5 | VHU_VRING_NOFD;
		CHECK_EQ(CHK(), 0);
		mk(reqs[i], 8, 1);
		msg.p.u64 = 5;
		CHECK_EQ(CHK(), 0);
	}
	/* SET_MEM_TABLE with 0 fds */
	mk(VHU_REQ_SET_MEM_TABLE, MEM_HDR + REG_SZ, 0);
	msg.p.mem.nregions = 1;
	CHECK_EQ(CHK(), -EBADF);
	/* fds on requests that take none */
	mk(VHU_REQ_GET_FEATURES, 0, 1);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_FEATURES, 8, 1);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_VRING_NUM, sizeof(struct vhost_vring_state), 1);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr), 3);
	CHECK_EQ(CHK(), -EBADF);
	/* requests that need exactly one */
	mk(VHU_REQ_SET_LOG_BASE, sizeof(struct vhu_log_wire), 0);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_LOG_BASE, sizeof(struct vhu_log_wire), 2);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_LOG_FD, 0, 0);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_SET_BACKEND_REQ_FD, 0, 0);
	CHECK_EQ(CHK(), -EBADF);
	/* ADD_MEM_REG: exactly one; REM_MEM_REG: none (the spec) or one (QEMU) */
	const uint32_t reg = sizeof(struct vhu_mem_reg_wire);
	mk(VHU_REQ_ADD_MEM_REG, reg, 0);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_ADD_MEM_REG, reg, 2);
	CHECK_EQ(CHK(), -EBADF);
	mk(VHU_REQ_ADD_MEM_REG, reg, 1);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_REM_MEM_REG, reg, 0);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_REM_MEM_REG, reg, 1);
	CHECK_EQ(CHK(), 0);
	mk(VHU_REQ_REM_MEM_REG, reg, 2);
	CHECK_EQ(CHK(), -EBADF);
	/* one region and its padding, exactly */
	mk(VHU_REQ_ADD_MEM_REG, reg - 8, 1);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_REM_MEM_REG, reg + 8, 0);
	CHECK_EQ(CHK(), -EMSGSIZE);
	mk(VHU_REQ_ADD_MEM_REG, MEM_HDR + 2 * REG_SZ, 1);
	CHECK_EQ(CHK(), -EMSGSIZE);
	/* negative nfds never passes */
	mk(VHU_REQ_GET_FEATURES, 0, 0);
	msg.nfds = -1;
	CHECK_EQ(CHK(), -EBADF);
}

static void test_vring_index(void)
{
	static const uint32_t bad_idx[] = { 32, 33, 255, 256, 65536, 65536 + 1, 0x80000000u,
					    0xffffffffu };
	reset();
	for (size_t i = 0; i < VHU_ARRAY_SIZE(bad_idx); i++) {
		static const uint32_t state_reqs[] = { VHU_REQ_SET_VRING_NUM,
			VHU_REQ_SET_VRING_BASE, VHU_REQ_GET_VRING_BASE, VHU_REQ_SET_VRING_ENABLE };
		for (size_t j = 0; j < VHU_ARRAY_SIZE(state_reqs); j++) {
			mk(state_reqs[j], sizeof(struct vhost_vring_state), 0);
			msg.p.state.index = bad_idx[i];
			CHECK_EQ(CHK(), -ERANGE);
		}
		mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr), 0);
		msg.p.addr.index = bad_idx[i];
		CHECK_EQ(CHK(), -ERANGE);
	}
	/* u64 payload: index in bits 0-7 */
	mk(VHU_REQ_SET_VRING_KICK, 8, 1);
	msg.p.u64 = 32;
	CHECK_EQ(CHK(), -ERANGE);
	mk(VHU_REQ_SET_VRING_CALL, 8, 0);
	msg.p.u64 = 0xff | VHU_VRING_NOFD;
	CHECK_EQ(CHK(), -ERANGE);
	mk(VHU_REQ_SET_VRING_ERR, 8, 1);
	msg.p.u64 = 31;
	CHECK_EQ(CHK(), 0);

	/* limit follows the socket's max_queue_pairs */
	sock.max_queue_pairs = 2;
	mk(VHU_REQ_SET_VRING_NUM, sizeof(struct vhost_vring_state), 0);
	msg.p.state.index = 3;
	CHECK_EQ(CHK(), 0);
	msg.p.state.index = 4;
	CHECK_EQ(CHK(), -ERANGE);
	mk(VHU_REQ_SET_VRING_KICK, 8, 0);
	msg.p.u64 = 4 | VHU_VRING_NOFD;
	CHECK_EQ(CHK(), -ERANGE);
	mk(VHU_REQ_SET_VRING_ADDR, sizeof(struct vhost_vring_addr), 0);
	msg.p.addr.index = 4;
	CHECK_EQ(CHK(), -ERANGE);
	msg.p.addr.index = 1;
	CHECK_EQ(CHK(), 0);
	sock.max_queue_pairs = 16;
}

static void test_u64_bits(void)
{
	static const uint64_t bad[] = { 0x200, 0x400 | 1, 0x10000, 1ull << 32, 1ull << 63,
					0xffffffffffffffffull, 0x1ff00 };
	reset();
	for (size_t i = 0; i < VHU_ARRAY_SIZE(bad); i++) {
		mk(VHU_REQ_SET_VRING_KICK, 8, (bad[i] & VHU_VRING_NOFD) ? 0 : 1);
		msg.p.u64 = bad[i];
		CHECK_EQ(CHK(), -EINVAL);
		mk(VHU_REQ_SET_VRING_CALL, 8, (bad[i] & VHU_VRING_NOFD) ? 0 : 1);
		msg.p.u64 = bad[i];
		CHECK_EQ(CHK(), -EINVAL);
	}
}

static void test_unknown(void)
{
	static const uint32_t unknown[] = { VHU_REQ_NONE, VHU_REQ_CLOSE_CRYPTO_SESSION,
		VHU_REQ_SET_VRING_ENDIAN, VHU_REQ_GET_CONFIG, VHU_REQ_SET_CONFIG,
		VHU_REQ_CREATE_CRYPTO_SESSION, VHU_REQ_POSTCOPY_ADVISE,
		VHU_REQ_GPU_SET_SOCKET,
		VHU_REQ_VRING_KICK, VHU_REQ_MAX, VHU_REQ_MAX + 1, 1000, 0x7fffffff,
		0xffffffffu };
	for (size_t i = 0; i < VHU_ARRAY_SIZE(unknown); i++)
		CHECK(vhu_msg_meta_get(unknown[i]) == NULL);
	/* every known request has a handler and sane limits */
	static const uint32_t known[] = { VHU_REQ_GET_FEATURES, VHU_REQ_SET_FEATURES,
		VHU_REQ_SET_OWNER, VHU_REQ_RESET_OWNER, VHU_REQ_SET_MEM_TABLE,
		VHU_REQ_GET_INFLIGHT_FD, VHU_REQ_SET_INFLIGHT_FD,
		VHU_REQ_SET_LOG_BASE, VHU_REQ_SET_LOG_FD, VHU_REQ_SET_VRING_NUM,
		VHU_REQ_SET_VRING_ADDR, VHU_REQ_SET_VRING_BASE, VHU_REQ_GET_VRING_BASE,
		VHU_REQ_SET_VRING_KICK, VHU_REQ_SET_VRING_CALL, VHU_REQ_SET_VRING_ERR,
		VHU_REQ_GET_PROTOCOL_FEATURES, VHU_REQ_SET_PROTOCOL_FEATURES,
		VHU_REQ_GET_QUEUE_NUM, VHU_REQ_SET_VRING_ENABLE, VHU_REQ_SEND_RARP,
		VHU_REQ_NET_SET_MTU, VHU_REQ_SET_BACKEND_REQ_FD, VHU_REQ_RESET_DEVICE,
		VHU_REQ_SET_STATUS, VHU_REQ_GET_STATUS, VHU_REQ_GET_MAX_MEM_SLOTS,
		VHU_REQ_ADD_MEM_REG, VHU_REQ_REM_MEM_REG };
	for (size_t i = 0; i < VHU_ARRAY_SIZE(known); i++) {
		const struct vhu_msg_meta *m = vhu_msg_meta_get(known[i]);
		CHECK(m != NULL);
		if (!m)
			continue;
		CHECK(m->handler != NULL);
		CHECK(m->size_min <= m->size_max);
		CHECK(m->size_max <= VHU_MAX_PAYLOAD);
		CHECK(m->fds_min <= m->fds_max);
		CHECK(m->fds_max <= VHU_MAX_MSG_FDS);
	}
	/* requests the protocol always answers */
	CHECK(vhu_msg_meta_get(VHU_REQ_GET_FEATURES)->has_reply);
	CHECK(vhu_msg_meta_get(VHU_REQ_GET_PROTOCOL_FEATURES)->has_reply);
	CHECK(vhu_msg_meta_get(VHU_REQ_GET_VRING_BASE)->has_reply);
	CHECK(vhu_msg_meta_get(VHU_REQ_GET_QUEUE_NUM)->has_reply);
	CHECK(!vhu_msg_meta_get(VHU_REQ_SET_VRING_KICK)->has_reply);
}

#define PF(f) (1ull << VHU_PROTO_F_##f)
#define NEG VHU_GATE_RULE_NEGOTIATED
#define OFF VHU_GATE_RULE_OFFERED

/* What vhost-user.rst says of each request vhu speaks: always answered,
 * run with every vring locked (ours: SET_FEATURES may change the header
 * length under a burst), and the protocol feature it needs. */
static const struct spoken {
	uint32_t req;
	bool reply, lock_all;
	uint8_t rule; /* 0: needs none */
	uint64_t feature;
} spoken[] = {
	{ VHU_REQ_GET_FEATURES, true, false, 0, 0 },
	{ VHU_REQ_SET_FEATURES, false, true, 0, 0 },
	{ VHU_REQ_SET_OWNER, false, false, 0, 0 },
	{ VHU_REQ_RESET_OWNER, false, false, 0, 0 },
	{ VHU_REQ_SET_MEM_TABLE, false, false, 0, 0 },
	{ VHU_REQ_SET_LOG_BASE, true, false, NEG, PF(LOG_SHMFD) },
	{ VHU_REQ_SET_LOG_FD, false, false, 0, 0 },
	{ VHU_REQ_SET_VRING_NUM, false, false, 0, 0 },
	{ VHU_REQ_SET_VRING_ADDR, false, false, 0, 0 },
	{ VHU_REQ_SET_VRING_BASE, false, false, 0, 0 },
	{ VHU_REQ_GET_VRING_BASE, true, false, 0, 0 },
	{ VHU_REQ_SET_VRING_KICK, false, false, 0, 0 },
	{ VHU_REQ_SET_VRING_CALL, false, false, 0, 0 },
	{ VHU_REQ_SET_VRING_ERR, false, false, 0, 0 },
	{ VHU_REQ_GET_PROTOCOL_FEATURES, true, false, 0, 0 },
	{ VHU_REQ_SET_PROTOCOL_FEATURES, false, false, 0, 0 },
	{ VHU_REQ_GET_QUEUE_NUM, true, false, OFF, PF(MQ) },
	{ VHU_REQ_SET_VRING_ENABLE, false, false, 0, 0 },
	{ VHU_REQ_SEND_RARP, false, false, NEG, PF(RARP) },
	{ VHU_REQ_NET_SET_MTU, false, false, NEG, PF(NET_MTU) },
	{ VHU_REQ_SET_BACKEND_REQ_FD, false, false, NEG, PF(BACKEND_REQ) },
	/* lock_all, ours: an invalidation is in force before its ack */
	{ VHU_REQ_IOTLB_MSG, false, true, NEG, PF(BACKEND_REQ) },
	{ VHU_REQ_GET_INFLIGHT_FD, true, false, NEG, PF(INFLIGHT_SHMFD) },
	{ VHU_REQ_SET_INFLIGHT_FD, false, false, NEG, PF(INFLIGHT_SHMFD) },
	{ VHU_REQ_RESET_DEVICE, false, false, OFF, PF(RESET_DEVICE) },
	{ VHU_REQ_GET_MAX_MEM_SLOTS, true, false, NEG, PF(CONFIGURE_MEM_SLOTS) },
	{ VHU_REQ_ADD_MEM_REG, false, false, NEG, PF(CONFIGURE_MEM_SLOTS) },
	{ VHU_REQ_REM_MEM_REG, false, false, NEG, PF(CONFIGURE_MEM_SLOTS) },
	{ VHU_REQ_SET_STATUS, false, false, NEG, PF(STATUS) },
	{ VHU_REQ_GET_STATUS, true, false, NEG, PF(STATUS) },
};

/* A well-formed message of request req, by its row alone. */
static const struct vhu_msg_meta *mk_good(uint32_t req)
{
	const struct vhu_msg_meta *m = vhu_msg_meta_get(req);
	if (!m)
		return NULL;
	mk(req, m->size_min, m->fds_min);
	if (m->payload == VHU_PL_MEM)
		msg.p.mem.nregions = 1;
	if (m->payload == VHU_PL_VRING_FD)
		msg.p.u64 = 1 | VHU_VRING_NOFD;
	if (m->payload == VHU_PL_IOTLB) {
		dev.features |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
		msg.p.iotlb = (struct vhost_iotlb_msg){ .iova = 0x1000, .size = 0x1000,
			.uaddr = 0x7f0000000000ull, .perm = VHOST_ACCESS_RW,
			.type = VHOST_IOTLB_UPDATE };
	}
	return m;
}

/* Every row says what the spec says, and nothing else is spoken. */
static void test_rows(void)
{
	bool listed[VHU_REQ_MAX] = { false };

	for (size_t i = 0; i < VHU_ARRAY_SIZE(spoken); i++) {
		const struct spoken *e = &spoken[i];
		const struct vhu_msg_meta *m = vhu_msg_meta_get(e->req);
		CHECK(m != NULL);
		if (!m)
			continue;
		listed[e->req] = true;
		if (m->has_reply != e->reply || m->lock_all != e->lock_all ||
		    m->gate.rule != (e->rule ? e->rule : VHU_GATE_RULE_ALWAYS) ||
		    (e->rule && (1ull << m->gate.bit) != e->feature)) {
			fprintf(stderr, "%s: row has reply %d lock_all %d gate %u/%u\n",
				vhu_req_name(e->req), m->has_reply, m->lock_all,
				m->gate.rule, m->gate.bit);
			t_fail++;
		}
	}
	for (uint32_t r = 0; r < VHU_REQ_MAX; r++)
		if (!listed[r] && vhu_msg_meta_get(r)) {
			fprintf(stderr, "%s: spoken, but not in this test's table\n",
				vhu_req_name(r));
			t_fail++;
		}
}

/* vhu_msg_check applies each row: its sizes, its fd counts, its gate. */
static void test_rows_applied(void)
{
	for (size_t i = 0; i < VHU_ARRAY_SIZE(spoken); i++) {
		const struct spoken *e = &spoken[i];
		const struct vhu_msg_meta *m;

		reset();
		if (!(m = mk_good(e->req)))
			continue;
		CHECK_EQ(CHK(), 0);
		if (m->payload != VHU_PL_MEM) {
			mk_good(e->req);
			msg.hdr.size = m->size_max;
			CHECK_EQ(CHK(), 0);
			mk_good(e->req);
			msg.hdr.size = m->size_max + 1;
			CHECK_EQ(CHK(), -EMSGSIZE);
		}
		if (m->size_min > 0) {
			mk_good(e->req);
			msg.hdr.size = m->size_min - 1;
			CHECK_EQ(CHK(), -EMSGSIZE);
		}
		if (m->payload != VHU_PL_VRING_FD) {
			mk_good(e->req);
			msg.nfds = m->fds_max + 1;
			CHECK_EQ(CHK(), -EBADF);
			if (m->fds_min > 0) {
				mk_good(e->req);
				msg.nfds = m->fds_min - 1;
				CHECK_EQ(CHK(), -EBADF);
			}
		}

		/* The gate, before anything else but the version. */
		uint64_t all = ~0ull, f = e->feature;
		struct { uint64_t offered, negotiated; } cases[] = {
			{ all, all }, { all, 0 }, { 0, 0 }, { f, f }, { all & ~f, all & ~f },
			{ all, all & ~f }, { all & ~f, all },
		};
		for (size_t c = 0; c < VHU_ARRAY_SIZE(cases); c++) {
			sock.protocol_features = cases[c].offered;
			dev.protocol_features = cases[c].negotiated;
			uint64_t have = e->rule == NEG ? cases[c].negotiated : cases[c].offered;
			bool open = !e->rule || (have & f);
			mk_good(e->req);
			int r = CHK();
			if (r != (open ? 0 : -EOPNOTSUPP)) {
				fprintf(stderr, "%s: offered %#llx negotiated %#llx: %d\n",
					vhu_req_name(e->req),
					(unsigned long long)cases[c].offered,
					(unsigned long long)cases[c].negotiated, r);
				t_fail++;
			}
			/* a malformed one is refused for its feature first */
			if (!open) {
				mk_good(e->req);
				msg.hdr.size = m->size_max + 1;
				CHECK_EQ(CHK(), -EOPNOTSUPP);
			}
		}
	}
	/* the log line names the request */
	reset();
	dev.protocol_features = 0;
	mk_good(VHU_REQ_GET_INFLIGHT_FD);
	CHECK_EQ(CHK(), -EOPNOTSUPP);
	CHECK(strstr(t_log_last, "GET_INFLIGHT_FD") != NULL);
}

/* Sends req (NEED_REPLY, a well-formed payload) through the dispatcher;
 * returns whether the connection is kept and the ack it got (-1: none). */
static bool dispatch(uint32_t req, int64_t *ack)
{
	int sv[2];
	struct vhu_msg in;

	*ack = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		t_fail++;
		return false;
	}
	if (!mk_good(req))
		mk(req, 0, 0);
	msg.nfds = 0; /* no fds to pass: only requests refused before fds matter */
	msg.hdr.flags |= VHU_MSG_NEED_REPLY;
	CHECK_EQ(vhu_msg_send(sv[1], &msg), 0);
	dev.fd = sv[0];
	dev.conn = vhu_conn_new(&dev);
	struct vhu_msg got;
	bool kept = dev.conn && vhu_msg_recv(sv[0], &got) == 1 &&
		    vhu_dev_handle_msg(&dev, &got);
	vhu_conn_free(dev.conn);
	dev.conn = NULL;
	dev.fd = -1;
	shutdown(sv[0], SHUT_WR);
	if (vhu_msg_recv(sv[1], &in) == 1 && in.hdr.request == req &&
	    (in.hdr.flags & VHU_MSG_REPLY) && in.hdr.size == 8)
		*ack = (int64_t)in.p.u64;
	close(sv[0]);
	close(sv[1]);
	return kept;
}

/* Refused for its feature as an unknown request is refused. */
static void test_gate_dispatch(void)
{
	int64_t ack;

	reset();
	dev.protocol_features = 0;
	/* unknown: acked with failure, connection kept */
	CHECK(dispatch(VHU_REQ_IOTLB_MSG, &ack));
	CHECK_EQ(ack, 1);
	CHECK(dispatch(VHU_REQ_SET_VRING_ENDIAN, &ack));
	CHECK_EQ(ack, 1);
	/* no reply of its own: the same */
	CHECK(dispatch(VHU_REQ_SEND_RARP, &ack));
	CHECK_EQ(ack, 1);
	CHECK(dispatch(VHU_REQ_SET_STATUS, &ack));
	CHECK_EQ(ack, 1);
	/* answered with a payload: an ack would pass for the answer; closed */
	CHECK(!dispatch(VHU_REQ_GET_STATUS, &ack));
	CHECK_EQ(ack, -1);
	/* gate open: the handler runs and acks success */
	dev.protocol_features = PF(STATUS);
	CHECK(dispatch(VHU_REQ_SET_STATUS, &ack));
	CHECK_EQ(ack, 0);
}

static void test_req_name(void)
{
	CHECK_STR(vhu_req_name(VHU_REQ_NONE), "NONE");
	CHECK_STR(vhu_req_name(VHU_REQ_GET_FEATURES), "GET_FEATURES");
	CHECK_STR(vhu_req_name(VHU_REQ_SET_MEM_TABLE), "SET_MEM_TABLE");
	CHECK_STR(vhu_req_name(VHU_REQ_SET_VRING_KICK), "SET_VRING_KICK");
	CHECK_STR(vhu_req_name(VHU_REQ_IOTLB_MSG), "IOTLB_MSG");
	CHECK_STR(vhu_req_name(VHU_REQ_GET_STATUS), "GET_STATUS");
	CHECK_STR(vhu_req_name(VHU_REQ_MAX), "UNKNOWN");
	CHECK_STR(vhu_req_name(1000), "UNKNOWN");
	CHECK_STR(vhu_req_name(0xffffffffu), "UNKNOWN");
	/* every code below MAX has a name */
	for (uint32_t r = 0; r < VHU_REQ_MAX; r++)
		CHECK(strcmp(vhu_req_name(r), "UNKNOWN") != 0);
}

/* IOTLB_MSG: what a frontend may send of its IOTLB, and nothing else. */
static void test_iotlb(void)
{
	static const struct { uint64_t iova, size, uaddr; uint8_t perm, type; int want; } c[] = {
		{ 0x1000, 0x1000, 0x7f0000000000ull, VHOST_ACCESS_RO, VHOST_IOTLB_UPDATE, 0 },
		{ 0x1000, 0x1000, 0x7f0000000000ull, VHOST_ACCESS_WO, VHOST_IOTLB_UPDATE, 0 },
		{ 0x1000, 0x1000, 0, 0, VHOST_IOTLB_INVALIDATE, 0 },
		{ 0, ~0ull, 0, 0, VHOST_IOTLB_INVALIDATE, 0 },       /* everything */
		{ ~0ull - 0xfff, 0x1000, 0x1000, 3, VHOST_IOTLB_UPDATE, 0 }, /* to the top */
		{ 0x1000, 0x1000, 0x1000, 3, 0, -EINVAL },            /* no type */
		{ 0x1000, 0x1000, 0x1000, 3, VHOST_IOTLB_MISS, -EINVAL }, /* ours to send */
		{ 0x1000, 0x1000, 0x1000, 3, VHOST_IOTLB_ACCESS_FAIL, -EINVAL },
		{ 0x1000, 0x1000, 0x1000, 3, VHOST_IOTLB_BATCH_BEGIN, -EINVAL },
		{ 0x1000, 0x1000, 0x1000, 3, 0xff, -EINVAL },
		{ 0x1000, 0, 0x1000, 3, VHOST_IOTLB_UPDATE, -EINVAL },    /* size 0 */
		{ 0x1000, 0, 0, 0, VHOST_IOTLB_INVALIDATE, -EINVAL },
		{ ~0ull - 0xfff, 0x2000, 0x1000, 3, VHOST_IOTLB_UPDATE, -EINVAL }, /* wraps */
		{ 0x1000, ~0ull, 0, 0, VHOST_IOTLB_INVALIDATE, -EINVAL },
		{ 0x1000, 0x2000, ~0ull - 0xfff, 3, VHOST_IOTLB_UPDATE, -EINVAL }, /* uaddr wraps */
		{ 0x1000, 0x1000, 0x1000, 0, VHOST_IOTLB_UPDATE, -EINVAL },  /* no rights */
		{ 0x1000, 0x1000, 0x1000, 4, VHOST_IOTLB_UPDATE, -EINVAL },  /* unknown rights */
		{ 0x1000, 0x1000, 0x1000, 0xff, VHOST_IOTLB_UPDATE, -EINVAL },
	};
	for (size_t i = 0; i < VHU_ARRAY_SIZE(c); i++) {
		reset();
		mk_good(VHU_REQ_IOTLB_MSG);
		msg.p.iotlb = (struct vhost_iotlb_msg){ .iova = c[i].iova, .size = c[i].size,
			.uaddr = c[i].uaddr, .perm = c[i].perm, .type = c[i].type };
		int r = CHK();
		if (r != c[i].want) {
			fprintf(stderr, "iotlb case %zu: %d, expected %d\n", i, r, c[i].want);
			t_fail++;
		}
	}
	/* Without VIRTIO_F_ACCESS_PLATFORM there is no IOTLB to talk to. */
	reset();
	mk_good(VHU_REQ_IOTLB_MSG);
	dev.features = 0;
	CHECK_EQ(CHK(), -EOPNOTSUPP);
}

int main(void)
{
	t_init();
	RUN(test_good);
	RUN(test_version);
	RUN(test_sizes);
	RUN(test_fds);
	RUN(test_vring_index);
	RUN(test_u64_bits);
	RUN(test_unknown);
	RUN(test_rows);
	RUN(test_rows_applied);
	RUN(test_gate_dispatch);
	RUN(test_iotlb);
	RUN(test_req_name);
	return t_done("test_msg_check");
}
