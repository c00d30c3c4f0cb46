/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sockets, device callbacks and the handoff of devices between the
 * library's control thread and the forwarding thread.
 *
 * The rule to keep: the forwarding thread must not touch a device once
 * destroy_device has returned. It is a small QSBR scheme:
 *  - new_device publishes the device in its port's slot (one device per
 *    socket, like one testpmd port per vdev);
 *  - the forwarding thread loads the slots at the top of every iteration
 *    and bumps fwd_epoch at the end of it (even values), or makes it odd
 *    while it holds no device pointer (asleep, exited);
 *  - destroy_device empties the slot and then waits until fwd_epoch moves
 *    off the even value it saw (or is odd): from then on the thread has
 *    left the iteration that might have loaded the old pointer, and every
 *    later iteration loads NULL. Both sides use seq_cst (store slot / load
 *    epoch against store epoch / load slot), the store-load ordering the
 *    scheme needs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "fwd.h"

struct fwd_port fwd_ports[FWD_MAX_PORTS];
_Atomic uint64_t fwd_epoch = 1;
_Atomic uint64_t fwd_gen;
int fwd_wakefd = -1;

/* destroy_device waits for the forwarding thread however long it takes:
 * releasing the device while the thread may still burst on it would turn a
 * stall into a use after free. One iteration is a few microseconds; a
 * thread that takes QUIESCE_SLOW_NS is reported, then every
 * QUIESCE_REPEAT_NS. */
#define QUIESCE_SLOW_NS 1000000000LL
#define QUIESCE_REPEAT_NS 10000000000LL

void fwd_wake(void)
{
	uint64_t one = 1;
	ssize_t r = write(fwd_wakefd, &one, sizeof(one));
	(void)r; /* EAGAIN: a wake is already pending, which is enough */
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wait_quiescent(void)
{
	uint64_t e0 = atomic_load(&fwd_epoch);
	if (e0 & 1)
		return;
	int64_t start = now_ns(), next = start + QUIESCE_SLOW_NS;
	bool slow = false;
	while (atomic_load(&fwd_epoch) == e0) {
		int64_t t = now_ns();
		if (t >= next) {
			fprintf(stderr, "vhu-fwd: forwarding thread has not reached a "
				"quiescent point for %lld s; waiting\n",
				(long long)((t - start) / 1000000000LL));
			next = t + QUIESCE_REPEAT_NS;
			slow = true;
		}
		struct timespec ts = { 0, 10000 };
		nanosleep(&ts, NULL);
	}
	if (slow)
		fprintf(stderr, "vhu-fwd: forwarding thread quiescent after %lld ms\n",
			(long long)((now_ns() - start) / 1000000));
}

static void log_device(const char *what, struct vhu_dev *dev)
{
	char names[1024];
	uint64_t f = vhu_dev_get_features(dev);

	feature_format(f, names, sizeof(names));
	fprintf(stderr, "vhu-fwd: %s: socket %s id %" PRIu64 " vrings %u "
		"features 0x%016" PRIx64 " [%s]\n", what, vhu_dev_get_path(dev),
		vhu_dev_get_id(dev), vhu_dev_get_vring_num(dev), f, names);
}

/* Per-vring figures let tests see that every queue carried traffic. */
static void log_vring_stats(struct vhu_dev *dev)
{
	uint16_t nv = vhu_dev_get_vring_num(dev);

	for (uint16_t v = 0; v < nv; v++) {
		struct vhu_vring_stats st;
		if (vhu_vring_get_stats(dev, v, &st) < 0 ||
		    (st.packets | st.drops | st.errors) == 0)
			continue;
		fprintf(stderr, "vhu-fwd: vring stats: socket %s id %" PRIu64
			" vring %u packets %" PRIu64 " bytes %" PRIu64 " drops %"
			PRIu64 " errors %" PRIu64 " kicks %" PRIu64 "\n",
			vhu_dev_get_path(dev), vhu_dev_get_id(dev), v, st.packets,
			st.bytes, st.drops, st.errors, st.kicks);
	}
}

static int new_device(struct vhu_dev *dev)
{
	struct fwd_port *p = vhu_dev_get_ctx(dev);
	struct vhu_dev *expected = NULL;

	if (!atomic_compare_exchange_strong(&p->dev, &expected, dev)) {
		fprintf(stderr, "vhu-fwd: socket %s already has a device; "
			"refusing id %" PRIu64 "\n", p->path, vhu_dev_get_id(dev));
		return -1;
	}
	log_device("device up", dev);
	atomic_fetch_add(&fwd_gen, 1);
	fwd_wake();
	return 0;
}

static void destroy_device(struct vhu_dev *dev)
{
	struct fwd_port *p = vhu_dev_get_ctx(dev);

	if (atomic_load(&p->dev) != dev)
		return; /* the one new_device refused */
	atomic_store(&p->dev, NULL);
	atomic_fetch_add(&fwd_gen, 1);
	wait_quiescent();
	fprintf(stderr, "vhu-fwd: device down: socket %s id %" PRIu64 "\n",
		p->path, vhu_dev_get_id(dev));
	log_vring_stats(dev);
}

static int vring_state_changed(struct vhu_dev *dev, uint16_t vring, int enable)
{
	(void)dev; (void)vring; (void)enable;
	/* A sleeping forwarder must re-arm: the set of vrings changed. */
	atomic_fetch_add(&fwd_gen, 1);
	fwd_wake();
	return 0;
}

static int features_changed(struct vhu_dev *dev, uint64_t features)
{
	(void)features;
	log_device("features changed", dev);
	return 0;
}

static const struct vhu_device_ops ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
	.features_changed = features_changed,
};

static int fail(const char *what, const char *path, int rc)
{
	fprintf(stderr, "vhu-fwd: %s %s: %s\n", what, path, strerror(-rc));
	return rc;
}

int ports_start(void)
{
	int rc;

	fwd_wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fwd_wakefd < 0)
		return -errno;
	for (unsigned i = 0; i < fwd_opts.nb_ports; i++) {
		struct fwd_port *p = &fwd_ports[i];
		p->path = fwd_opts.sock[i];
		p->idx = i;
		atomic_init(&p->dev, NULL);
		rc = vhu_driver_register(p->path, (fwd_opts.client ? VHU_CLIENT : 0) |
					 (fwd_opts.populate_mem ? VHU_POPULATE_MEM : 0));
		if (rc)
			return fail("cannot register", p->path, rc);
		rc = vhu_driver_set_max_queue_pairs(p->path, fwd_opts.queues);
		if (rc)
			return fail("cannot set queue pairs on", p->path, rc);
		if (fwd_opts.disable) {
			rc = vhu_driver_disable_features(p->path, fwd_opts.disable);
			if (rc)
				return fail("cannot disable features on", p->path, rc);
		}
		rc = vhu_driver_callback_register(p->path, &ops, p);
		if (rc)
			return fail("cannot register callbacks on", p->path, rc);
	}
	for (unsigned i = 0; i < fwd_opts.nb_ports; i++) {
		rc = vhu_driver_start(fwd_ports[i].path);
		if (rc)
			return fail("cannot start", fwd_ports[i].path, rc);
	}
	return 0;
}

/* After the forwarding thread has stopped: destroy callbacks then find
 * fwd_epoch odd and return at once. */
void ports_stop(void)
{
	for (unsigned i = 0; i < fwd_opts.nb_ports; i++)
		if (fwd_ports[i].path)
			vhu_driver_unregister(fwd_ports[i].path);
	vhu_loop_stop_thread();
	if (fwd_wakefd >= 0)
		close(fwd_wakefd);
	fwd_wakefd = -1;
}
