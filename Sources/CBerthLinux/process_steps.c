// A container process's last steps before execve(2), shared by the first
// process (spawn.c) and exec (exec_helper.c): stdio or the pty, the seccomp
// filter, capabilities, the user, then the sealed exec. Between fork and
// exec: system calls and stack buffers only; a failure is reported on the
// close-on-exec error pipe and the process _exits.
#include "system.h"
#include "process_steps.h"

void berth_child_fail(const struct berth_spawn_config *c, int stage, const char *what, const char *path) {
    struct berth_spawn_error e;
    memset(&e, 0, sizeof e);
    e.stage = stage;
    e.err = errno;
    snprintf(e.detail, sizeof e.detail, "%s%s%s", what, path ? " " : "", path ? path : "");
    ssize_t unused = write(c->error_fd, &e, sizeof e);
    (void)unused;
    _exit(stage == BERTH_STAGE_EXEC ? (e.err == ENOENT ? 127 : 126) : 125);
}

/* --ulimit, while the process still holds CAP_SYS_RESOURCE (raising a
   hard limit above Berth's own needs it). */
void berth_child_rlimits(const struct berth_spawn_config *c) {
    for (int i = 0; i < c->nrlimits; i++) {
        struct rlimit r = { .rlim_cur = c->rlimits[i].soft, .rlim_max = c->rlimits[i].hard };
        if (setrlimit(c->rlimits[i].resource, &r) != 0) {
            char which[32];
            snprintf(which, sizeof which, "%d", c->rlimits[i].resource);
            berth_child_fail(c, BERTH_STAGE_LIMITS, "setrlimit resource", which);
        }
    }
}

/* --oom-score-adj, first of all: through the host's /proc, which every
   backend still sees here (chroot's root may have no /proc at all), while
   the process holds CAP_SYS_RESOURCE (a lower score needs it). exec keeps
   the value, and every process of the container inherits it. */
void berth_child_oom_score_adj(const struct berth_spawn_config *c) {
    if (!c->set_oom_score_adj) return;
    char value[16];
    int n = snprintf(value, sizeof value, "%d", c->oom_score_adj);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, (size_t)n) != n) berth_child_fail(c, BERTH_STAGE_LIMITS, "write", "/proc/self/oom_score_adj");
    close(fd);
}

static void setup_tty_inside(const struct berth_spawn_config *c) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) berth_child_fail(c, BERTH_STAGE_TTY, "open", "/dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0) berth_child_fail(c, BERTH_STAGE_TTY, "unlockpt", NULL);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) berth_child_fail(c, BERTH_STAGE_TTY, "open pty peer", NULL);
    /* The attaching terminal's size, before anything of the image runs:
       a process that asks at once (stty size, a shell's first prompt)
       must not see 0x0. */
    if (c->tty_rows > 0 && c->tty_cols > 0) {
        struct winsize ws = { .ws_row = c->tty_rows, .ws_col = c->tty_cols };
        if (ioctl(slave, TIOCSWINSZ, &ws) != 0) berth_child_fail(c, BERTH_STAGE_TTY, "set the terminal size", NULL);
    }
    if (berth_send_fd(c->console_socket, master) != 0) berth_child_fail(c, BERTH_STAGE_TTY, "send pty master", NULL);
    close(master);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0) berth_child_fail(c, BERTH_STAGE_STDIO, "dup2 pty", NULL);
    if (slave > 2) close(slave);
    if (ioctl(0, TIOCSCTTY, 0) != 0) berth_child_fail(c, BERTH_STAGE_TTY, "set controlling terminal", NULL);
}

static void setup_stdio(const struct berth_spawn_config *c) {
    int fds[3];
    /* Move the given fds above 2 first, so dup2 into 0..2 cannot clobber one we still need. */
    for (int i = 0; i < 3; i++) {
        int fd = c->stdio[i] >= 0 ? c->stdio[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0) fd = open("/", O_RDONLY | O_CLOEXEC);   /* chroot without /dev: any closed-ish fd */
        fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fds[i] < 0) berth_child_fail(c, BERTH_STAGE_STDIO, "dup stdio", NULL);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0) berth_child_fail(c, BERTH_STAGE_STDIO, "dup2", NULL);
    if (c->tty_mode == BERTH_TTY_STDIO && ioctl(0, TIOCSCTTY, 0) != 0)
        berth_child_fail(c, BERTH_STAGE_TTY, "set controlling terminal", NULL);
}

int berth_child_setgroups(int n, const gid_t *groups) { return (int)syscall(SYS_setgroups, (size_t)n, groups); }
int berth_child_setresgid(gid_t gid) { return (int)syscall(SYS_setresgid, gid, gid, gid); }
int berth_child_setresuid(uid_t uid) { return (int)syscall(SYS_setresuid, uid, uid, uid); }

static void set_user(const struct berth_spawn_config *c) {
    gid_t groups[64];
    int n = c->ngroups < 64 ? c->ngroups : 64;
    for (int i = 0; i < n; i++) groups[i] = c->groups[i];
    if (berth_child_setgroups(n, groups) != 0) berth_child_fail(c, BERTH_STAGE_USER, "setgroups", NULL);
    if (berth_child_setresgid(c->gid) != 0) berth_child_fail(c, BERTH_STAGE_USER, "setgid", NULL);
    if (berth_child_setresuid(c->uid) != 0) berth_child_fail(c, BERTH_STAGE_USER, "setuid", NULL);
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
    if (syscall(SYS_capset, &header, data) != 0) berth_child_fail(c, BERTH_STAGE_CAPS, "capset", NULL);
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
        berth_child_fail(c, BERTH_STAGE_SECCOMP, "load the seccomp filter", NULL);
}

static void close_other_fds(void) {
    /* Nothing of the monitor's may leak into the container: mark every fd
       above 2 close-on-exec (error_fd included, which is how the parent
       learns that exec succeeded). */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void berth_child_stdio(const struct berth_spawn_config *c) {
    if (c->tty_mode == BERTH_TTY_INSIDE) setup_tty_inside(c); else setup_stdio(c);
}

void berth_child_become(const struct berth_spawn_config *c) {
    load_seccomp(c);
    if (c->pivot) {
        /* Bounding set first: dropping needs CAP_SETPCAP, which setuid may take away. */
        for (int cap = 0; cap <= 63 && c->capabilities != UINT64_MAX; cap++) {
            if (c->capabilities & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                berth_child_fail(c, BERTH_STAGE_CAPS, "drop capability from bounding set", NULL);
        }
    }
    set_user(c);
    if (c->pivot) drop_capabilities(c);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        berth_child_fail(c, BERTH_STAGE_CAPS, "set no_new_privs", NULL);
    close_other_fds();
    berth_exec_sealed(c->exec_fd, c->error_fd, c->argv, c->envp);
    berth_child_fail(c, BERTH_STAGE_EXEC, "exec", c->argv[0]);
}

