/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port flows: one rule per input port that overrides the learning bridge,
 * the OpenFlow rules OVS users write with ovs-ofctl for a cross-connect:
 *
 *   in_port=NAME,actions=output:NAME | drop | normal
 *
 * Rules name ports, not slots, so a rule outlives its ports: it matches
 * again when a port of that name comes back, and an output port that is
 * gone drops (as OVS does with an output to a missing ofport). Output to
 * the input port itself drops too (OVS needs the in_port action for that).
 *
 * The table belongs to the ctl side (sw_ctl_lock). PMDs see it only through
 * the snapshot's fwd[] (sw_conf_assign resolves the names into slots), so a
 * rule is freed only after a snapshot without it has been published.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/pkt.h>
#include "sw.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

static struct sw_flow *table[SW_MAX_PORTS];

void flow_resolve(struct sw_conf *c)
{
	memset(c->fwd, 0, sizeof(c->fwd));
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_flow *f = table[i];
		struct port *in = f ? port_find(c, f->in) : NULL;
		if (!in)
			continue;
		struct sw_fwd *d = &c->fwd[in->idx];
		d->flow = f;
		if (f->action == FLOW_NORMAL) {
			d->out = SW_FWD_NORMAL;
		} else {
			struct port *out = f->action == FLOW_OUTPUT ? port_find(c, f->out) : NULL;
			d->out = out && out != in ? (int16_t)out->idx : SW_FWD_DROP;
		}
	}
}

static int check_name(const char *what, const char *v, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len >= SW_NAME_MAX)
		return ERR("%s: a port name of 1..%d bytes", what, SW_NAME_MAX - 1);
	if (port_name_has_sep(v, len))
		return ERR("%s: a port name must not include '/' or '\\'", what);
	return 0;
}

static int parse(struct sw_flow *f, const char *spec, char *err, size_t errlen)
{
	bool have_in = false, have_act = false;

	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 8 && strncmp(p, "in_port=", 8) == 0) {
			if (check_name("in_port", p + 8, len - 8, err, errlen))
				return -EINVAL;
			memcpy(f->in, p + 8, len - 8);
			f->in[len - 8] = '\0';
			have_in = true;
		} else if (len == 12 && strncmp(p, "actions=drop", 12) == 0) {
			f->action = FLOW_DROP;
			have_act = true;
		} else if (len == 14 && strncmp(p, "actions=normal", 14) == 0) {
			f->action = FLOW_NORMAL;
			have_act = true;
		} else if (len > 15 && strncmp(p, "actions=output:", 15) == 0) {
			if (check_name("output", p + 15, len - 15, err, errlen))
				return -EINVAL;
			memcpy(f->out, p + 15, len - 15);
			f->out[len - 15] = '\0';
			f->action = FLOW_OUTPUT;
			have_act = true;
		} else {
			return ERR("bad flow '%s': want in_port=NAME,actions=output:NAME|drop|normal",
				   spec);
		}
		p += len + (end ? 1 : 0);
	}
	if (!have_in || !have_act)
		return ERR("flow '%s' needs both in_port= and actions=", spec);
	return 0;
}

/* Publishes a snapshot that reflects the table. On failure the old
 * snapshot stays and so do the rules it reaches. */
static int publish(char *err, size_t errlen)
{
	struct sw_conf *c = sw_conf_copy();
	if (!c || sw_conf_assign(c) < 0) {
		free(c);
		return ERR("out of memory");
	}
	sw_conf_publish(c);
	return 0;
}

static int find(const char *in)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (table[i] && strcmp(table[i]->in, in) == 0)
			return i;
	return -1;
}

int flow_add(const char *spec, char *err, size_t errlen)
{
	struct sw_flow *f = calloc(1, sizeof(*f)), *old = NULL;
	int i;

	if (!f)
		return ERR("out of memory");
	if (parse(f, spec, err, errlen)) {
		free(f);
		return -EINVAL;
	}
	i = find(f->in);
	if (i < 0) {
		for (i = 0; i < SW_MAX_PORTS && table[i]; i++)
			;
		if (i == SW_MAX_PORTS) {
			free(f);
			return ERR("no room for more than %d flows", SW_MAX_PORTS);
		}
	}
	old = table[i];
	table[i] = f;
	if (publish(err, errlen)) {
		table[i] = old;
		free(f);
		return -ENOMEM;
	}
	SW_LOG("flow %s%s", spec, old ? " (replaces the previous rule of that port)" : "");
	free(old); /* the grace period in publish: no PMD holds it */
	return 0;
}

int flow_del(const char *in, char *err, size_t errlen)
{
	struct sw_flow *gone[SW_MAX_PORTS];
	unsigned n = 0;

	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (table[i] && (!in || strcmp(table[i]->in, in) == 0))
			gone[n++] = table[i], table[i] = NULL;
	if (in && !n)
		return ERR("no flow for in_port=%s", in);
	if (n && publish(err, errlen)) {
		/* Put them back: the snapshot still points at them. */
		for (unsigned k = 0, i = 0; k < n && i < SW_MAX_PORTS; i++)
			if (!table[i])
				table[i] = gone[k++];
		return -ENOMEM;
	}
	for (unsigned k = 0; k < n; k++)
		free(gone[k]);
	SW_LOG("deleted %u flow%s%s%s", n, n == 1 ? "" : "s", in ? " of in_port=" : "",
	       in ? in : "");
	return 0;
}

void flow_del_all(void)
{
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		free(table[i]);
		table[i] = NULL;
	}
}

void cmd_dump_flows(struct sw_out *o)
{
	const struct sw_conf *c = atomic_load(&sw_conf);

	for (int i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_flow *f = table[i];
		if (!f)
			continue;
		out_printf(o, "in_port=%s actions=", f->in);
		if (f->action == FLOW_OUTPUT)
			out_printf(o, "output:%s", f->out);
		else
			out_printf(o, "%s", f->action == FLOW_DROP ? "drop" : "normal");
		out_printf(o, " n_packets=%" PRIu64 " n_bytes=%" PRIu64,
			   atomic_load_explicit(&f->packets, memory_order_relaxed),
			   atomic_load_explicit(&f->bytes, memory_order_relaxed));
		const struct port *in = port_find(c, f->in);
		if (!in)
			out_printf(o, " (no port %s)", f->in);
		else if (f->action == FLOW_OUTPUT && c->fwd[in->idx].out == SW_FWD_DROP)
			out_printf(o, " (output port %s %s: dropping)", f->out,
				   strcmp(f->in, f->out) == 0 ? "is the input" : "is missing");
		out_printf(o, "\n");
	}
}
