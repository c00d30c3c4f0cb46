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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl_proto.h"
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
	SW_REQUIRES(sw_ctl_lock)
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
	atomic_store(&p->tx_retries_max, s.tx_retries);
	p->spec = s;
	p->vx.local = s.local;
	memcpy(p->vx.remote, s.remote, sizeof(s.remote));
	p->vx.nremote = s.nremote;
	p->vx.vni = s.vni;
	p->vx.dstport = s.dstport;
	return 0;
}

/* Every pinned queue's CPU runs a PMD. */
static int check_affinity(const char *name, const struct sw_rxq_affinity *a, char *err,
			  size_t errlen)
{
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS; q++)
		if ((a->mask >> q & 1) && sw_opts_pmd_on_cpu(&sw_opts, a->cpu[q]) < 0)
			return ERR("port %s: rxq-affinity %u:%u: no PMD runs on cpu %u (%s)", name, q,
				   a->cpu[q], a->cpu[q], sw_opts.pinned ? "see --pmd-cpus" :
				   "PMDs are not pinned: --pmd-cpus");
	return 0;
}

static int port_open(struct port *p, char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock)
{
	switch (p->type) {
	case PORT_VHOST:
		return vhost_port_open(p, err, errlen);
	case PORT_TAP:
		return tap_port_open(p, err, errlen);
	case PORT_VXLAN:
		return vxlan_port_open(p, err, errlen);
	default:
		return afxdp_port_open(p, err, errlen);
	}
}

static void port_close(struct port *p)
{
	switch (p->type) {
	case PORT_VHOST:
		vhost_port_close(p);
		break;
	case PORT_TAP:
		tap_port_close(p);
		break;
	case PORT_VXLAN:
		vxlan_port_close(p);
		break;
	default:
		afxdp_port_close(p);
	}
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
	for (unsigned i = 0; i < SW_VXLAN_TX_SOCKS; i++)
		p->vx.tx_fd[i] = -1;
	rc = parse_spec(p, spec, err, errlen);
	if (!rc)
		rc = check_affinity(p->name, &p->spec.aff, err, errlen);
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
	rc = port_open(p, err, errlen);
	if (rc) {
		port_free(p);
		return rc;
	}
	c = sw_conf_copy();
	if (!c || (c->ports[slot] = p, sw_conf_assign(c)) < 0) {
		sw_conf_free(c);
		port_close(p);
		port_free(p);
		return ERR("out of memory");
	}
	sw_conf_publish(c);
	char vlan[128];
	sw_vlan_format(&p->spec.vlan, vlan, sizeof(vlan));
	if (p->type == PORT_VHOST)
		SW_LOG("port %s: added, vhost-user %s socket %s, %u queue pair%s, vlan %s",
		       p->name, p->client ? "client of" : "server on", p->path, p->queues,
		       p->queues == 1 ? "" : "s", vlan);
	else if (p->type == PORT_TAP)
		SW_LOG("port %s: added, tap %s, %u queue%s, offloads %s, vlan %s", p->name,
		       p->ifname, p->queues, p->queues == 1 ? "" : "s",
		       p->no_offloads ? "off" : "on", vlan);
	else if (p->type == PORT_AFXDP)
		SW_LOG("port %s: added, afxdp on %s, %u queue%s, vlan %s", p->name, p->ifname,
		       p->queues, p->queues == 1 ? "" : "s", vlan);
	else
		SW_LOG("port %s: added, vxlan vni %u on port %u, %u remote%s, %u queue%s, vlan %s",
		       p->name, p->vx.vni, p->vx.dstport, p->vx.nremote,
		       p->vx.nremote == 1 ? "" : "s", p->queues, p->queues == 1 ? "" : "s", vlan);
	return 0;
}

int port_write(FILE *f)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	char line[VHU_CTL_SPEC_MAX];

	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		if (sw_port_spec_format(&p->spec, sw_opts.sock_dir, line, sizeof(line)) < 0)
			return -ENOSPC;
		fprintf(f, "add-port %s\n", line);
	}
	return 0;
}

int port_set(const char *name, const char *opts, char *err, size_t errlen)
{
	struct port *p = port_find(atomic_load(&sw_conf), name);
	struct sw_port_spec s;
	char line[VHU_CTL_SPEC_MAX];

	if (!p)
		return ERR("no port named '%s'", name);
	s = p->spec;
	if (sw_port_set_parse(opts, &s, err, errlen) < 0 ||
	    check_affinity(name, &s.aff, err, errlen) < 0)
		return -EINVAL;
	/* Its add-port line must still fit a request (and the --db file). */
	if (sw_port_spec_format(&s, sw_opts.sock_dir, line, sizeof(line)) < 0)
		return ERR("port %s: its spec would be longer than a request line", name);
	bool vlan = memcmp(&s.vlan, &p->spec.vlan, sizeof(s.vlan)) != 0;
	if (vlan || memcmp(&s.aff, &p->spec.aff, sizeof(s.aff))) {
		char was[128], now[128], aff[SW_AFF_FMT_MAX];
		struct sw_conf *c = sw_conf_copy();
		if (!c)
			return ERR("out of memory");
		struct sw_port_spec old = p->spec;
		p->spec.vlan = s.vlan;
		p->spec.aff = s.aff;
		if (sw_conf_assign(c) < 0) {
			p->spec = old;
			sw_conf_free(c);
			return ERR("out of memory");
		}
		sw_conf_publish(c);
		/* What the port learnt belongs to the VLANs it was in. */
		if (vlan)
			sw_fdb_flush_port(&sw_fdb, p->idx);
		sw_vlan_format(&old.vlan, was, sizeof(was));
		sw_vlan_format(&s.vlan, now, sizeof(now));
		sw_rxq_affinity_format(&s.aff, aff, sizeof(aff));
		SW_LOG("port %s: vlan %s (was %s)%s%s", p->name, now, was, aff[0] ? ", " : "", aff);
	}
	if (s.tx_retries != p->spec.tx_retries) {
		atomic_store(&p->tx_retries_max, s.tx_retries);
		SW_LOG("port %s: tx-retries %u (was %u)", p->name, s.tx_retries, p->spec.tx_retries);
	}
	if (memcmp(&s.ext, &p->spec.ext, sizeof(s.ext)))
		SW_LOG("port %s: external-ids now %u", p->name, s.ext.n);
	p->spec = s;
	return 0;
}

