/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-fwd: libvhu's counterpart of dpdk-testpmd, over one or two
 * vhost-user sockets.
 *
 *   vhu-fwd --socket PATH [--socket PATH2] [--client] [--queues N]
 *           --mode rxonly|txonly|io|macswap|icmpecho [--pkt-size BYTES]
 *           [--burst N] [--duration SECONDS] [--stats-period SECONDS]
 *           [--disable-features LIST] [--verify] [--interrupt] [--populate-mem]
 *
 * Modes (each queue pair q of each device, one forwarding thread):
 *   rxonly    dequeue and free.
 *   txonly    enqueue generated UDP/IPv4 frames of --pkt-size bytes
 *             (169.254.1.1 -> 169.254.1.2), as many as the frontend has
 *             buffers for. Anything the frontend sends is also dequeued,
 *             counted as rx and, with --verify, checked: against a
 *             reflecting peer (testpmd macswap/io) this tests the payload
 *             in both directions.
 *   io        socket 1 queue q <-> socket 2 queue q; with one socket, back
 *             to the same device and queue.
 *   macswap   swap the Ethernet addresses, send back on the same queue.
 *   icmpecho  answer ARP, IPv6 neighbour solicitation and ICMP/ICMPv6 echo
 *             for any address (MAC 02:76:68:75:00:01); ignore the rest.
 *
 * --verify: txonly payloads carry a magic, a sequence number and a
 * checksum (gen.c). Every received packet with the magic is checked whole
 * ("verified"); any other IPv4 packet gets its header checksum and total
 * length checked ("hdr-checked"); anything else (not IPv4, GSO, over
 * 64 KiB) is "unchecked". Failures are counted as "bad"; the exit status
 * is 1 if any was seen. The four add up to rx-pkts.
 * --interrupt: sleep on the frontends' kicks when idle (notify.c).
 * --populate-mem: fault guest memory in when it is mapped (VHU_POPULATE_MEM).
 * --disable-features: comma-separated names (mrg_rxbuf, indirect,
 * event_idx, in_order, packed, mq, csum, guest_csum, version_1, log_all,
 * host_tso4, guest_tso4, ... see features.c) or bit numbers.
 * --duration 0 (default) runs until SIGINT/SIGTERM.
 *
 * Output on stdout, stable and meant for parsing:
 *   every --stats-period seconds (cumulative counts, rates over the period):
 *     stats: rx-pkts N tx-pkts N rx-mpps X.XXX tx-mpps X.XXX drops N
 *            polls N idle-polls N busy-cycles N idle-cycles N
 *                                                     (the same line)
 *   once at the end:
 *     total: rx-pkts N tx-pkts N drops N bad N
 *            verified N hdr-checked N unchecked N
 *            polls N idle-polls N busy-cycles N idle-cycles N
 *                                                     (the same line)
 * rx = dequeued from the frontends, tx = enqueued to them, drops = packets
 * a frontend had no room for (or with no device/queue to go to); polls =
 * rounds of the forwarding loop over every queue, idle-polls = those that
 * moved no packet, busy-cycles and idle-cycles = the time each kind took
 * (TSC or timer ticks, sleeps left out): a backend idle most of its time
 * is paced by its frontends.
 * On stderr, per device (features negotiated, names as above):
 *   vhu-fwd: device up: socket PATH id N vrings N features 0xHEX [names]
 *   vhu-fwd: device down: socket PATH id N
 *   vhu-fwd: vring stats: socket PATH id N vring V packets N bytes N drops N
 *            errors N kicks N      (after device down, vrings with traffic)
 *   vhu-fwd: interrupt: sleeps N kick-wakes N timeouts N idle-timeouts N
 *            (--interrupt, at exit; see notify.c)
 *
 * Exit status: 0 ok, 1 runtime failure or bad packets, 2 bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vhu/pkt.h>
#include "fwd.h"

struct fwd_opts fwd_opts = {
	.queues = 1, .pkt_size = 64, .burst = 32,
};
struct fwd_stats fwd_stats;
atomic_bool fwd_stop;

