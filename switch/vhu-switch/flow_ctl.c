/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The switch's flow table (rules and precedence: ../core/flow.h). It
 * belongs to the ctl side; PMDs see it only through a snapshot's fwd[]
 * (sw_conf_assign resolves the names into slots), so a rule is freed only
 * after a snapshot without it has been published.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "sw.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

static struct sw_flow_table flows SW_GUARDED_BY(sw_ctl_lock);

void flow_resolve(struct sw_conf *c)
{
	const char *names[SW_MAX_PORTS];

	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		names[i] = c->ports[i] ? c->ports[i]->name : NULL;
	sw_flow_resolve(&flows, names, c->fwd);
}

/* Publishes a snapshot that reflects the table. On failure the old
 * snapshot stays and so do the rules it reaches. */
static int publish(char *err, size_t errlen) SW_REQUIRES(sw_ctl_lock)
{
	struct sw_conf *c = sw_conf_copy();
	if (!c || sw_conf_assign(c) < 0) {
		sw_conf_free(c);
		return ERR("out of memory");
	}
	sw_conf_publish(c);
	return 0;
}

int flow_add(const char *spec, char *err, size_t errlen)
{
	struct sw_flow *f = calloc(1, sizeof(*f)), *old = NULL;
	int i;

	if (!f)
		return ERR("out of memory");
	if (sw_flow_parse(spec, f, err, errlen)) {
		free(f);
		return -EINVAL;
	}
	i = sw_flow_put(&flows, f, &old);
	if (i < 0) {
		free(f);
		return ERR("no room for more than %d flows", SW_MAX_PORTS);
	}
	if (publish(err, errlen)) {
		flows.rule[i] = old;
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
	unsigned n = sw_flow_take(&flows, in, gone);

	if (in && !n)
		return ERR("no flow for in_port=%s", in);
	if (n && publish(err, errlen)) {
		/* Put them back: the snapshot still points at them. */
		sw_flow_put_back(&flows, gone, n);
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
	struct sw_flow *gone[SW_MAX_PORTS];
	unsigned n = sw_flow_take(&flows, NULL, gone);

	for (unsigned k = 0; k < n; k++)
		free(gone[k]);
}

void flow_write(FILE *f)
{
	char line[3 * SW_NAME_MAX];

	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (flows.rule[i]) {
			sw_flow_format(flows.rule[i], line, sizeof(line));
			fprintf(f, "add-flow %s\n", line);
		}
}

void cmd_dump_flows(struct sw_out *o)
{
	const struct sw_conf *c = atomic_load(&sw_conf);

	for (int i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_flow *f = flows.rule[i];
		if (!f)
			continue;
		char spec[3 * SW_NAME_MAX];
		sw_flow_format(f, spec, sizeof(spec));
		/* dump-flows has always shown in_port and actions apart. */
		*strchr(spec, ',') = ' ';
		out_printf(o, "%s", spec);
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
