/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every part of the switch shares: its limits and the log hook.
 *
 * The core (this folder) decides things and owns no threads, sockets or
 * clocks: callers pass the time in. It logs through sw_log(), which the
 * program that links it defines (vhu-switch: stderr; unit tests: a counter).
 */
#ifndef VHU_SWITCH_CORE_H
#define VHU_SWITCH_CORE_H

#define SW_MAX_PORTS 64    /* port slots; a 64-bit mask holds a set of them */
#define SW_MAX_PMDS 16
#define SW_NAME_MAX 64     /* port name, NUL included */
#define SW_PATH_MAX 108    /* a unix socket path, NUL included (sun_path) */

void sw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SW_LOG(...) sw_log(__VA_ARGS__)

#endif
