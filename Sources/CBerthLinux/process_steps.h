// The steps a container process takes between building its root and
// execve(2), shared by the first process (spawn.c) and exec (exec_helper.c).
// Everything runs between fork and exec: system calls and stack buffers only.
#ifndef BERTH_PROCESS_STEPS_H
#define BERTH_PROCESS_STEPS_H
#include "CBerthSpawn.h"

/// setgroups(2), setresgid(2) and setresuid(2) as plain system calls. The
/// child of a raw clone is one thread, but glibc's wrappers do not know it:
/// they walk the thread list copied from the parent, and for a thread the
/// parent had just made (the monitor makes the cgroup on one,
/// BackgroundWork.swift) they wait until it has started, which in the
/// child it never does.
int berth_child_setgroups(int n, const gid_t *groups);
int berth_child_setresgid(gid_t gid);
int berth_child_setresuid(uid_t uid);

/// Reports {stage, errno, what path} on the config's error pipe and _exits
/// (127 not found, 126 cannot run, 125 set-up).
__attribute__((noreturn))
void berth_child_fail(const struct berth_spawn_config *c, int stage, const char *what, const char *path);

/// `--ulimit`: setrlimit(2) of each, while CAP_SYS_RESOURCE is still held.
void berth_child_rlimits(const struct berth_spawn_config *c);

/// `--oom-score-adj`: /proc/self/oom_score_adj, through a /proc that shows
/// this process (the host's, before pivot_root or setns into the container).
void berth_child_oom_score_adj(const struct berth_spawn_config *c);

/// Standard streams: the pty from the container's devpts (BERTH_TTY_INSIDE)
/// or the given fds (-1: /dev/null).
void berth_child_stdio(const struct berth_spawn_config *c);

/// The last steps, in this order: the seccomp filter (while CAP_SYS_ADMIN
/// is still held), the bounding set, the user, the capabilities,
/// no_new_privs, every other fd close-on-exec, then the command through
/// the sealed trampoline. Returns never.
__attribute__((noreturn))
void berth_child_become(const struct berth_spawn_config *c);
#endif
