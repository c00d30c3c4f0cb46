/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port flows: parsing a rule, the table, and resolving rule names into
 * port slots (the precedence is in flow.h). Whoever owns the table keeps
 * it from changing under these calls (vhu-switch: sw_ctl_lock).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "flow.h"
#include "port_spec.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

static int slot_of(const char *const names[SW_MAX_PORTS], const char *name)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

void sw_flow_resolve(const struct sw_flow_table *t, const char *const names[SW_MAX_PORTS],
		     struct sw_fwd fwd[SW_MAX_PORTS])
{
	memset(fwd, 0, SW_MAX_PORTS * sizeof(fwd[0]));
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_flow *f = t->rule[i];
		int in = f ? slot_of(names, f->in) : -1;
		if (in < 0)
			continue;
		struct sw_fwd *d = &fwd[in];
		d->flow = f;
		if (f->action == FLOW_NORMAL) {
			d->out = SW_FWD_NORMAL;
		} else {
			int out = f->action == FLOW_OUTPUT ? slot_of(names, f->out) : -1;
			d->out = out >= 0 && out != in ? (int16_t)out : SW_FWD_DROP;
		}
	}
}

static int check_name(const char *what, const char *v, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len >= SW_NAME_MAX)
		return ERR("%s: a port name of 1..%d bytes", what, SW_NAME_MAX - 1);
	if (sw_port_name_has_sep(v, len))
		return ERR("%s: a port name must not include '/' or '\\'", what);
	return 0;
}

/* Each key once: a rule that says two things is a mistake, not a choice. */
int sw_flow_parse(const char *spec, struct sw_flow *f, char *err, size_t errlen)
{
	bool have_in = false, have_act = false;

	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool is_in = len >= 8 && strncmp(p, "in_port=", 8) == 0;
		bool is_act = len >= 8 && strncmp(p, "actions=", 8) == 0;
		if ((is_in && have_in) || (is_act && have_act))
			return ERR("flow '%s' says %.8s twice", spec, p);
		if (is_in) {
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
		} else if (len >= 15 && strncmp(p, "actions=output:", 15) == 0) {
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
		if (end && !end[1])
			return ERR("flow '%s' ends in ','", spec);
		p += len + (end ? 1 : 0);
	}
	if (!have_in || !have_act)
		return ERR("flow '%s' needs both in_port= and actions=", spec);
	return 0;
}

int sw_flow_put(struct sw_flow_table *t, struct sw_flow *f, struct sw_flow **old)
{
	int i, free_i = -1;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		if (!t->rule[i]) {
			if (free_i < 0)
				free_i = i;
		} else if (strcmp(t->rule[i]->in, f->in) == 0) {
			break;
		}
	}
	if (i == SW_MAX_PORTS)
		i = free_i;
	if (i < 0)
		return -ENOSPC;
	*old = t->rule[i];
	t->rule[i] = f;
	return i;
}

unsigned sw_flow_take(struct sw_flow_table *t, const char *in, struct sw_flow **gone)
{
	unsigned n = 0;

	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (t->rule[i] && (!in || strcmp(t->rule[i]->in, in) == 0)) {
			gone[n++] = t->rule[i];
			t->rule[i] = NULL;
		}
	return n;
}

void sw_flow_put_back(struct sw_flow_table *t, struct sw_flow **gone, unsigned n)
{
	for (unsigned k = 0, i = 0; k < n && i < SW_MAX_PORTS; i++)
		if (!t->rule[i])
			t->rule[i] = gone[k++];
}

void sw_flow_format(const struct sw_flow *f, char *buf, size_t len)
{
	if (f->action == FLOW_OUTPUT)
		snprintf(buf, len, "in_port=%s,actions=output:%s", f->in, f->out);
	else
		snprintf(buf, len, "in_port=%s,actions=%s", f->in,
			 f->action == FLOW_DROP ? "drop" : "normal");
}
