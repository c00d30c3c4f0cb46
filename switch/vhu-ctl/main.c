/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-ctl: the command line of vhu-switch's control socket.
 *
 *   vhu-ctl [--control PATH] add-port [--may-exist] SPEC
 *   vhu-ctl [--control PATH] del-port [--if-exists] NAME
 *   vhu-ctl [--control PATH] set-port NAME OPT[,OPT...] [OPT...]   (tag=, trunks=,
 *                            rxq-affinity=, tx-retries=, external-ids:)
 *   vhu-ctl [--control PATH] find-port external-id:KEY=VALUE
 *   vhu-ctl [--control PATH] show
 *   vhu-ctl [--control PATH] stats [NAME] [--json | --format text|json|prometheus]
 *   vhu-ctl [--control PATH] fdb
 *   vhu-ctl [--control PATH] add-fdb PORT MAC [vlan=N] [remote=IP]
 *   vhu-ctl [--control PATH] del-fdb MAC [vlan=N]
 *   vhu-ctl [--control PATH] add-flow in_port=NAME,actions=output:NAME|drop|normal
 *   vhu-ctl [--control PATH] del-flows [in_port=NAME]
 *   vhu-ctl [--control PATH] dump-flows
 *   vhu-ctl [--control PATH] capture NAME FILE [--count N] [--timeout S]
 *   vhu-ctl [--control PATH] pmd-stats | pmd-rxq-show | pmd-stats-clear | pmd-rxq-rebalance
 *
 * The protocol is ../ctl_proto.h's (set-port's OPT words travel as one,
 * joined by ','; --format json|prometheus as --json|--prometheus).
 * vhu-ctl prints the reply's text (and
 * the error on stderr). Exit status: 0 OK, 1 ERR or no switch, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl_proto.h"

#define STR(x) #x
#define XSTR(x) STR(x)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vhu-ctl [--control PATH] COMMAND   (default PATH " VHU_CTL_DEFAULT_PATH ")\n"
		"  add-port [--may-exist] SPEC   no error when the port's name exists\n"
		"                         SPEC = vhost-user:NAME[,path=P][,client][,queues=N] | tap:NAME[,ifname=IF]\n"
		"                         | vxlan:NAME,local=IP,remote=IP[,remote=IP...],vni=N[,dstport=P]\n"
		"                         | afxdp:NAME,ifname=IF[,queues=N][,mode=auto|native|generic]\n"
		"                           [,zerocopy=auto|on|off][,umem-frames=N]\n"
		"                         each with [,tag=VID | ,trunks=VID:VID:A-B] [,rxq-affinity=Q:CPU[+Q:CPU...]]\n"
		"                         [,external-ids:KEY=VALUE]...; vhost-user also [,tx-retries=N]\n"
		"                         (0..32, default 8); vhost-user offers 16 queue pairs unless\n"
		"                         queues=N; the guest's enabled ones are polled\n"
		"  del-port [--if-exists] NAME   no error when there is no such port\n"
		"  set-port NAME OPT...   OPT = tag=VID|none | trunks=LIST|none (VLAN mode)\n"
		"                         | rxq-affinity=Q:CPU[+Q:CPU...]|none (rx queue Q on the PMD of CPU)\n"
		"                         | tx-retries=N | external-ids:KEY=VALUE (KEY= removes KEY)\n"
		"  find-port external-id:KEY=VALUE   the ports that have it, a name a line\n"
		"  show                   ports, state, queues, negotiated features, external-ids\n"
		"  stats [NAME] [--json | --format text|json|prometheus]   per port and queue counters\n"
		"  fdb                    the MAC table\n"
		"  add-fdb PORT MAC [vlan=N] [remote=IP]   a static MAC entry (remote= on a vxlan port)\n"
		"  del-fdb MAC [vlan=N]\n"
		"  add-flow in_port=NAME,actions=output:NAME|drop|normal   port flow, overrides learning\n"
		"  del-flows [in_port=NAME]\n"
		"  dump-flows             the flows and their packet counts\n"
		"  capture NAME FILE [--count N] [--timeout S]   pcap of packets crossing NAME\n"
		"  pmd-stats              per forwarding thread: busy share, packets, cycles/packet\n"
		"  pmd-rxq-show           the rx queues each forwarding thread polls, their share\n"
		"  pmd-stats-clear        count both from now\n"
		"  pmd-rxq-rebalance      place the rx queues that are not pinned again by their cycles\n"
		"                         since pmd-stats-clear, biggest first on the least loaded PMD\n");
}

static int bad(const char *msg)
{
	fprintf(stderr, "vhu-ctl: %s\n", msg);
	usage(stderr);
	return 2;
}

static int has_space(const char *s)
{
	return strpbrk(s, " \t\n") != NULL;
}