/* find-port external-id:KEY=VALUE: the names of the ports that have it. */
int port_find_ext(struct sw_out *o, const char *arg, char *err, size_t errlen)
{
	const struct sw_conf *c = atomic_load(&sw_conf);
	size_t pre = sw_ext_id_prefix(arg);
	struct sw_ext_id id;
	char e[200];

	if (!pre)
		return ERR("find-port takes external-id:KEY=VALUE, not '%.100s'", arg);
	if (sw_ext_id_parse(arg + pre, false, &id, e, sizeof(e)) < 0)
		return ERR("%s", e);
	for (unsigned i = 0; i < c->nb_live; i++) {
		const struct port *p = c->ports[c->live[i]];
		const char *v = sw_ext_ids_get(&p->spec.ext, id.key);
		if (v && strcmp(v, id.val) == 0)
			out_printf(o, "%s\n", p->name);
	}
	return 0;
}

/* MAC [vlan=N] [remote=IP]: av[0..ac); remote NULL: no remote= taken. */
static int fdb_args(char **av, int ac, uint8_t *mac, uint16_t *vlan, const char **remote,
		    char *err, size_t errlen)
{
	unsigned v[6];
	char tail;

	if (ac < 1 || sscanf(av[0], "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
			     &v[5], &tail) != 6)
		return ERR("bad MAC '%s'", ac ? av[0] : "");
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return ERR("bad MAC '%s'", av[0]);
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return ERR("%s is a group address, not a station", av[0]);
	*vlan = 0;
	if (remote)
		*remote = NULL;
	for (int i = 1; i < ac; i++) {
		char *end;
		if (strncmp(av[i], "vlan=", 5) == 0) {
			unsigned long n = strtoul(av[i] + 5, &end, 10);
			if (!av[i][5] || *end || n > SW_VLAN_VID_MAX)
				return ERR("bad vlan '%s' (0..%d)", av[i] + 5, SW_VLAN_VID_MAX);
			*vlan = (uint16_t)n;
		} else if (remote && strncmp(av[i], "remote=", 7) == 0) {
			*remote = av[i] + 7;
		} else {
			return ERR("unknown argument '%s'", av[i]);
		}
	}
	return 0;
}

int fdb_add(char **av, int ac, char *err, size_t errlen)
{
	struct port *p = ac ? port_find(atomic_load(&sw_conf), av[0]) : NULL;
	uint8_t mac[6];
	uint16_t vlan;
	const char *remote;
	unsigned r = 0;

	if (!p)
		return ERR("no port named '%s'", ac ? av[0] : "");
	if (fdb_args(av + 1, ac - 1, mac, &vlan, &remote, err, errlen) < 0)
		return -EINVAL;
	if (p->type == PORT_VXLAN) {
		struct sw_ip a;
		if (!remote || sw_ip_parse(remote, &a) < 0)
			return ERR("port %s is a tunnel: give remote=IP, one of its remotes", p->name);
		while (r < p->vx.nremote && !sw_ip_eq(&p->vx.remote[r], &a))
			r++;
		if (r == p->vx.nremote)
			return ERR("%s is not a remote of port %s", remote, p->name);
		r++;
	} else if (remote) {
		return ERR("remote= is for tunnel ports; %s is not one", p->name);
	}
	if (sw_fdb_add_static(&sw_fdb, mac, vlan, SW_DEST(p->idx, r)) < 0)
		return ERR("no room for %s in its fdb window", av[1]);
	SW_LOG("fdb: static %s vlan %u on port %s%s%s", av[1], vlan, p->name,
	       remote ? " remote " : "", remote ? remote : "");
	return 0;
}

int fdb_del(char **av, int ac, char *err, size_t errlen)
{
	uint8_t mac[6];
	uint16_t vlan;

	if (fdb_args(av, ac, mac, &vlan, NULL, err, errlen) < 0)
		return -EINVAL;
	if (sw_fdb_del(&sw_fdb, mac, vlan) < 0)
		return ERR("%s is not in vlan %u's table", av[0], vlan);
	SW_LOG("fdb: %s vlan %u deleted", av[0], vlan);
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
		sw_conf_free(c);
		return ERR("out of memory");
	}
	sw_conf_publish(c); /* a grace period has passed: no PMD holds p */
	struct capture *cap = atomic_exchange(&p->cap, NULL);
	if (cap)
		capture_close(cap);
	port_close(p);
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
