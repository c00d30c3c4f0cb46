/* SPDX-License-Identifier: BSD-3-Clause */
/* Entries of a /proc folder, e.g. /proc/self/fd: tests compare the
 * count before and after a case (it includes ".", ".." and the
 * directory's own fd, the same each time). -1 when it cannot be read. */
#ifndef VHU_TEST_INTEG_PROC_FDS_H
#define VHU_TEST_INTEG_PROC_FDS_H

#include <dirent.h>

static inline int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
