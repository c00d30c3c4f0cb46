/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port flows (core/flow.h): every malformed rule refused, each precedence
 * rule of sw_flow_resolve, one rule per input port, a full table.
 */
#include <errno.h>
#include <stdlib.h>
#include "flow.h"
#include "sw_t.h"

#define N63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define N64 N63 "l"

static void test_parse_good(void)
{
	static const struct {
		const char *spec, *in;
		enum sw_flow_action act;
		const char *out;
	} good[] = {
		{ "in_port=a,actions=drop", "a", FLOW_DROP, NULL },
		{ "in_port=a,actions=normal", "a", FLOW_NORMAL, NULL },
		{ "in_port=a,actions=output:b", "a", FLOW_OUTPUT, "b" },
		{ "actions=output:b,in_port=a", "a", FLOW_OUTPUT, "b" },
		{ "in_port=vm-1.eth0,actions=output:vm-2:x", "vm-1.eth0", FLOW_OUTPUT, "vm-2:x" },
		{ "in_port=" N63 ",actions=output:" N63, N63, FLOW_OUTPUT, N63 },
		{ "in_port=a,actions=output:a", "a", FLOW_OUTPUT, "a" },  /* resolves to drop */
	};
	for (size_t i = 0; i < NELEM(good); i++) {
		struct sw_flow f;
		char err[256] = "";
		memset(&f, 0, sizeof(f));
		int rc = sw_flow_parse(good[i].spec, &f, err, sizeof(err));
		CHECK_EQ(rc, 0);
		if (rc) {
			fprintf(stderr, "  refused: %s (%s)\n", good[i].spec, err);
			continue;
		}
		CHECK_STR(f.in, good[i].in);
		CHECK_EQ(f.action, good[i].act);
		if (good[i].out)
			CHECK_STR(f.out, good[i].out);
	}
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"", ",", ",,", "in_port=a", "actions=drop", "in_port=a,", ",in_port=a,actions=drop",
		"in_port=a,actions=drop,", "in_port=a,,actions=drop",
		"in_port=,actions=drop", "in_port=a,actions=", "in_port=a,actions=output:",
		"in_port=a,actions=output", "in_port=a/b,actions=drop", "in_port=a\\b,actions=drop",
		"in_port=a,actions=output:x/y", "in_port=a,actions=output:..\\y",
		"in_port=" N64 ",actions=drop", "in_port=a,actions=output:" N64,
		"in_port=a,actions=flood", "in_port=a,actions=dro", "in_port=a,actions=normalx",
		"in_port=a,actions=drop ", "IN_PORT=a,actions=drop", "in_port=a;actions=drop",
		"in_port=a,actions=output:b,c", "in_port=a,in_port=b,actions=drop",
		"in_port=a,actions=drop,actions=normal", "in_port=a,actions=output:b,actions=drop",
		"in_port", "in_port:a,actions=drop", "actions=drop,in_port=", "priority=1,in_port=a,actions=drop",
		"in_port=a,actions=drop,in_port=a",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct sw_flow f;
		char err[256] = "";
		memset(&f, 0, sizeof(f));
		int rc = sw_flow_parse(bad[i], &f, err, sizeof(err));
		CHECK_EQ(rc, -EINVAL);
		CHECK(err[0] != '\0');
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
	}
	/* A spec longer than anything the buffers hold. */
	char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "in_port=", 8);
	struct sw_flow f;
	char err[64];
	CHECK_EQ(sw_flow_parse(big, &f, err, sizeof(err)), -EINVAL);
	/* An error that does not fit the caller's buffer is cut, not overrun. */
	char tiny[4] = "zzz";
	CHECK_EQ(sw_flow_parse("nonsense", &f, tiny, sizeof(tiny)), -EINVAL);
	CHECK_EQ(strlen(tiny), 3);
}

static struct sw_flow *rule(const char *spec)
{
	struct sw_flow *f = calloc(1, sizeof(*f));
	char err[256];
	if (f && sw_flow_parse(spec, f, err, sizeof(err))) {
		fprintf(stderr, "  bad test rule %s: %s\n", spec, err);
		free(f);
		return NULL;
	}
	return f;
}

static void free_all(struct sw_flow_table *t)
{
	struct sw_flow *gone[SW_MAX_PORTS];
	unsigned n = sw_flow_take(t, NULL, gone);
	for (unsigned k = 0; k < n; k++)
		free(gone[k]);
}

static void put(struct sw_flow_table *t, const char *spec)
{
	struct sw_flow *old = NULL, *f = rule(spec);
	if (!f)
		return;
	CHECK(sw_flow_put(t, f, &old) >= 0);
	free(old);
}

