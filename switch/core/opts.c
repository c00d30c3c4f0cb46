/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu-switch's options: defaults, parsing, usage. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/vhu.h>
#include "ctl_proto.h"
#include "feature_names.h"
#include "opts.h"
#include "port_spec.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

void sw_opts_default(struct sw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->control = VHU_CTL_DEFAULT_PATH;
	o->sock_dir = VHU_SWITCH_RUN_DIR;
	o->nb_pmds = 1;
	o->mac_age = SW_MAC_AGE_DEFAULT;
	o->zero_copy = SW_ZERO_COPY_DEFAULT;
	o->io_timeout_ms = VHU_DEFAULT_IO_TIMEOUT_MS;
	o->max_connections = VHU_DEFAULT_MAX_CONNECTIONS;
}

void sw_opts_usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-switch [--control PATH] [--socket-dir DIR] [--pmd-cpus LIST]\n"
		"                  [--mac-age SECONDS] [--socket-mode OCTAL] [--socket-group GROUP]\n"
		"                  [--disable-features LIST]\n"
		"                  [--disable-protocol-features LIST] [--no-ring-resync]\n"
		"                  [--zero-copy | --no-zero-copy]\n"
		"                  [--populate-mem] [--io-timeout-ms N] [--max-connections N]\n"
		"                  [--db FILE] [--port SPEC]... [--flow FLOW]...\n"
		"  --control     control socket for vhu-ctl (default " VHU_CTL_DEFAULT_PATH ")\n"
		"  --socket-dir  where server ports create DIR/NAME (default " VHU_SWITCH_RUN_DIR ");\n"
		"                both folders are created 0755 when missing\n"
		"  --pmd-cpus    CPUs for the forwarding threads, one PMD each (\"1\", \"0,2\", \"2-3\");\n"
		"                default one unpinned PMD\n"
		"  --mac-age     MACs not seen for this long are forgotten (default %u s)\n"
		"  --socket-mode octal mode of server port sockets (default the library's 0660)\n"
		"  --socket-group the group of the control socket and server port sockets, both\n"
		"                0660 (ports: unless --socket-mode), for a QEMU running as another user\n"
		"  --zero-copy, --no-zero-copy  frames of 512 bytes or more from a guest go\n"
		"                to other guests straight from its buffer (one copy), or through\n"
		"                the switch's own (two); default %s\n"
		"  --populate-mem fault each guest's memory in when it is mapped, not as\n"
		"                packets first touch it (slower connect, RSS of all guest RAM)\n"
		"  --io-timeout-ms a frontend that leaves a vhost-user message half sent, or\n"
		"                its replies unread, this long is disconnected (%d..%d,\n"
		"                default %d)\n"
		"  --max-connections frontends connected at once to a server port's socket;\n"
		"                one more is closed at once (1..%u, default %d)\n"
		"  --db          keep the ports and flows vhu-ctl sets in FILE, rewritten before\n"
		"                each change is answered, restored at start (then --port and\n"
		"                --flow add to it)\n"
		"  SPEC = vhost-user:NAME[,path=PATH][,client][,queues=N][,tx-retries=N][,VLAN][,AFF][,EXT]...\n"
		"       | tap:NAME[,ifname=IF][,queues=N][,offloads=on|off][,VLAN][,AFF][,EXT]...\n"
		"       | vxlan:NAME,local=IP,remote=IP[,remote=IP...],vni=N[,dstport=P][,VLAN][,AFF][,EXT]...\n"
		"       | afxdp:NAME,ifname=IF[,queues=N][,mode=auto|native|generic]\n"
		"               [,zerocopy=auto|on|off][,umem-frames=N][,VLAN][,AFF][,EXT]...\n"
		"         (vhost-user: the guest enables up to queues=N pairs, default 16; only\n"
		"         enabled ones are polled)\n"
		"  tx-retries = more enqueue attempts to a full guest ring, 0..%d (default %d)\n"
		"  VLAN = tag=VID (access port) | trunks=VID[:VID|:A-B]... (trunk); neither: all VLANs\n"
		"  AFF  = rxq-affinity=Q:CPU[+Q:CPU...]: rx queue Q polled by the PMD on CPU\n"
		"  EXT  = external-ids:KEY=VALUE, data for orchestrators (vhu-ctl find-port)\n"
		"  FLOW = in_port=NAME,actions=output:NAME|drop|normal (overrides learning for that port)\n"
		"  LIST = comma-separated names (mrg_rxbuf,packed,log_all,guest_announce,...;\n"
		"         protocol: rarp,log_shmfd,inflight_shmfd,...) or bit numbers\n",
		SW_MAC_AGE_DEFAULT, SW_ZERO_COPY_DEFAULT ? "on" : "off", VHU_MIN_IO_TIMEOUT_MS,
		VHU_MAX_IO_TIMEOUT_MS, VHU_DEFAULT_IO_TIMEOUT_MS, SW_MAX_CONNECTIONS_MAX,
		VHU_DEFAULT_MAX_CONNECTIONS, SW_TX_RETRIES_MAX, SW_TX_RETRIES_DEFAULT);
}

int sw_opts_pmd_on_cpu(const struct sw_opts *o, unsigned cpu)
{
	for (unsigned i = 0; o->pinned && i < o->nb_pmds; i++)
		if (o->pmd_cpus[i] == (int)cpu)
			return (int)i;
	return -1;
}

