#ifndef CBERTH_MOUNT_H
#define CBERTH_MOUNT_H
#include <sys/types.h>

/// A filesystem context (fsopen) for `fstype`, close-on-exec: -1 with errno.
int berth_fs_open(const char *fstype);

/// fsconfig FSCONFIG_SET_STRING (`value` non-NULL) or FSCONFIG_SET_FLAG
/// (`value` NULL) on a context from berth_fs_open: 0 or -1 with errno.
int berth_fs_set(int context, const char *key, const char *value);

/// Creates the superblock of a configured context and returns it as a
/// detached mount (fsmount, close-on-exec): in no mount namespace, so on no
/// host's mount table, until a process moves it into one. -1 with errno.
int berth_fs_mount(int context);

/// Attaches a detached mount (or a clone from open_tree) on `target` in the
/// caller's mount namespace (move_mount): 0 or -1 with errno.
int berth_attach_mount(int tree, const char *target);

/// A detached clone of the root mount of the mount namespace of the
/// process `pidfd` names (that mount alone, not what is mounted below it),
/// made by the calling thread stepping into that namespace and back
/// (setns; the thread's filesystem context is unshared first, and its
/// working directory restored). -1 with errno; *step names the failing call.
int berth_clone_root_of(int pidfd, const char **step);
#endif
