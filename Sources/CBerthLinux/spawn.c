// The container's first process, from clone(2) to execve(2).
//
// Everything here runs in the child of a raw clone with the parent's memory
// copied, so it sticks to system calls and stack buffers: no malloc, no
// Swift, no locks. Failures are written to error_fd (close-on-exec, so a
// successful exec closes it and the parent reads EOF) and the child exits.
#define _GNU_SOURCE
#include "CBerthSpawn.h"
#include "CBerthLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static void fail(const struct berth_spawn_config *c, int stage, const char *what, const char *path) {
    struct berth_spawn_error e;
    memset(&e, 0, sizeof e);
    e.stage = stage;
    e.err = errno;
    snprintf(e.detail, sizeof e.detail, "%s%s%s", what, path ? " " : "", path ? path : "");
    ssize_t unused = write(c->error_fd, &e, sizeof e);
    (void)unused;
    _exit(stage == BERTH_STAGE_EXEC ? (e.err == ENOENT ? 127 : 126) : 125);
}

static void join(char *out, size_t size, const char *a, const char *b) {
    snprintf(out, size, "%s%s", a, b);
}

static void must_mount(const struct berth_spawn_config *c, const char *src, const char *target,
                       const char *type, unsigned long flags, const char *data) {
    mkdir(target, 0755);
    if (mount(src, target, type, flags, data) != 0) fail(c, BERTH_STAGE_MOUNT, "mount", target);
}

static void make_dev(const struct berth_spawn_config *c, const char *root) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    char path[4096];
    join(path, sizeof path, root, "/dev");
    must_mount(c, "tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char node[4096];
        snprintf(node, sizeof node, "%s/dev/%s", root, nodes[i].name);
        if (mknod(node, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0)
            fail(c, BERTH_STAGE_MOUNT, "mknod", node);
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
    must_mount(c, "devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    join(path, sizeof path, root, "/dev/shm");
    must_mount(c, "shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
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
        for (char *p = path + 1; *p; p++) {
            if (*p != '/') continue;
            *p = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST) fail(c, BERTH_STAGE_MOUNT, "mkdir for device", path);
            *p = '/';
        }
        mode_t kind = d->type == 'b' ? S_IFBLK : S_IFCHR;
        if (mknod(path, kind | (d->mode & 07777), makedev(d->major, d->minor)) != 0) {
            if (errno != EEXIST || unlink(path) != 0 || mknod(path, kind | (d->mode & 07777), makedev(d->major, d->minor)) != 0)
                fail(c, BERTH_STAGE_MOUNT, "mknod device", d->path);
        }
        if (chmod(path, d->mode & 07777) != 0 || lchown(path, d->uid, d->gid) != 0)
            fail(c, BERTH_STAGE_MOUNT, "set the owner and mode of device", d->path);
    }
}

static void setup_mounts(const struct berth_spawn_config *c) {
    char path[4096];
    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "make / private", NULL);
    /* pivot_root needs the new root to be a mount point. */
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) fail(c, BERTH_STAGE_MOUNT, "bind", c->rootfs);
    join(path, sizeof path, c->rootfs, "/proc");
    must_mount(c, "proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(c, c->rootfs);
    join(path, sizeof path, c->rootfs, "/sys");
    mkdir(path, 0755);
    /* sysfs can be mounted only in a network namespace we own; else bind the host's read-only. */
    if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0) {
        if (mount("/sys", path, NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) != 0)
            fail(c, BERTH_STAGE_MOUNT, "mount sysfs on", path);
    }
}