/* The precedence rules, in flow.h's order. */
static void test_resolve(void)
{
	struct sw_flow_table t = { { 0 } };
	struct sw_fwd fwd[SW_MAX_PORTS];
	const char *names[SW_MAX_PORTS] = { 0 };
	names[0] = "a", names[1] = "b", names[3] = "c", names[4] = "d", names[5] = "e";
	names[63] = "last";

	put(&t, "in_port=a,actions=output:b");
	put(&t, "in_port=b,actions=drop");
	put(&t, "in_port=c,actions=normal");
	put(&t, "in_port=d,actions=output:gone");
	put(&t, "in_port=e,actions=output:e");
	put(&t, "in_port=gone,actions=output:a");
	put(&t, "in_port=last,actions=output:a");
	memset(fwd, 0x5a, sizeof(fwd));
	sw_flow_resolve(&t, names, fwd);
	/* 4. output to a live port that is not the input: that slot. */
	REQUIRE(fwd[0].flow != NULL);
	CHECK_STR(fwd[0].flow->in, "a");
	CHECK_EQ(fwd[0].out, 1);
	/* 3. drop. */
	REQUIRE(fwd[1].flow != NULL);
	CHECK_EQ(fwd[1].out, SW_FWD_DROP);
	/* 2. normal: the bridge, with the rule still attached for counting. */
	REQUIRE(fwd[3].flow != NULL);
	CHECK_EQ(fwd[3].out, SW_FWD_NORMAL);
	/* 5. output to a missing port, or to the input itself: drop. */
	REQUIRE(fwd[4].flow != NULL);
	CHECK_EQ(fwd[4].out, SW_FWD_DROP);
	REQUIRE(fwd[5].flow != NULL);
	CHECK_EQ(fwd[5].out, SW_FWD_DROP);
	CHECK_EQ(fwd[63].out, 0);
	/* 1. no rule: the learning bridge; an empty slot has nothing. 6. the
	 * rule of a missing input port reaches no slot. */
	CHECK(fwd[2].flow == NULL);
	for (unsigned i = 6; i < 63; i++)
		CHECK(fwd[i].flow == NULL);
	/* 6. The port comes back (in another slot): the rule applies again. */
	names[2] = "gone";
	sw_flow_resolve(&t, names, fwd);
	REQUIRE(fwd[2].flow != NULL);
	CHECK_STR(fwd[2].flow->in, "gone");
	CHECK_EQ(fwd[2].out, 0);
	/* ... and d's output is there now. */
	CHECK_EQ(fwd[4].out, 2);
	/* The output port leaves: its input drops, not floods. */
	names[1] = NULL;
	sw_flow_resolve(&t, names, fwd);
	CHECK_EQ(fwd[0].out, SW_FWD_DROP);
	CHECK(fwd[1].flow == NULL);
	/* An empty table: every slot is on the bridge. */
	free_all(&t);
	sw_flow_resolve(&t, names, fwd);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		CHECK(fwd[i].flow == NULL);
}

/* 7. One rule per input port; a full table; taking rules out and back. */
static void test_table(void)
{
	struct sw_flow_table t = { { 0 } };
	struct sw_flow *old = (struct sw_flow *)1, *f1 = rule("in_port=a,actions=drop");
	struct sw_flow *f2 = rule("in_port=a,actions=normal");
	REQUIRE(f1 && f2);

	int i1 = sw_flow_put(&t, f1, &old);
	CHECK(i1 >= 0);
	CHECK(old == NULL);
	int i2 = sw_flow_put(&t, f2, &old);
	CHECK_EQ(i2, i1);
	CHECK(old == f1);
	free(old);
	unsigned n = 0;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		n += t.rule[i] != NULL;
	CHECK_EQ(n, 1);

	/* Fill: SW_MAX_PORTS input ports in all. */
	char spec[64];
	for (unsigned i = 1; i < SW_MAX_PORTS; i++) {
		snprintf(spec, sizeof(spec), "in_port=p%u,actions=drop", i);
		put(&t, spec);
	}
	struct sw_flow *extra = rule("in_port=one-too-many,actions=drop");
	REQUIRE(extra);
	old = (struct sw_flow *)1;
	CHECK_EQ(sw_flow_put(&t, extra, &old), -ENOSPC);
	CHECK(old == (struct sw_flow *)1);  /* untouched */
	free(extra);
	/* Replacing a rule needs no room. */
	struct sw_flow *f3 = rule("in_port=p7,actions=output:a");
	REQUIRE(f3);
	CHECK(sw_flow_put(&t, f3, &old) >= 0);
	CHECK(old != NULL && strcmp(old->in, "p7") == 0 && old->action == FLOW_DROP);
	free(old);

	struct sw_flow *gone[SW_MAX_PORTS];
	CHECK_EQ(sw_flow_take(&t, "nobody", gone), 0);
	CHECK_EQ(sw_flow_take(&t, "p7", gone), 1);
	CHECK(gone[0] == f3);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		CHECK(t.rule[i] != f3);
	sw_flow_put_back(&t, gone, 1);
	n = 0;
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		n += t.rule[i] == f3;
	CHECK_EQ(n, 1);
	CHECK_EQ(sw_flow_take(&t, NULL, gone), SW_MAX_PORTS);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		CHECK(t.rule[i] == NULL);
		free(gone[i]);
	}
	CHECK_EQ(sw_flow_take(&t, NULL, gone), 0);
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_resolve);
	RUN(test_table);
	return t_done("switch_flow");
}
