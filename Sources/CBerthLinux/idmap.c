// User namespaces seen from the host: the id maps a container's namespace
// gets, a namespace fd for idmapped mounts, and the overlay mount whose
// mounter's ids an idmapped upper layer can store.
#include "system.h"
#include <sys/fsuid.h>
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

int berth_write_id_map(pid_t pid, const char *file, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = strlen(map);
    ssize_t w = write(fd, map, n);
    int err = errno;
    close(fd);
    if (w != (ssize_t)n) { errno = w < 0 ? err : EIO; return -1; }
    return 0;
}

int berth_userns_fd(const char *uid_map, const char *gid_map, const char **step) {
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) != 0) { *step = "pipe2"; return -1; }
    /* The child only has to exist, in its new namespace, until the maps are
       written and its ns file is open; it waits for EOF on the pipe. */
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid == 0) {
        char b;
        close(sync[1]);
        while (read(sync[0], &b, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(sync[0]);
    if (pid < 0) { int e = errno; close(sync[1]); errno = e; *step = "clone(CLONE_NEWUSER)"; return -1; }
    int fd = -1, err = 0;
    if (berth_write_id_map((pid_t)pid, "uid_map", uid_map) != 0) { err = errno; *step = "write uid_map"; }
    else if (berth_write_id_map((pid_t)pid, "gid_map", gid_map) != 0) { err = errno; *step = "write gid_map"; }
    else {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { err = errno; *step = "open the namespace's ns/user"; }
    }
    close(sync[1]);
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
    if (fd < 0) errno = err;
    return fd;
}

int berth_idmapped_bind(const char *source, const char *target, int userns_fd, const char **step) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) { *step = "open_tree"; return -1; }
    struct berth_mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)userns_fd;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
        int e = errno; close(tree); errno = e; *step = "mount_setattr(MOUNT_ATTR_IDMAP)"; return -1;
    }
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        int e = errno; close(tree); errno = e; *step = "move_mount"; return -1;
    }
    close(tree);
    return 0;
}

static int raise_effective(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return -1;
    d[0].effective = d[0].permitted;
    d[1].effective = d[1].permitted;
    return (int)syscall(SYS_capset, &h, d);
}

int berth_mount_as(uint32_t uid, uint32_t gid, const char *source, const char *target,
                   const char *fstype, const char *data) {
    uid_t old_uid = (uid_t)setfsuid((uid_t)-1);
    gid_t old_gid = (gid_t)setfsgid((gid_t)-1);
    setfsgid(gid);
    setfsuid(uid);
    int rc = raise_effective();
    int err = errno;
    if (rc == 0) {
        rc = mount(source, target, fstype, 0, data);
        err = errno;
    }
    setfsuid(old_uid);
    setfsgid(old_gid);
    raise_effective();
    errno = err;
    return rc;
}

void berth_set_fs_ids(uint32_t uid, uint32_t gid) {
    setfsgid(gid);
    setfsuid(uid);
    raise_effective();
}

int berth_make_dev_nodes(const char *dir, uint32_t uid, uint32_t gid, const char **failed) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) { *failed = dir; return -1; }
    if (chown(dir, uid, gid) != 0) { *failed = dir; return -1; }
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, nodes[i].name);
        unlink(path);
        if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0 || chmod(path, 0666) != 0 ||
            chown(path, uid, gid) != 0) {
            *failed = nodes[i].name;
            return -1;
        }
    }
    return 0;
}
