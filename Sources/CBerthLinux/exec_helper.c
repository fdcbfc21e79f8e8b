// exec: a helper forked from the caller joins the container's namespaces,
// forks again so the process is inside the PID namespace (and, on cgroup
// v2, born in the container's cgroup), and runs the same last steps as the
// container's first process (process_steps.c).
#include "system.h"
#include "process_steps.h"

#define fail berth_child_fail

/* exec: reuse the spawn child's steps through a spawn config built on the stack. */
static void exec_grandchild(const struct berth_exec_config *e, struct berth_spawn_config *c, int in_cgroup) {
    for (int i = 0; i < e->ncgroup_fds && !in_cgroup; i++)
        if (write(e->cgroup_procs_fds[i], "0", 1) != 1)
            fail(c, BERTH_STAGE_MOUNT, "join the container's cgroup", NULL);
    if (setsid() < 0) fail(c, BERTH_STAGE_TTY, "setsid", NULL);
    berth_child_stdio(c);
    if (chdir(c->cwd) != 0) fail(c, BERTH_STAGE_CWD, "chdir to working directory", c->cwd);
    berth_child_become(c);
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
    c.rlimits = e->rlimits; c.nrlimits = e->nrlimits;
    c.set_oom_score_adj = e->set_oom_score_adj; c.oom_score_adj = e->oom_score_adj;
    /* Not dumpable: a container process cannot open /proc/PID/exe of this
       helper, which is still the berth binary until exec (CVE-2019-5736). */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    berth_unblock_signals();
    /* The container's limits and OOM score, here where the host's /proc
       still shows this process; the process forked below inherits both. */
    berth_child_oom_score_adj(&c);
    berth_child_rlimits(&c);
    /* A container with a user namespace of its own: join it first, since
       it owns the namespaces below (the host's root may enter it). */
    char user_path[64];
    snprintf(user_path, sizeof user_path, "/proc/%d/ns/user", (int)e->target);
    struct stat theirs, ours;
    if (stat(user_path, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
        (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)) {
        int fd = open(user_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWUSER) != 0) fail(&c, BERTH_STAGE_MOUNT, "setns", "user");
        close(fd);
    }
    /* --cgroupns private: the container's cgroup namespace too, so the
       process sees its cgroups as PID 1 does. */
    char cgroup_path[64];
    snprintf(cgroup_path, sizeof cgroup_path, "/proc/%d/ns/cgroup", (int)e->target);
    if (stat(cgroup_path, &theirs) == 0 && stat("/proc/self/ns/cgroup", &ours) == 0 &&
        (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)) {
        int fd = open(cgroup_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWCGROUP) != 0) fail(&c, BERTH_STAGE_MOUNT, "setns", "cgroup");
        close(fd);
    }
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
