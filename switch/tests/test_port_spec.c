/* SPDX-License-Identifier: BSD-3-Clause */
/* Port specs (core/port_spec.h): what each good one means, and every
 * malformed one refused with a reason. */
#include <errno.h>
#include <arpa/inet.h>
#include <string.h>
#include "port_spec.h"
#include "sw_t.h"

#define N63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define N64 N63 "l"
/* 107 bytes: the longest socket path. */
#define P107 "/tmp/" N63 "012345678901234567890123456789012345678"

#define K32 "abcdefghijklmnopqrstuvwxyz-_.:01"
#define K33 K32 "2"
#define V64 N63 "x"
#define V128 V64 V64
#define V129 V128 "y"

static const char *dir = "/run/vhu";

static void test_good(void)
{
	static const struct {
		const char *spec;
		enum sw_port_type type;
		const char *name, *path, *ifname;
		bool client;
		unsigned queues;
	} good[] = {
		{ "vhost-user:vm1", PORT_VHOST, "vm1", "/run/vhu/vm1", "", false, 16 },
		{ "vhost-user:vm1,queues=4", PORT_VHOST, "vm1", "/run/vhu/vm1", "", false, 4 },
		{ "vhost-user:vm1,queues=16", PORT_VHOST, "vm1", "/run/vhu/vm1", "", false, 16 },
		{ "vhost-user:vm1,path=/tmp/s", PORT_VHOST, "vm1", "/tmp/s", "", false, 16 },
		{ "vhost-user:vm1,path=/tmp/s,client,queues=2", PORT_VHOST, "vm1", "/tmp/s", "", true, 2 },
		{ "vhost-user:vm1,client,path=/tmp/s", PORT_VHOST, "vm1", "/tmp/s", "", true, 16 },
		{ "vhost-user:a:b", PORT_VHOST, "a:b", "/run/vhu/a:b", "", false, 16 },
		{ "vhost-user:" N63, PORT_VHOST, N63, "/run/vhu/" N63, "", false, 16 },
		{ "vhost-user:x,path=" P107, PORT_VHOST, "x", P107, "", false, 16 },
		{ "tap:t0", PORT_TAP, "t0", "", "t0", false, 1 },
		{ "tap:t0,ifname=veth9", PORT_TAP, "t0", "", "veth9", false, 1 },
		{ "tap:fifteen-chars", PORT_TAP, "fifteen-chars", "", "fifteen-chars", false, 1 },
		{ "tap:" N63 ",ifname=short", PORT_TAP, N63, "", "short", false, 1 },
		{ "tap:t0,queues=4,offloads=off", PORT_TAP, "t0", "", "t0", false, 4 },
		{ "tap:t0,offloads=on,queues=16", PORT_TAP, "t0", "", "t0", false, 16 },
		{ "afxdp:x0,ifname=veth1", PORT_AFXDP, "x0", "", "veth1", false, 1 },
		{ "afxdp:x0,queues=2,ifname=eth0,mode=native", PORT_AFXDP, "x0", "", "eth0", false, 2 },
		{ "afxdp:x0,ifname=e,mode=generic,zerocopy=off,umem-frames=128", PORT_AFXDP, "x0", "",
		  "e", false, 1 },
	};
	for (size_t i = 0; i < NELEM(good); i++) {
		struct sw_port_spec s;
		char err[256] = "";
		int rc = sw_port_spec_parse(good[i].spec, dir, &s, err, sizeof(err));
		CHECK_EQ(rc, 0);
		if (rc) {
			fprintf(stderr, "  refused: %s (%s)\n", good[i].spec, err);
			continue;
		}
		CHECK_EQ(s.type, good[i].type);
		CHECK_STR(s.name, good[i].name);
		CHECK_EQ(s.client, good[i].client);
		CHECK_EQ(s.queues, good[i].queues);
		CHECK_EQ(s.no_offloads, strstr(good[i].spec, "offloads=off") != NULL);
		if (s.type == PORT_VHOST)
			CHECK_STR(s.path, good[i].path);
		else
			CHECK_STR(s.ifname, good[i].ifname);
	}
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"", ":", "vhost-user", "tap", "vhost-user:", "tap:", "vhost-user:,client",
		"vhostuser:a", "vhost_user:a", "VHOST-USER:a", "foo:a", ":a", " vhost-user:a",
		"vhost-user:a/b", "vhost-user:../x", "vhost-user:a\\b", "vhost-user:a b",
		"vhost-user:a\tb", "vhost-user:" N64, "tap:a/b", "tap:" N64,
		"vhost-user:a,client", "vhost-user:a,queues=0", "vhost-user:a,queues=17",
		"vhost-user:a,queues=-1", "vhost-user:a,queues=1x", "vhost-user:a,queues=",
		"vhost-user:a,queues= 2", "vhost-user:a,queues=99999999999999999999",
		"vhost-user:a,queues=0x2", "vhost-user:a,path=", "vhost-user:a,path=" P107 "x",
		"vhost-user:a,path=/x,path=/y", "vhost-user:a,unknown", "vhost-user:a,",
		"vhost-user:a,,client", "vhost-user:a,client,", "vhost-user:a,Client",
		"vhost-user:a,ifname=x", "vhost-user:a,queues", "vhost-user:a,path",
		"tap:a,client", "tap:a,path=/x", "tap:a,queues=17", "tap:a,queues=0", "tap:a,ifname=",
		"tap:a,offloads", "tap:a,offloads=yes", "vhost-user:a,offloads=off",
		"tap:a,ifname=0123456789abcdef", "tap:a,ifname=x/y", "tap:a,ifname=x y",
		"tap:a,ifname=x:y", "tap:a,", "tap:0123456789abcdef", "tap:a,ifname",
		"vhost-user:a,tag=0", "vhost-user:a,tag=4095", "vhost-user:a,tag=",
		"tap:a,tag=x", "vhost-user:a,tag=10,trunks=20", "vhost-user:a,tag=10,tag=10",
		"vhost-user:a,trunks=", "vhost-user:a,trunks=10::20", "tap:a,trunks=20-10",
		"vhost-user:a,trunks=4095", "vhost-user:a,trunks=10:", "vhost-user:a,tag",
		"vxlan:v", "vxlan:v,local=169.254.0.1,vni=1", "vxlan:v,remote=169.254.0.2,vni=1",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=16777216",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=-1",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,vni=2",
		"vxlan:v,local=169.254.0.1,local=169.254.0.3,remote=169.254.0.2,vni=1",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,remote=169.254.0.2,vni=1",
		"vxlan:v,local=169.254.1,remote=169.254.0.2,vni=1",
		"vxlan:v,local=0.0.0.0,remote=169.254.0.2,vni=1",
		"vxlan:v,local=169.254.0.1,remote=255.255.255.255,vni=1",
		"vxlan:v,local=169.254.0.1,remote=224.0.0.1,vni=1",
		"vxlan:v,local=169.254.0.1,remote=fe80::1,vni=1",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,dstport=0",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,dstport=65536",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,path=/x",
		"tap:t,vni=1", "vhost-user:a,remote=169.254.0.2",
		"vxlan:v,local=fe80::1,remote=fe80::2%e0,vni=1",
		"vxlan:v,local=fe80::1%e0,remote=fe80::2,vni=1",
		"vxlan:v,local=fd00::1%e0,remote=fd00::2,vni=1",
		"vxlan:v,local=fe80::1%,remote=fe80::2%e0,vni=1",
		"vxlan:v,local=fe80::1%e0,remote=169.254.0.2,vni=1",
		"vxlan:v,local=169.254.0.1,remote=fd00::2,vni=1",
		"vxlan:v,local=::,remote=fd00::2,vni=1", "vxlan:v,local=fd00::1,remote=ff02::1,vni=1",
		"vxlan:v,local=fd00::1,remote=::1,vni=1",
		"vxlan:v,local=fd00::1,remote=::ffff:169.254.0.2,vni=1",
		"vxlan:v,local=fe80::1%0123456789abcdef,remote=fe80::2%e0,vni=1",
		/* rxq-affinity=Q:CPU[+Q:CPU...]: Q below queues, each once */
		"vhost-user:a,rxq-affinity=", "vhost-user:a,rxq-affinity=0", "vhost-user:a,rxq-affinity=0:",
		"vhost-user:a,rxq-affinity=:1", "vhost-user:a,rxq-affinity=0:1:2",
		"vhost-user:a,rxq-affinity=0:1+", "vhost-user:a,rxq-affinity=+0:1",
		"vhost-user:a,rxq-affinity=0:1++1:0", "vhost-user:a,rxq-affinity=0:1+0:0",
		"vhost-user:a,rxq-affinity=16:0", "vhost-user:a,rxq-affinity=-1:0",
		"vhost-user:a,rxq-affinity=0:-1", "vhost-user:a,rxq-affinity=0:1x",
		"vhost-user:a,rxq-affinity=0:99999999999", "vhost-user:a,rxq-affinity=0x1:0",
		"vhost-user:a,rxq-affinity=0:1;1:0", "vhost-user:a,rxq-affinity=0: 1",
		"vhost-user:a,queues=2,rxq-affinity=2:0", "vhost-user:a,rxq-affinity=2:0,queues=2",
		"tap:t,rxq-affinity=1:0", "vhost-user:a,rxq-affinity=0:0,rxq-affinity=1:0",
		"vhost-user:a,rxq-affinity", "vhost-user:a,rxq-affinity=0:1048576",
		"vhost-user:a,tx-retries=33", "vhost-user:a,tx-retries=-1", "vhost-user:a,tx-retries=",
		"vhost-user:a,tx-retries=x", "vhost-user:a,tx-retries=1x", "tap:a,tx-retries=1",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,tx-retries=1",
		"vhost-user:a,external-ids:", "vhost-user:a,external-ids:k", "vhost-user:a,external-ids:=v",
		"vhost-user:a,external-ids:k=", "vhost-user:a,external-ids:k=v,external-ids:k=w",
		"vhost-user:a,external-id:k=v", "vhost-user:a,external-ids:k!=v",
		"vhost-user:a,external-ids:k=v\"", "vhost-user:a,external-ids:k=v\\",
		"vhost-user:a,external-ids:k=\x01", "vhost-user:a,external-ids:k=a b",
		"vhost-user:a,external-ids:" K33 "=v", "vhost-user:a,external-ids:k=" V129,
		("vhost-user:a,external-ids:a=1,external-ids:b=1,external-ids:c=1,external-ids:d=1,"
		 "external-ids:e=1,external-ids:f=1,external-ids:g=1,external-ids:h=1,external-ids:i=1"),
		"afxdp:x", "afxdp:x,queues=2", "afxdp:x,ifname=", "afxdp:x,ifname=e,mode=",
		"afxdp:x,ifname=e,mode=drv", "afxdp:x,ifname=e,mode=Native", "afxdp:x,ifname=e,zerocopy",
		"afxdp:x,ifname=e,zerocopy=yes", "afxdp:x,ifname=e,umem-frames=100",
		"afxdp:x,ifname=e,umem-frames=64", "afxdp:x,ifname=e,umem-frames=131072",
		"afxdp:x,ifname=e,umem-frames=", "afxdp:x,ifname=e,umem-frames=0x100",
		"afxdp:x,ifname=e,offloads=off", "afxdp:x,ifname=e,path=/x", "afxdp:x,ifname=e,vni=1",
		"tap:t,mode=native", "vhost-user:a,zerocopy=on", "afxdp:x,ifname=0123456789abcdef",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=1,umem-frames=128",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct sw_port_spec s;
		char err[256] = "";
		int rc = sw_port_spec_parse(bad[i], dir, &s, err, sizeof(err));
		CHECK_EQ(rc, -EINVAL);
		CHECK(err[0] != '\0');
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
	}
	/* Longer than the parser's buffer. */
	char big[2048];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "vhost-user:", 11);
	struct sw_port_spec s;
	char err[64];
	CHECK_EQ(sw_port_spec_parse(big, dir, &s, err, sizeof(err)), -EINVAL);
	/* A socket dir that leaves no room for the name. */
	CHECK_EQ(sw_port_spec_parse("vhost-user:toolong", P107, &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(sw_port_spec_parse("vhost-user:x,path=/s", P107, &s, err, sizeof(err)), 0);
	CHECK_EQ(sw_port_spec_parse("vhost-user:" N63, "/" N63, &s, err, sizeof(err)), -EINVAL);
}

/* A vxlan port: addresses, VNI, port and remotes, in any order. */
static void test_vxlan(void)
{
	struct sw_port_spec s;
	char err[256];
	char spec[1024] = "vxlan:v,vni=0,local=169.254.0.1";

	CHECK_EQ(sw_port_spec_parse("vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=42,tag=10",
				    dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.type, PORT_VXLAN);
	CHECK_EQ(s.vni, 42u);
	CHECK_EQ(s.dstport, 4789);
	CHECK_EQ(s.nremote, 1u);
	CHECK_EQ(s.local.family, AF_INET);
	CHECK_EQ(ntohl(s.local.v4.s_addr), 0xa9fe0001u);
	CHECK_EQ(ntohl(s.remote[0].v4.s_addr), 0xa9fe0002u);
	CHECK_EQ(s.vlan.mode, SW_VLAN_ACCESS);
	/* Up to SW_VXLAN_MAX_REMOTES remotes, then refused. */
	for (unsigned r = 0; r < SW_VXLAN_MAX_REMOTES; r++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ",remote=169.254.1.%u", r + 1);
	strcat(spec, ",dstport=8472");
	CHECK_EQ(sw_port_spec_parse(spec, dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.nremote, (unsigned)SW_VXLAN_MAX_REMOTES);
	CHECK_EQ(s.vni, 0u);
	CHECK_EQ(s.dstport, 8472);
	strcat(spec, ",remote=169.254.2.1");
	CHECK_EQ(sw_port_spec_parse(spec, dir, &s, err, sizeof(err)), -EINVAL);
	/* IPv6: a link-local address names its interface. */
	CHECK_EQ(sw_port_spec_parse("vxlan:v6,local=fe80::1%veth0,remote=fe80::2%veth0,"
				    "remote=fd00::2,vni=7", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.local.family, AF_INET6);
	CHECK_STR(s.local.scope, "veth0");
	CHECK_EQ(s.nremote, 2u);
	CHECK_STR(s.remote[1].scope, "");
	char buf[SW_IP_STRLEN];
	CHECK_STR(sw_ip_str(&s.remote[0], buf, sizeof(buf)), "fe80::2%veth0");
	CHECK(!sw_ip_eq(&s.remote[0], &s.remote[1]));
}

/* tag= and trunks= on both port types become the port's VLAN mode. */
static void test_vlan(void)
{
	struct sw_port_spec s;
	char err[256];

	CHECK_EQ(sw_port_spec_parse("vhost-user:a", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.vlan.mode, SW_VLAN_ALL);
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,tag=10,queues=2", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.vlan.mode, SW_VLAN_ACCESS);
	CHECK_EQ(s.vlan.tag, 10);
	CHECK_EQ(s.queues, 2);
	CHECK_EQ(sw_port_spec_parse("tap:t,trunks=10:20:100-199", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.vlan.mode, SW_VLAN_TRUNK);
	CHECK(sw_vlan_carries(&s.vlan, 150) && sw_vlan_carries(&s.vlan, 20));
	CHECK(!sw_vlan_carries(&s.vlan, 30));
}

/* rxq-affinity pins queues to CPUs; '+' joins the pairs. */
static void test_affinity(void)
{
	struct sw_port_spec s;
	char err[256], buf[256];

	CHECK_EQ(sw_port_spec_parse("vhost-user:a", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0);
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,rxq-affinity=3:1+0:7,queues=4", dir, &s, err,
				    sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0x9);
	CHECK_EQ(s.aff.cpu[0], 7);
	CHECK_EQ(s.aff.cpu[3], 1);
	CHECK_EQ(sw_port_spec_format(&s, dir, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "vhost-user:a,queues=4,rxq-affinity=0:7+3:1");
	CHECK_EQ(sw_port_spec_parse("tap:t,queues=2,rxq-affinity=1:1", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0x2);
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,rxq-affinity=none", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0);
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,rxq-affinity=15:1023", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.cpu[15], 1023);

	/* set-port: VLAN mode and affinity, in order; a bad one changes nothing. */
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,queues=2,tag=10", dir, &s, err, sizeof(err)), 0);
	struct sw_port_spec was = s;
	CHECK_EQ(sw_port_set_parse("rxq-affinity=1:0+0:1", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0x3);
	CHECK_EQ(s.vlan.tag, 10);
	CHECK_EQ(sw_port_set_parse("tag=none,rxq-affinity=none", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.aff.mask, 0);
	CHECK_EQ(s.vlan.mode, SW_VLAN_ALL);
	s = was;
	static const char *const bad[] = {
		"rxq-affinity=2:0", "rxq-affinity=0:1+0:1", "rxq-affinity=", "rxq-affinity=x",
		"tag=20,rxq-affinity=0", "rxq-affinity=0:1,tag=5000", "queues=1", "rxq-affinity",
		"rxq-affinity=0:1,", ",rxq-affinity=0:1",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		CHECK_EQ(sw_port_set_parse(bad[i], &s, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
		CHECK(memcmp(&s, &was, sizeof(s)) == 0);
	}
	CHECK_EQ(sw_port_set_parse("rxq-affinity=2:0", &s, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "queue 2, but the port has 2 queues") != NULL);
}

static void test_afxdp(void)
{
	struct sw_port_spec s;
	char err[256];

	CHECK_EQ(sw_port_spec_parse("afxdp:x,ifname=e", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.xdp_mode, SW_XDP_AUTO);
	CHECK_EQ(s.zerocopy, SW_ZC_AUTO);
	CHECK_EQ(s.umem_frames, SW_XDP_FRAMES_DEFAULT);
	CHECK_EQ(sw_port_spec_parse("afxdp:x,ifname=e,mode=generic,zerocopy=off,umem-frames=65536",
				    dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.xdp_mode, SW_XDP_GENERIC);
	CHECK_EQ(s.zerocopy, SW_ZC_OFF);
	CHECK_EQ(s.umem_frames, 65536);
	CHECK_EQ(sw_port_spec_parse("afxdp:x,ifname=e,mode=native,zerocopy=on", dir, &s, err,
				    sizeof(err)), 0);
	CHECK_EQ(s.xdp_mode, SW_XDP_NATIVE);
	CHECK_EQ(s.zerocopy, SW_ZC_ON);
	CHECK_EQ(sw_port_spec_parse("afxdp:x", dir, &s, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "needs ifname=") != NULL);
}

/* Every spec printed back parses to the same port: what the database
 * stores is what was asked for. */
static void test_format(void)
{
	static const char *const specs[] = {
		"vhost-user:vm1", "vhost-user:vm1,queues=4", "vhost-user:vm1,path=/tmp/s",
		"vhost-user:vm1,path=/run/vhu/vm1,client,queues=2", "vhost-user:a:b,tag=10",
		"tap:t0", "tap:t0,ifname=veth9,offloads=off,queues=4", "tap:t1,trunks=0:10:100-199",
		"vxlan:v,local=169.254.0.1,remote=169.254.0.2,remote=169.254.0.3,vni=0,dstport=8472",
		"vxlan:v6,local=fe80::1%e0,remote=fe80::2%e0,vni=16777215,tag=4094",
		"vhost-user:vm1,queues=16", "vhost-user:vm1,queues=1,rxq-affinity=0:3",
		"tap:t0,queues=3,trunks=10,rxq-affinity=2:0+1:1",
		"vhost-user:vm1,tx-retries=0", "vhost-user:vm1,tx-retries=32,external-ids:iface-id=x",
		"tap:t0,external-ids:" K32 "=" V128 ",external-ids:b=~!#$%&'()*+-./:;<=>?@[]^_`{|}",
		("vxlan:v,local=169.254.0.1,remote=169.254.0.2,vni=5,external-ids:a=1,external-ids:b=2,"
		 "external-ids:c=3,external-ids:d=4,external-ids:e=5,external-ids:f=6,external-ids:g=7,"
		 "external-ids:h=8"),
		"afxdp:x0,ifname=veth1", "afxdp:x1,ifname=eth0,mode=native,zerocopy=on,queues=4",
		"afxdp:x2,ifname=e,mode=generic,zerocopy=off,umem-frames=512,tag=10",
	};
	for (size_t i = 0; i < NELEM(specs); i++) {
		struct sw_port_spec a, b;
		char err[256], buf[2048];
		CHECK_EQ(sw_port_spec_parse(specs[i], dir, &a, err, sizeof(err)), 0);
		CHECK_EQ(sw_port_spec_format(&a, dir, buf, sizeof(buf)), 0);
		CHECK_EQ(sw_port_spec_parse(buf, dir, &b, err, sizeof(err)), 0);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		if (memcmp(&a, &b, sizeof(a)))
			fprintf(stderr, "  '%s' came back as '%s'\n", specs[i], buf);
		/* A buffer too small is said so, never overrun. */
		char small[5];
		CHECK_EQ(sw_port_spec_format(&a, dir, small, sizeof(small)), -ENOSPC);
	}
	struct sw_port_spec a;
	char err[256], buf[64];
	sw_port_spec_parse("vhost-user:vm1", dir, &a, err, sizeof(err));
	sw_port_spec_format(&a, dir, buf, sizeof(buf));
	CHECK_STR(buf, "vhost-user:vm1");
}

/* tx-retries and external-ids in a spec. */
static void test_ext_ids(void)
{
	struct sw_port_spec s;
	char err[256];

	CHECK_EQ(sw_port_spec_parse("vhost-user:a", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.tx_retries, SW_TX_RETRIES_DEFAULT);
	CHECK_EQ(s.ext.n, 0u);
	CHECK_EQ(sw_port_spec_parse("vhost-user:a,external-ids:iface-id=5d1f,tx-retries=0,"
				    "external-ids:vm=x=y", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(s.tx_retries, 0);
	CHECK_EQ(s.ext.n, 2u);
	CHECK_STR(s.ext.id[0].key, "iface-id");
	CHECK_STR(sw_ext_ids_get(&s.ext, "iface-id"), "5d1f");
	CHECK_STR(sw_ext_ids_get(&s.ext, "vm"), "x=y");
	CHECK(sw_ext_ids_get(&s.ext, "iface") == NULL);
	CHECK_EQ(sw_ext_id_prefix("external-id:k=v"), 12u);
	CHECK_EQ(sw_ext_id_prefix("external-ids:k=v"), 13u);
	CHECK_EQ(sw_ext_id_prefix("external_ids:k=v"), 0u);
}

/* set-port's options: applied in order, all or nothing. */
static void test_set(void)
{
	struct sw_port_spec s, t;
	char err[256];

	CHECK_EQ(sw_port_spec_parse("vhost-user:a,external-ids:k=1", dir, &s, err, sizeof(err)), 0);
	CHECK_EQ(sw_port_set_parse("tag=10,external-ids:o=2,tx-retries=3,external-ids:k=", &s, err,
				   sizeof(err)), 0);
	CHECK_EQ(s.vlan.mode, SW_VLAN_ACCESS);
	CHECK_EQ(s.tx_retries, 3);
	CHECK_EQ(s.ext.n, 1u);
	CHECK_STR(s.ext.id[0].key, "o");
	/* Setting a key again replaces its value; removing a missing one is fine. */
	CHECK_EQ(sw_port_set_parse("external-ids:o=3,external-ids:gone=", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.ext.n, 1u);
	CHECK_STR(sw_ext_ids_get(&s.ext, "o"), "3");
	static const char *const bad[] = {
		"", ",", "tag=10,", "tx-retries=33", "tx-retries=", "queues=2", "client",
		"external-ids:", "external-ids:=1", "external-ids:k!=1", "external-ids:" K33 "=1",
		"external-ids:k=" V129, "external-id:k=1", "external-ids:k=1,tag=5000",
		("external-ids:b=1,external-ids:c=1,external-ids:d=1,external-ids:e=1,"
		 "external-ids:f=1,external-ids:g=1,external-ids:h=1,external-ids:i=1"),
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		t = s;
		err[0] = '\0';
		CHECK_EQ(sw_port_set_parse(bad[i], &t, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
		CHECK(memcmp(&t, &s, sizeof(s)) == 0);
		if (memcmp(&t, &s, sizeof(s)))
			fprintf(stderr, "  '%s' changed the spec\n", bad[i]);
	}
	/* Seven more fill the port's eight; removing one makes room again. */
	CHECK_EQ(sw_port_set_parse("external-ids:b=1,external-ids:c=1,external-ids:d=1,"
				   "external-ids:e=1,external-ids:f=1,external-ids:g=1,"
				   "external-ids:h=1", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.ext.n, (unsigned)SW_EXT_IDS_MAX);
	CHECK_EQ(sw_port_set_parse("external-ids:i=1", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(sw_port_set_parse("external-ids:o=,external-ids:i=1", &s, err, sizeof(err)), 0);
	CHECK_STR(s.ext.id[SW_EXT_IDS_MAX - 1].key, "i");
	/* tx-retries is a vhost-user port's. */
	CHECK_EQ(sw_port_spec_parse("tap:t", dir, &t, err, sizeof(err)), 0);
	CHECK_EQ(sw_port_set_parse("tx-retries=1", &t, err, sizeof(err)), -EINVAL);
}

static void test_name_sep(void)
{
	CHECK(!sw_port_name_has_sep("abc", 3));
	CHECK(sw_port_name_has_sep("a/c", 3));
	CHECK(sw_port_name_has_sep("a\\c", 3));
	/* Only the first len bytes count. */
	CHECK(!sw_port_name_has_sep("ab/", 2));
}

int main(void)
{
	RUN(test_good);
	RUN(test_bad);
	RUN(test_vlan);
	RUN(test_vxlan);
	RUN(test_affinity);
	RUN(test_afxdp);
	RUN(test_format);
	RUN(test_ext_ids);
	RUN(test_set);
	RUN(test_name_sep);
	return t_done("switch_port_spec");
}
