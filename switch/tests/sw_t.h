/* SPDX-License-Identifier: BSD-3-Clause */
/* The switch's unit tests: the library's harness (tests/unit/t.h) and the
 * core's log hook, counted as t.h counts the library's log lines. Each test
 * is one file, so the hook is defined here. */
#ifndef VHU_SWITCH_TESTS_SW_T_H
#define VHU_SWITCH_TESTS_SW_T_H

#include <stdarg.h>
#include "sw_core.h"
#include "t.h"

void sw_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t_log_last, sizeof(t_log_last), fmt, ap);
	va_end(ap);
	t_log_count++;
	if (getenv("VHU_TEST_VERBOSE"))
		fprintf(stderr, "  [sw log] %s\n", t_log_last);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