static void user_mounts(const struct berth_spawn_config *c) {
    int root = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) fail(c, BERTH_STAGE_MOUNT, "open", c->rootfs);
    for (int i = 0; i < c->nmounts; i++) {
        const struct berth_mount *m = &c->mounts[i];
        int fd = berth_openat2(root, m->target, O_PATH | O_CLOEXEC, 0,
                               berth_resolve_in_root() | berth_resolve_no_magiclinks());
        if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "resolve mount target", m->target);
        char via[64];
        snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
        unsigned long flags = m->fstype ? (MS_NOSUID | MS_NODEV) : (MS_BIND | MS_REC);
        if (mount(m->source, via, m->fstype, flags, m->data) != 0) fail(c, BERTH_STAGE_MOUNT, "mount", m->target);
        close(fd);
        if (m->readonly) {
            /* Re-resolve: the fd above points below the new mount, not at it. */
            fd = berth_openat2(root, m->target, O_PATH | O_CLOEXEC, 0,
                               berth_resolve_in_root() | berth_resolve_no_magiclinks());
            if (fd < 0) fail(c, BERTH_STAGE_MOUNT, "resolve mount target", m->target);
            snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
            if (mount(NULL, via, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | flags, NULL) != 0)
                fail(c, BERTH_STAGE_MOUNT, "make read-only", m->target);
            close(fd);
        }
    }
    close(root);
}

static void do_pivot(const struct berth_spawn_config *c) {
    /* pivot_root(".", ".") stacks the old root under the new one; a lazy
       unmount then drops it without needing a directory for it (runc's trick). */
    if (chdir(c->rootfs) != 0) fail(c, BERTH_STAGE_PIVOT, "chdir", c->rootfs);
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
            mount(NULL, *p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) != 0)
            fail(c, BERTH_STAGE_MOUNT, "make read-only", *p);
    }
    if (c->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        fail(c, BERTH_STAGE_MOUNT, "remount / read-only", NULL);
}

static void setup_tty_inside(const struct berth_spawn_config *c) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(c, BERTH_STAGE_TTY, "open", "/dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0) fail(c, BERTH_STAGE_TTY, "unlockpt", NULL);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) fail(c, BERTH_STAGE_TTY, "open pty peer", NULL);
    /* The attaching terminal's size, before anything of the image runs:
       a process that asks at once (stty size, a shell's first prompt)
       must not see 0x0. */
    if (c->tty_rows > 0 && c->tty_cols > 0) {
        struct winsize ws = { .ws_row = c->tty_rows, .ws_col = c->tty_cols };
        if (ioctl(slave, TIOCSWINSZ, &ws) != 0) fail(c, BERTH_STAGE_TTY, "set the terminal size", NULL);
    }
    if (berth_send_fd(c->console_socket, master) != 0) fail(c, BERTH_STAGE_TTY, "send pty master", NULL);
    close(master);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0) fail(c, BERTH_STAGE_STDIO, "dup2 pty", NULL);
    if (slave > 2) close(slave);
    if (ioctl(0, TIOCSCTTY, 0) != 0) fail(c, BERTH_STAGE_TTY, "set controlling terminal", NULL);
}

static void setup_stdio(const struct berth_spawn_config *c) {
    int fds[3];
    /* Move the given fds above 2 first, so dup2 into 0..2 cannot clobber one we still need. */
    for (int i = 0; i < 3; i++) {
        int fd = c->stdio[i] >= 0 ? c->stdio[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0) fd = open("/", O_RDONLY | O_CLOEXEC);   /* chroot without /dev: any closed-ish fd */
        fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fds[i] < 0) fail(c, BERTH_STAGE_STDIO, "dup stdio", NULL);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0) fail(c, BERTH_STAGE_STDIO, "dup2", NULL);
    if (c->tty_mode == BERTH_TTY_STDIO && ioctl(0, TIOCSCTTY, 0) != 0)
        fail(c, BERTH_STAGE_TTY, "set controlling terminal", NULL);
}

static void set_user(const struct berth_spawn_config *c) {
    gid_t groups[64];
    int n = c->ngroups < 64 ? c->ngroups : 64;
    for (int i = 0; i < n; i++) groups[i] = c->groups[i];
    if (setgroups(n, groups) != 0) fail(c, BERTH_STAGE_USER, "setgroups", NULL);
    if (setresgid(c->gid, c->gid, c->gid) != 0) fail(c, BERTH_STAGE_USER, "setgid", NULL);
    if (setresuid(c->uid, c->uid, c->uid) != 0) fail(c, BERTH_STAGE_USER, "setuid", NULL);
}

