/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing a port SPEC (the grammar is in port_spec.h). */
#include <ctype.h>
#include <sched.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vhu/vhu.h>
#include "ctl_proto.h"
#include "port_spec.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

bool sw_port_name_has_sep(const char *name, size_t len)
{
	return memchr(name, '/', len) || memchr(name, '\\', len);
}

static bool is_vlan_opt(const char *tok)
{
	return strncmp(tok, "tag=", 4) == 0 || strncmp(tok, "trunks=", 7) == 0;
}

static int vlan_opt(struct sw_vlan *v, const char *name, const char *tok, char *err,
		    size_t errlen)
{
	char e[160];
	int rc = tok[1] == 'a' ? sw_vlan_parse_tag(v, tok + 4, e, sizeof(e)) :
				 sw_vlan_parse_trunks(v, tok + 7, e, sizeof(e));
	return rc < 0 ? ERR("port %s: %s", name, e) : 0;
}

uint16_t sw_port_default_queues(enum sw_port_type t)
{
	return t == PORT_VHOST ? VHU_MAX_QUEUE_PAIRS : 1;
}

static bool is_aff_opt(const char *tok)
{
	return strncmp(tok, "rxq-affinity=", 13) == 0;
}

/* A decimal of 1..max digits-only, or -1. */
static long decimal(const char *s, long max)
{
	char *end;
	if (!isdigit((unsigned char)*s) || strlen(s) > 8)
		return -1;
	long v = strtol(s, &end, 10);
	return *end || v > max ? -1 : v;
}

int sw_rxq_affinity_parse(const char *s, uint16_t queues, struct sw_rxq_affinity *a,
			  char *err, size_t errlen)
{
	struct sw_rxq_affinity n = { 0 };
	char buf[SW_AFF_FMT_MAX * 2], *save = NULL;

	if (strcmp(s, "none") == 0) {
		*a = n;
		return 0;
	}
	if (!*s || strlen(s) >= sizeof(buf) || *s == '+' || s[strlen(s) - 1] == '+' ||
	    strstr(s, "++"))
		return ERR("bad rxq-affinity '%.80s': want Q:CPU[+Q:CPU...] or none", s);
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
		char *colon = strchr(tok, ':');
		long q = -1, cpu = -1;
		if (colon) {
			*colon = '\0';
			q = decimal(tok, VHU_MAX_QUEUE_PAIRS - 1);
			cpu = decimal(colon + 1, CPU_SETSIZE - 1);
		}
		if (q < 0 || cpu < 0)
			return ERR("bad rxq-affinity '%.80s': want Q:CPU[+Q:CPU...] (Q 0..%d, CPU "
				   "0..%d) or none", s, VHU_MAX_QUEUE_PAIRS - 1, CPU_SETSIZE - 1);
		if (q >= queues)
			return ERR("rxq-affinity '%.80s': queue %ld, but the port has %u queue%s", s,
				   q, queues, queues == 1 ? "" : "s");
		if (n.mask & (1u << q))
			return ERR("rxq-affinity '%.80s': queue %ld given twice", s, q);
		n.mask |= 1u << q;
		n.cpu[q] = (uint16_t)cpu;
	}
	*a = n;
	return 0;
}

