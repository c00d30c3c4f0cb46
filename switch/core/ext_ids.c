/* SPDX-License-Identifier: BSD-3-Clause */
/* A port's external-ids (ext_ids.h): checks, set, remove, look up. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ext_ids.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

size_t sw_ext_id_prefix(const char *tok)
{
	static const char *const p[] = { SW_EXT_IDS_OPT, "external-id:" };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (strncmp(tok, p[i], strlen(p[i])) == 0)
			return strlen(p[i]);
	return 0;
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '-';
}

static bool val_char(char c)
{
	return c > ' ' && c <= '~' && c != ',' && c != '"' && c != '\\';
}

int sw_ext_id_parse(const char *kv, bool empty_ok, struct sw_ext_id *id, char *err,
		    size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t kn = eq ? (size_t)(eq - kv) : 0, vn = eq ? strlen(eq + 1) : 0;

	if (!eq || !kn)
		return ERR("external-id '%.64s': want KEY=VALUE", kv);
	if (kn > SW_EXT_ID_KEY_MAX)
		return ERR("external-id key '%.*s...' longer than %d bytes", 16, kv,
			   SW_EXT_ID_KEY_MAX);
	for (size_t i = 0; i < kn; i++)
		if (!key_char(kv[i]))
			return ERR("external-id key '%.*s': only letters, digits and _.:-", (int)kn,
				   kv);
	if (vn > SW_EXT_ID_VAL_MAX)
		return ERR("external-id %.*s: value longer than %d bytes", (int)kn, kv,
			   SW_EXT_ID_VAL_MAX);
	if (!vn && !empty_ok)
		return ERR("external-id %.*s: empty value", (int)kn, kv);
	for (size_t i = 0; i < vn; i++)
		if (!val_char(eq[1 + i]))
			return ERR("external-id %.*s: value '%.64s' has a blank, a control character, "
				   "',', '\"' or '\\'", (int)kn, kv, eq + 1);
	memset(id, 0, sizeof(*id));
	memcpy(id->key, kv, kn);
	memcpy(id->val, eq + 1, vn);
	return 0;
}

static int find(const struct sw_ext_ids *ids, const char *key)
{
	for (unsigned i = 0; i < ids->n; i++)
		if (strcmp(ids->id[i].key, key) == 0)
			return (int)i;
	return -1;
}

int sw_ext_ids_set(struct sw_ext_ids *ids, const struct sw_ext_id *id, char *err,
		   size_t errlen)
{
	int i = find(ids, id->key);

	if (!id->val[0]) {
		if (i < 0)
			return 0;
		/* Later ones move up: the order stays the order of setting. */
		memmove(&ids->id[i], &ids->id[i + 1], (ids->n - (unsigned)i - 1) * sizeof(ids->id[0]));
		memset(&ids->id[--ids->n], 0, sizeof(ids->id[0]));
		return 0;
	}
	if (i < 0 && ids->n == SW_EXT_IDS_MAX)
		return ERR("external-id %s: a port has at most %d", id->key, SW_EXT_IDS_MAX);
	ids->id[i < 0 ? ids->n++ : (unsigned)i] = *id;
	return 0;
}

const char *sw_ext_ids_get(const struct sw_ext_ids *ids, const char *key)
{
	int i = find(ids, key);
	return i < 0 ? NULL : ids->id[i].val;
}
