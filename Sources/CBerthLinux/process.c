// Processes and signals: pidfds, signalfds, clone flags for Swift, pipes,
// a plain fork+exec (the OCI runtime), subreaping, closing inherited fds.
#include "system.h"

int berth_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int berth_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

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
int berth_unshare(int flags) { return unshare(flags); }

int berth_clone_newpid(void) { return CLONE_NEWPID; }
int berth_clone_newns(void) { return CLONE_NEWNS; }
int berth_clone_newuts(void) { return CLONE_NEWUTS; }
int berth_clone_newipc(void) { return CLONE_NEWIPC; }
int berth_clone_newnet(void) { return CLONE_NEWNET; }
int berth_clone_newcgroup(void) { return CLONE_NEWCGROUP; }
int berth_clone_newuser(void) { return CLONE_NEWUSER; }

int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#include <spawn.h>
short berth_posix_spawn_setsid(void) { return POSIX_SPAWN_SETSID; }

int berth_spawn_close_from(void *actions, int lowfd) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, lowfd);
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
int berth_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }

void berth_close_from(int lowfd) {
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0) return;
    for (int fd = lowfd; fd < 65536; fd++) close(fd);
}
