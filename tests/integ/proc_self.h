/* SPDX-License-Identifier: BSD-3-Clause */
/* What /proc says of this process, for the tests that check a case left
 * nothing behind: they compare a count before and after. Each is -1 when
 * /proc cannot be read. */
#ifndef VHU_TEST_INTEG_PROC_SELF_H
#define VHU_TEST_INTEG_PROC_SELF_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* Entries of a /proc folder, e.g. /proc/self/fd (including ".", ".." and
 * the directory's own fd, the same each time). */
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

/* Mappings whose line in /proc/self/maps holds sub (a file's name: the
 * allocators' own mappings come and go, under ASan in numbers); with sub
 * NULL, the shared ones (perms "rw-s": guest memory, dirty log, inflight
 * region, everything a device maps from a frontend's fd). */
static inline int count_maps_of(const char *sub)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sub)
			n += strstr(line, sub) != NULL;
		else
			n += sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's';
	}
	fclose(f);
	return n;
}

#endif
