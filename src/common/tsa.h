/* SPDX-License-Identifier: BSD-3-Clause */
/* Clang thread-safety analysis annotations (no-ops elsewhere). In C,
 * clang (14) cannot name a sibling field in guarded_by: fields guarded by
 * a global lock carry VHU_GUARDED_BY; fields guarded by a lock beside
 * them say so in a comment, and the functions carry the annotations. */
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

/* A capability that is no lock of its own but names a set of locks held
 * together (a device's vrings, all locked for a control request), so the
 * analysis follows code that takes them as one. */
struct VHU_CAPABILITY("role") vhu_role { char unused; };

#endif
