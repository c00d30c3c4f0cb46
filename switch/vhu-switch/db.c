/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration file (--db FILE): what vhu-ctl changed, kept across
 * restarts, as OVS keeps its database.
 *
 * Format: text, one control request a line, replayed in order at start:
 *
 *   # comment
 *   add-port SPEC      (the port as it is now: set-port changes included)
 *   add-flow FLOW
 *
 * The switch rewrites the whole file after every change, before the
 * change is answered: into FILE.tmp, fsync, rename over FILE, fsync of
 * the folder, so a crash leaves the old file or the new one. A file that
 * does not replay (a line that is not a request, a spec refused) stops
 * the start with FILE:LINE and the reason; it is not rewritten then.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl_proto.h"
#include "sw.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int db_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[VHU_CTL_LINE_MAX + 2];
	unsigned n = 0, ports = 0, flows = 0;

	if (!f) {
		if (errno == ENOENT) {
			SW_LOG("db %s: no file yet, starting empty", path);
			return 0;
		}
		return ERR("db %s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n'), *arg;
		n++;
		if (!nl && !feof(f)) {
			fclose(f);
			return ERR("%s:%u: line longer than %d bytes", path, n, VHU_CTL_LINE_MAX);
		}
		if (nl)
			*nl = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		int rc;
		char e[512];
		if (strncmp(line, "add-port ", 9) == 0 && *(arg = line + 9)) {
			rc = port_add(arg, e, sizeof(e));
			ports++;
		} else if (strncmp(line, "add-flow ", 9) == 0 && *(arg = line + 9)) {
			rc = flow_add(arg, e, sizeof(e));
			flows++;
		} else {
			rc = -EINVAL;
			snprintf(e, sizeof(e), "not add-port SPEC or add-flow FLOW: '%.80s'", line);
		}
		if (rc) {
			fclose(f);
			return ERR("%s:%u: %s", path, n, e);
		}
	}
	fclose(f);
	SW_LOG("db %s: restored %u port%s and %u flow%s", path, ports, ports == 1 ? "" : "s",
	       flows, flows == 1 ? "" : "s");
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1, rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int db_save(char *err, size_t errlen)
{
	const char *path = sw_opts.db;
	char tmp[4096];

	if (!path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ERR("db path too long");
	FILE *f = fopen(tmp, "w");
	if (!f)
		return ERR("db %s: %s", tmp, strerror(errno));
	fprintf(f, "# vhu-switch --db: the ports and flows to restore at start, one vhu-ctl\n"
		   "# request a line. Rewritten on every change; edit while the switch is stopped.\n");
	int rc = port_write(f);
	if (!rc)
		flow_write(f);
	if (rc || fflush(f) || fsync(fileno(f)) || ferror(f)) {
		int e = rc ? -rc : errno;
		fclose(f);
		unlink(tmp);
		return ERR("db %s: not written: %s", path, strerror(e));
	}
	if (fclose(f) || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return ERR("db %s: not written: %s", path, strerror(e));
	}
	int d = fsync_dir(path);
	if (d < 0)
		SW_LOG("db %s: written, but its folder not synced: %s", path, strerror(-d));
	return 0;
}
