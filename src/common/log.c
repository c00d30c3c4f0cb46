/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "common/compiler.h"
#include "common/log.h"

enum vhu_log_level vhu_log_level_cur = VHU_LOG_INFO;
static vhu_log_fn log_fn;
static void *log_arg;

VHU_EXPORT void vhu_log_set_handler(vhu_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

VHU_EXPORT void vhu_log_set_level(enum vhu_log_level lvl)
{
	vhu_log_level_cur = lvl;
}

/* Exported for libvhu-frontend only (VHU_PRIVATE in src/libvhu.map). */
VHU_EXPORT void vhu_log(enum vhu_log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	char buf[512];
	va_list ap;

	if (lvl > vhu_log_level_cur)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_fn) {
		log_fn(lvl, buf, log_arg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld vhu %s: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, names[lvl], buf);
}
