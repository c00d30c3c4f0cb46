/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --interrupt: sleep on the frontends' kicks instead of spinning.
 *
 * Sequence, per sleep: ask the guest to kick on every vring we wait on
 * (its transmit vrings; in txonly also its receive vrings, whose refill
 * unblocks us), look once more for work the guest queued before it saw the
 * request (it would never kick for that), then go offline (dev.c) and
 * epoll_wait on the kick fds and fwd_wakefd. After waking: back online,
 * stop the kicks again (a busy poller does not want a syscall per burst
 * from the guest) and read the kicks that fired.
 *
 * The epoll set is rebuilt whenever devices or vrings changed (fwd_gen) or
 * a kick fd number differs: a closed fd's number can be reused, and an
 * epoll registration cannot be removed through a number that now names
 * another file. Edge-triggered registrations keep any such stale entry
 * from making the wait spin.
 *
 * Counts, printed at exit: sleeps; kick-wakes, sleeps ended by a kick;
 * timeouts, sleeps ended by the safety timeout with work already waiting
 * on a vring we armed (a kick that should have come and did not: each one
 * stalled the device for up to SLEEP_MAX_MS); idle-timeouts, sleeps that
 * ran out on a quiet device, which is no fault.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "fwd.h"

#define TAG_WAKE UINT64_MAX
/* Bound on a sleep: only a safety net, wakes come from fds. */
#define SLEEP_MAX_MS 1000
/* A vring we cannot be kicked for (no kick fd) is polled this often,
 * which keeps the wake latency promise. */
#define SLEEP_NOKICK_MS 1

struct fwd_sleeper {
	uint64_t sleeps, kicked, timeouts, idle_timeouts; /* reported at exit */
	int epfd;
	uint64_t gen;
	int fd[FWD_MAX_PORTS][VHU_MAX_VRINGS];
};

static uint64_t tag(unsigned port, uint16_t v)
{
	return (uint64_t)port * VHU_MAX_VRINGS + v;
}

struct fwd_sleeper *sleeper_create(void)
{
	struct fwd_sleeper *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->epfd = -1;
	s->gen = UINT64_MAX;
	for (unsigned p = 0; p < FWD_MAX_PORTS; p++)
		for (unsigned v = 0; v < VHU_MAX_VRINGS; v++)
			s->fd[p][v] = -1;
	return s;
}

void sleeper_destroy(struct fwd_sleeper *s)
{
	if (!s)
		return;
	fprintf(stderr, "vhu-fwd: interrupt: sleeps %" PRIu64 " kick-wakes %" PRIu64
		" timeouts %" PRIu64 " idle-timeouts %" PRIu64 "\n", s->sleeps, s->kicked,
		s->timeouts, s->idle_timeouts);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}

void fwd_wait_wakefd(int timeout_ms)
{
	struct pollfd pfd = { .fd = fwd_wakefd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t r = read(fwd_wakefd, &v, sizeof(v));
		(void)r;
	}
}

static int add(int epfd, int fd, uint64_t t, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u64 = t };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

static int rebuild(struct fwd_sleeper *s, int want[FWD_MAX_PORTS][VHU_MAX_VRINGS],
		   uint64_t gen)
{
	if (s->epfd >= 0)
		close(s->epfd);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -1;
	if (add(s->epfd, fwd_wakefd, TAG_WAKE, EPOLLIN) < 0)
		return -1;
	for (unsigned p = 0; p < FWD_MAX_PORTS; p++)
		for (uint16_t v = 0; v < VHU_MAX_VRINGS; v++) {
			s->fd[p][v] = want[p][v];
			if (want[p][v] >= 0 &&
			    add(s->epfd, want[p][v], tag(p, v), EPOLLIN | EPOLLET) < 0)
				return -1;
		}
	s->gen = gen;
	return 0;
}

static bool waits_on(uint16_t v)
{
	return (v & 1) || fwd_opts.mode == MODE_TXONLY;
}

void sleeper_wait(struct fwd_sleeper *s, struct vhu_dev **devs)
{
	int want[FWD_MAX_PORTS][VHU_MAX_VRINGS];
	bool armed[FWD_MAX_PORTS][VHU_MAX_VRINGS] = { { false } };
	bool fired[FWD_MAX_PORTS][VHU_MAX_VRINGS] = { { false } };
	bool nokick = false, ready = false, differ = false, timedout = false, waiting = false;
	uint64_t gen = atomic_load(&fwd_gen);

	for (unsigned p = 0; p < FWD_MAX_PORTS; p++) {
		uint16_t nv = devs[p] ? vhu_dev_get_vring_num(devs[p]) : 0;
		if (nv > 2 * fwd_opts.queues)
			nv = 2 * fwd_opts.queues;
		for (uint16_t v = 0; v < VHU_MAX_VRINGS; v++) {
			want[p][v] = -1;
			if (v < nv && waits_on(v) && vhu_vring_is_enabled(devs[p], v)) {
				armed[p][v] = true;
				if (vhu_vring_enable_guest_notification(devs[p], v, 1) < 0)
					nokick = true;
				want[p][v] = vhu_vring_get_kickfd(devs[p], v);
				if (want[p][v] < 0)
					nokick = true;
			}
			differ |= want[p][v] != s->fd[p][v];
		}
	}
	for (unsigned p = 0; p < FWD_MAX_PORTS && !ready; p++)
		for (uint16_t v = 0; v < VHU_MAX_VRINGS && !ready; v++)
			if (armed[p][v] && vhu_vring_avail_count(devs[p], v, 1) > 0)
				ready = true;
	if (!ready && (differ || gen != s->gen || s->epfd < 0) && rebuild(s, want, gen) < 0) {
		fprintf(stderr, "vhu-fwd: epoll: %s\n", strerror(errno));
		nokick = true;
		s->gen = UINT64_MAX;
	}
	if (!ready) {
		struct epoll_event ev[2 * VHU_MAX_VRINGS + 1];
		int timeout = nokick ? SLEEP_NOKICK_MS : SLEEP_MAX_MS, n = 0;
		fwd_go_offline();
		if (s->epfd >= 0)
			n = epoll_wait(s->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), timeout);
		else
			fwd_wait_wakefd(timeout);
		fwd_go_online();
		s->sleeps++;
		timedout = n == 0;
		bool kicked = false;
		for (int i = 0; i < n; i++) {
			uint64_t t = ev[i].data.u64;
			if (t == TAG_WAKE) {
				fwd_wait_wakefd(0);
				continue;
			}
			fired[t / VHU_MAX_VRINGS][t % VHU_MAX_VRINGS] = true;
			kicked = true;
		}
		s->kicked += kicked;
	}
	/* Devices may have gone while we slept: only touch the ones still
	 * published, and only if they are the ones we armed. */
	for (unsigned p = 0; p < FWD_MAX_PORTS; p++) {
		struct vhu_dev *now = atomic_load(&fwd_ports[p].dev);
		if (!now || now != devs[p])
			continue;
		for (uint16_t v = 0; v < VHU_MAX_VRINGS; v++) {
			if (!armed[p][v])
				continue;
			vhu_vring_enable_guest_notification(now, v, 0);
			if (fired[p][v])
				vhu_vring_drain_kick(now, v);
			if (timedout && vhu_vring_avail_count(now, v, 1) > 0)
				waiting = true;
		}
	}
	if (timedout && waiting)
		s->timeouts++;
	else if (timedout)
		s->idle_timeouts++;
}
