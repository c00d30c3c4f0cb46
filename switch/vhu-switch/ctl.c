/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's server side (the protocol: ../ctl_proto.h).
 *
 * Each connection gets its own short thread so that a capture waiting for
 * its packets does not hold up other requests; every request that reads or
 * changes the port set or the flows runs under sw_ctl_lock.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "ctl_proto.h"
#include "sw.h"

struct sw_mutex sw_ctl_lock = SW_MUTEX_INITIALIZER;
static int listen_fd = -1, stop_pipe[2] = { -1, -1 };
static pthread_t srv_thr;
static bool srv_started;
static char ctl_path[108];

static void write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

/* The client closed its socket (vhu-ctl killed, Ctrl-C): a capture it
 * waits for ends there, as tcpdump's does. POLLHUP only: a client that
 * merely shut down its sending half still waits for the answer. */
static bool client_gone(int fd)
{
	struct pollfd pf = { fd, 0, 0 };
	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR));
}

static int do_capture(struct sw_out *o, char **av, int fd, char *err, size_t errlen)
	SW_EXCLUDES(sw_ctl_lock)
{
	char *end;
	errno = 0;
	unsigned long long count = strtoull(av[3], &end, 10);
	if (errno || *end || !count || av[3][0] == '-') {
		snprintf(err, errlen, "bad count '%s'", av[3]);
		return -1;
	}
	unsigned long tmo = strtoul(av[4], &end, 10);
	if (*end || !tmo || tmo > VHU_CTL_CAPTURE_MAX_S || av[4][0] == '-') {
		snprintf(err, errlen, "bad timeout '%s' (1..%d s)", av[4], VHU_CTL_CAPTURE_MAX_S);
		return -1;
	}
	if (av[2][0] != '/') {
		snprintf(err, errlen, "capture file must be an absolute path");
		return -1;
	}
	sw_mutex_lock(&sw_ctl_lock);
	struct port *p = port_find(atomic_load(&sw_conf), av[1]);
	struct capture *c = NULL;
	if (!p)
		snprintf(err, errlen, "no port named '%s'", av[1]);
	else if (atomic_load(&p->cap))
		snprintf(err, errlen, "port %s is already being captured", av[1]);
	else if ((c = capture_open(av[2], count, err, errlen)))
		atomic_store_explicit(&p->cap, c, memory_order_release);
	sw_mutex_unlock(&sw_ctl_lock);
	if (!c)
		return -1;
	SW_LOG("port %s: capturing %llu packets to %s", av[1], count, av[2]);

	struct timespec t0, t, nap = { 0, 20000000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* refs == 1: the port was deleted and let go of it. */
		if (capture_done(c) || capture_orphaned(c) || atomic_load(&sw_stop) ||
		    client_gone(fd))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((unsigned long)(t.tv_sec - t0.tv_sec) >= tmo)
			break;
		nanosleep(&nap, NULL);
	}
	sw_mutex_lock(&sw_ctl_lock);
	p = port_find(atomic_load(&sw_conf), av[1]);
	struct capture *exp = c;
	if (p && atomic_compare_exchange_strong(&p->cap, &exp, NULL)) {
		sw_synchronize(); /* no PMD is writing any more */
		capture_close(c);
	}
	sw_mutex_unlock(&sw_ctl_lock);
	uint64_t n = capture_count(c);
	capture_close(c);
	SW_LOG("port %s: capture of %llu packets to %s ended with %llu", av[1], count,
	       av[2], (unsigned long long)n);
	out_printf(o, "captured %llu packet%s on port %s to %s%s\n", (unsigned long long)n,
		   n == 1 ? "" : "s", av[1], av[2], n < count ? " (timed out)" : "");
	return 0;
}

/* add (a SPEC): whether its port's name is taken; else (a NAME): whether
 * there is no such port. */
static bool port_exists(const char *arg, bool add) SW_REQUIRES(sw_ctl_lock)
{
	struct sw_port_spec s;
	char err[8];

	if (!add)
		return !port_find(atomic_load(&sw_conf), arg);
	/* A bad spec is port_add's to explain. */
	if (sw_port_spec_parse(arg, sw_opts.sock_dir, &s, err, sizeof(err)) < 0)
		return false;
	return port_find(atomic_load(&sw_conf), s.name) != NULL;
}

