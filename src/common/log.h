/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHU_COMMON_LOG_H
#define VHU_COMMON_LOG_H

#include <vhu/vhu.h>

void vhu_log(enum vhu_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
extern enum vhu_log_level vhu_log_level_cur;

/* Log lines name what they are about: "vhu: <who>: <what>". */
#define VHU_ERR(...)  vhu_log(VHU_LOG_ERR, __VA_ARGS__)
#define VHU_WARN(...) vhu_log(VHU_LOG_WARN, __VA_ARGS__)
#define VHU_INFO(...) vhu_log(VHU_LOG_INFO, __VA_ARGS__)
#define VHU_DBG(...) do { \
	if (__atomic_load_n(&vhu_log_level_cur, __ATOMIC_RELAXED) >= VHU_LOG_DEBUG) \
		vhu_log(VHU_LOG_DEBUG, __VA_ARGS__); \
} while (0)

#endif
