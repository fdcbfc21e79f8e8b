// The container's first process, from clone(2) to execve(2).
//
// Everything here runs in the child of a raw clone with the parent's memory
// copied, so it sticks to system calls and stack buffers: no malloc, no
// Swift, no locks, and no glibc wrapper that coordinates threads (the
// parent may have one: the monitor's cgroup thread), so the user changes
// through berth_child_setres*id. Failures are written to error_fd
// (close-on-exec, so a successful exec closes it and the parent reads EOF)
// and the child exits.
#include "system.h"
#include "process_steps.h"

#include <sys/statvfs.h>

#define fail berth_child_fail

/* In a user namespace the child becomes the namespace's root before it
   builds anything (files it makes must belong to ids the namespace maps),
   and that root may not walk the host's private directories: it works from
   the container root as its current directory ("."), and opens what it
   binds from the host while it still can (user_mount_fds, device_fds). */
#define MAX_USERNS_FDS 1024
static const char *root_path;
static int user_mount_fds[MAX_USERNS_FDS];
static int device_fds[MAX_USERNS_FDS];
static int dev_dir_fd = -1;

static int in_userns(const struct berth_spawn_config *c) { return (c->clone_flags & CLONE_NEWUSER) != 0; }
static int from_clean(const struct berth_spawn_config *c) {
    return c->clean_mntns >= 0 && c->pivot && (c->clone_flags & CLONE_NEWNS) && !in_userns(c);
}
/* --ipc host from the clean namespace: the host's /dev/shm, cloned before leaving the host's. */
static int host_shm_fd = -1;

/* A path as the container sees it, for messages: the part below the root. */
static const char *shown(const char *target) {
    size_t n = strlen(root_path);
    if (root_path[0] && strncmp(target, root_path, n) == 0 && target[n] == '/') return target + n;
    return target;
}

/* The flags a bind's read-only remount must keep: in a user namespace the
   kernel refuses to clear nosuid, nodev, noexec or an atime flag of a mount
   it locked (one that came from the host), and outside one keeping them is
   what the user had anyway. */
