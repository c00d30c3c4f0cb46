/* SPDX-License-Identifier: BSD-3-Clause */
/* vhu-switch's options (core/opts.h): defaults, good command lines, and
 * every malformed one refused with a reason. */
#include <errno.h>
#include "ctl_proto.h"
#include "opts.h"
#include "sw_t.h"

#define MAX_ARGV 160

/* Parses the words of line (NULL-terminated) after "vhu-switch". */
static int parse(struct sw_opts *o, const char *const *words, char *err, size_t errlen)
{
	char *argv[MAX_ARGV + 2];
	int argc = 0;

	argv[argc++] = (char *)"vhu-switch";
	for (; *words && argc <= MAX_ARGV; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	sw_opts_default(o);
	return sw_opts_parse(o, argc, argv, err, errlen);
}

#define PARSE(o, ...) parse((o), (const char *const[]){ __VA_ARGS__, NULL }, err, sizeof(err))

static void test_defaults(void)
{
	struct sw_opts o;
	char err[256] = "";

	CHECK_EQ(parse(&o, (const char *const[]){ NULL }, err, sizeof(err)), 0);
	CHECK_STR(o.control, "/run/vhu/vhu-switch.ctl");
	CHECK_STR(o.control, VHU_CTL_DEFAULT_PATH);
	CHECK_STR(o.sock_dir, "/run/vhu");
	CHECK_EQ(o.nb_pmds, 1);
	CHECK(!o.pinned);
	CHECK_EQ(sw_opts_pmd_on_cpu(&o, 0), -1);   /* not pinned: no CPU has one */
	CHECK_EQ(o.mac_age, 300);
	CHECK_EQ(o.sock_mode, 0);
	CHECK_EQ(o.disable, 0);
	CHECK_EQ(o.nb_ports, 0);
	CHECK_EQ(o.nb_flows, 0);
	CHECK(!o.no_ring_resync);
	CHECK_EQ(o.zero_copy, SW_ZERO_COPY_DEFAULT);
	CHECK(!o.populate_mem);
	CHECK(o.db == NULL);
	CHECK(o.sock_group == NULL);
	CHECK_EQ(o.io_timeout_ms, 3000);
	CHECK_EQ(o.max_connections, 1024);
}

static void test_good(void)
{
	struct sw_opts o;
	char err[256] = "";

	CHECK_EQ(PARSE(&o, "--control", "/tmp/x.ctl", "--socket-dir", "/tmp/d", "--pmd-cpus", "0,2-3",
		       "--mac-age", "1", "--socket-mode", "0660", "--port", "vhost-user:a",
		       "--port=tap:t", "--flow", "in_port=a,actions=drop", "--no-ring-resync",
		       "--populate-mem",
		       "--disable-features", "mrg_rxbuf", "--disable-protocol-features", "rarp",
		       "--db", "/var/lib/vhu/switch.db", "--socket-group", "kvm",
		       "--no-zero-copy"), 0);
	CHECK(!o.zero_copy);
	CHECK_STR(o.control, "/tmp/x.ctl");
	CHECK_STR(o.sock_group, "kvm");
	CHECK_STR(o.db, "/var/lib/vhu/switch.db");
	CHECK_STR(o.sock_dir, "/tmp/d");
	CHECK_EQ(o.nb_pmds, 3);
	CHECK(o.pinned);
	CHECK_EQ(o.pmd_cpus[0], 0);
	CHECK_EQ(o.pmd_cpus[1], 2);
	CHECK_EQ(o.pmd_cpus[2], 3);
	/* rxq-affinity names CPUs: the PMD on each, none elsewhere. */
	CHECK_EQ(sw_opts_pmd_on_cpu(&o, 0), 0);
	CHECK_EQ(sw_opts_pmd_on_cpu(&o, 2), 1);
	CHECK_EQ(sw_opts_pmd_on_cpu(&o, 3), 2);
	CHECK_EQ(sw_opts_pmd_on_cpu(&o, 1), -1);
	CHECK_EQ(o.mac_age, 1);
	CHECK_EQ(o.sock_mode, 0660);
	CHECK_EQ(o.nb_ports, 2);
	CHECK_STR(o.ports[0], "vhost-user:a");
	CHECK_STR(o.ports[1], "tap:t");
	CHECK_EQ(o.nb_flows, 1);
	CHECK(o.no_ring_resync);
	CHECK(o.populate_mem);
	CHECK_EQ(o.disable, 1ULL << 15);
	struct sw_opts o2;
	CHECK_EQ(PARSE(&o2, "--no-zero-copy", "--zero-copy"), 0);
	CHECK(o2.zero_copy);
	CHECK_EQ(o.disable_proto, 1ULL << 2);

	CHECK_EQ(PARSE(&o, "--mac-age", "31536000", "--socket-mode", "0", "--pmd-cpus", "0-15"), 0);
	CHECK_EQ(o.mac_age, 31536000);
	CHECK_EQ(o.nb_pmds, 16);
	CHECK_EQ(o.pmd_cpus[15], 15);
	CHECK_EQ(PARSE(&o, "--pmd-cpus", "7"), 0);
	CHECK_EQ(o.nb_pmds, 1);
	CHECK_EQ(o.pmd_cpus[0], 7);
	CHECK(o.pinned);
	/* The last --pmd-cpus wins, it does not add up. */
	CHECK_EQ(PARSE(&o, "--pmd-cpus", "0-3", "--pmd-cpus", "5"), 0);
	CHECK_EQ(o.nb_pmds, 1);
	CHECK_EQ(o.pmd_cpus[0], 5);
	CHECK_EQ(PARSE(&o, "--help"), 1);
	CHECK_EQ(PARSE(&o, "--io-timeout-ms", "500", "--max-connections", "1"), 0);
	CHECK_EQ(o.io_timeout_ms, 500);
	CHECK_EQ(o.max_connections, 1);
	CHECK_EQ(PARSE(&o, "--io-timeout-ms=100", "--max-connections=1048576"), 0);
	CHECK_EQ(o.io_timeout_ms, 100);
	CHECK_EQ(o.max_connections, 1u << 20);
	CHECK_EQ(PARSE(&o, "--io-timeout-ms", "3600000"), 0);
	CHECK_EQ(o.io_timeout_ms, 3600000);

	/* SW_MAX_PORTS --port and --flow, the most there can be. */
	const char *w[2 * SW_MAX_PORTS + 1];
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		w[2 * i] = "--port", w[2 * i + 1] = "tap:x";
	w[2 * SW_MAX_PORTS] = NULL;
	CHECK_EQ(parse(&o, w, err, sizeof(err)), 0);
	CHECK_EQ(o.nb_ports, SW_MAX_PORTS);
}

static void test_bad(void)
{
	static const char *const bad[][3] = {
		{ "--pmd-cpus", "" }, { "--pmd-cpus", "," }, { "--pmd-cpus", "1," },
		{ "--pmd-cpus", ",1" }, { "--pmd-cpus", "1,,2" }, { "--pmd-cpus", "a" },
		{ "--pmd-cpus", "-1" }, { "--pmd-cpus", "+1" }, { "--pmd-cpus", "3-2" },
		{ "--pmd-cpus", "1-" }, { "--pmd-cpus", "-" }, { "--pmd-cpus", "1-+2" },
		{ "--pmd-cpus", "1--2" }, { "--pmd-cpus", "1-x" }, { "--pmd-cpus", "1x" },
		{ "--pmd-cpus", "0-16" }, { "--pmd-cpus", "1,1" }, { "--pmd-cpus", "0-2,2" },
		{ "--pmd-cpus", "1024" }, { "--pmd-cpus", "99999999999999999999" },
		{ "--pmd-cpus", "0-99999999999999999999" }, { "--pmd-cpus", " 1" },
		{ "--mac-age", "0" }, { "--mac-age", "-5" }, { "--mac-age", "31536001" },
		{ "--mac-age", "abc" }, { "--mac-age", "" }, { "--mac-age", "10s" },
		{ "--mac-age", " 10" }, { "--mac-age", "+10" }, { "--mac-age", "99999999999999999999" },
		{ "--socket-mode", "8" }, { "--socket-mode", "1000" }, { "--socket-mode", "0778" },
		{ "--socket-mode", "-1" }, { "--socket-mode", "" }, { "--socket-mode", "rw" },
		{ "--disable-features", "bogus" }, { "--disable-features", "64" },
		{ "--disable-features", "mrg_rxbuf,bogus" },
		{ "--disable-protocol-features", "bogus" },
		{ "--control", "" }, { "--socket-dir", "" }, { "--db", "" }, { "--db" },
		{ "--socket-group", "" }, { "--socket-group" },
		{ "--bogus" }, { "-x" }, { "extra" }, { "--port" }, { "--flow" }, { "--control" },
		{ "--mac-age" }, { "--help=yes" }, { "--no-ring-resync=1" },
		{ "--zero-copy=1" }, { "--no-zero-copy=on" },
		{ "--populate-mem=1" },
		{ "--io-timeout-ms", "0" }, { "--io-timeout-ms", "99" }, { "--io-timeout-ms", "-1" },
		{ "--io-timeout-ms", "3600001" }, { "--io-timeout-ms", "1s" },
		{ "--io-timeout-ms", "" }, { "--io-timeout-ms", "99999999999999999999" },
		{ "--io-timeout-ms" }, { "--max-connections", "0" }, { "--max-connections", "-1" },
		{ "--max-connections", "1048577" }, { "--max-connections", "x" },
		{ "--max-connections", " 1" }, { "--max-connections", "" }, { "--max-connections" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct sw_opts o;
		char err[256] = "";
		int rc = parse(&o, bad[i], err, sizeof(err));
		CHECK_EQ(rc, -EINVAL);
		CHECK(err[0] != '\0');
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted: %s %s\n", bad[i][0], bad[i][1] ? bad[i][1] : "");
	}
	/* One --port more than there are slots. */
	struct sw_opts o;
	char err[256] = "";
	const char *w[2 * SW_MAX_PORTS + 3];
	for (unsigned i = 0; i <= SW_MAX_PORTS; i++)
		w[2 * i] = "--flow", w[2 * i + 1] = "x";
	w[2 * SW_MAX_PORTS + 2] = NULL;
	CHECK_EQ(parse(&o, w, err, sizeof(err)), -EINVAL);
	for (unsigned i = 0; i <= SW_MAX_PORTS; i++)
		w[2 * i] = "--port";
	CHECK_EQ(parse(&o, w, err, sizeof(err)), -EINVAL);
	/* A list longer than the parser's buffer. */
	char big[1024];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(PARSE(&o, "--pmd-cpus", big), -EINVAL);
	CHECK_EQ(PARSE(&o, "--disable-features", big), -EINVAL);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_good);
	RUN(test_bad);
	return t_done("switch_opts");
}
