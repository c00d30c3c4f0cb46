/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Socket behaviour: a server socket takes several frontends at once, one
 * device each; a client socket retries every second until its server
 * appears and again after it leaves; VHU_NO_RECONNECT fails at once; a
 * path held by a live socket is refused; the socket file gets mode 0660.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <vhu/frontend.h>
#include <vhu/vhu.h>

static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static int ready, conns;

static int new_device(struct vhu_dev *d) { (void)d; __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST); return 0; }
static void destroy_device(struct vhu_dev *d) { (void)d; __atomic_sub_fetch(&ready, 1, __ATOMIC_SEQ_CST); }
static int new_conn(struct vhu_dev *d) { (void)d; __atomic_add_fetch(&conns, 1, __ATOMIC_SEQ_CST); return 0; }
static void destroy_conn(struct vhu_dev *d) { (void)d; __atomic_sub_fetch(&conns, 1, __ATOMIC_SEQ_CST); }
static const struct vhu_device_ops ops = {
	.new_device = new_device, .destroy_device = destroy_device,
	.new_connection = new_conn, .destroy_connection = destroy_conn,
};

static int wait_eq(int *v, int want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (__atomic_load_n(v, __ATOMIC_SEQ_CST) == want)
			return 1;
		usleep(1000);
	}
	return 0;
}

static void server_many(void)
{
	char path[64];
	struct vhu_fe *fe[3];
	struct stat st;

	snprintf(path, sizeof(path), "/tmp/vhu-sockets-%d.sock", getpid());
	CHECK(vhu_driver_register(path, 0) == 0);
	CHECK(vhu_driver_register(path, 0) == -EEXIST);
	CHECK(vhu_driver_callback_register(path, &ops, NULL) == 0);
	CHECK(vhu_driver_start(path) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660);

	CHECK(vhu_driver_unregister("/nonexistent") == -ENOENT);
	struct vhu_fe_opts o = { .path = path };
	for (int i = 0; i < 3; i++)
		fe[i] = vhu_fe_create(&o);
	CHECK(fe[0] && fe[1] && fe[2]);
	CHECK(wait_eq(&ready, 3, 3000));
	CHECK(wait_eq(&conns, 3, 1000));
	vhu_fe_destroy(fe[1]);
	CHECK(wait_eq(&ready, 2, 3000));
	CHECK(wait_eq(&conns, 2, 3000));
	CHECK(vhu_driver_unregister(path) == 0);
	CHECK(wait_eq(&ready, 0, 1000));
	CHECK(wait_eq(&conns, 0, 1000));
	CHECK(access(path, F_OK) != 0);
	vhu_fe_destroy(fe[0]);
	vhu_fe_destroy(fe[2]);
}

static void live_path_refused(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/vhu-sockets-live-%d.sock", getpid());
	/* Someone else's live socket holds the path. */
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&un, sizeof(un)) == 0 && listen(fd, 1) == 0);
	CHECK(vhu_driver_register(path, 0) == 0);
	CHECK(vhu_driver_start(path) == -EADDRINUSE);
	CHECK(vhu_driver_unregister(path) == 0);
	CHECK(access(path, F_OK) == 0); /* not stolen, not removed */
	close(fd);
	/* Now stale: taken over. */
	CHECK(vhu_driver_register(path, 0) == 0);
	CHECK(vhu_driver_start(path) == 0);
	CHECK(vhu_driver_unregister(path) == 0);
}

static void client_reconnect(void)
{
	char path[64];
	struct timespec t0, t1;

	snprintf(path, sizeof(path), "/tmp/vhu-sockets-cl-%d.sock", getpid());
	unlink(path);
	CHECK(vhu_driver_register(path, VHU_CLIENT | VHU_NO_RECONNECT) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(vhu_driver_start(path) < 0); /* nobody there, no retry */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* At once: a single retry would take the 1 s retry period. */
	CHECK((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 < 0.9);
	CHECK(vhu_driver_unregister(path) == 0);

	CHECK(vhu_driver_register(path, VHU_CLIENT) == 0);
	CHECK(vhu_driver_callback_register(path, &ops, NULL) == 0);
	CHECK(vhu_driver_start(path) == 0); /* absent: retries in the background */
	for (int round = 0; round < 2; round++) {
		struct vhu_fe_opts o = { .path = path, .server = true, .connect_timeout_ms = 5000 };
		clock_gettime(CLOCK_MONOTONIC, &t0);
		struct vhu_fe *fe = vhu_fe_create(&o);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(fe != NULL);
		CHECK(wait_eq(&ready, 1, 3000));
		double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("client round %d: backend connected after %.2f s\n", round, s);
		CHECK(s < 2.5);
		vhu_fe_destroy(fe);
		unlink(path);
		CHECK(wait_eq(&ready, 0, 3000));
		CHECK(wait_eq(&conns, 0, 3000));
	}
	CHECK(vhu_driver_unregister(path) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	server_many();
	live_path_refused();
	client_reconnect();
	vhu_loop_stop_thread();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
