/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "common/compiler.h"
#include "common/log.h"
#include "common/mutex.h"

enum vhu_log_level vhu_log_level_cur = VHU_LOG_INFO;
/* The handler and its argument change together: a line never goes to one
 * handler with another's argument. */
static vhu_mutex log_lock = PTHREAD_MUTEX_INITIALIZER;
static vhu_log_fn log_fn VHU_GUARDED_BY(log_lock);
static void *log_arg VHU_GUARDED_BY(log_lock);

VHU_EXPORT void vhu_log_set_handler(vhu_log_fn fn, void *arg)
{
	vhu_mutex_lock(&log_lock);
	log_fn = fn;
	log_arg = arg;
	vhu_mutex_unlock(&log_lock);
}

VHU_EXPORT void vhu_log_set_level(enum vhu_log_level lvl)
{
	__atomic_store_n(&vhu_log_level_cur, lvl, __ATOMIC_RELAXED);
}

/* Exported for libvhu-frontend only (VHU_PRIVATE in src/libvhu.map). */
VHU_EXPORT void vhu_log(enum vhu_log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	char buf[512];
	va_list ap;

	if (lvl > __atomic_load_n(&vhu_log_level_cur, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vhu_mutex_lock(&log_lock);
	vhu_log_fn fn = log_fn;
	void *arg = log_arg;
	vhu_mutex_unlock(&log_lock);
	if (fn) {
		fn(lvl, buf, arg); /* outside the lock: it may log itself */
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld vhu %s: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, names[lvl], buf);
}
