/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu-fwd: what the files of the tool share. */
#ifndef VHU_FWD_FWD_H
#define VHU_FWD_FWD_H

#include "feature_names.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <vhu/vhu.h>

#define FWD_MAX_PORTS 2

enum fwd_mode { MODE_RXONLY, MODE_TXONLY, MODE_IO, MODE_MACSWAP, MODE_ICMPECHO };

struct fwd_opts {
	const char *sock[FWD_MAX_PORTS];
	unsigned nb_ports;
	bool client;
	uint16_t queues;
	enum fwd_mode mode;
	uint32_t pkt_size;
	uint16_t burst;
	double duration;      /* seconds, 0: until a signal */
	double stats_period;  /* seconds, 0: no periodic lines */
	uint64_t disable;     /* feature bits not to offer */
	bool verify;
	bool interrupt;
	bool populate_mem;   /* VHU_POPULATE_MEM */
};

/* Written by the forwarding thread only; read by main for the stats lines.
 * With --verify every received packet lands in exactly one of verified,
 * hdr_checked, unchecked and bad (enum gen_check). polls: rounds of the
 * forwarding loop over every live queue; idle_polls: those that moved no
 * packet (the frontends had nothing for us, or no room); busy_cycles and
 * idle_cycles: the time each kind took (tools/common/cycles.h). */
struct fwd_stats {
	_Atomic uint64_t rx, tx, drops, bad, verified, hdr_checked, unchecked;
	_Atomic uint64_t polls, idle_polls, busy_cycles, idle_cycles;
};

/* One registered socket. The forwarding thread reads dev; the control
 * thread (callbacks) publishes and withdraws it, see dev.c. */
struct fwd_port {
	const char *path;
	unsigned idx;
	_Atomic(struct vhu_dev *) dev;
};

extern struct fwd_opts fwd_opts;
extern struct fwd_stats fwd_stats;
extern struct fwd_port fwd_ports[FWD_MAX_PORTS];
extern atomic_bool fwd_stop;
/* Quiescent-state counter of the forwarding thread: even while it may hold
 * device pointers, odd while it holds none (asleep or gone). */
extern _Atomic uint64_t fwd_epoch;
/* Bumped whenever devices or vrings change, so the sleeper re-arms. */
extern _Atomic uint64_t fwd_gen;
/* eventfd that wakes the forwarding thread out of epoll. */
extern int fwd_wakefd;


/* dev.c */
int ports_start(void);
void ports_stop(void);
void fwd_wake(void);

/* fwd.c */
void *fwd_thread(void *arg);

/* notify.c: --interrupt. */
struct fwd_sleeper;
struct fwd_sleeper *sleeper_create(void);
void sleeper_destroy(struct fwd_sleeper *s);
/* Arms guest notifications on every vring worth waiting for, sleeps until a
 * kick or a wake, disarms. Returns with fresh device pointers in devs. */
void sleeper_wait(struct fwd_sleeper *s, struct vhu_dev **devs);
/* Sleep while no device exists, so an idle tool costs nothing. */
void fwd_wait_wakefd(int timeout_ms);
void fwd_go_offline(void);
void fwd_go_online(void);

/* gen.c: txonly packets and --verify. */
struct vhu_pkt;
int gen_init(uint32_t pkt_size, bool verify);
void gen_fill(struct vhu_pkt **pkts, unsigned n);
/* What --verify could say about one received packet. */
enum gen_check {
	GEN_BAD = -1,     /* a header or the payload checksum is wrong */
	GEN_UNCHECKED,    /* not IPv4, GSO, or too big to check: nothing known */
	GEN_HDR_CHECKED,  /* IPv4 header and lengths right; payload not ours */
	GEN_VERIFIED,     /* our payload, every byte checked */
};
enum gen_check gen_verify(const struct vhu_pkt *pkt);

/* icmp.c */
/* Turns an ARP request, ICMP/ICMPv6 echo request or IPv6 neighbour
 * solicitation into its reply in place; false for anything else. */
bool icmp_reply(struct vhu_pkt *pkt);

#endif