static unsigned long kept_flags(const char *path) {
    struct statvfs st;
    if (statvfs(path, &st) != 0) return 0;
    unsigned long f = 0;
    if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

/* mkdir -p, mode 0755, on the container's own root (after pivot_root or
   chroot); with parents_only, all but the last component. */
static int make_path(const char *path, int parents_only) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return parents_only || mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void join(char *out, size_t size, const char *a, const char *b) {
    snprintf(out, size, "%s%s", a, b);
}

static void must_mount(const struct berth_spawn_config *c, const char *src, const char *target,
                       const char *type, unsigned long flags, const char *data) {
    mkdir(target, 0755);
    /* Paths are below the container root ("./dev", "/c/dev"): named as inside. */
    if (mount(src, target, type, flags, data) != 0) fail(c, BERTH_STAGE_MOUNT, "mount", shown(target));
}

/* --ipc container:NAME: the donor's /dev/shm is a tmpfs mounted in its own
   mount namespace, which a bind mount cannot reach. So the child steps into
   that namespace just long enough to clone the mount (open_tree: a detached
   copy of the same tmpfs), steps back into its own, and attaches the copy at
   `target`. Both containers then see one /dev/shm, as Docker's shared
   ShmPath gives them. */
static void share_donor_shm(const struct berth_spawn_config *c, const char *target) {
    int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (own < 0) fail(c, BERTH_STAGE_MOUNT, "open", "/proc/self/ns/mnt");
    if (setns(c->shm_donor_mntns, CLONE_NEWNS) != 0) fail(c, BERTH_STAGE_MOUNT, "enter the IPC donor's mount namespace", NULL);
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/dev/shm", OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    int err = errno;
    if (setns(own, CLONE_NEWNS) != 0) fail(c, BERTH_STAGE_MOUNT, "return to the container's mount namespace", NULL);
    close(own);
    if (tree < 0) { errno = err; fail(c, BERTH_STAGE_MOUNT, "clone the IPC donor's", "/dev/shm"); }
    mkdir(target, 01777);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        fail(c, BERTH_STAGE_MOUNT, "attach the IPC donor's /dev/shm on", target);
    close(tree);
}

static void make_dev(const struct berth_spawn_config *c, const char *root) {
    char shm_options[64];
    if (c->shm_size > 0) snprintf(shm_options, sizeof shm_options, "mode=1777,size=%llu", (unsigned long long)c->shm_size);
    else snprintf(shm_options, sizeof shm_options, "mode=1777,size=65536k");
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    char path[4096];
    join(path, sizeof path, root, "/dev");
    must_mount(c, "tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char node[4096];
        snprintf(node, sizeof node, "%s/dev/%s", root, nodes[i].name);
        if (in_userns(c)) {
            /* mknod is not allowed in a user namespace: bind a node the
               monitor made (runc binds the host's own, but those keep
               their host modes, and some hosts make /dev/null 0600). */
            char host[96];
            snprintf(host, sizeof host, "/proc/self/fd/%d/%s", dev_dir_fd, nodes[i].name);
            int fd = open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
            if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "create", shown(node));
            close(fd);
            if (mount(host, node, NULL, MS_BIND, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "bind the host's", host);
            continue;
        } else if (c->bind_devices) {
            /* A user namespace may not mknod: bind the host's node over an
               empty file, as runc does rootless. */
            char host[64];
            snprintf(host, sizeof host, "/dev/%s", nodes[i].name);
            int fd = open(node, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
            if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "create", shown(node));
            close(fd);
            if (mount(host, node, NULL, MS_BIND, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "bind the host's device on", shown(node));
            continue;
        }
        if (mknod(node, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0)
            fail(c, BERTH_STAGE_MOUNT, "mknod", shown(node));
        chmod(node, 0666);   /* the umask must not narrow device modes */
    }
    static const struct { const char *name, *target; } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        char link[4096];
        snprintf(link, sizeof link, "%s/dev/%s", root, links[i].name);
        symlink(links[i].target, link);
    }
    join(path, sizeof path, root, "/dev/pts");
    /* gid 5 (tty) may be outside a small user namespace map (auto:size=1):
       then the ptys belong to the namespace's root group instead. */
    mkdir(path, 0755);
    if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0 &&
        !(in_userns(c) && errno == EINVAL &&
          mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") == 0))
        fail(c, BERTH_STAGE_MOUNT, "mount", "/dev/pts");
    join(path, sizeof path, root, "/dev/shm");
    switch (c->shm_mode) {
    case BERTH_SHM_NONE:
        break;
    case BERTH_SHM_HOST:
        mkdir(path, 01777);
        if (from_clean(c) ? syscall(SYS_move_mount, host_shm_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0
                          : mount("/dev/shm", path, NULL, MS_BIND | MS_REC, NULL) != 0)
            fail(c, BERTH_STAGE_MOUNT, "bind the host's /dev/shm on", shown(path));
        break;
    case BERTH_SHM_DONOR:
        share_donor_shm(c, path);
        break;
    default:
        must_mount(c, "shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_options);
    }
    join(path, sizeof path, root, "/dev/mqueue");
    mkdir(path, 0755);
    mount("mqueue", path, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);   /* optional, as in runc */
}

/* The chroot backend has no mount namespace to put a /dev tmpfs in, but a
   container without /dev/null breaks plain shell use (`cmd &` and `>/dev/null`
   open it) and leaves stdin without a file to read EOF from. So the basic
   device nodes are made in the container's own writable layer, where they go
   away with the container. Called after chroot, so that a /dev symlink in
   the image cannot point the nodes at the host. */
static void make_dev_nodes(const struct berth_spawn_config *c, const char *root) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    char path[4096];
    join(path, sizeof path, root, "/dev");
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail(c, BERTH_STAGE_MOUNT, "mkdir", path);
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char node[4096];
        snprintf(node, sizeof node, "%s/dev/%s", root, nodes[i].name);
        if (mknod(node, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0) {
            if (errno == EEXIST) continue;
            fail(c, BERTH_STAGE_MOUNT, "mknod", node);
        }
        chmod(node, 0666);
    }
}

/* --device nodes, made where the container sees them: called after
   pivot_root or chroot, so an image's symlinks resolve inside its root.
   Parent directories are made as needed; an existing entry is replaced. */
static void make_devices(const struct berth_spawn_config *c) {
    for (int i = 0; i < c->ndevices; i++) {
        const struct berth_device_node *d = &c->devices[i];
        char path[4096];
        snprintf(path, sizeof path, "%s", d->path);
        if (make_path(path, 1) != 0) fail(c, BERTH_STAGE_MOUNT, "mkdir for device", path);
        mode_t kind = d->type == 'b' ? S_IFBLK : S_IFCHR;
        if (in_userns(c)) {
            /* The host's node, cloned (open_tree) before pivot_root took the
               host's tree away, attached here. */
            int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "create the mount point of device", d->path);
            close(fd);
            if (syscall(SYS_move_mount, device_fds[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
                fail(c, BERTH_STAGE_MOUNT, "bind the host's device", d->host);
            close(device_fds[i]);
            continue;
        }
        if (mknod(path, kind | (d->mode & 07777), makedev(d->major, d->minor)) != 0) {
            if (errno != EEXIST || unlink(path) != 0 || mknod(path, kind | (d->mode & 07777), makedev(d->major, d->minor)) != 0)
                fail(c, BERTH_STAGE_MOUNT, "mknod device", d->path);
        }
        if (chmod(path, d->mode & 07777) != 0 || lchown(path, d->uid, d->gid) != 0)
            fail(c, BERTH_STAGE_MOUNT, "set the owner and mode of device", d->path);
    }
}

/* Before it gives up the host's root: the container root (now a bind
   mount of itself) becomes the current directory, and every host path it
   binds later is opened; then the namespace's root (container id 0, which
   the monitor's maps gave a host id) is who builds the rest. */
static void become_userns_root(const struct berth_spawn_config *c) {
    int root = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || fchdir(root) != 0) fail(c, BERTH_STAGE_MOUNT, "enter", c->rootfs);
    close(root);
    root_path = ".";
    if (c->nmounts > MAX_USERNS_FDS || c->ndevices > MAX_USERNS_FDS)
        { errno = E2BIG; fail(c, BERTH_STAGE_MOUNT, "open the mounts of a user namespace container", NULL); }
    for (int i = 0; i < c->nmounts; i++) {
        user_mount_fds[i] = -1;
        if (c->mounts[i].fstype) continue;
        user_mount_fds[i] = open(c->mounts[i].source, O_PATH | O_CLOEXEC);
        if (user_mount_fds[i] < 0) fail(c, BERTH_STAGE_MOUNT, "open mount source", c->mounts[i].source);
    }
    dev_dir_fd = open(c->userns_dev_dir ? c->userns_dev_dir : "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dev_dir_fd < 0) fail(c, BERTH_STAGE_MOUNT, "open", c->userns_dev_dir);
    for (int i = 0; i < c->ndevices; i++) {
        device_fds[i] = (int)syscall(SYS_open_tree, AT_FDCWD, c->devices[i].host, OPEN_TREE_CLONE | O_CLOEXEC);
        if (device_fds[i] < 0) fail(c, BERTH_STAGE_MOUNT, "open device", c->devices[i].host);
    }
    if (berth_child_setresgid(0) != 0) fail(c, BERTH_STAGE_USER, "become gid 0 of the user namespace", NULL);
    if (berth_child_setresuid(0) != 0) fail(c, BERTH_STAGE_USER, "become uid 0 of the user namespace", NULL);
}

/* A detached copy of a host path's mount (open_tree), cut off from the
   host's propagation: what is mounted on or below it in the container never
   shows on the host, and the host's later mounts never show in it. */
static int clone_private(const struct berth_spawn_config *c, const char *path, int recursive, const char *what) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (fd < 0) fail(c, BERTH_STAGE_MOUNT, what, path);
    struct berth_mount_attr attr = { .propagation = MS_PRIVATE };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0)
        fail(c, BERTH_STAGE_MOUNT, "make private the copy of", path);
    return fd;
}

/* The mount namespace copied from Berth's clean one (clean_mntns.c) rather
   than the host's, so its cost does not grow with the host's mounts: what
   the container needs from the host (its root, the sources of its binds,
   the host's /dev/shm) is cloned while the host's tree is still here, then
   the child enters the clean namespace, copies it (a tmpfs, its /c and a
   /proc) and attaches its root on /c. Binds are attached from the clones
   in user_mounts. */
static void enter_clean_namespace(const struct berth_spawn_config *c) {
    if (c->nmounts > MAX_USERNS_FDS) { errno = E2BIG; fail(c, BERTH_STAGE_MOUNT, "clone the mounts of the container", NULL); }
    int root = clone_private(c, c->rootfs, 1, "clone the container root");
    for (int i = 0; i < c->nmounts; i++) {
        user_mount_fds[i] = -1;
        if (c->mounts[i].fstype) continue;
        struct stat st;
        if (stat(c->mounts[i].source, &st) != 0) fail(c, BERTH_STAGE_MOUNT, "mount", c->mounts[i].target);
        user_mount_fds[i] = clone_private(c, c->mounts[i].source, S_ISDIR(st.st_mode), "clone mount source");
    }
    if (c->shm_mode == BERTH_SHM_HOST) host_shm_fd = clone_private(c, "/dev/shm", 1, "clone the host's");
    if (setns(c->clean_mntns, CLONE_NEWNS) != 0) fail(c, BERTH_STAGE_MOUNT, "enter Berth's clean mount namespace", NULL);
    close(c->clean_mntns);
    if (unshare(CLONE_NEWNS) != 0) fail(c, BERTH_STAGE_MOUNT, "unshare", "a copy of Berth's clean mount namespace");
    if (syscall(SYS_move_mount, root, "", AT_FDCWD, "/c", MOVE_MOUNT_F_EMPTY_PATH) != 0)
        fail(c, BERTH_STAGE_MOUNT, "attach the container root", c->rootfs);
    close(root);
    root_path = "/c";
}

static void setup_mounts(const struct berth_spawn_config *c) {
    char path[4096];
    if (from_clean(c)) {
        enter_clean_namespace(c);
    } else {
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "make / private", NULL);
        /* pivot_root needs the new root to be a mount point. */
        if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "bind", c->rootfs);
        if (in_userns(c)) become_userns_root(c);
    }
    join(path, sizeof path, root_path, "/proc");
    must_mount(c, "proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(c, root_path);
    join(path, sizeof path, root_path, "/sys");
    mkdir(path, 0755);
    /* sysfs can be mounted only in a network namespace we own; else bind the host's read-only. */
    if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0) {
        if (mount("/sys", path, NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | kept_flags(path), NULL) != 0)
            fail(c, BERTH_STAGE_MOUNT, "mount sysfs on", shown(path));
    }
}

static void user_mounts(const struct berth_spawn_config *c) {
    int root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) fail(c, BERTH_STAGE_MOUNT, "open", c->rootfs);
    for (int i = 0; i < c->nmounts; i++) {
        const struct berth_mount *m = &c->mounts[i];
        int fd = berth_openat2(root, m->target, O_PATH | O_CLOEXEC, 0,
                               berth_resolve_in_root() | berth_resolve_no_magiclinks());
        if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "resolve mount target", m->target);
        char via[64];
        snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
        char from[64];
        const char *source = m->source;
        if ((in_userns(c) || from_clean(c)) && user_mount_fds[i] >= 0) {
            snprintf(from, sizeof from, "/proc/self/fd/%d", user_mount_fds[i]);
            source = from;
        }
        /* A directory is bound with what is mounted below it (Docker's rbind);
           a file has nothing below it, and a recursive bind of it would still
           walk every mount on its file system (the host's /etc/hosts-like
           files of the store sit beside 1,000 containers' overlays). */
        struct stat st;
        int file = !m->fstype && stat(source, &st) == 0 && !S_ISDIR(st.st_mode);
        unsigned long flags = m->fstype ? m->flags : file ? MS_BIND : (MS_BIND | MS_REC);
        if (from_clean(c) && user_mount_fds[i] >= 0) {
            /* move_mount says EINVAL where mount(2) says ENOTDIR: a file
               over a directory or the other way round is named as before. */
            struct stat to;
            if (fstat(fd, &to) == 0 && !S_ISDIR(to.st_mode) == !file) { errno = ENOTDIR; fail(c, BERTH_STAGE_MOUNT, "mount", m->target); }
            if (syscall(SYS_move_mount, user_mount_fds[i], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
                fail(c, BERTH_STAGE_MOUNT, "mount", m->target);
        } else if (mount(source, via, m->fstype, flags, m->data) != 0) {
            fail(c, BERTH_STAGE_MOUNT, "mount", m->target);
        }
        if ((in_userns(c) || from_clean(c)) && user_mount_fds[i] >= 0) close(user_mount_fds[i]);
        close(fd);
        if (m->readonly) {
            /* Re-resolve: the fd above points below the new mount, not at it. */
            fd = berth_openat2(root, m->target, O_PATH | O_CLOEXEC, 0,
                               berth_resolve_in_root() | berth_resolve_no_magiclinks());
            if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "resolve mount target", m->target);
            snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
            if (mount(NULL, via, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (file ? 0 : MS_REC) | flags | kept_flags(via), NULL) != 0)
                fail(c, BERTH_STAGE_MOUNT, "make read-only", m->target);
            close(fd);
        }
    }
    close(root);
}

/* --sysctl: written after pivot_root, through the container's own /proc,
   so each lands in the namespace this process is in (its network or IPC
   namespace, never the host's), and before /proc/sys is made read-only. */
#define NET_SYSCTLS "/proc/sys/net/"
#define MAX_DEFERRED_SYSCTLS 256

/* A key of an interface the container does not have yet
   (net.ipv4.conf.eth0.rp_filter: eth0 arrives after the parent's go) is
   written once the network is set up. /proc/sys is read-only by then, so a
   directory descriptor of /proc/sys/net taken now, on the writable mount,
   is kept for it; it is close-on-exec and closed before the command runs. */
static unsigned char deferred_sysctls[MAX_DEFERRED_SYSCTLS];
static int net_sysctl_dir = -1;

static void write_sysctl(const struct berth_spawn_config *c, int dirfd, const char *path, int i) {
    int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) fail(c, BERTH_STAGE_LIMITS, "open sysctl", c->sysctl_paths[i]);
    const char *v = c->sysctl_values[i];
    size_t n = strlen(v);
    if (write(fd, v, n) != (ssize_t)n) fail(c, BERTH_STAGE_LIMITS, "write sysctl", c->sysctl_paths[i]);
    close(fd);
}

