/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-switch: an L2 learning switch over libvhu whose vhost-user ports
 * give VMs their NICs (the role of OVS's dpdkvhostuser ports).
 *
 * Options, their defaults and checks: ../core/opts.c (vhu-switch --help).
 * Without --port the bridge starts empty; vhu-ctl add-port adds ports.
 * Without --flow every port is on the learning bridge; vhu-ctl add-flow
 * adds flows.
 * Runs until SIGINT or SIGTERM. Logs go to stderr.
 * Exit status: 0 ok, 1 runtime failure, 2 bad options.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ctl_proto.h"
#include "sw.h"

struct sw_opts sw_opts;

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

/* DIR, created 0755 when missing (whatever the umask): vhu-ctl and the
 * VMs' users must reach the sockets in it. */
static int make_dir(const char *dir)
{
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		fprintf(stderr, "vhu-switch: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (chmod(dir, 0755) < 0) {
		fprintf(stderr, "vhu-switch: cannot chmod %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The folder of the control socket, when it is a folder of its own. */
static int make_ctl_dir(const char *ctl)
{
	char dir[SW_PATH_MAX];
	const char *slash = strrchr(ctl, '/');

	if (!slash || slash == ctl || (size_t)(slash - ctl) >= sizeof(dir))
		return 0; /* the root, the working directory, or too long for bind anyway */
	memcpy(dir, ctl, (size_t)(slash - ctl));
	dir[slash - ctl] = '\0';
	return make_dir(dir);
}

/* --socket-group NAME (or a number) before anything is created. */
static int resolve_group(const char *name, gid_t *gid)
{
	char buf[16384], *end;
	struct group g, *r = NULL;
	int e = getgrnam_r(name, &g, buf, sizeof(buf), &r);

	if (r) {
		*gid = g.gr_gid;
		return 0;
	}
	errno = 0;
	unsigned long n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && !*end && !errno && n < (gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	fprintf(stderr, "vhu-switch: --socket-group %s: %s\n", name,
		e ? strerror(e) : "no such group");
	return -1;
}

/* A --port whose name the --db file already has: the same port is kept,
 * a different one is refused (the file or the command line is wrong). */
static int cmdline_port(const char *spec, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock)
{
	struct sw_port_spec s;
	char a[VHU_CTL_LINE_MAX], b[VHU_CTL_LINE_MAX];

	if (sw_port_spec_parse(spec, sw_opts.sock_dir, &s, err, errlen) < 0)
		return -EINVAL;
	struct port *p = port_find(atomic_load(&sw_conf), s.name);
	if (!p)
		return port_add(spec, err, errlen);
	sw_port_spec_format(&s, sw_opts.sock_dir, a, sizeof(a));
	sw_port_spec_format(&p->spec, sw_opts.sock_dir, b, sizeof(b));
	if (strcmp(a, b)) {
		snprintf(err, errlen, "--port %.200s: %.100s has it as %.160s", spec, sw_opts.db, b);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	int rc = 0;

	sw_opts_default(&sw_opts);
	switch (sw_opts_parse(&sw_opts, argc, argv, err, sizeof(err))) {
	case 0: break;
	case 1: sw_opts_usage(stdout); return 0;
	default:
		fprintf(stderr, "vhu-switch: %s\n", err);
		sw_opts_usage(stderr);
		return 2;
	}
	if (sw_opts.sock_group && resolve_group(sw_opts.sock_group, &sw_opts.sock_gid) < 0)
		return 2;
	if (make_dir(sw_opts.sock_dir) < 0 || make_ctl_dir(sw_opts.control) < 0)
		return 1;

	/* Threads created from here on inherit the mask: signals wait for
	 * the main thread's signalfd. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	/* Before any port: their callbacks ask for rx queue assignments. */
	int rxq_fd = sig_fd < 0 ? -1 : rxq_init();
	if (rxq_fd < 0) {
		fprintf(stderr, "vhu-switch: signalfd/eventfd: %s\n", strerror(errno));
		return 1;
	}

	if (pmd_start() < 0) {
		rc = 1;
		goto out;
	}
	/* The saved configuration, then the command line's additions, before
	 * the control socket takes requests. */
	sw_mutex_lock(&sw_ctl_lock);
	int r = sw_opts.db ? db_load(sw_opts.db, err, sizeof(err)) : 0;
	for (unsigned i = 0; !r && i < sw_opts.nb_ports + sw_opts.nb_flows; i++)
		r = i < sw_opts.nb_ports ? cmdline_port(sw_opts.ports[i], err, sizeof(err)) :
		    flow_add(sw_opts.flows[i - sw_opts.nb_ports], err, sizeof(err));
	if (!r && sw_opts.db)
		r = db_save(err, sizeof(err));
	sw_mutex_unlock(&sw_ctl_lock);
	if (r) {
		SW_LOG("%s", err);
		rc = 1;
		goto out;
	}
	if (ctl_start(sw_opts.control) < 0) {
		rc = 1;
		goto out;
	}
	SW_LOG("started: %u pmd%s, socket dir %s, mac ageing %u s%s%s", sw_opts.nb_pmds,
	       sw_opts.nb_pmds == 1 ? "" : "s", sw_opts.sock_dir, sw_opts.mac_age,
	       sw_opts.db ? ", db " : "", sw_opts.db ? sw_opts.db : "");
	/* Signals, rx queue changes (rxq.c), and the fdb's ageing once a second. */
	struct pollfd pf[2] = { { sig_fd, POLLIN, 0 }, { rxq_fd, POLLIN, 0 } };
	uint32_t aged = sw_now_s();
	for (;;) {
		if (poll(pf, 2, 1000) < 0 && errno != EINTR) {
			SW_LOG("poll: %s; stopping", strerror(errno));
			rc = 1;
			break;
		}
		struct signalfd_siginfo si;
		if ((pf[0].revents & POLLIN) && read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			SW_LOG("signal %u: stopping", si.ssi_signo);
			break;
		}
		if (rxq_take_request()) {
			sw_mutex_lock(&sw_ctl_lock);
			rxq_reassign();
			sw_mutex_unlock(&sw_ctl_lock);
		}
		if (sw_now_s() != aged) {
			aged = sw_now_s();
			sw_fdb_age(&sw_fdb, aged, sw_opts.mac_age);
		}
	}
out:
	ctl_stop();
	sw_mutex_lock(&sw_ctl_lock);
	port_del_all();
	sw_mutex_unlock(&sw_ctl_lock);
	pmd_stop();
	sw_mutex_lock(&sw_ctl_lock);
	flow_del_all(); /* after the PMDs: the last snapshot reached them */
	sw_mutex_unlock(&sw_ctl_lock);
	vhu_loop_stop_thread();
	rxq_fini();
	close(sig_fd);
	return rc;
}
