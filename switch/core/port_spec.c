/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing a port SPEC (the grammar is in port_spec.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/vhu.h>
#include "port_spec.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

bool sw_port_name_has_sep(const char *name, size_t len)
{
	return memchr(name, '/', len) || memchr(name, '\\', len);
}

/* Options split at ',' with empty options refused (strtok would skip them). */
static int parse_opts(struct sw_port_spec *p, char *opts, char *err, size_t errlen)
{
	bool have_path = false;

	while (opts) {
		char *tok = opts, *comma = strchr(opts, ',');
		if (comma)
			*comma = '\0';
		opts = comma ? comma + 1 : NULL;
		if (!*tok)
			return ERR("port %s: empty option", p->name);
		if (p->type == PORT_VHOST && strncmp(tok, "path=", 5) == 0) {
			if (have_path || strlen(tok + 5) == 0 || strlen(tok + 5) >= sizeof(p->path))
				return ERR("port %s: bad path '%s' (once, 1..%zu bytes)", p->name,
					   tok + 5, sizeof(p->path) - 1);
			strcpy(p->path, tok + 5);
			have_path = true;
		} else if (p->type == PORT_VHOST && strcmp(tok, "client") == 0) {
			p->client = true;
		} else if (strncmp(tok, "queues=", 7) == 0) {
			char *end;
			errno = 0;
			long q = strtol(tok + 7, &end, 10);
			if (!isdigit((unsigned char)tok[7]) || errno || *end || q < 1 ||
			    q > VHU_MAX_QUEUE_PAIRS)
				return ERR("port %s: queues must be 1..%d", p->name, VHU_MAX_QUEUE_PAIRS);
			p->queues = (uint16_t)q;
		} else if (p->type == PORT_TAP && strncmp(tok, "ifname=", 7) == 0) {
			if (strlen(tok + 7) == 0 || strlen(tok + 7) >= IFNAMSIZ ||
			    strpbrk(tok + 7, "/ \t:"))
				return ERR("port %s: bad ifname '%s'", p->name, tok + 7);
			strcpy(p->ifname, tok + 7);
		} else if (p->type == PORT_TAP && strcmp(tok, "offloads=on") == 0) {
			p->no_offloads = false;
		} else if (p->type == PORT_TAP && strcmp(tok, "offloads=off") == 0) {
			p->no_offloads = true;
		} else {
			return ERR("port %s: unknown option '%s'", p->name, tok);
		}
	}
	if (p->type == PORT_VHOST && p->client && !have_path)
		return ERR("port %s: a client port needs path=", p->name);
	return have_path;
}

int sw_port_spec_parse(const char *spec, const char *sock_dir, struct sw_port_spec *p,
		       char *err, size_t errlen)
{
	char buf[512];
	const char *colon = strchr(spec, ':');

	memset(p, 0, sizeof(*p));
	if (!colon)
		return ERR("bad port spec '%s': want vhost-user:NAME[,...] or tap:NAME[,...]", spec);
	if (strlen(spec) >= sizeof(buf))
		return ERR("port spec too long");
	if ((size_t)(colon - spec) == 10 && strncmp(spec, "vhost-user", 10) == 0)
		p->type = PORT_VHOST;
	else if ((size_t)(colon - spec) == 3 && strncmp(spec, "tap", 3) == 0)
		p->type = PORT_TAP;
	else
		return ERR("unknown port type in '%s' (vhost-user or tap)", spec);
	strcpy(buf, colon + 1);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	const char *name = buf;
	if (!*name)
		return ERR("port spec '%s' has no name", spec);
	/* The name becomes a file in the socket directory: '/' or '\' would
	 * reach outside it (the seeds' OVS check). */
	if (sw_port_name_has_sep(name, strlen(name)))
		return ERR("\"%s\" is not a valid port name: a name must not include '/' or '\\'", name);
	/* Control requests are split at blanks: such a name could not be named. */
	if (strpbrk(name, " \t"))
		return ERR("\"%s\" is not a valid port name: no blanks", name);
	if (strlen(name) >= sizeof(p->name))
		return ERR("port name '%s' too long (max %zu)", name, sizeof(p->name) - 1);
	strcpy(p->name, name);
	p->queues = 1;
	int have_path = parse_opts(p, comma ? comma + 1 : NULL, err, errlen);
	if (have_path < 0)
		return have_path;
	if (p->type == PORT_VHOST && !have_path) {
		int n = snprintf(p->path, sizeof(p->path), "%s/%s", sock_dir, p->name);
		if (n < 0 || (size_t)n >= sizeof(p->path))
			return ERR("port %s: socket path %s/%s too long", p->name, sock_dir, p->name);
	}
	if (p->type == PORT_TAP && !p->ifname[0]) {
		if (strlen(p->name) >= IFNAMSIZ)
			return ERR("port %s: name too long for an interface; give ifname=", p->name);
		strcpy(p->ifname, p->name);
	}
	return 0;
}