static void write_sysctls(const struct berth_spawn_config *c) {
    for (int i = 0; c->sysctl_paths && c->sysctl_paths[i]; i++) {
        const char *path = c->sysctl_paths[i];
        int net = strncmp(path, NET_SYSCTLS, strlen(NET_SYSCTLS)) == 0;
        if (net && i < MAX_DEFERRED_SYSCTLS && access(path, F_OK) != 0 && errno == ENOENT) {
            if (net_sysctl_dir < 0) net_sysctl_dir = open(NET_SYSCTLS, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (net_sysctl_dir < 0) fail(c, BERTH_STAGE_LIMITS, "open", NET_SYSCTLS);
            deferred_sysctls[i] = 1;
            continue;
        }
        write_sysctl(c, AT_FDCWD, path, i);
    }
}

/* The interface keys, once the container's interfaces exist. */
static void write_deferred_sysctls(const struct berth_spawn_config *c) {
    if (net_sysctl_dir < 0) return;
    for (int i = 0; c->sysctl_paths && c->sysctl_paths[i] && i < MAX_DEFERRED_SYSCTLS; i++)
        if (deferred_sysctls[i]) write_sysctl(c, net_sysctl_dir, c->sysctl_paths[i] + strlen(NET_SYSCTLS), i);
    close(net_sysctl_dir);
    net_sysctl_dir = -1;
}

static void do_pivot(const struct berth_spawn_config *c) {
    /* pivot_root(".", ".") stacks the old root under the new one; a lazy
       unmount then drops it without needing a directory for it (runc's trick). */
    if (chdir(root_path) != 0) fail(c, BERTH_STAGE_PIVOT, "chdir", c->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail(c, BERTH_STAGE_PIVOT, "pivot_root", c->rootfs);
    if (umount2(".", MNT_DETACH) != 0) fail(c, BERTH_STAGE_PIVOT, "umount old root", NULL);
    if (chdir("/") != 0) fail(c, BERTH_STAGE_PIVOT, "chdir /", NULL);
}

static void mask_paths(const struct berth_spawn_config *c) {
    for (const char *const *p = c->masked_paths; p && *p; p++) {
        struct stat st;
        if (stat(*p, &st) != 0) continue;
        int rc = S_ISDIR(st.st_mode)
            ? mount("tmpfs", *p, "tmpfs", MS_RDONLY, "size=0")
            : mount("/dev/null", *p, NULL, MS_BIND, NULL);
        if (rc != 0) fail(c, BERTH_STAGE_MOUNT, "mask", *p);
    }
    for (const char *const *p = c->readonly_paths; p && *p; p++) {
        if (access(*p, F_OK) != 0) continue;
        if (mount(*p, *p, NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, *p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | kept_flags(*p), NULL) != 0)
            fail(c, BERTH_STAGE_MOUNT, "make read-only", *p);
    }
    if (c->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags("/"), NULL) != 0)
        fail(c, BERTH_STAGE_MOUNT, "remount / read-only", NULL);
}

static int child(const struct berth_spawn_config *c) {
    for (int i = 0; i < 3; i++) if (c->close_fds[i] >= 0) close(c->close_fds[i]);
    /* Until the monitor says go, its death is ours (it could never release
       us); after that PID 1 outlives a killed monitor, as it always has. A
       monitor that died before this line shows as EOF on the sync pipe,
       whose only write end is now the monitor's own. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(c, BERTH_STAGE_SYNC, "set the parent-death signal", NULL);
    berth_unblock_signals();
    berth_child_oom_score_adj(c);
    if (setsid() < 0) fail(c, BERTH_STAGE_TTY, "setsid", NULL);
    root_path = c->rootfs;
    if (in_userns(c)) {
        /* Nothing can be built until the monitor has written our id maps:
           until then no id of ours means anything in the namespace. */
        char mapped = 0;
        ssize_t got;
        while ((got = read(c->userns_sync_fd, &mapped, 1)) < 0 && errno == EINTR) {}
        if (got <= 0) _exit(125);
        close(c->userns_sync_fd);
    }
    /* The root filesystem is built before waiting for the parent: this work
       needs nothing from it, and it overlaps the parent's slowest step, the
       move into the cgroups (a cgroup v1 write waits for an RCU grace
       period). Nothing of the image runs before the parent says go. */
    if (c->pivot) {
        setup_mounts(c);
        user_mounts(c);
        do_pivot(c);
        write_sysctls(c);
        make_devices(c);
        mask_paths(c);
    } else {
        if (chroot(c->rootfs) != 0) fail(c, BERTH_STAGE_PIVOT, "chroot", c->rootfs);
        if (chdir("/") != 0) fail(c, BERTH_STAGE_PIVOT, "chdir /", NULL);
        make_dev_nodes(c, "");   /* after chroot: an image's symlinks resolve inside it */
        make_devices(c);
    }
    if (c->hostname && (c->clone_flags & CLONE_NEWUTS) && sethostname(c->hostname, strlen(c->hostname)) != 0)
        fail(c, BERTH_STAGE_HOSTNAME, "sethostname", c->hostname);
    if (c->domainname && (c->clone_flags & CLONE_NEWUTS) && setdomainname(c->domainname, strlen(c->domainname)) != 0)
        fail(c, BERTH_STAGE_HOSTNAME, "setdomainname", c->domainname);
    /* Go: we are in the container's cgroups, and with a bridge our end of the
       veth is in this namespace. End of file means the parent gave up (or
       died): then nothing may run. */
    char go = 0;
    ssize_t n;
    while ((n = read(c->sync_fd, &go, 1)) < 0) {
        if (errno != EINTR) fail(c, BERTH_STAGE_SYNC, "wait for parent", NULL);
    }
    if (n == 0) _exit(125);
    if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0) fail(c, BERTH_STAGE_SYNC, "clear the parent-death signal", NULL);
    /* --cgroupns private: now that the monitor has put us in our cgroups,
       a cgroup namespace rooted there (it roots where we are at unshare). */
    if (c->cgroup_namespace && unshare(CLONE_NEWCGROUP) != 0)
        fail(c, BERTH_STAGE_SYNC, "unshare", "a cgroup namespace (--cgroupns private)");
    if (c->clone_flags & CLONE_NEWNET) {
        /* A new network namespace starts with lo down (Docker's --network none has it up);
           with a bridge, the monitor has put our end of the veth here and we configure it
           from inside, so no setns is needed. */
        const char *step = "network";
        if (berth_nl_container(c->net_setup ? c->net_ifname : NULL, c->net_address, c->net_prefix,
                               c->net_gateway, &step) != 0)
            fail(c, BERTH_STAGE_NETWORK, step, NULL);
    }
    write_deferred_sysctls(c);
    berth_child_stdio(c);
    /* Docker makes a working directory the image lacks (-w /missing): inside
       the container's root by now, so no path can lead out of it. */
    if (chdir(c->cwd) != 0 && (errno != ENOENT || make_path(c->cwd, 0) != 0 || chdir(c->cwd) != 0))
        fail(c, BERTH_STAGE_CWD, "chdir to working directory", c->cwd);
    berth_child_rlimits(c);
    berth_child_become(c);
}

pid_t berth_spawn(const struct berth_spawn_config *config, int *into_cgroup) {
    /* A raw clone with no new stack behaves like fork: the child returns 0
       here with a copy of our memory, already inside the new namespaces. */
    long pid = -1;
    *into_cgroup = 0;
    /* From the clean namespace the child makes its own mount namespace. */
    int flags = from_clean(config) ? config->clone_flags & ~CLONE_NEWNS : config->clone_flags;
    if (config->cgroup_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)config->cgroup_fd;
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) _exit(child(config));
        if (pid > 0) { *into_cgroup = 1; return (pid_t)pid; }
        /* No clone3 (before 5.3), no CLONE_INTO_CGROUP (before 5.7), or a
           seccomp profile that refuses clone3 (EPERM, as older Docker ones
           do): the old way, whose own error, if any, is the one to report. */
    }
    pid = syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid != 0) return (pid_t)pid;
    _exit(child(config));
}