static void drop_capabilities(const struct berth_spawn_config *c) {
    if (c->capabilities == UINT64_MAX) return;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (getuid() == 0) {
        for (int i = 0; i < 2; i++) {
            uint32_t bits = (uint32_t)(c->capabilities >> (32 * i));
            /* Inheritable stays empty (Docker since 20.10.14, CVE-2022-24769):
               an exec'd file with inheritable file capabilities gains nothing. */
            data[i].effective = data[i].permitted = bits;
        }
    }
    if (syscall(SYS_capset, &header, data) != 0) fail(c, BERTH_STAGE_CAPS, "capset", NULL);
}

/* The seccomp filter goes on while the process still holds CAP_SYS_ADMIN:
   loading one needs that capability or no_new_privs, and Docker does not set
   no_new_privs (setuid programs in the image keep working). So it comes
   before the capabilities are dropped, as runc orders it without
   NoNewPrivileges; what runs after it (the bounding-set drops, setgroups,
   setresuid, capset, close_range, execve) the profile must allow, and
   Docker's does. The program was compiled before the fork: this is one
   prctl. */
static void load_seccomp(const struct berth_spawn_config *c) {
    if (c->seccomp_len == 0) return;
    struct sock_fprog prog = { .len = c->seccomp_len, .filter = (struct sock_filter *)c->seccomp_filter };
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
        fail(c, BERTH_STAGE_SECCOMP, "load the seccomp filter", NULL);
}

static void close_other_fds(void) {
    /* Nothing of the monitor's may leak into the container: mark every fd
       above 2 close-on-exec (error_fd included, which is how the parent
       learns that exec succeeded). */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int child(const struct berth_spawn_config *c) {
    for (int i = 0; i < 2; i++) if (c->close_fds[i] >= 0) close(c->close_fds[i]);
    /* Until the monitor says go, its death is ours (it could never release
       us); after that PID 1 outlives a killed monitor, as it always has. A
       monitor that died before this line shows as EOF on the sync pipe,
       whose only write end is now the monitor's own. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(c, BERTH_STAGE_SYNC, "set the parent-death signal", NULL);
    berth_unblock_signals();
    if (setsid() < 0) fail(c, BERTH_STAGE_TTY, "setsid", NULL);
    /* The root filesystem is built before waiting for the parent: this work
       needs nothing from it, and it overlaps the parent's slowest step, the
       move into the cgroups (a cgroup v1 write waits for an RCU grace
       period). Nothing of the image runs before the parent says go. */
    if (c->pivot) {
        setup_mounts(c);
        user_mounts(c);
        do_pivot(c);
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
    if (c->clone_flags & CLONE_NEWNET) {
        /* A new network namespace starts with lo down (Docker's --network none has it up);
           with a bridge, the monitor has put our end of the veth here and we configure it
           from inside, so no setns is needed. */
        const char *step = "network";
        if (berth_nl_container(c->net_setup ? c->net_ifname : NULL, c->net_address, c->net_prefix,
                               c->net_gateway, &step) != 0)
            fail(c, BERTH_STAGE_NETWORK, step, NULL);
    }
    if (c->tty_mode == BERTH_TTY_INSIDE) setup_tty_inside(c); else setup_stdio(c);
    if (chdir(c->cwd) != 0) fail(c, BERTH_STAGE_CWD, "chdir to working directory", c->cwd);
    load_seccomp(c);
    if (c->pivot) {
        /* Bounding set first: dropping needs CAP_SETPCAP, which setuid may take away. */
        for (int cap = 0; cap <= 63 && c->capabilities != UINT64_MAX; cap++) {
            if (c->capabilities & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                fail(c, BERTH_STAGE_CAPS, "drop capability from bounding set", NULL);
        }
    }
    set_user(c);
    if (c->pivot) drop_capabilities(c);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail(c, BERTH_STAGE_CAPS, "set no_new_privs", NULL);
    close_other_fds();
    berth_exec_sealed(c->exec_fd, c->error_fd, c->argv, c->envp);
    fail(c, BERTH_STAGE_EXEC, "exec", c->argv[0]);
    return 125;
}

pid_t berth_spawn(const struct berth_spawn_config *config, int *into_cgroup) {
    /* A raw clone with no new stack behaves like fork: the child returns 0
       here with a copy of our memory, already inside the new namespaces. */
    long pid = -1;
    *into_cgroup = 0;
    if (config->cgroup_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (uint64_t)(unsigned)config->clone_flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)config->cgroup_fd;
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) _exit(child(config));
        if (pid > 0) { *into_cgroup = 1; return (pid_t)pid; }
        /* No clone3 (before 5.3), no CLONE_INTO_CGROUP (before 5.7), or a
           seccomp profile that refuses clone3 (EPERM, as older Docker ones
           do): the old way, whose own error, if any, is the one to report. */
    }
    pid = syscall(SYS_clone, (unsigned long)(config->clone_flags | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid != 0) return (pid_t)pid;
    _exit(child(config));
}

int berth_send_fd(int sock, int fd) {
    char byte = 0;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int berth_recv_fd(int sock) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) { errno = EBADMSG; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
}

int berth_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int berth_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int berth_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int berth_termios_size(void) { return (int)sizeof(struct termios); }

int berth_make_raw(int fd, void *saved, int size) {
    if (size < (int)sizeof(struct termios)) { errno = EINVAL; return -1; }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    memcpy(saved, &t, sizeof t);
    cfmakeraw(&t);
    return tcsetattr(fd, TCSADRAIN, &t);
}

int berth_restore_termios(int fd, const void *saved) {
    return tcsetattr(fd, TCSADRAIN, (const struct termios *)saved);
}

int berth_signalfd(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int berth_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}

void berth_unblock_signals(void) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        signal(sig, SIG_DFL);
    }
}

