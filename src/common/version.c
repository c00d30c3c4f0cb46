/* SPDX-License-Identifier: BSD-3-Clause */
/* The running library's version, for programs to compare with the
 * VHU_VERSION they were compiled against. */
#include <vhu/version.h>
#include "common/compiler.h"

VHU_EXPORT const char *vhu_version(void)
{
	return VHU_VERSION;
}
