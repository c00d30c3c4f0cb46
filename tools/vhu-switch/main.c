/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-switch: an L2 learning switch over libvhu whose vhost-user ports
 * give VMs their NICs (the role of OVS's dpdkvhostuser ports).
 *
 *   vhu-switch [--control PATH] [--socket-dir DIR] [--pmd-cpus LIST]
 *              [--mac-age SECONDS] [--port SPEC]... [--flow FLOW]...
 *
 *   SPEC = vhost-user:NAME[,path=PATH][,client][,queues=N]
 *        | tap:NAME[,ifname=IF]
 *   FLOW = in_port=NAME,actions=output:NAME|drop|normal (flow.c)
 *
 * --control   control socket for vhu-ctl (default /tmp/vhu-switch.ctl)
 * --socket-dir  where server ports create their socket DIR/NAME
 *             (default /tmp/vhu, created if missing)
 * --pmd-cpus  CPUs for the forwarding threads, one PMD each ("1", "0,2",
 *             "2-3"); default one unpinned PMD
 * --mac-age   fdb entries not seen for this long are forgotten (300)
 * --socket-mode  octal mode of server port sockets (library default 0660)
 * Without --port the bridge starts empty; vhu-ctl add-port adds ports.
 * Without --flow every port is on the learning bridge; vhu-ctl add-flow
 * adds flows.
 * Runs until SIGINT or SIGTERM. Logs go to stderr.
 * Exit status: 0 ok, 1 runtime failure, 2 bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "feature_names.h"
#include "sw.h"

struct sw_opts sw_opts = {
	.control = "/tmp/vhu-switch.ctl",
	.sock_dir = "/tmp/vhu",
	.nb_pmds = 1,
	.mac_age = 300,
};

void sw_log(const char *fmt, ...)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld vhu-switch: %s\n", tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-switch [--control PATH] [--socket-dir DIR] [--pmd-cpus LIST]\n"
		"                  [--mac-age SECONDS] [--socket-mode OCTAL] [--disable-features LIST]\n"
		"                  [--disable-protocol-features LIST] [--no-ring-resync]\n"
		"                  [--port SPEC]... [--flow FLOW]...\n"
		"  SPEC = vhost-user:NAME[,path=PATH][,client][,queues=N] | tap:NAME[,ifname=IF]\n"
		"  FLOW = in_port=NAME,actions=output:NAME|drop|normal (overrides learning for that port)\n"
		"  LIST = comma-separated names (mrg_rxbuf,packed,log_all,guest_announce,...;\n"
		"         protocol: rarp,log_shmfd,inflight_shmfd,...) or bit numbers\n");
}

static _Noreturn void bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "vhu-switch: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

static void parse_cpus(const char *s)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		bad("--pmd-cpus '%s' too long", s);
	strcpy(buf, s);
	sw_opts.nb_pmds = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long a = strtol(tok, &end, 10), b = a;
		if (end == tok || a < 0 || a >= CPU_SETSIZE)
			bad("bad --pmd-cpus '%s'", s);
		if (*end == '-') {
			char *e2;
			b = strtol(end + 1, &e2, 10);
			if (e2 == end + 1 || *e2 || b < a || b >= CPU_SETSIZE)
				bad("bad --pmd-cpus '%s'", s);
		} else if (*end) {
			bad("bad --pmd-cpus '%s'", s);
		}
		for (long c = a; c <= b; c++) {
			if (sw_opts.nb_pmds == SW_MAX_PMDS)
				bad("at most 16 PMDs in --pmd-cpus '%s'", s);
			sw_opts.pmd_cpus[sw_opts.nb_pmds++] = (int)c;
		}
	}
	if (!sw_opts.nb_pmds)
		bad("empty --pmd-cpus '%s'", s);
	sw_opts.pinned = true;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "socket-dir", required_argument, NULL, 'd' },
		{ "pmd-cpus", required_argument, NULL, 'p' },
		{ "mac-age", required_argument, NULL, 'a' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "port", required_argument, NULL, 'P' },
		{ "flow", required_argument, NULL, 'f' },
		{ "disable-features", required_argument, NULL, 'F' },
		{ "disable-protocol-features", required_argument, NULL, 'X' },
		{ "no-ring-resync", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ports[SW_MAX_PORTS], *flows[SW_MAX_PORTS];
	unsigned nports = 0, nflows = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': sw_opts.control = optarg; break;
		case 'd': sw_opts.sock_dir = optarg; break;
		case 'p': parse_cpus(optarg); break;
		case 'a': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 86400 * 365)
				bad("bad --mac-age '%s'", optarg);
			sw_opts.mac_age = (unsigned)v;
			break;
		}
		case 'm': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 8);
			if (*end || end == optarg || v > 0777)
				bad("bad --socket-mode '%s' (octal, e.g. 0660)", optarg);
			sw_opts.sock_mode = (unsigned)v;
			break;
		}
		case 'F':
			if (feature_parse_list(optarg, &sw_opts.disable))
				bad("bad --disable-features '%s'", optarg);
			break;
		case 'X':
			if (protocol_feature_parse_list(optarg, &sw_opts.disable_proto))
				bad("bad --disable-protocol-features '%s'", optarg);
			break;
		case 'R': sw_opts.no_ring_resync = true; break;
		case 'P':
			if (nports == SW_MAX_PORTS)
				bad("too many --port%s", "");
			ports[nports++] = optarg;
			break;
		case 'f':
			if (nflows == SW_MAX_PORTS)
				bad("too many --flow%s", "");
			flows[nflows++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (mkdir(sw_opts.sock_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vhu-switch: cannot create socket dir %s: %s\n",
			sw_opts.sock_dir, strerror(errno));
		return 1;
	}

	/* Threads created from here on inherit the mask: signals wait for
	 * the main thread's sigtimedwait. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);

	fdb_init();
	if (pmd_start() < 0 || ctl_start(sw_opts.control) < 0) {
		rc = 1;
		goto out;
	}
	SW_LOG("started: %u pmd%s, socket dir %s, mac ageing %u s", sw_opts.nb_pmds,
	       sw_opts.nb_pmds == 1 ? "" : "s", sw_opts.sock_dir, sw_opts.mac_age);
	for (unsigned i = 0; i < nports + nflows; i++) {
		char err[512];
		pthread_mutex_lock(&sw_ctl_lock);
		int r = i < nports ? port_add(ports[i], err, sizeof(err)) :
			flow_add(flows[i - nports], err, sizeof(err));
		pthread_mutex_unlock(&sw_ctl_lock);
		if (r) {
			SW_LOG("%s", err);
			rc = 1;
			goto out;
		}
	}
	for (;;) {
		struct timespec ts = { 1, 0 };
		int s = sigtimedwait(&sigs, NULL, &ts);
		if (s > 0) {
			SW_LOG("signal %d: stopping", s);
			break;
		}
		fdb_age(sw_now_s(), sw_opts.mac_age);
	}
out:
	ctl_stop();
	pthread_mutex_lock(&sw_ctl_lock);
	port_del_all();
	pthread_mutex_unlock(&sw_ctl_lock);
	pmd_stop();
	flow_del_all(); /* after the PMDs: the last snapshot reached them */
	vhu_loop_stop_thread();
	return rc;
}