int berth_setns(int fd, int nstype) { return setns(fd, nstype); }

int berth_clone_newpid(void) { return CLONE_NEWPID; }
int berth_clone_newns(void) { return CLONE_NEWNS; }
int berth_clone_newuts(void) { return CLONE_NEWUTS; }
int berth_clone_newipc(void) { return CLONE_NEWIPC; }
int berth_clone_newnet(void) { return CLONE_NEWNET; }
int berth_clone_newcgroup(void) { return CLONE_NEWCGROUP; }

int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#include <spawn.h>
short berth_posix_spawn_setsid(void) { return POSIX_SPAWN_SETSID; }

#include <sys/un.h>
#include <libgen.h>

static int unix_address(const char *path, struct sockaddr_un *addr, int *dirfd) {
    char copy[4096], copy2[4096];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(copy2, sizeof copy2, "%s", path);
    *dirfd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) return -1;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    int n = snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", *dirfd, basename(copy2));
    if (n >= (int)sizeof addr->sun_path) { close(*dirfd); errno = ENAMETOOLONG; return -1; }
    return 0;
}

int berth_unix_listen(const char *path) {
    struct sockaddr_un addr;
    int dirfd;
    if (unix_address(path, &addr, &dirfd) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc == 0) rc = listen(fd, 64);
    int saved = errno;
    close(dirfd);
    if (rc != 0) { if (fd >= 0) close(fd); errno = saved; return -1; }
    return fd;
}

int berth_unix_connect(const char *path) {
    struct sockaddr_un addr;
    int dirfd;
    if (unix_address(path, &addr, &dirfd) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&addr, sizeof addr);
    int saved = errno;
    close(dirfd);
    if (rc != 0) { if (fd >= 0) close(fd); errno = saved; return -1; }
    return fd;
}

int berth_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK); }

int berth_socketpair(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

int berth_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

int berth_openpty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0) { close(m); return -1; }
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (s < 0) { close(m); return -1; }
    *master = m;
    *slave = s;
    return 0;
}

