/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhu-c2c: how long a cache line takes to go from one CPU to another and
 * back, to tell which placement the host gave the two vCPUs (issue 23:
 * 110-150 ns a round trip when they share a cache, 430-640 ns when not).
 * bench/lib.sh runs it before and after every benchmark run, and for 5 ms
 * every 0.2 s through it (c2c_tick).
 *
 *   vhu-c2c [-a CPU] [-b CPU] [-t SECONDS]      (defaults 0, 1, 0.1)
 *
 * Prints the 10th percentile over batches of 1000 round trips, in ns: a
 * batch in which either thread was preempted is far off, and with other
 * work on the CPUs (the other helpers' builds) many batches can be: the
 * median read up to 812 ns then, where the runs around it read 100-140.
 * Exit 1, printing nothing, when the two threads could not be pinned or
 * the responder never answered.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define MAX_BATCHES 4096

/* The line that travels, alone in its line so nothing else moves it. */
static struct {
	_Alignas(64) _Atomic uint64_t seq;
	char pad[64 - sizeof(uint64_t)];
} line;

static _Atomic int quit;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* Turns every odd value into the next even one. */
static void *responder(void *arg)
{
	if (pin(*(int *)arg) != 0)
		atomic_store(&quit, 2);
	uint64_t seen = 0;
	while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(&line.seq, memory_order_acquire);
		if (v != seen && (v & 1)) {
			atomic_store_explicit(&line.seq, v + 1, memory_order_release);
			seen = v + 1;
		}
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int a = 0, b = 1, c;
	double secs = 0.1;
	static double batch[MAX_BATCHES];
	size_t nb = 0;

	while ((c = getopt(argc, argv, "a:b:t:")) != -1) {
		switch (c) {
		case 'a': a = atoi(optarg); break;
		case 'b': b = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-a CPU] [-b CPU] [-t SECONDS]\n", argv[0]);
			return 2;
		}
	}
	if (secs <= 0 || secs > 10) {
		fprintf(stderr, "vhu-c2c: -t must be in (0, 10]\n");
		return 2;
	}
	/* The responder starts on its own CPU: under a real-time policy
	 * (lib.sh's c2c_tick) a thread born on ours would wait behind our
	 * spinning for good. */
	pthread_t t;
	pthread_attr_t at;
	cpu_set_t bs;
	CPU_ZERO(&bs);
	CPU_SET(b, &bs);
	if (pin(a) != 0 || pthread_attr_init(&at) != 0 ||
	    pthread_attr_setaffinity_np(&at, sizeof(bs), &bs) != 0 ||
	    pthread_create(&t, &at, responder, &b) != 0) {
		fprintf(stderr, "vhu-c2c: cannot pin to CPU %d or start the responder\n", a);
		return 1;
	}
	pthread_attr_destroy(&at);
	/* A responder that never runs (its CPU held by a higher priority)
	 * must not hold us past the run: everything is bounded by time. */
	double start = now_ns(), end = start + secs * 1e9, hard = start + (secs + 1) * 1e9;
	uint64_t v = 0;
	while (nb < MAX_BATCHES && now_ns() < end && atomic_load(&quit) != 2) {
		double t0 = now_ns();
		int i;
		for (i = 0; i < BATCH; i++) {
			atomic_store_explicit(&line.seq, ++v, memory_order_release);
			uint32_t spins = 0;
			while (atomic_load_explicit(&line.seq, memory_order_acquire) != v + 1)
				if (++spins == 0x100000 && (spins = 0, now_ns() > hard))
					goto out;
			v++;
		}
		batch[nb++] = (now_ns() - t0) / BATCH;
	}
out:
	atomic_store(&quit, 1);
	pthread_join(t, NULL);
	if (nb == 0) {
		fprintf(stderr, "vhu-c2c: no round trip between CPU %d and CPU %d\n", a, b);
		return 1;
	}
	qsort(batch, nb, sizeof(batch[0]), cmp);
	printf("%.0f\n", batch[nb / 10]);
	return 0;
}
