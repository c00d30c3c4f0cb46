/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port set: parsing a port SPEC, adding and removing ports while traffic
 * flows. Everything here runs under sw_ctl_lock.
 *
 *   vhost-user:NAME[,path=PATH][,client][,queues=N]
 *   tap:NAME[,ifname=IF]
 *
 * Removal order matters: the port leaves the snapshot and a grace period
 * passes (no PMD polls it or sends to it any more), then its device is
 * closed, its fdb entries go, and only then is the memory freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sw.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

struct port *port_find(const struct sw_conf *c, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (c->ports[i] && strcmp(c->ports[i]->name, name) == 0)
			return c->ports[i];
	return NULL;
}

bool port_name_has_sep(const char *name, size_t len)
{
	return memchr(name, '/', len) || memchr(name, '\\', len);
}

static int parse_spec(struct port *p, const char *spec, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *tok;
	const char *colon = strchr(spec, ':');

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
	tok = strtok_r(buf, ",", &save);
	if (!tok || !*tok)
		return ERR("port spec '%s' has no name", spec);
	/* The name becomes a file in the socket directory: '/' or '\' would
	 * reach outside it (the seeds' OVS check). */
	if (port_name_has_sep(tok, strlen(tok)))
		return ERR("\"%s\" is not a valid port name: a name must not include '/' or '\\'", tok);
	if (strlen(tok) >= sizeof(p->name))
		return ERR("port name '%s' too long (max %zu)", tok, sizeof(p->name) - 1);
	strcpy(p->name, tok);
	p->queues = 1;
	bool have_path = false;
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (p->type == PORT_VHOST && strncmp(tok, "path=", 5) == 0) {
			if (strlen(tok + 5) == 0 || strlen(tok + 5) >= sizeof(p->path))
				return ERR("port %s: bad path '%s' (1..%zu bytes)", p->name,
					   tok + 5, sizeof(p->path) - 1);
			strcpy(p->path, tok + 5);
			have_path = true;
		} else if (p->type == PORT_VHOST && strcmp(tok, "client") == 0) {
			p->client = true;
		} else if (p->type == PORT_VHOST && strncmp(tok, "queues=", 7) == 0) {
			char *end;
			long q = strtol(tok + 7, &end, 10);
			if (*end || end == tok + 7 || q < 1 || q > VHU_MAX_QUEUE_PAIRS)
				return ERR("port %s: queues must be 1..%d", p->name, VHU_MAX_QUEUE_PAIRS);
			p->queues = (uint16_t)q;
		} else if (p->type == PORT_TAP && strncmp(tok, "ifname=", 7) == 0) {
			if (strlen(tok + 7) == 0 || strlen(tok + 7) >= IFNAMSIZ ||
			    strchr(tok + 7, '/'))
				return ERR("port %s: bad ifname '%s'", p->name, tok + 7);
			strcpy(p->ifname, tok + 7);
		} else {
			return ERR("port %s: unknown option '%s'", p->name, tok);
		}
	}
	if (p->type == PORT_VHOST && !have_path) {
		if (p->client)
			return ERR("port %s: a client port needs path=", p->name);
		int n = snprintf(p->path, sizeof(p->path), "%s/%s", sw_opts.sock_dir, p->name);
		if (n < 0 || (size_t)n >= sizeof(p->path))
			return ERR("port %s: socket path %s/%s too long", p->name,
				   sw_opts.sock_dir, p->name);
	}
	if (p->type == PORT_TAP && !p->ifname[0]) {
		if (strlen(p->name) >= IFNAMSIZ)
			return ERR("port %s: name too long for an interface; give ifname=", p->name);
		strcpy(p->ifname, p->name);
	}
	return 0;
}

static void port_free(struct port *p)
{
	free(p);
}

int port_add(const char *spec, char *err, size_t errlen)
{
	struct sw_conf *cur = atomic_load(&sw_conf), *c;
	struct port *p = calloc(1, sizeof(*p));
	int rc, slot = -1;

	if (!p)
		return ERR("out of memory");
	p->fd = -1;
	rc = parse_spec(p, spec, err, errlen);
	if (rc) {
		port_free(p);
		return rc;
	}
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct port *o = cur->ports[i];
		if (!o) {
			if (slot < 0)
				slot = (int)i;
			continue;
		}
		if (strcmp(o->name, p->name) == 0) {
			port_free(p);
			return ERR("port %s already exists", o->name);
		}
		if (p->type == PORT_VHOST && o->type == PORT_VHOST && strcmp(o->path, p->path) == 0) {
			port_free(p);
			return ERR("socket %s is already used by port %s", o->path, o->name);
		}
	}
	if (slot < 0) {
		port_free(p);
		return ERR("no room for more than %d ports", SW_MAX_PORTS);
	}
	p->idx = (uint16_t)slot;
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		atomic_flag_clear(&p->txq[q].lock);
	/* No PMD sees the port before the device exists: new_device may
	 * publish into it as soon as the socket starts. */
	rc = p->type == PORT_VHOST ? vhost_port_open(p, err, errlen) : tap_port_open(p, err, errlen);
	if (rc) {
		port_free(p);
		return rc;
	}
	c = sw_conf_copy();
	if (!c || (c->ports[slot] = p, sw_conf_assign(c)) < 0) {
		free(c);
		p->type == PORT_VHOST ? vhost_port_close(p) : tap_port_close(p);
		port_free(p);
		return ERR("out of memory");
	}
	sw_conf_publish(c);
	if (p->type == PORT_VHOST)
		SW_LOG("port %s: added, vhost-user %s socket %s, %u queue pair%s", p->name,
		       p->client ? "client of" : "server on", p->path, p->queues,
		       p->queues == 1 ? "" : "s");
	else
		SW_LOG("port %s: added, tap %s", p->name, p->ifname);
	return 0;
}

int port_del(const char *name, char *err, size_t errlen)
{
	struct sw_conf *c = sw_conf_copy();
	struct port *p;

	if (!c)
		return ERR("out of memory");
	p = port_find(c, name);
	if (!p) {
		free(c);
		return ERR("no port named '%s'", name);
	}
	c->ports[p->idx] = NULL;
	if (sw_conf_assign(c) < 0) {
		free(c);
		return ERR("out of memory");
	}
	sw_conf_publish(c); /* a grace period has passed: no PMD holds p */
	struct capture *cap = atomic_exchange(&p->cap, NULL);
	if (cap)
		capture_close(cap);
	if (p->type == PORT_VHOST)
		vhost_port_close(p);
	else
		tap_port_close(p);
	fdb_flush_port(p->idx);
	SW_LOG("port %s: deleted", p->name);
	port_free(p);
	return 0;
}

void port_del_all(void)
{
	char err[256];
	struct sw_conf *c = atomic_load(&sw_conf);

	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		c = atomic_load(&sw_conf);
		if (c->ports[i]) {
			char name[SW_NAME_MAX];
			strcpy(name, c->ports[i]->name);
			if (port_del(name, err, sizeof(err)) < 0)
				SW_LOG("%s", err);
		}
	}
}