void berth_unblock_signals_only(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int berth_probe_unshare(int flags) {
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) _exit(unshare(flags) == 0 ? 0 : (errno & 0x7f));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

/* exec: reuse the spawn child's steps through a spawn config built on the stack. */
static void exec_grandchild(const struct berth_exec_config *e, struct berth_spawn_config *c, int in_cgroup) {
    for (int i = 0; i < e->ncgroup_fds && !in_cgroup; i++)
        if (write(e->cgroup_procs_fds[i], "0", 1) != 1)
            fail(c, BERTH_STAGE_MOUNT, "join the container's cgroup", NULL);
    if (setsid() < 0) fail(c, BERTH_STAGE_TTY, "setsid", NULL);
    if (c->tty_mode == BERTH_TTY_INSIDE) setup_tty_inside(c); else setup_stdio(c);
    if (chdir(c->cwd) != 0) fail(c, BERTH_STAGE_CWD, "chdir to working directory", c->cwd);
    load_seccomp(c);
    for (int cap = 0; cap <= 63 && c->capabilities != UINT64_MAX; cap++) {
        if (c->capabilities & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            fail(c, BERTH_STAGE_CAPS, "drop capability from bounding set", NULL);
    }
    set_user(c);
    drop_capabilities(c);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail(c, BERTH_STAGE_CAPS, "set no_new_privs", NULL);
    close_other_fds();
    berth_exec_sealed(c->exec_fd, c->error_fd, c->argv, c->envp);
    fail(c, BERTH_STAGE_EXEC, "exec", c->argv[0]);
}

static int exec_helper(const struct berth_exec_config *e) {
    for (int i = 0; i < 3; i++) if (e->close_fds[i] >= 0) close(e->close_fds[i]);
    struct berth_spawn_config c;
    memset(&c, 0, sizeof c);
    c.argv = e->argv; c.envp = e->envp; c.cwd = e->cwd;
    c.uid = e->uid; c.gid = e->gid; c.groups = e->groups; c.ngroups = e->ngroups;
    c.stdio[0] = e->stdio[0]; c.stdio[1] = e->stdio[1]; c.stdio[2] = e->stdio[2];
    c.tty_mode = e->tty_mode; c.console_socket = e->console_socket;
    c.capabilities = e->capabilities; c.error_fd = e->error_fd; c.pivot = 1; c.exec_fd = e->exec_fd;
    c.no_new_privs = e->no_new_privs;
    c.seccomp_filter = e->seccomp_filter; c.seccomp_len = e->seccomp_len;
    /* Not dumpable: a container process cannot open /proc/PID/exe of this
       helper, which is still the berth binary until exec (CVE-2019-5736). */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    berth_unblock_signals();
    static const char *names[] = {"ipc", "uts", "net", "pid", "mnt"};
    int fds[5];
    for (int i = 0; i < 5; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)e->target, names[i]);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) fail(&c, BERTH_STAGE_MOUNT, "open namespace", path);
    }
    for (int i = 0; i < 5; i++) {
        if (setns(fds[i], 0) != 0) fail(&c, BERTH_STAGE_MOUNT, "setns", names[i]);
        close(fds[i]);
    }
    /* On cgroup v2 the process is born in the container's cgroup: no
       cgroup.procs write, whose first use after a quiet spell waits for an
       RCU grace period. Otherwise (or without clone3) fork, then join. */
    long pid = -1;
    int in_cgroup = 0;
    if (e->cgroup_dir_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)e->cgroup_dir_fd;
        pid = syscall(SYS_clone3, &args, sizeof args);
        in_cgroup = pid >= 0;
    }
    if (pid < 0) pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) fail(&c, BERTH_STAGE_SYNC, "fork into the PID namespace", NULL);
    if (pid == 0) { exec_grandchild(e, &c, in_cgroup); _exit(125); }
    if (e->detach) return 0;
    close(e->error_fd);
    if (e->console_socket >= 0) close(e->console_socket);
    for (int i = 0; i < 3; i++) if (e->stdio[i] > 2) close(e->stdio[i]);
    int status = 0;
    while (waitpid((pid_t)pid, &status, 0) < 0) { if (errno != EINTR) return 125; }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t berth_exec(const struct berth_exec_config *config) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    _exit(exec_helper(config));
}

pid_t berth_fork_exec(const char *path, char *const *argv, const char *cwd, int fd0, int fd1, int fd2) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    berth_unblock_signals();
    int fds[3] = { fd0, fd1, fd2 };
    for (int i = 0; i < 3; i++) {
        int fd = fds[i] >= 0 ? fds[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
        fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    }
    for (int i = 0; i < 3; i++) dup2(fds[i], i);
    if (cwd && chdir(cwd) != 0) _exit(125);
    execv(path, argv);
    _exit(127);
}

int berth_set_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

void berth_close_from(int lowfd) {
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0) return;
    for (int fd = lowfd; fd < 65536; fd++) close(fd);
}