int main(int argc, char **argv)
{
	const char *control = VHU_CTL_DEFAULT_PATH;
	char req[VHU_CTL_LINE_MAX], abs_file[PATH_MAX];

	/* A shell starts background jobs with SIGINT ignored; a capture must
	 * still stop on it (the switch ends a capture whose client is gone). */
	signal(SIGINT, SIG_DFL);
	int i = 1;

	if (i + 1 < argc && strcmp(argv[i], "--control") == 0) {
		control = argv[i + 1];
		i += 2;
	} else if (i < argc && strncmp(argv[i], "--control=", 10) == 0) {
		control = argv[i] + 10;
		i++;
	}
	if (i >= argc)
		return bad("no command");
	if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	const char *cmd = argv[i++];
	const struct vhu_ctl_req *r = vhu_ctl_req_find(cmd);
	int n;
	for (int k = i; k < argc; k++)
		if (has_space(argv[k]))
			return bad("arguments may not contain spaces");
	if (!r)
		return bad("unknown command");
	if (r->cmd == VHU_CTL_SET_PORT) {
		if (argc - i < 2)
			return bad("set-port takes NAME and at least one OPT");
		n = snprintf(req, sizeof(req), "set-port %s ", argv[i++]);
		for (; i < argc && n > 0 && (size_t)n < sizeof(req); i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, "%s%s", argv[i],
				      i + 1 < argc ? "," : "\n");
	} else if (r->cmd != VHU_CTL_STATS && r->cmd != VHU_CTL_CAPTURE) {
		/* The rest travel as given. */
		unsigned nargs = (unsigned)(argc - i);
		if (nargs < r->min_args || nargs > r->max_args) {
			char m[64];
			if (r->min_args == r->max_args)
				snprintf(m, sizeof(m), "%s takes %u argument%s", cmd, r->min_args,
					 r->min_args == 1 ? "" : "s");
			else
				snprintf(m, sizeof(m), "%s takes %u to %u arguments", cmd,
					 r->min_args, r->max_args);
			return bad(m);
		}
		n = snprintf(req, sizeof(req), "%s", cmd);
		for (; i < argc && n > 0 && (size_t)n < sizeof(req); i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, " %s", argv[i]);
		if (n > 0 && (size_t)n < sizeof(req))
			n += snprintf(req + n, sizeof(req) - (size_t)n, "\n");
	} else if (r->cmd == VHU_CTL_STATS) {
		const char *name = NULL, *fmt = "";
		for (; i < argc; i++) {
			const char *f = strcmp(argv[i], "--format") == 0 && i + 1 < argc ? argv[++i] :
					strcmp(argv[i], "--json") == 0 ? "json" : NULL;
			if (f && strcmp(f, "text") == 0)
				fmt = "";
			else if (f && strcmp(f, "json") == 0)
				fmt = " --json";
			else if (f && strcmp(f, "prometheus") == 0)
				fmt = " --prometheus";
			else if (f || argv[i][0] == '-')
				return bad("stats takes [NAME] [--json | --format text|json|prometheus]");
			else if (!name)
				name = argv[i];
			else
				return bad("stats takes one port name");
		}
		n = snprintf(req, sizeof(req), "stats%s%s%s\n", name ? " " : "",
			     name ? name : "", fmt);
	} else {
		const char *name = NULL, *file = NULL;
		unsigned long count = VHU_CTL_CAPTURE_COUNT, tmo = VHU_CTL_CAPTURE_TIMEOUT_S;
		for (; i < argc; i++) {
			char *end;
			if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
				count = strtoul(argv[++i], &end, 10);
				if (*end || !count)
					return bad("bad --count");
			} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
				tmo = strtoul(argv[++i], &end, 10);
				if (*end || !tmo || tmo > VHU_CTL_CAPTURE_MAX_S)
					return bad("bad --timeout (1.." XSTR(VHU_CTL_CAPTURE_MAX_S) " s)");
			} else if (!name) {
				name = argv[i];
			} else if (!file) {
				file = argv[i];
			} else {
				return bad("capture NAME FILE [--count N] [--timeout S]");
			}
		}
		if (!file)
			return bad("capture NAME FILE [--count N] [--timeout S]");
		/* The switch writes the file: give it a path that does not
		 * depend on its working directory. */
		if (file[0] != '/') {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)) ||
			    snprintf(abs_file, sizeof(abs_file), "%s/%s", cwd, file) >= (int)sizeof(abs_file))
				return bad("capture file path too long");
			file = abs_file;
		}
		if (has_space(file))
			return bad("capture file path may not contain spaces");
		n = snprintf(req, sizeof(req), "capture %s %s %lu %lu\n", name, file, count, tmo);
	}
	if (n < 0 || (size_t)n >= sizeof(req))
		return bad("request too long");

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(control) >= sizeof(sa.sun_path))
		return bad("control path too long");
	strcpy(sa.sun_path, control);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vhu-ctl: cannot reach vhu-switch at %s: %s\n", control,
			strerror(errno));
		return 1;
	}
	if (write(fd, req, (size_t)n) != n) {
		fprintf(stderr, "vhu-ctl: cannot send to %s: %s\n", control, strerror(errno));
		return 1;
	}
	/* The reply is printed as it comes, holding back the last line. */
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return 1;
	for (;;) {
		if (len + 4096 > cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return 1;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	char *last = strrchr(buf, '\n');
	char *status = last ? last + 1 : buf;
	if (last)
		fwrite(buf, 1, (size_t)(last - buf + 1), stdout);
	int rc = 1;
	if (strcmp(status, VHU_CTL_REPLY_OK) == 0)
		rc = 0;
	else if (strncmp(status, VHU_CTL_REPLY_ERR, strlen(VHU_CTL_REPLY_ERR)) == 0)
		fprintf(stderr, "vhu-ctl: %s\n", status + strlen(VHU_CTL_REPLY_ERR));
	else
		fprintf(stderr, "vhu-ctl: no answer from vhu-switch at %s\n", control);
	free(buf);
	return rc;
}
