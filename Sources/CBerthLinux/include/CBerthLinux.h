#ifndef CBERTH_LINUX_H
#define CBERTH_LINUX_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/random.h>
#include "CBerthSpawn.h"
#include "CBerthNetlink.h"
#include "CBerthSeccomp.h"
#include "CBerthDevices.h"
#include "CBerthHTTP.h"
#include "CBerthIDMap.h"

/// openat2(2) with RESOLVE_* flags. Glibc has no wrapper and syscall() is
/// variadic, so Swift cannot call it. Returns an fd, or -1 with errno set.
int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// renameat2(2) with RENAME_EXCHANGE: swaps the two paths in one step.
/// Returns 0, or -1 with errno set (ENOENT when either is missing, EINVAL
/// where the filesystem cannot exchange).
int berth_rename_exchange(const char *from, const char *to);

/// renameat2(2) with RENAME_NOREPLACE: fails with EEXIST where `to` exists,
/// even as an empty directory, which a plain rename(2) would replace.
int berth_rename_noreplace(const char *from, const char *to);

/// RESOLVE_* values from <linux/openat2.h>, exported as functions because the
/// header's macros do not import into Swift on every toolchain.
uint64_t berth_resolve_in_root(void);
uint64_t berth_resolve_no_magiclinks(void);
uint64_t berth_resolve_no_symlinks(void);
uint64_t berth_resolve_beneath(void);

/// malloc_trim(0): returns the free pages of every malloc arena (also inside
/// the heap, not only at its top) to the kernel. A container's monitor, a
/// fork of the CLI that lives as long as its container, calls it once the
/// container runs, so it does not keep the CLI's freed memory. Returns 1 if
/// memory was released.
int berth_release_free_memory(void);

/// O_PATH from <fcntl.h>, which glibc defines only under _GNU_SOURCE.
int berth_o_path(void);

/// makedev(3) is a macro in glibc.
uint64_t berth_makedev(uint32_t major, uint32_t minor);
uint32_t berth_major(uint64_t dev);
uint32_t berth_minor(uint64_t dev);

/// copy_file_range(2); glibc declares it only under _GNU_SOURCE.
long berth_copy_file_range(int fd_in, int fd_out, unsigned long len);

/// Starts a throw-away child that writes "0" (itself) to `procs`, the
/// cgroup.procs of the cgroup it is already in: a move that changes nothing
/// but takes the kernel's cgroup migration lock, which costs an RCU grace
/// period when nobody took it lately. Returns the child's pid (reap it with
/// waitpid) or -1. The child only makes the open, write and exit system
/// calls, so this is safe from a multi-threaded process; on x86-64 it shares
/// the caller's memory instead of copying it (cgroup_touch.c). One at a time
/// per process: reap one before starting the next.
pid_t berth_cgroup_touch(const char *procs);

/// The warm-up child an ELF constructor started for a `run`, `start`,
/// `restart` or `exec` of the CLI (cgroup_early.c), handed over once: its
/// pid, or 0 when none was started or it was already taken.
pid_t berth_cgroup_touch_take_early(void);

/// Writes the path of `cgroup.procs` of this process's own freezer cgroup
/// (v1), from its /proc/self/cgroup line such as `6:freezer:/user.slice`,
/// into `out`: 0, or -1 when there is none or it is not there.
int berth_own_freezer_procs(char *out, size_t size);

/// The ID of the mount an open file or directory lives on (statx
/// STATX_MNT_ID, Linux 5.8): a directory whose ID differs from its
/// parent's is a mount point, even a bind mount of the same filesystem,
/// which st_dev cannot tell. 0, or -1 with errno (EOPNOTSUPP when the
/// kernel does not report it).
int berth_mount_id(int fd, uint64_t *id);

/// Moves this process into the cgroups whose `cgroup.procs` files are
/// given, from a detached thread, so the caller never waits for the cgroup
/// migration lock (an RCU grace period when cold). The paths are copied.
/// 0, or -1 with errno if the thread could not start.
int berth_join_cgroups_async(const char *const *procs, int count);
/// How many berth_join_cgroups_async moves have not finished yet.
int berth_join_cgroups_pending(void);
/// 1 if the file open on fd (at most 64 MiB) contains `text`.
int berth_file_contains(int fd, const char *text);
/// An unnamed file (memfd, not close-on-exec) holding `bytes`, read from its
/// start; -1 on failure.
int berth_memfd_holding(const char *name, const uint8_t *bytes, size_t n);

/// Sets what ps shows for this process (/proc/self/cmdline) to `title`, as
/// setproctitle(3) does: the title is written over the original argv strings
/// and, past them, over the environment strings, which are copied elsewhere
/// first (environ then points at the copies). For a process forked from the
/// CLI that should not look like the CLI. 0, or -1 if there is no room.
int berth_set_proctitle(int argc, char **argv, const char *title);

/// Rootless Berth (rootless.c): 1 when this process runs in the user and
/// mount namespace berth keeps for a non-root user (joined before main).
int berth_rootless_active(void);
/// The user's own uid and gid on the host (meaningful when active).
uint32_t berth_rootless_host_uid(void);
uint32_t berth_rootless_host_gid(void);
/// Why a non-root berth could not enter its namespace (one line), or NULL.
const char *berth_rootless_error(void);
/// $XDG_RUNTIME_DIR/berth or /tmp/berth-UID ("" when not rootless).
const char *berth_rootless_runtime_dir(void);
/// Puts the markers monitors and helpers re-executed in the namespace
/// recognise (`_BERTH_ROOTLESS`, `_BERTH_ROOTLESS_RUNTIME`) into `environ`;
/// called from main once the arguments are read, never from the constructor.
void berth_rootless_export_markers(void);

#endif