void sw_rxq_affinity_format(const struct sw_rxq_affinity *a, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned q = 0; q < VHU_MAX_QUEUE_PAIRS && off < len; q++) {
		if (!(a->mask & (1u << q)))
			continue;
		int w = snprintf(buf + off, len - off, "%s%u:%u", off ? "+" : "rxq-affinity=", q,
				 a->cpu[q]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int tx_retries_opt(struct sw_port_spec *p, const char *v, char *err, size_t errlen)
{
	long n = decimal(v, SW_TX_RETRIES_MAX);
	if (p->type != PORT_VHOST)
		return ERR("port %s: tx-retries is for vhost-user ports", p->name);
	if (n < 0)
		return ERR("port %s: bad tx-retries '%s' (0..%d)", p->name, v, SW_TX_RETRIES_MAX);
	p->tx_retries = (uint8_t)n;
	return 0;
}

/* external-ids:KEY=VALUE; in a spec (!set) VALUE may not be empty and
 * each KEY comes once. */
static int ext_id_opt(struct sw_port_spec *p, const char *kv, bool set, char *err,
		      size_t errlen)
{
	struct sw_ext_id id;
	char e[200];

	if (sw_ext_id_parse(kv, set, &id, e, sizeof(e)) < 0)
		return ERR("port %s: %s", p->name, e);
	if (!set && sw_ext_ids_get(&p->ext, id.key))
		return ERR("port %s: external-id %s given twice", p->name, id.key);
	if (sw_ext_ids_set(&p->ext, &id, e, sizeof(e)) < 0)
		return ERR("port %s: %s", p->name, e);
	return 0;
}

int sw_port_set_parse(const char *opts, struct sw_port_spec *s, char *err, size_t errlen)
{
	struct sw_port_spec ns = *s;
	const char *o = opts;

	do {
		const char *comma = strchr(o, ',');
		size_t n = comma ? (size_t)(comma - o) : strlen(o), pre;
		char tok[256], e[200];
		int rc;
		if (!n || n >= sizeof(tok))
			return ERR("port %s: bad option list '%.200s'", s->name, opts);
		memcpy(tok, o, n);
		tok[n] = '\0';
		if (is_vlan_opt(tok))
			rc = vlan_opt(&ns.vlan, s->name, tok, err, errlen);
		else if (is_aff_opt(tok))
			rc = sw_rxq_affinity_parse(tok + 13, ns.queues, &ns.aff, e, sizeof(e)) < 0 ?
				     ERR("port %s: %s", s->name, e) : 0;
		else if (strncmp(tok, "tx-retries=", 11) == 0)
			rc = tx_retries_opt(&ns, tok + 11, err, errlen);
		else if ((pre = sw_ext_id_prefix(tok)) == strlen(SW_EXT_IDS_OPT))
			rc = ext_id_opt(&ns, tok + pre, true, err, errlen);
		else
			rc = ERR("port %s: set-port takes tag=VID|none, trunks=LIST|none, "
				 "rxq-affinity=Q:CPU[+Q:CPU...]|none, tx-retries=N and "
				 "external-ids:KEY=[VALUE], not '%s'", s->name, tok);
		if (rc < 0)
			return -EINVAL;
		o = comma ? comma + 1 : NULL;
	} while (o);
	*s = ns;
	return 0;
}

static bool is_vxlan_opt(const char *tok)
{
	return strncmp(tok, "local=", 6) == 0 || strncmp(tok, "remote=", 7) == 0 ||
	       strncmp(tok, "vni=", 4) == 0 || strncmp(tok, "dstport=", 8) == 0;
}

static int vxlan_opt(struct sw_port_spec *p, const char *tok, char *err, size_t errlen)
{
	const char *v = strchr(tok, '=') + 1;
	long n;

	switch (tok[0]) {
	case 'l':
		if (p->local.family || sw_ip_parse(v, &p->local) < 0)
			return ERR("port %s: bad local '%s' (one unicast address; IPv6 link-local "
				   "with %%IFNAME)", p->name, v);
		return 0;
	case 'r':
		if (p->nremote == SW_VXLAN_MAX_REMOTES)
			return ERR("port %s: more than %d remotes", p->name, SW_VXLAN_MAX_REMOTES);
		if (sw_ip_parse(v, &p->remote[p->nremote]) < 0)
			return ERR("port %s: bad remote '%s' (a unicast address; IPv6 link-local "
				   "with %%IFNAME)", p->name, v);
		for (unsigned i = 0; i < p->nremote; i++)
			if (sw_ip_eq(&p->remote[i], &p->remote[p->nremote]))
				return ERR("port %s: remote %s given twice", p->name, v);
		p->nremote++;
		return 0;
	case 'v':
		if (p->vni <= SW_VXLAN_VNI_MAX || (n = decimal(v, SW_VXLAN_VNI_MAX)) < 0)
			return ERR("port %s: bad vni '%s' (once, 0..%d)", p->name, v, SW_VXLAN_VNI_MAX);
		p->vni = (uint32_t)n;
		return 0;
	default:
		if ((n = decimal(v, 65535)) < 1)
			return ERR("port %s: bad dstport '%s' (1..65535)", p->name, v);
		p->dstport = (uint16_t)n;
		return 0;
	}
}

/* The words an option takes, in the enum's order. */
static const char *const xdp_modes[] = { "auto", "native", "generic" };
static const char *const xdp_zcs[] = { "auto", "on", "off" };

static int word(const char *v, const char *const *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(v, w[i]) == 0)
			return (int)i;
	return -1;
}

static bool is_afxdp_opt(const char *tok)
{
	return strncmp(tok, "mode=", 5) == 0 || strncmp(tok, "zerocopy=", 9) == 0 ||
	       strncmp(tok, "umem-frames=", 12) == 0;
}

static int afxdp_opt(struct sw_port_spec *p, const char *tok, char *err, size_t errlen)
{
	const char *v = strchr(tok, '=') + 1;
	int w;
	long n;

	switch (tok[0]) {
	case 'm':
		if ((w = word(v, xdp_modes, 3)) < 0)
			return ERR("port %s: bad mode '%s' (auto, native or generic)", p->name, v);
		p->xdp_mode = (enum sw_xdp_mode)w;
		return 0;
	case 'z':
		if ((w = word(v, xdp_zcs, 3)) < 0)
			return ERR("port %s: bad zerocopy '%s' (auto, on or off)", p->name, v);
		p->zerocopy = (enum sw_xdp_zc)w;
		return 0;
	default:
		n = decimal(v, SW_XDP_FRAMES_MAX);
		if (n < SW_XDP_FRAMES_MIN || (n & (n - 1)))
			return ERR("port %s: bad umem-frames '%s' (a power of two, %d..%d)", p->name,
				   v, SW_XDP_FRAMES_MIN, SW_XDP_FRAMES_MAX);
		p->umem_frames = (uint32_t)n;
		return 0;
	}
}

/* Options split at ',' with empty options refused (strtok would skip them). */
static int parse_opts(struct sw_port_spec *p, char *opts, char *err, size_t errlen)
{
	bool have_path = false, have_vlan = false;
	const char *aff = NULL;

	while (opts) {
		char *tok = opts, *comma = strchr(opts, ',');
		if (comma)
			*comma = '\0';
		opts = comma ? comma + 1 : NULL;
		if (!*tok)
			return ERR("port %s: empty option", p->name);
		if (p->type == PORT_VHOST && strncmp(tok, "path=", 5) == 0) {
			if (have_path || strlen(tok + 5) == 0 || strlen(tok + 5) >= sizeof(p->path))
				return ERR("port %s: bad path '%s' (once, 1..%zu bytes)", p->name,
					   tok + 5, sizeof(p->path) - 1);
			strcpy(p->path, tok + 5);
			have_path = true;
		} else if (p->type == PORT_VHOST && strcmp(tok, "client") == 0) {
			p->client = true;
		} else if (strncmp(tok, "queues=", 7) == 0) {
			char *end;
			errno = 0;
			long q = strtol(tok + 7, &end, 10);
			if (!isdigit((unsigned char)tok[7]) || errno || *end || q < 1 ||
			    q > VHU_MAX_QUEUE_PAIRS)
				return ERR("port %s: queues must be 1..%d", p->name, VHU_MAX_QUEUE_PAIRS);
			p->queues = (uint16_t)q;
		} else if ((p->type == PORT_TAP || p->type == PORT_AFXDP) &&
			   strncmp(tok, "ifname=", 7) == 0) {
			if (strlen(tok + 7) == 0 || strlen(tok + 7) >= IFNAMSIZ ||
			    strpbrk(tok + 7, "/ \t:"))
				return ERR("port %s: bad ifname '%s'", p->name, tok + 7);
			strcpy(p->ifname, tok + 7);
		} else if (p->type == PORT_TAP && strcmp(tok, "offloads=on") == 0) {
			p->no_offloads = false;
		} else if (p->type == PORT_TAP && strcmp(tok, "offloads=off") == 0) {
			p->no_offloads = true;
		} else if (strncmp(tok, "tx-retries=", 11) == 0) {
			if (tx_retries_opt(p, tok + 11, err, errlen) < 0)
				return -EINVAL;
		} else if (sw_ext_id_prefix(tok) == strlen(SW_EXT_IDS_OPT)) {
			if (ext_id_opt(p, tok + strlen(SW_EXT_IDS_OPT), false, err, errlen) < 0)
				return -EINVAL;
		} else if (p->type == PORT_AFXDP && is_afxdp_opt(tok)) {
			if (afxdp_opt(p, tok, err, errlen) < 0)
				return -EINVAL;
		} else if (p->type == PORT_VXLAN && is_vxlan_opt(tok)) {
			if (vxlan_opt(p, tok, err, errlen) < 0)
				return -EINVAL;
		} else if (is_aff_opt(tok)) {
			if (aff)
				return ERR("port %s: rxq-affinity= given twice", p->name);
			aff = tok + 13;
		} else if (is_vlan_opt(tok)) {
			if (have_vlan)
				return ERR("port %s: one of tag= and trunks=, once", p->name);
			have_vlan = true;
			if (vlan_opt(&p->vlan, p->name, tok, err, errlen) < 0)
				return -EINVAL;
		} else {
			return ERR("port %s: unknown option '%s'", p->name, tok);
		}
	}
	if (p->type == PORT_VXLAN && (!p->local.family || !p->nremote || p->vni > SW_VXLAN_VNI_MAX))
		return ERR("port %s: a vxlan port needs local=, remote= and vni=", p->name);
	for (unsigned i = 0; p->type == PORT_VXLAN && i < p->nremote; i++)
		if (p->remote[i].family != p->local.family)
			return ERR("port %s: local and remotes must all be IPv4 or all IPv6", p->name);
	if (p->type == PORT_AFXDP && !p->ifname[0])
		return ERR("port %s: an afxdp port needs ifname= (the interface whose queues it takes)",
			   p->name);
	if (p->type == PORT_VHOST && p->client && !have_path)
		return ERR("port %s: a client port needs path=", p->name);
	/* After queues=, which bounds it, wherever that came. */
	char e[200];
	if (aff && sw_rxq_affinity_parse(aff, p->queues, &p->aff, e, sizeof(e)) < 0)
		return ERR("port %s: %s", p->name, e);
	return have_path;
}

int sw_port_spec_parse(const char *spec, const char *sock_dir, struct sw_port_spec *p,
		       char *err, size_t errlen)
{
	char buf[VHU_CTL_SPEC_MAX];
	const char *colon = strchr(spec, ':');

	memset(p, 0, sizeof(*p));
	if (!colon)
		return ERR("bad port spec '%s': want TYPE:NAME[,...] (vhost-user, tap, vxlan, afxdp)",
			   spec);
	if (strlen(spec) >= sizeof(buf))
		return ERR("port spec too long");
	if ((size_t)(colon - spec) == 10 && strncmp(spec, "vhost-user", 10) == 0)
		p->type = PORT_VHOST;
	else if ((size_t)(colon - spec) == 3 && strncmp(spec, "tap", 3) == 0)
		p->type = PORT_TAP;
	else if ((size_t)(colon - spec) == 5 && strncmp(spec, "vxlan", 5) == 0)
		p->type = PORT_VXLAN;
	else if ((size_t)(colon - spec) == 5 && strncmp(spec, "afxdp", 5) == 0)
		p->type = PORT_AFXDP;
	else
		return ERR("unknown port type in '%s' (vhost-user, tap, vxlan or afxdp)", spec);
	strcpy(buf, colon + 1);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	const char *name = buf;
	if (!*name)
		return ERR("port spec '%s' has no name", spec);
	/* The name becomes a file in the socket directory: '/' or '\' would
	 * reach outside it (the seeds' OVS check). */
	if (sw_port_name_has_sep(name, strlen(name)))
		return ERR("\"%s\" is not a valid port name: a name must not include '/' or '\\'", name);
	/* Control requests are split at blanks: such a name could not be named. */
	if (strpbrk(name, " \t"))
		return ERR("\"%s\" is not a valid port name: no blanks", name);
	if (strlen(name) >= sizeof(p->name))
		return ERR("port name '%s' too long (max %zu)", name, sizeof(p->name) - 1);
	strcpy(p->name, name);
	p->queues = sw_port_default_queues(p->type);
	p->tx_retries = SW_TX_RETRIES_DEFAULT;
	p->vni = SW_VXLAN_VNI_MAX + 1; /* unset */
	p->dstport = SW_VXLAN_PORT;
	p->umem_frames = SW_XDP_FRAMES_DEFAULT;
	int have_path = parse_opts(p, comma ? comma + 1 : NULL, err, errlen);
	if (have_path < 0)
		return have_path;
	if (p->type == PORT_VHOST && !have_path) {
		int n = snprintf(p->path, sizeof(p->path), "%s/%s", sock_dir, p->name);
		if (n < 0 || (size_t)n >= sizeof(p->path))
			return ERR("port %s: socket path %s/%s too long", p->name, sock_dir, p->name);
	}
	if (p->type == PORT_TAP && !p->ifname[0]) {
		if (strlen(p->name) >= IFNAMSIZ)
			return ERR("port %s: name too long for an interface; give ifname=", p->name);
		strcpy(p->ifname, p->name);
	}
	return 0;
}

struct fmt {
	char *buf;
	size_t len, off;
	bool over;
};

static void put(struct fmt *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct fmt *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(f->buf + f->off, f->off < f->len ? f->len - f->off : 0, fmt, ap);
	va_end(ap);
	if (n < 0 || f->off + (size_t)n >= f->len)
		f->over = true;
	else
		f->off += (size_t)n;
}

int sw_port_spec_format(const struct sw_port_spec *s, const char *sock_dir, char *buf,
			size_t len)
{
	static const char *const type[] = { [PORT_VHOST] = "vhost-user", [PORT_TAP] = "tap",
					    [PORT_VXLAN] = "vxlan", [PORT_AFXDP] = "afxdp" };
	struct fmt f = { buf, len, 0, len == 0 };
	char tmp[SW_PATH_MAX + 8], a[SW_IP_STRLEN];

	put(&f, "%s:%s", type[s->type], s->name);
	if (s->type == PORT_VHOST) {
		snprintf(tmp, sizeof(tmp), "%s/%s", sock_dir, s->name);
		if (s->client || strcmp(tmp, s->path))
			put(&f, ",path=%s", s->path);
		if (s->client)
			put(&f, ",client");
		if (s->tx_retries != SW_TX_RETRIES_DEFAULT)
			put(&f, ",tx-retries=%u", s->tx_retries);
	} else if (s->type == PORT_TAP) {
		if (strcmp(s->ifname, s->name))
			put(&f, ",ifname=%s", s->ifname);
		if (s->no_offloads)
			put(&f, ",offloads=off");
	} else if (s->type == PORT_AFXDP) {
		put(&f, ",ifname=%s", s->ifname);
		if (s->xdp_mode != SW_XDP_AUTO)
			put(&f, ",mode=%s", xdp_modes[s->xdp_mode]);
		if (s->zerocopy != SW_ZC_AUTO)
			put(&f, ",zerocopy=%s", xdp_zcs[s->zerocopy]);
		if (s->umem_frames != SW_XDP_FRAMES_DEFAULT)
			put(&f, ",umem-frames=%u", s->umem_frames);
	} else {
		put(&f, ",local=%s", sw_ip_str(&s->local, a, sizeof(a)));
		for (unsigned r = 0; r < s->nremote; r++)
			put(&f, ",remote=%s", sw_ip_str(&s->remote[r], a, sizeof(a)));
		put(&f, ",vni=%u", s->vni);
		if (s->dstport != SW_VXLAN_PORT)
			put(&f, ",dstport=%u", s->dstport);
	}
	if (s->queues != sw_port_default_queues(s->type))
		put(&f, ",queues=%u", s->queues);
	if (s->vlan.mode != SW_VLAN_ALL) {
		char v[SW_VLAN_FMT_MAX];
		sw_vlan_format_opt(&s->vlan, v, sizeof(v));
		put(&f, ",%s", v);
	}
	if (s->aff.mask) {
		char v[SW_AFF_FMT_MAX];
		sw_rxq_affinity_format(&s->aff, v, sizeof(v));
		put(&f, ",%s", v);
	}
	for (unsigned i = 0; i < s->ext.n; i++)
		put(&f, "," SW_EXT_IDS_OPT "%s=%s", s->ext.id[i].key, s->ext.id[i].val);
	return f.over ? -ENOSPC : 0;
}
