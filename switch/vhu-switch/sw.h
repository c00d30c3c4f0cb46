/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-switch: what the files of the program share. The decisions (bridge,
 * flows, port specs, options) are in ../core; this folder runs them.
 *
 * Threads:
 *  - main: options, signals, fdb ageing once a second, and the new rx
 *    queue assignment when a guest enables or disables queues (rxq.c);
 *  - ctl: the control socket, one short-lived thread per client; every
 *    change of the port set or the flow table happens under sw_ctl_lock;
 *  - libvhu's callback workers: device callbacks (port_vhost.c), taking
 *    turns on a lock of their own; they never take
 *    sw_ctl_lock (the ctl thread holds it while calling into the library,
 *    which waits for callbacks in flight: the other order would deadlock);
 *  - PMDs (pmd.c, each burst's forwarding in forward.c): the data path.
 *
 * What the PMDs read is one immutable snapshot, struct sw_conf: the port
 * slots, each PMD's rx queues and each input port's flow. The ctl thread publishes a new snapshot
 * and waits for every PMD to pass a quiescent point (sw_synchronize) before
 * freeing anything the old one reached: a small QSBR, as in vhu-fwd's dev.c.
 */
#ifndef VHU_SWITCH_SW_H
#define VHU_SWITCH_SW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <vhu/vhu.h>
#include "bridge.h"
#include "flow.h"
#include "offload.h"
#include "opts.h"
#include "port_spec.h"
#include "size_bin.h"
#include "sw_core.h"
#include "sw_tsa.h"
#include "vlan.h"

#define SW_BURST 32
/* Frames one egress call may carry after software segmentation: a burst
 * of GSO packets becomes several calls of at most this many. */
#define SW_EG_MAX 1024
/* The seeds' VHOST_ENQ_RETRY_USECS: how long one burst waits in all for a
 * full guest ring to have room (its tx-retries count the attempts). */
#define SW_ENQ_RETRY_NS 100000
/* Behind a vIOMMU: how long frames a guest could not take for an IOTLB
 * miss are kept for it (QEMU under TCG answers a miss in a few ms). */
#define SW_IOTLB_KEEP_NS 100000000

/* Per queue and direction. Only PMDs write; ctl reads. Several PMDs may
 * add to one tx queue, so every update is an atomic add, once per burst
 * (size: once per burst and bin the burst had frames in). */
struct sw_qstats {
	_Atomic uint64_t packets, bytes, dropped, errors;
	_Atomic uint64_t size[SW_SIZE_BINS];
};

enum port_state { PS_DOWN, PS_CONNECTED, PS_RUNNING };

struct sw_txq {
	atomic_flag lock;       /* taken only when PMDs outnumber queues */
	atomic_bool congested;  /* last burst timed out: do not wait again */
	/* Behind a vIOMMU (ACCESS_PLATFORM): copies of the frames an enqueue
	 * left at an IOTLB miss, at most one burst, sent before anything
	 * else on the next burst or PMD iteration, dropped when older than
	 * SW_IOTLB_KEEP_NS. Touched by whoever enqueues on the queue (under
	 * lock when shared), and by destroy_device after the grace period. */
	uint16_t nkept;
	int64_t kept_since;
	struct vhu_pkt *kept[SW_BURST];
};

struct capture;
struct afxdp_port;

/* Sockets a tunnel port sends from: as many outer UDP source ports for
 * the underlay to spread flows by. */
#define SW_VXLAN_TX_SOCKS 8

/* The receiving sockets of the tunnel ports of one local address and UDP
 * port (each datagram goes to the port of its VNI, as the kernel's vxlan
 * devices share one socket): one per queue, SO_REUSEPORT spreading flows
 * over them. Made by the first such port, shared by the others (all with
 * its queue count), closed with the last; refs under sw_ctl_lock. */
struct vxlan_group {
	unsigned refs;
	uint16_t queues;
	int fds[VHU_MAX_QUEUE_PAIRS];
	/* UDP GRO (port_vxlan_rx.c): per queue, where the datagrams after
	 * the first of each read of a burst land, the packets a poll had no
	 * room for, and the datagrams the last poll's reads carried each.
	 * Only the PMD polling the queue touches them. */
	bool gro;
	uint8_t *over[VHU_MAX_QUEUE_PAIRS];
	struct vhu_pkt **left[VHU_MAX_QUEUE_PAIRS];
	uint16_t nleft[VHU_MAX_QUEUE_PAIRS], per_read[VHU_MAX_QUEUE_PAIRS];
};
/* Datagrams one UDP GRO read may carry (a local sender's UDP GSO: 128
 * since Linux 6.10), its bytes, and the backlog that a burst of such
 * reads may leave. */
#define SW_VXLAN_GRO_SEGS 128
#define SW_VXLAN_GRO_BYTES 65536
#define SW_VXLAN_LEFT (SW_BURST * SW_VXLAN_GRO_SEGS)

/* A tunnel port's own part (port_vxlan.c). Settings from the spec, fixed
 * once published; counters added by PMDs, each also in rx_dropped or
 * tx_dropped. */
struct vxlan_port {
	struct sw_ip local, remote[SW_VXLAN_MAX_REMOTES];
	unsigned nremote;
	/* The remotes as socket addresses (scope resolved), and the IP
	 * overhead of the underlay's family. */
	struct sockaddr_storage to[SW_VXLAN_MAX_REMOTES];
	socklen_t tolen;
	unsigned ip_overhead;
	uint32_t vni;
	uint16_t dstport;
	struct vxlan_group *grp;
	uint8_t hdr[SW_VXLAN_HLEN];
	int tx_fd[SW_VXLAN_TX_SOCKS];
	unsigned mtu[SW_VXLAN_MAX_REMOTES];   /* IP MTU toward each remote */
	bool gso;                             /* the kernel takes UDP_SEGMENT */
	_Atomic uint64_t rx_bad, rx_vni, rx_src, rx_big, tx_mtu;
	/* Datagrams that came several to a read (UDP GRO); counted on the
	 * group's first port. */
	_Atomic uint64_t rx_gro;
};

/* Serialises the control side: port set, flow table, snapshots. */
extern struct sw_mutex sw_ctl_lock;

/* Name, type, path, client, queues and ifname come from the port's spec
 * and do not change once it is published. */
struct port {
	char name[SW_NAME_MAX];
	enum sw_port_type type;
	uint16_t idx;                    /* slot in sw_conf.ports, fdb value */
	uint16_t queues;                 /* queue pairs offered / polled */
	/* vhost-user */
	char path[SW_PATH_MAX];
	bool client;
	_Atomic(struct vhu_dev *) dev;   /* published by new_device */
	atomic_uint guest_rx_mask;       /* enabled vrings 2q: where we send */
	atomic_uint guest_tx_mask;       /* enabled vrings 2q+1: what we poll */
	atomic_int state;
	_Atomic uint64_t features, dev_id;
	atomic_uint nr_vring;
	/* tap: one fd per queue (IFF_MULTI_QUEUE), a 64 KiB receive area per
	 * queue for what does not fit one segment (vxlan: the group's) */
	int fds[VHU_MAX_QUEUE_PAIRS];
	uint8_t *rxbuf[VHU_MAX_QUEUE_PAIRS];
	/* tap, vxlan: packets allocated for reads that found nothing yet, kept for
	 * the next poll (an idle tap costs a read, not an alloc and a free);
	 * only the PMD polling the queue touches them, the port's close frees */
	struct vhu_pkt *rx_spare[VHU_MAX_QUEUE_PAIRS][SW_BURST];
	uint16_t nspare[VHU_MAX_QUEUE_PAIRS];
	/* tap: a 64 KiB segment behind each read, chained whole to a packet
	 * that spills into it (no copy of our own), then replaced; NULL when
	 * the PMD's big pool was empty (the read spills into rxbuf and is
	 * copied). Same owner and lifetime as rx_spare. */
	struct vhu_pkt *rx_big[VHU_MAX_QUEUE_PAIRS];
	char ifname[IFNAMSIZ];
	bool no_offloads;                /* offloads=off */
	/* SW_OL_* the port takes whole on transmit (a guest's negotiated
	 * GUEST_ features, a tap's offloads); stored by the control side,
	 * read by PMDs once per burst */
	atomic_uint ol_caps;
	/* Transmit offload counters (PMDs add once per burst): frames handed
	 * to the port with their offload (tx_packets and tx_dropped say how
	 * many it took), GSO packets segmented in software, partial checksums
	 * completed in software. */
	_Atomic uint64_t ol_whole, ol_segmented, ol_csum;
	/* Frames dropped on the way in for their VLAN (one the port does not
	 * carry, or a bad tag); also in the rx queue's dropped. */
	_Atomic uint64_t vlan_dropped;
	/* vhost-user transmit: the retry budget (spec's tx-retries, changed by
	 * set-port, read by PMDs once per burst); enqueue attempts after a
	 * burst's first (retries) and frames a running guest's ring had no
	 * room for after them (fail_drops, also in the tx queue's dropped),
	 * added once per burst. */
	atomic_uint tx_retries_max;
	_Atomic uint64_t tx_retries, tx_fail_drops;
	/* Behind a vIOMMU (sw_txq.kept): frames kept at an IOTLB miss, and
	 * kept frames dropped (also in the tx queue's dropped); the pool the
	 * copies come from, made by the first new_device that negotiated
	 * ACCESS_PLATFORM, freed when the port closes. */
	_Atomic uint64_t tx_iotlb_kept, tx_iotlb_drops;
	_Atomic(struct vhu_pkt_pool *) kept_pool;
	/* IOTLB misses libvhu counted on the vrings of the port's devices
	 * that are gone (a device's own counters go with it): [0] the
	 * vrings the port receives from (2q+1), [1] those it sends to (2q).
	 * Under port_vhost.c's callback lock. */
	uint64_t iotlb_misses_gone[2];
	/* The port as a spec (for show and the --db file), its VLAN mode
	 * included: changed by the control side (set-port), which publishes
	 * the mode in the next snapshot; PMDs read the snapshot's copy. */
	struct sw_port_spec spec SW_GUARDED_BY(sw_ctl_lock);

	struct vxlan_port vx;
	/* afxdp: its sockets, UMEMs and XDP program (port_afxdp.h) */
	struct afxdp_port *xdp;
	/* Cycles the PMD polling rx queue q spent on its packets, from the
	 * rx call to the last output (pmd-rxq-show); base as sw_pmd_stats'
	 * (the queue's load for placement), shown: the value when its PMD's
	 * queues last changed (its share of that PMD's busy cycles since). */
	_Atomic uint64_t rxq_cycles[VHU_MAX_QUEUE_PAIRS];
	uint64_t rxq_base[VHU_MAX_QUEUE_PAIRS] SW_GUARDED_BY(sw_ctl_lock);
	uint64_t rxq_shown[VHU_MAX_QUEUE_PAIRS] SW_GUARDED_BY(sw_ctl_lock);

	struct sw_txq txq[VHU_MAX_QUEUE_PAIRS];
	struct sw_qstats rx[VHU_MAX_QUEUE_PAIRS], tx[VHU_MAX_QUEUE_PAIRS];
	_Atomic(struct capture *) cap;
};

struct sw_rxq {
	struct port *port;
	uint16_t q;
};

/* How busy each PMD is (vhu-ctl pmd-stats): written by that PMD alone,
 * once an iteration (cycles, tools/common/cycles.h, of iterations that
 * forwarded something and of those that found nothing, not counting
 * naps), read by the ctl side.
 * base: the values at the last pmd-stats-clear (ctl side only). */
enum { PS_BUSY, PS_IDLE, PS_BUSY_ITERS, PS_IDLE_ITERS, PS_PACKETS, PS_N };
struct sw_pmd_stats {
	_Atomic uint64_t v[PS_N];
	uint64_t base[PS_N] SW_GUARDED_BY(sw_ctl_lock);
	uint64_t busy_shown SW_GUARDED_BY(sw_ctl_lock);   /* as port's rxq_shown */
};
extern struct sw_pmd_stats sw_pmd_stats[SW_MAX_PMDS];

/* Immutable once published. */
struct sw_conf {
	struct port *ports[SW_MAX_PORTS];
	uint16_t live[SW_MAX_PORTS];     /* indexes of the non-NULL slots */
	unsigned nb_live;
	uint64_t live_mask;              /* the same as a set */
	unsigned nb_rxq[SW_MAX_PMDS];
	struct sw_rxq *rxq[SW_MAX_PMDS];
	struct sw_fwd fwd[SW_MAX_PORTS]; /* by input slot */
	struct sw_vlan vlan[SW_MAX_PORTS]; /* by slot, the ports' modes */
	/* Tunnel ports sharing receive sockets (struct vxlan_group): only the
	 * first in slot order has rx queues; vx_next chains each to the next
	 * (SW_MAX_PORTS ends the chain). */
	uint16_t vx_next[SW_MAX_PORTS];
};

extern struct sw_opts sw_opts;
extern _Atomic(struct sw_conf *) sw_conf;
extern atomic_bool sw_stop;
extern struct sw_fdb sw_fdb;

/* The bridge's clock: seconds, monotonic. */
uint32_t sw_now_s(void);

/* Per-PMD room for an egress batch that software offloads grew. */
struct sw_egress {
	struct vhu_pkt_pool *pool;
	struct vhu_pkt *out[SW_EG_MAX];  /* what the port is given */
	struct vhu_pkt *own[SW_EG_MAX];  /* frames made here, freed after */
};

/* egress.c: hands a batch to port p, first fitting each packet to what
 * the port takes (sw.h's ol_caps): whole, segmented or checksummed. A
 * partial checksum is completed in the packet itself: it may be the
 * same pointer in other ports' batches of this PMD, which then get the
 * complete checksum, correct for any receiver. */
void egress_send(struct sw_egress *e, struct port *p, unsigned pmd,
		 struct vhu_pkt **pkts, uint16_t n);

/* pmd.c: the PMD threads */
int pmd_start(void);
void pmd_stop(void);

/* snapshot.c */
/* Returns once every PMD has left the iteration it was in (or holds no
 * pointer at all), however long that takes. Safe from any thread but a PMD. */
void sw_synchronize(void);
/* Publishes conf and frees the old one after a grace period. */
void sw_conf_publish(struct sw_conf *conf) SW_REQUIRES(sw_ctl_lock);
/* Copy of the current snapshot for the ctl thread to modify. */
struct sw_conf *sw_conf_copy(void) SW_REQUIRES(sw_ctl_lock);
void sw_conf_free(struct sw_conf *conf);

/* rxq.c: rx queue assignment. */
struct sw_out;
/* Rebuilds conf's live ports, their VLAN modes, which PMD polls which
 * rx queue (../core/rxq_place.h) and fwd[]. 0 or -ENOMEM. */
int sw_conf_assign(struct sw_conf *conf) SW_REQUIRES(sw_ctl_lock);
/* The eventfd rxq_changed() writes, for the main thread to wait on. */
int rxq_init(void);
void rxq_fini(void);
/* From any thread, libvhu's included: a guest enabled or disabled queues. */
void rxq_changed(void);
/* Whether rxq_changed() was called since the last time (resets it). */
bool rxq_take_request(void);
/* Before next replaces cur: PMDs whose queues change count their queues'
 * shares in pmd-rxq-show from now (rxq_shown). */
void rxq_note_moves(const struct sw_conf *cur, const struct sw_conf *next)
	SW_REQUIRES(sw_ctl_lock);
/* A new assignment, published when queues move. */
void rxq_reassign(void) SW_REQUIRES(sw_ctl_lock);
/* pmd-rxq-rebalance: the same, asked for; err says why nothing was done. */
int rxq_rebalance(struct sw_out *o, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);

/* flow_ctl.c: the switch's flow table */
int flow_add(const char *spec, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
/* in NULL: every flow. */
int flow_del(const char *in, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
void flow_del_all(void) SW_REQUIRES(sw_ctl_lock);
/* Every flow's add-flow line for the --db file. */
void flow_write(FILE *f) SW_REQUIRES(sw_ctl_lock);
/* Fills conf->fwd from the flow table and conf's ports. */
void flow_resolve(struct sw_conf *conf) SW_REQUIRES(sw_ctl_lock);

/* port.c */
int port_add(const char *spec, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
/* Changes what set-port may change of a running port (port_spec.h). */
int port_set(const char *name, const char *opts, char *err, size_t errlen)
	SW_REQUIRES(sw_ctl_lock);
int port_del(const char *name, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
struct sw_out;
/* find-port's answer: the ports whose external-ids have arg's
 * KEY=VALUE, a name a line. 0, or -EINVAL with err set. */
int port_find_ext(struct sw_out *o, const char *arg, char *err, size_t errlen)
	SW_REQUIRES(sw_ctl_lock);
/* Every port's add-port line for the --db file; 0 or -ENOSPC. */
int port_write(FILE *f) SW_REQUIRES(sw_ctl_lock);
/* add-fdb PORT MAC [vlan=N] [remote=IP] and del-fdb MAC [vlan=N], their
 * words after the request name. */
int fdb_add(char **av, int ac, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
int fdb_del(char **av, int ac, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
struct port *port_find(const struct sw_conf *c, const char *name);
void port_del_all(void) SW_REQUIRES(sw_ctl_lock);

/* port_vhost.c */
int vhost_port_open(struct port *p, char *err, size_t errlen);
void vhost_port_close(struct port *p);
uint16_t vhost_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		  struct vhu_pkt **pkts, uint16_t n);
void vhost_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n);
/* Queues holding frames kept for an IOTLB answer (sw_txq.kept); while
 * there are any, each PMD iteration calls vhost_tx_kept to send them. */
extern atomic_uint sw_tx_kept;
void vhost_tx_kept(const struct sw_conf *c, unsigned pmd);
/* IOTLB misses of the port's guest vrings, its devices' so far: on the
 * vrings it sends to (tx) or receives from. Not from a PMD or a libvhu
 * callback (it takes the callbacks' lock). */
uint64_t vhost_iotlb_misses(const struct port *p, bool tx);

/* port_tap.c */
int tap_port_open(struct port *p, char *err, size_t errlen);
void tap_port_close(struct port *p);
/* pool: the segments packets start in; big: 64 KiB segments the rest of
 * a large packet is read into. */
uint16_t tap_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		struct vhu_pkt_pool *big, struct vhu_pkt **pkts, uint16_t n);
void tap_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n);

/* port_vxlan.c */
int vxlan_port_open(struct port *p, char *err, size_t errlen);
void vxlan_port_close(struct port *p);
/* The port that reads the receive sockets of p's group in c: the group's
 * first live port in slot order (p itself when it is the first). Looks
 * only at c->live[0..nb_live), so rxq.c may ask while it fills it. */
const struct port *vxlan_group_reader(const struct sw_conf *c, const struct port *p);
/* p: the first port of its group in c (sw_conf.vx_next). Frames of the
 * group's ports from their remotes, grouped by port in arrival order:
 * pkt->user is the SW_DEST (port slot, remote 1-based) each came from. */
uint16_t vxlan_rx(const struct sw_conf *c, struct port *p, uint16_t q,
		  struct vhu_pkt_pool *pool, struct vhu_pkt **pkts, uint16_t n);
/* pkt->user: the remote to send to (1-based), or 0 for every remote. */
void vxlan_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n);

/* port_afxdp.c, port_afxdp_io.c (port_afxdp_none.c when built without
 * libxdp: open says so) */
int afxdp_port_open(struct port *p, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
void afxdp_port_close(struct port *p);
uint16_t afxdp_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		  struct vhu_pkt **pkts, uint16_t n);
void afxdp_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n);
/* "native" or "generic": how the XDP program is attached. */
const char *afxdp_mode(const struct port *p);
bool afxdp_zerocopy(const struct port *p);
/* Adds queue q's own drop counters and the kernel's XDP_STATISTICS of
 * its socket to v, in counters.c's order (its C_XDP rows). */
#define AFXDP_NSTATS 10
void afxdp_stats(const struct port *p, unsigned q, uint64_t v[AFXDP_NSTATS]);

/* Brings ifname of port p up (tap, afxdp: the switch's side must be). */
void sw_link_up(struct port *p);

/* stats.c */
/* Adds a burst to s; returns the bytes of its n packets. */
uint64_t stats_count(struct sw_qstats *s, struct vhu_pkt **pkts, uint16_t n,
		     uint16_t dropped);

/* pkt_copy.c: a copy of a whole packet, chained from pool as needed (metadata
 * included), or NULL when the pool is short. */
struct vhu_pkt *pkt_copy(const struct vhu_pkt *pkt, struct vhu_pkt_pool *pool);

/* pcap.c */
struct capture *capture_open(const char *file, uint64_t count, char *err,
			     size_t errlen);
/* From PMDs: appends packets while the capture wants more. */
void capture_pkts(struct capture *c, struct vhu_pkt **pkts, uint16_t n);
bool capture_done(struct capture *c);
/* The port let go (it was deleted): only the waiter holds it. */
bool capture_orphaned(struct capture *c);
uint64_t capture_count(struct capture *c);
void capture_close(struct capture *c);
static inline void port_capture(struct port *p, struct vhu_pkt **pkts, uint16_t n)
{
	struct capture *c = atomic_load_explicit(&p->cap, memory_order_acquire);
	if (__builtin_expect(c != NULL, 0) && n)
		capture_pkts(c, pkts, n);
}

/* db.c: --db FILE. db_load replays it (at start); db_save rewrites it
 * from the running state (after each change; nothing without --db). 0,
 * or -EINVAL with err set: FILE:LINE and the reason for a bad file. */
int db_load(const char *path, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);
int db_save(char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock);

/* pmd_stats.c: the text of pmd-stats, pmd-rxq-show; pmd-stats-clear. */
void cmd_pmd_stats(struct sw_out *o) SW_REQUIRES(sw_ctl_lock);
void cmd_pmd_rxq_show(struct sw_out *o) SW_REQUIRES(sw_ctl_lock);
void cmd_pmd_stats_clear(void) SW_REQUIRES(sw_ctl_lock);

/* ctl.c */
int ctl_start(const char *path);
void ctl_stop(void);

/* Output buffer for control replies. */
struct sw_out {
	char *buf;
	size_t len, cap;
};
void out_printf(struct sw_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_show(struct sw_out *o) SW_REQUIRES(sw_ctl_lock);
const char *port_state_name(const struct port *p);
const char *port_type_name(const struct port *p);
/* counters.c: stats [NAME] as text, JSON or Prometheus text; -1: no
 * port NAME. */
enum sw_stats_fmt { SW_STATS_TEXT, SW_STATS_JSON, SW_STATS_PROMETHEUS };
int cmd_stats(struct sw_out *o, const char *name, enum sw_stats_fmt fmt)
	SW_REQUIRES(sw_ctl_lock);
void cmd_fdb(struct sw_out *o) SW_REQUIRES(sw_ctl_lock);
void cmd_dump_flows(struct sw_out *o) SW_REQUIRES(sw_ctl_lock);

#endif
