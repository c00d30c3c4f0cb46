/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port set: adding and removing ports while traffic flows (the SPEC is
 * ../core/port_spec.h's). Everything here runs under sw_ctl_lock.
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

/* The spec's parts become the port's (sw.h says which fields). */
static int parse_spec(struct port *p, const char *spec, char *err, size_t errlen)
{
	struct sw_port_spec s;
	int rc = sw_port_spec_parse(spec, sw_opts.sock_dir, &s, err, errlen);

	if (rc)
		return rc;
	memcpy(p->name, s.name, sizeof(p->name));
	p->type = s.type;
	memcpy(p->path, s.path, sizeof(p->path));
	p->client = s.client;
	p->queues = s.queues;
	memcpy(p->ifname, s.ifname, sizeof(p->ifname));
	p->no_offloads = s.no_offloads;
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
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		p->fds[q] = -1;
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
		SW_LOG("port %s: added, tap %s, %u queue%s, offloads %s", p->name, p->ifname,
		       p->queues, p->queues == 1 ? "" : "s", p->no_offloads ? "off" : "on");
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
	sw_fdb_flush_port(&sw_fdb, p->idx);
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