int sw_opts_parse_cpus(struct sw_opts *o, const char *s, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	unsigned n = 0;

	if (strlen(s) >= sizeof(buf))
		return ERR("--pmd-cpus '%s' too long", s);
	strcpy(buf, s);
	/* strtok_r would take ",1" or "1,,2" as fine. */
	if (!*s || *s == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return ERR("bad --pmd-cpus '%s'", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		long a = strtol(tok, &end, 10), b = a;
		if (!isdigit((unsigned char)*tok) || errno || a >= CPU_SETSIZE)
			return ERR("bad --pmd-cpus '%s'", s);
		if (*end == '-') {
			char *e2;
			const char *from = end + 1;
			if (!isdigit((unsigned char)*from))
				return ERR("bad --pmd-cpus '%s'", s);
			b = strtol(from, &e2, 10);
			if (errno || e2 == from || *e2 || b < a || b >= CPU_SETSIZE)
				return ERR("bad --pmd-cpus '%s'", s);
		} else if (*end) {
			return ERR("bad --pmd-cpus '%s'", s);
		}
		for (long c = a; c <= b; c++) {
			if (n == SW_MAX_PMDS)
				return ERR("at most %d PMDs in --pmd-cpus '%s'", SW_MAX_PMDS, s);
			for (unsigned k = 0; k < n; k++)
				if (o->pmd_cpus[k] == (int)c)
					return ERR("cpu %ld twice in --pmd-cpus '%s'", c, s);
			o->pmd_cpus[n++] = (int)c;
		}
	}
	o->nb_pmds = n;
	o->pinned = true;
	return 0;
}

/* A decimal or octal number in [lo, hi] with nothing after it. */
static int number(const char *s, int base, unsigned long lo, unsigned long hi,
		  unsigned long *v)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, base);
	return errno || *end || *v < lo || *v > hi ? -1 : 0;
}

int sw_opts_parse(struct sw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option lo[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "socket-dir", required_argument, NULL, 'd' },
		{ "pmd-cpus", required_argument, NULL, 'p' },
		{ "mac-age", required_argument, NULL, 'a' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "port", required_argument, NULL, 'P' },
		{ "flow", required_argument, NULL, 'f' },
		{ "disable-features", required_argument, NULL, 'F' },
		{ "disable-protocol-features", required_argument, NULL, 'X' },
		{ "no-ring-resync", no_argument, NULL, 'R' },
		{ "zero-copy", no_argument, NULL, 'Z' },
		{ "no-zero-copy", no_argument, NULL, 'z' },
		{ "populate-mem", no_argument, NULL, 'M' },
		{ "io-timeout-ms", required_argument, NULL, 'T' },
		{ "max-connections", required_argument, NULL, 'N' },
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	/* getopt's own messages would go to stderr past err; 0 restarts it
	 * (the unit tests parse many command lines in one process). */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!*optarg)
				return ERR("empty --control");
			o->control = optarg;
			break;
		case 'd':
			if (!*optarg)
				return ERR("empty --socket-dir");
			o->sock_dir = optarg;
			break;
		case 'p':
			if (sw_opts_parse_cpus(o, optarg, err, errlen))
				return -EINVAL;
			break;
		case 'a':
			if (number(optarg, 10, 1, SW_MAC_AGE_MAX, &v))
				return ERR("bad --mac-age '%s' (1..%u s)", optarg, SW_MAC_AGE_MAX);
			o->mac_age = (unsigned)v;
			break;
		case 'm':
			if (number(optarg, 8, 0, 0777, &v))
				return ERR("bad --socket-mode '%s' (octal, e.g. 0660)", optarg);
			o->sock_mode = (unsigned)v;
			break;
		case 'g':
			if (!*optarg)
				return ERR("empty --socket-group");
			o->sock_group = optarg;
			break;
		case 'F':
			if (!*optarg || feature_parse_list(optarg, &o->disable))
				return ERR("bad --disable-features '%s'", optarg);
			break;
		case 'X':
			if (!*optarg || protocol_feature_parse_list(optarg, &o->disable_proto))
				return ERR("bad --disable-protocol-features '%s'", optarg);
			break;
		case 'R': o->no_ring_resync = true; break;
		case 'Z': o->zero_copy = true; break;
		case 'z': o->zero_copy = false; break;
		case 'M': o->populate_mem = true; break;
		case 'T':
			if (number(optarg, 10, VHU_MIN_IO_TIMEOUT_MS, VHU_MAX_IO_TIMEOUT_MS, &v))
				return ERR("bad --io-timeout-ms '%s' (%d..%d ms)", optarg,
					   VHU_MIN_IO_TIMEOUT_MS, VHU_MAX_IO_TIMEOUT_MS);
			o->io_timeout_ms = (unsigned)v;
			break;
		case 'N':
			if (number(optarg, 10, 1, SW_MAX_CONNECTIONS_MAX, &v))
				return ERR("bad --max-connections '%s' (1..%u)", optarg,
					   SW_MAX_CONNECTIONS_MAX);
			o->max_connections = (unsigned)v;
			break;
		case 'D':
			if (!*optarg)
				return ERR("empty --db");
			o->db = optarg;
			break;
		case 'P':
			if (o->nb_ports == SW_MAX_PORTS)
				return ERR("more than %d --port", SW_MAX_PORTS);
			o->ports[o->nb_ports++] = optarg;
			break;
		case 'f':
			if (o->nb_flows == SW_MAX_PORTS)
				return ERR("more than %d --flow", SW_MAX_PORTS);
			o->flows[o->nb_flows++] = optarg;
			break;
		case 'h': return 1;
		case ':':
			return ERR("option %s needs an argument", argv[optind - 1]);
		default:
			return ERR("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ERR("unexpected argument '%s'", argv[optind]);
	return 0;
}
