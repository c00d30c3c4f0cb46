/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a unix stream socket, one request line per
 * connection, answered by text lines and a last line "OK" or "ERR why".
 *
 *   add-port SPEC | del-port NAME | show | stats [NAME] [--json] | fdb |
 *   add-flow FLOW | del-flows [in_port=NAME] | dump-flows |
 *   capture NAME FILE COUNT TIMEOUT_S
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "sw.h"

#define LINE_MAX_LEN 4096
#define MAX_ARGS 8
#define CAPTURE_MAX_S 3600

pthread_mutex_t sw_ctl_lock = PTHREAD_MUTEX_INITIALIZER;
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

static int do_capture(struct sw_out *o, char **av, int ac, char *err, size_t errlen)
{
	char *end;
	if (ac != 5) {
		snprintf(err, errlen, "usage: capture NAME FILE COUNT TIMEOUT_S");
		return -1;
	}
	unsigned long long count = strtoull(av[3], &end, 10);
	if (*end || !count) {
		snprintf(err, errlen, "bad count '%s'", av[3]);
		return -1;
	}
	unsigned long tmo = strtoul(av[4], &end, 10);
	if (*end || !tmo || tmo > CAPTURE_MAX_S) {
		snprintf(err, errlen, "bad timeout '%s' (1..%d s)", av[4], CAPTURE_MAX_S);
		return -1;
	}
	if (av[2][0] != '/') {
		snprintf(err, errlen, "capture file must be an absolute path");
		return -1;
	}
	pthread_mutex_lock(&sw_ctl_lock);
	struct port *p = port_find(atomic_load(&sw_conf), av[1]);
	struct capture *c = NULL;
	if (!p)
		snprintf(err, errlen, "no port named '%s'", av[1]);
	else if (atomic_load(&p->cap))
		snprintf(err, errlen, "port %s is already being captured", av[1]);
	else if ((c = capture_open(av[2], count, err, errlen)))
		atomic_store_explicit(&p->cap, c, memory_order_release);
	pthread_mutex_unlock(&sw_ctl_lock);
	if (!c)
		return -1;
	SW_LOG("port %s: capturing %llu packets to %s", av[1], count, av[2]);

	struct timespec t0, t, nap = { 0, 20000000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* refs == 1: the port was deleted and let go of it. */
		if (capture_done(c) || capture_orphaned(c) || atomic_load(&sw_stop))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((unsigned long)(t.tv_sec - t0.tv_sec) >= tmo)
			break;
		nanosleep(&nap, NULL);
	}
	pthread_mutex_lock(&sw_ctl_lock);
	p = port_find(atomic_load(&sw_conf), av[1]);
	struct capture *exp = c;
	if (p && atomic_compare_exchange_strong(&p->cap, &exp, NULL)) {
		sw_synchronize(); /* no PMD is writing any more */
		capture_close(c);
	}
	pthread_mutex_unlock(&sw_ctl_lock);
	uint64_t n = capture_count(c);
	capture_close(c);
	SW_LOG("port %s: capture of %llu packets to %s ended with %llu", av[1], count,
	       av[2], (unsigned long long)n);
	out_printf(o, "captured %llu packet%s on port %s to %s%s\n", (unsigned long long)n,
		   n == 1 ? "" : "s", av[1], av[2], n < count ? " (timed out)" : "");
	return 0;
}

static int dispatch(struct sw_out *o, char **av, int ac, char *err, size_t errlen)
{
	int rc = 0;
	const char *cmd = av[0];

	if (strcmp(cmd, "capture") == 0)
		return do_capture(o, av, ac, err, errlen);
	pthread_mutex_lock(&sw_ctl_lock);
	if (strcmp(cmd, "add-port") == 0 && ac == 2) {
		rc = port_add(av[1], err, errlen);
		if (!rc)
			out_printf(o, "added %s\n", av[1]);
	} else if (strcmp(cmd, "del-port") == 0 && ac == 2) {
		rc = port_del(av[1], err, errlen);
		if (!rc)
			out_printf(o, "deleted %s\n", av[1]);
	} else if (strcmp(cmd, "show") == 0 && ac == 1) {
		cmd_show(o);
	} else if (strcmp(cmd, "fdb") == 0 && ac == 1) {
		cmd_fdb(o);
	} else if (strcmp(cmd, "add-flow") == 0 && ac == 2) {
		rc = flow_add(av[1], err, errlen);
		if (!rc)
			out_printf(o, "added flow %s\n", av[1]);
	} else if (strcmp(cmd, "del-flows") == 0 && ac <= 2) {
		const char *in = NULL;
		if (ac == 2 && strncmp(av[1], "in_port=", 8) != 0) {
			snprintf(err, errlen, "usage: del-flows [in_port=NAME]");
			rc = -1;
		} else {
			in = ac == 2 ? av[1] + 8 : NULL;
			rc = flow_del(in, err, errlen);
		}
	} else if (strcmp(cmd, "dump-flows") == 0 && ac == 1) {
		cmd_dump_flows(o);
	} else if (strcmp(cmd, "stats") == 0 && ac <= 3) {
		const char *name = NULL;
		bool json = false;
		for (int i = 1; i < ac; i++) {
			if (strcmp(av[i], "--json") == 0)
				json = true;
			else
				name = av[i];
		}
		if (cmd_stats(o, name, json) < 0) {
			snprintf(err, errlen, "no port named '%s'", name);
			rc = -1;
		}
	} else {
		snprintf(err, errlen, "unknown request or wrong arguments: %s", cmd);
		rc = -1;
	}
	pthread_mutex_unlock(&sw_ctl_lock);
	return rc;
}

static void *client_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char line[LINE_MAX_LEN + 1], err[512] = "";
	size_t len = 0;
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < LINE_MAX_LEN) {
		ssize_t r = recv(fd, line + len, LINE_MAX_LEN - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	char *nl = strchr(line, '\n');
	if (!nl) {
		write_all(fd, "ERR no request line\n", 20);
		close(fd);
		return NULL;
	}
	*nl = '\0';
	char *av[MAX_ARGS], *save = NULL, *tok;
	int ac = 0;
	for (tok = strtok_r(line, " \t", &save); tok && ac < MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		av[ac++] = tok;
	struct sw_out o = { 0 };
	int rc = ac ? dispatch(&o, av, ac, err, sizeof(err)) : (snprintf(err, sizeof(err), "empty request"), -1);
	if (rc)
		out_printf(&o, "ERR %s\n", err);
	else
		out_printf(&o, "OK\n");
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
