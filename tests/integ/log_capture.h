/* SPDX-License-Identifier: BSD-3-Clause */
/* The library's last log lines, kept by a test's log handler so that it
 * can look for the line a case must produce. Any thread may log. */
#ifndef VHU_TEST_INTEG_LOG_CAPTURE_H
#define VHU_TEST_INTEG_LOG_CAPTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LOGN 2048
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logs[LOGN][256];
static unsigned log_n;

static inline void log_keep(const char *msg)
{
	pthread_mutex_lock(&log_mu);
	snprintf(logs[log_n % LOGN], sizeof(logs[0]), "%s", msg);
	log_n++;
	pthread_mutex_unlock(&log_mu);
}

/* Where the lines logged from now on start. */
static inline unsigned log_mark(void)
{
	pthread_mutex_lock(&log_mu);
	unsigned n = log_n;
	pthread_mutex_unlock(&log_mu);
	return n;
}

/* A line since mark contains sub (the last LOGN lines are kept). */
static inline bool log_has(unsigned mark, const char *sub)
{
	bool found = false;
	pthread_mutex_lock(&log_mu);
	if (log_n - mark > LOGN)
		mark = log_n - LOGN;
	for (unsigned i = mark; i != log_n && !found; i++)
		found = strstr(logs[i % LOGN], sub) != NULL;
	pthread_mutex_unlock(&log_mu);
	return found;
}

#endif