static int dispatch(struct sw_out *o, char **av, int ac, int fd, char *err, size_t errlen)
	SW_EXCLUDES(sw_ctl_lock)
{
	const struct vhu_ctl_req *r = vhu_ctl_req_find(av[0]);
	unsigned nargs = (unsigned)ac - 1;
	int rc = 0;

	if (!r || nargs < r->min_args || nargs > r->max_args) {
		snprintf(err, errlen, "unknown request or wrong arguments: %s", av[0]);
		return -1;
	}
	if (r->cmd == VHU_CTL_CAPTURE)
		return do_capture(o, av, fd, err, errlen);
	sw_mutex_lock(&sw_ctl_lock);
	switch (r->cmd) {
	case VHU_CTL_ADD_PORT:
	case VHU_CTL_DEL_PORT: {
		/* --may-exist / --if-exists, as ovs-vsctl's: what is asked is
		 * already so, which is not an error for an orchestrator. */
		bool add = r->cmd == VHU_CTL_ADD_PORT, lenient = false;
		const char *flag = add ? "--may-exist" : "--if-exists", *arg = av[1];
		if (ac == 3 && strcmp(av[1], flag) == 0) {
			lenient = true;
			arg = av[2];
		} else if (ac == 3) {
			snprintf(err, errlen, "usage: %s", add ? "add-port [--may-exist] SPEC" :
								 "del-port [--if-exists] NAME");
			rc = -1;
			break;
		}
		if (lenient && port_exists(arg, add)) {
			out_printf(o, "%s %s\n", add ? "exists" : "no port", arg);
			break;
		}
		rc = add ? port_add(arg, err, errlen) : port_del(arg, err, errlen);
		if (!rc)
			out_printf(o, "%s %s\n", add ? "added" : "deleted", arg);
		break;
	}
	case VHU_CTL_SET_PORT:
		rc = port_set(av[1], av[2], err, errlen);
		if (!rc)
			out_printf(o, "set %s %s\n", av[1], av[2]);
		break;
	case VHU_CTL_FIND_PORT:
		rc = port_find_ext(o, av[1], err, errlen);
		break;
	case VHU_CTL_SHOW:
		cmd_show(o);
		break;
	case VHU_CTL_FDB:
		cmd_fdb(o);
		break;
	case VHU_CTL_ADD_FDB:
		rc = fdb_add(av + 1, ac - 1, err, errlen);
		if (!rc)
			out_printf(o, "added %s on %s\n", av[2], av[1]);
		break;
	case VHU_CTL_DEL_FDB:
		rc = fdb_del(av + 1, ac - 1, err, errlen);
		if (!rc)
			out_printf(o, "deleted %s\n", av[1]);
		break;
	case VHU_CTL_ADD_FLOW:
		rc = flow_add(av[1], err, errlen);
		if (!rc)
			out_printf(o, "added flow %s\n", av[1]);
		break;
	case VHU_CTL_DEL_FLOWS:
		if (ac == 2 && strncmp(av[1], "in_port=", 8) != 0) {
			snprintf(err, errlen, "usage: del-flows [in_port=NAME]");
			rc = -1;
		} else {
			rc = flow_del(ac == 2 ? av[1] + 8 : NULL, err, errlen);
		}
		break;
	case VHU_CTL_DUMP_FLOWS:
		cmd_dump_flows(o);
		break;
	case VHU_CTL_PMD_STATS:
		cmd_pmd_stats(o);
		break;
	case VHU_CTL_PMD_RXQ_SHOW:
		cmd_pmd_rxq_show(o);
		break;
	case VHU_CTL_PMD_STATS_CLEAR:
		cmd_pmd_stats_clear();
		out_printf(o, "cleared\n");
		break;
	case VHU_CTL_PMD_RXQ_REBALANCE:
		rc = rxq_rebalance(o, err, errlen) < 0 ? -1 : 0;
		break;
	case VHU_CTL_STATS: {
		const char *name = NULL;
		enum sw_stats_fmt fmt = SW_STATS_TEXT;
		for (int i = 1; i < ac && !rc; i++) {
			if (strcmp(av[i], "--json") == 0)
				fmt = SW_STATS_JSON;
			else if (strcmp(av[i], "--prometheus") == 0)
				fmt = SW_STATS_PROMETHEUS;
			else if (av[i][0] == '-') {
				snprintf(err, errlen, "stats: unknown option '%s'", av[i]);
				rc = -1;
			} else if (!name)
				name = av[i];
			else
				name = "";  /* two names: no port has both */
		}
		if (!rc && cmd_stats(o, name, fmt) < 0) {
			snprintf(err, errlen, "no port named '%s'", name);
			rc = -1;
		}
		break;
	}
	case VHU_CTL_CAPTURE:
		break;
	}
	/* A change is in the --db file before it is answered. */
	if (!rc && r->changes && db_save(err, errlen) < 0) {
		SW_LOG("%s: %s", av[0], err);
		rc = -1;
	}
	sw_mutex_unlock(&sw_ctl_lock);
	return rc;
}

