/* SPDX-License-Identifier: BSD-3-Clause */
/* Request names, from the one list (requests.h). */
#include "proto/wire.h"

#define NAME_X(name, nr, ...) [VHU_REQ_##name] = #name,
#define NAME_N(name, nr) [VHU_REQ_##name] = #name,
static const char *const names[VHU_REQ_MAX] = { VHU_REQUESTS(NAME_X, NAME_N) };

/* One row per number below VHU_REQ_MAX: with the designated initializers
 * above (a number twice is an initializer override, an error under
 * -Werror), no number is missing or repeated. */
#define ONE_X(name, nr, ...) +1
#define ONE_N(name, nr) +1
_Static_assert(0 VHU_REQUESTS(ONE_X, ONE_N) == VHU_REQ_MAX,
	       "requests.h: a request number is missing");

const char *vhu_req_name(uint32_t req)
{
	if (req < VHU_REQ_MAX && names[req])
		return names[req];
	return "UNKNOWN";
}
