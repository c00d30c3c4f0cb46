/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afxdp ports in a vhu-switch built without libxdp and libbpf (a cross
 * build whose sysroot lacks them): the spec parses, the port is refused
 * with the reason. No port ever opens, so the data path is never called.
 */
#include <errno.h>
#include <stdio.h>
#include "sw.h"

int afxdp_port_open(struct port *p, char *err, size_t errlen)
{
	snprintf(err, errlen, "port %s: this vhu-switch was built without libxdp (AF_XDP)",
		 p->name);
	return -EOPNOTSUPP;
}

void afxdp_port_close(struct port *p)
{
	(void)p;
}

uint16_t afxdp_rx(struct port *p, uint16_t q, struct vhu_pkt_pool *pool,
		  struct vhu_pkt **pkts, uint16_t n)
{
	(void)p, (void)q, (void)pool, (void)pkts, (void)n;
	return 0;
}

void afxdp_tx(struct port *p, unsigned pmd, struct vhu_pkt **pkts, uint16_t n)
{
	(void)p, (void)pmd, (void)pkts, (void)n;
}

const char *afxdp_mode(const struct port *p)
{
	(void)p;
	return "none";
}

bool afxdp_zerocopy(const struct port *p)
{
	(void)p;
	return false;
}

void afxdp_stats(const struct port *p, unsigned q, uint64_t v[AFXDP_NSTATS])
{
	(void)p, (void)q, (void)v;
}