static void *client_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[VHU_CTL_LINE_MAX + 1], err[512] = "";
	size_t len = 0;
	struct timeval tv = { VHU_CTL_RECV_TIMEOUT_S, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < VHU_CTL_LINE_MAX) {
		ssize_t r = recv(fd, line + len, VHU_CTL_LINE_MAX - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	char *nl = strchr(line, '\n');
	if (!nl) {
		static const char msg[] = VHU_CTL_REPLY_ERR "no request line\n";
		write_all(fd, msg, sizeof(msg) - 1);
		close(fd);
		return NULL;
	}
	*nl = '\0';
	char *av[VHU_CTL_MAX_WORDS + 1], *save = NULL, *tok;
	int ac = 0;
	for (tok = strtok_r(line, " \t", &save); tok && ac <= VHU_CTL_MAX_WORDS;
	     tok = strtok_r(NULL, " \t", &save))
		av[ac++] = tok;
	struct sw_out o = { 0 };
	int rc = -1;
	if (!ac)
		snprintf(err, sizeof(err), "empty request");
	else if (ac > VHU_CTL_MAX_WORDS)
		snprintf(err, sizeof(err), "more than %d words", VHU_CTL_MAX_WORDS);
	else
		rc = dispatch(&o, av, ac, fd, err, sizeof(err));
	if (rc)
		out_printf(&o, VHU_CTL_REPLY_ERR "%s\n", err);
	else
		out_printf(&o, VHU_CTL_REPLY_OK "\n");
	if (o.buf)
		write_all(fd, o.buf, o.len);
	free(o.buf);
	close(fd);
	return NULL;
}

static void *server_main(void *arg)
{
	(void)arg;
	struct pollfd pf[2] = { { listen_fd, POLLIN, 0 }, { stop_pipe[0], POLLIN, 0 } };

	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, client_main, (void *)(intptr_t)fd))
			close(fd);
		pthread_attr_destroy(&a);
	}
	return NULL;
}

int ctl_start(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		SW_LOG("control socket path %s too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	strcpy(ctl_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return -errno;
	/* A socket file nobody answers on is left over from a crash. */
	if (connect(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		SW_LOG("control socket %s: another vhu-switch is listening there", path);
		close(listen_fd);
		listen_fd = -1;
		return -EADDRINUSE;
	}
	close(listen_fd);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 16) < 0 || pipe(stop_pipe) < 0) {
		int e = errno;
		SW_LOG("control socket %s: %s", path, strerror(e));
		return -e;
	}
	/* vhu-ctl run by a member of the group may connect. */
	if (sw_opts.sock_group && (chown(path, (uid_t)-1, sw_opts.sock_gid) < 0 ||
				   chmod(path, 0660) < 0)) {
		int e = errno;
		SW_LOG("control socket %s: cannot give it to group %s: %s", path,
		       sw_opts.sock_group, strerror(e));
		return -e;
	}
	if (pthread_create(&srv_thr, NULL, server_main, NULL))
		return -EAGAIN;
	srv_started = true;
	SW_LOG("control socket %s", path);
	return 0;
}

void ctl_stop(void)
{
	if (srv_started) {
		ssize_t r = write(stop_pipe[1], "x", 1);
		(void)r;
		pthread_join(srv_thr, NULL);
		srv_started = false;
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(ctl_path);
	}
	listen_fd = -1;
}
