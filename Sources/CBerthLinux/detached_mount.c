// Mounts that are never on the host's mount table: a filesystem made as a
// detached mount (fsopen, fsconfig, fsmount) for a container's PID 1 to move
// into its own mount namespace, and a clone of a running container's root
// taken from inside that namespace (open_tree).
#include "system.h"
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
/* enum fsconfig_command (linux/mount.h), spelt out: older headers lack it. */
#define BERTH_FSCONFIG_SET_FLAG 0
#define BERTH_FSCONFIG_SET_STRING 1
#define BERTH_FSCONFIG_CMD_CREATE 6

int berth_fs_open(const char *fstype) {
    return (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
}

int berth_fs_set(int context, const char *key, const char *value) {
    int cmd = value ? BERTH_FSCONFIG_SET_STRING : BERTH_FSCONFIG_SET_FLAG;
    return (int)syscall(SYS_fsconfig, context, cmd, key, value, 0);
}

int berth_fs_mount(int context) {
    if (syscall(SYS_fsconfig, context, BERTH_FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) return -1;
    return (int)syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, 0);
}

int berth_attach_mount(int tree, const char *target) {
    return (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

int berth_clone_root_of(int pidfd, const char **step) {
    int own = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (own < 0) { *step = "open /proc/thread-self/ns/mnt"; return -1; }
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0) { int e = errno; close(own); errno = e; *step = "open the working directory"; return -1; }
    /* setns(CLONE_NEWNS) needs a filesystem context no other thread shares. */
    if (unshare(CLONE_FS) != 0 || setns(pidfd, CLONE_NEWNS) != 0) {
        int e = errno; close(own); close(cwd); errno = e;
        *step = "setns into the container's mount namespace";
        return -1;
    }
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    int e = errno;
    /* Back to our own namespace: setns moves the root and the working
       directory to that namespace's, so the directory is restored after. */
    if (setns(own, CLONE_NEWNS) != 0 || fchdir(cwd) != 0) abort();
    close(own);
    close(cwd);
    if (tree < 0) { errno = e; *step = "open_tree / in the container's mount namespace"; }
    return tree;
}
