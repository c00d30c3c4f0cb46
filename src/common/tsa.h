/* SPDX-License-Identifier: BSD-3-Clause */
/* Clang thread-safety analysis annotations (no-ops elsewhere). In C,
 * clang cannot name a sibling field in guarded_by, so fields say in a
 * comment which lock guards them and functions carry the annotations. */
#ifndef VHU_COMMON_TSA_H
#define VHU_COMMON_TSA_H

#if defined(__clang__)
#define VHU_TSA(x) __attribute__((x))
#else
#define VHU_TSA(x)
#endif

#define VHU_CAPABILITY(x)     VHU_TSA(capability(x))
#define VHU_GUARDED_BY(x)     VHU_TSA(guarded_by(x))
#define VHU_PT_GUARDED_BY(x)  VHU_TSA(pt_guarded_by(x))
#define VHU_ACQUIRE(...)      VHU_TSA(acquire_capability(__VA_ARGS__))
#define VHU_RELEASE(...)      VHU_TSA(release_capability(__VA_ARGS__))
#define VHU_TRY_ACQUIRE(...)  VHU_TSA(try_acquire_capability(__VA_ARGS__))
#define VHU_REQUIRES(...)     VHU_TSA(requires_capability(__VA_ARGS__))
#define VHU_EXCLUDES(...)     VHU_TSA(locks_excluded(__VA_ARGS__))
#define VHU_NO_TSA            VHU_TSA(no_thread_safety_analysis)

#endif