/* Dequeue never holds more than a burst of (possibly chained) segments;
 * this leaves room for 256-packet bursts of 64 KiB GSO frames. */
#define POOL_SEGS 8192
#define MIN_DATA_ROOM 2048
#define MIN_PKT 60
#define MAX_PKT 9216

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-fwd --socket PATH [--socket PATH2] [--client] [--queues N]\n"
		"               --mode rxonly|txonly|io|macswap|icmpecho [--pkt-size BYTES]\n"
		"               [--burst N] [--duration SECONDS] [--stats-period SECONDS]\n"
		"               [--disable-features LIST] [--verify] [--interrupt]\n"
		"               [--populate-mem]\n");
}

static _Noreturn void bad_opt(const char *fmt, const char *arg)
{
	fprintf(stderr, "vhu-fwd: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

static unsigned long parse_uint(const char *name, const char *arg,
				unsigned long min, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || *arg == '\0' || *arg == '-' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "vhu-fwd: --%s must be %lu..%lu\n", name, min, max);
		usage(stderr);
		exit(2);
	}
	return v;
}

static double parse_secs(const char *name, const char *arg)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || *arg == '\0' || *end != '\0' || !isfinite(v) || v < 0 || v > 1e7)
		bad_opt("--%s needs a number of seconds >= 0", name);
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "client", no_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pkt-size", required_argument, NULL, 'p' },
		{ "burst", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stats-period", required_argument, NULL, 'S' },
		{ "disable-features", required_argument, NULL, 'D' },
		{ "verify", no_argument, NULL, 'v' },
		{ "populate-mem", no_argument, NULL, 'M' },
		{ "interrupt", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const modes[] = {
		[MODE_RXONLY] = "rxonly", [MODE_TXONLY] = "txonly", [MODE_IO] = "io",
		[MODE_MACSWAP] = "macswap", [MODE_ICMPECHO] = "icmpecho",
	};
	bool have_mode = false;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (fwd_opts.nb_ports == FWD_MAX_PORTS)
				bad_opt("at most two --socket%s", "");
			if (*optarg == '\0')
				bad_opt("--socket needs a path%s", "");
			fwd_opts.sock[fwd_opts.nb_ports++] = optarg;
			break;
		case 'c': fwd_opts.client = true; break;
		case 'q':
			fwd_opts.queues = (uint16_t)parse_uint("queues", optarg, 1,
							       VHU_MAX_QUEUE_PAIRS);
			break;
		case 'm':
			have_mode = false;
			for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				if (strcmp(optarg, modes[i]) == 0) {
					fwd_opts.mode = (enum fwd_mode)i;
					have_mode = true;
				}
			if (!have_mode)
				bad_opt("unknown mode '%s'", optarg);
			break;
		case 'p':
			fwd_opts.pkt_size = (uint32_t)parse_uint("pkt-size", optarg,
								 MIN_PKT, MAX_PKT);
			break;
		case 'b':
			fwd_opts.burst = (uint16_t)parse_uint("burst", optarg, 1, VHU_MAX_BURST);
			break;
		case 'd': fwd_opts.duration = parse_secs("duration", optarg); break;
		case 'S': fwd_opts.stats_period = parse_secs("stats-period", optarg); break;
		case 'D':
			if (feature_parse_list(optarg, &fwd_opts.disable) < 0)
				bad_opt("bad --disable-features '%s'", optarg);
			break;
		case 'v': fwd_opts.verify = true; break;
		case 'i': fwd_opts.interrupt = true; break;
		case 'M': fwd_opts.populate_mem = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		bad_opt("unexpected argument '%s'", argv[optind]);
	if (fwd_opts.nb_ports == 0)
		bad_opt("--socket is required%s", "");
	if (!have_mode)
		bad_opt("--mode is required%s", "");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t ld(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* The main thread only keeps time: it waits for signals, prints stats
 * and ends the run. Bounded by --duration when given. */
static void run(const sigset_t *sigs)
{
	double start = now_s(), last = start;
	double end = fwd_opts.duration > 0 ? start + fwd_opts.duration : INFINITY;
	double next = fwd_opts.stats_period > 0 ? start + fwd_opts.stats_period : INFINITY;
	uint64_t rx0 = 0, tx0 = 0;

	for (;;) {
		double t = now_s(), until = next < end ? next : end;
		if (t >= end)
			return;
		if (t >= next) {
			uint64_t rx = ld(&fwd_stats.rx), tx = ld(&fwd_stats.tx);
			double dt = t - last;
			printf("stats: rx-pkts %" PRIu64 " tx-pkts %" PRIu64
			       " rx-mpps %.3f tx-mpps %.3f drops %" PRIu64 " polls %" PRIu64
			       " idle-polls %" PRIu64 " busy-cycles %" PRIu64 " idle-cycles %" PRIu64
			       "\n", rx, tx, (double)(rx - rx0) / dt / 1e6,
			       (double)(tx - tx0) / dt / 1e6, ld(&fwd_stats.drops),
			       ld(&fwd_stats.polls), ld(&fwd_stats.idle_polls),
			       ld(&fwd_stats.busy_cycles), ld(&fwd_stats.idle_cycles));
			rx0 = rx, tx0 = tx, last = t;
			while (next <= t)
				next += fwd_opts.stats_period;
			continue;
		}
		/* At most an hour per wait; nothing depends on it. */
		double w = until - t;
		if (w > 3600)
			w = 3600;
		struct timespec ts = { (time_t)w, (long)((w - (double)(time_t)w) * 1e9) };
		if (sigtimedwait(sigs, NULL, &ts) > 0)
			return;
	}
}

int main(int argc, char **argv)
{
	struct vhu_pkt_pool *pool;
	sigset_t sigs;
	pthread_t thr;
	int rc = 0;

	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	uint32_t room = fwd_opts.pkt_size > MIN_DATA_ROOM ? fwd_opts.pkt_size : MIN_DATA_ROOM;
	pool = vhu_pkt_pool_create("vhu-fwd", POOL_SEGS, room);
	if (!pool) {
		fprintf(stderr, "vhu-fwd: cannot create the packet pool: %s\n", strerror(errno));
		return 1;
	}
	if (fwd_opts.mode == MODE_TXONLY && gen_init(fwd_opts.pkt_size, fwd_opts.verify) < 0)
		bad_opt("--pkt-size too small%s", "");

	/* Every thread created from here on inherits the mask, so the
	 * signals wait for the main thread's sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ports_start() < 0) {
		ports_stop();
		vhu_pkt_pool_destroy(pool);
		return 1;
	}
	if ((errno = pthread_create(&thr, NULL, fwd_thread, pool)) != 0) {
		fprintf(stderr, "vhu-fwd: cannot start the forwarding thread: %s\n",
			strerror(errno));
		ports_stop();
		vhu_pkt_pool_destroy(pool);
		return 1;
	}
	run(&sigs);
	atomic_store(&fwd_stop, true);
	fwd_wake();
	pthread_join(thr, NULL);
	ports_stop();

	uint64_t bad = ld(&fwd_stats.bad);
	printf("total: rx-pkts %" PRIu64 " tx-pkts %" PRIu64 " drops %" PRIu64
	       " bad %" PRIu64 " verified %" PRIu64 " hdr-checked %" PRIu64
	       " unchecked %" PRIu64 " polls %" PRIu64 " idle-polls %" PRIu64
	       " busy-cycles %" PRIu64 " idle-cycles %" PRIu64 "\n",
	       ld(&fwd_stats.rx), ld(&fwd_stats.tx), ld(&fwd_stats.drops), bad,
	       ld(&fwd_stats.verified), ld(&fwd_stats.hdr_checked), ld(&fwd_stats.unchecked),
	       ld(&fwd_stats.polls), ld(&fwd_stats.idle_polls),
	       ld(&fwd_stats.busy_cycles), ld(&fwd_stats.idle_cycles));
	if (bad) {
		fprintf(stderr, "vhu-fwd: %" PRIu64 " bad packets\n", bad);
		rc = 1;
	}
	vhu_pkt_pool_destroy(pool);
	return rc;
}
