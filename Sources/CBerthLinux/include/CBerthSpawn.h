#ifndef CBERTH_SPAWN_H
#define CBERTH_SPAWN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// How the container's standard streams are set up.
enum berth_tty_mode {
    BERTH_TTY_NONE = 0,      /* stdio[] are plain fds (pipes or /dev/null) */
    BERTH_TTY_INSIDE = 1,    /* open a pty on the container's own devpts, send the master on console_socket */
    BERTH_TTY_STDIO = 2,     /* stdio[] are already a pty slave: just make it the controlling terminal */
};

/// A mount made inside the container before pivot_root (`-v`, `--mount`,
/// `--tmpfs`). The target is resolved inside the root with openat2
/// RESOLVE_IN_ROOT by the child itself and mounted through /proc/self/fd, so
/// a symlink in the image can never redirect it outside the root.
struct berth_mount {
    const char *source;                 /* host path, or "tmpfs" */
    const char *target;                 /* absolute path inside the container; must exist */
    const char *fstype;                 /* NULL for a bind mount, "tmpfs" for tmpfs */
    const char *data;                   /* tmpfs options, or NULL */
    int readonly;
    unsigned long flags;                /* tmpfs: MS_* flags (Docker's default noexec,nosuid,nodev) */
};

/// A device node made inside the container (`--device`), after pivot_root
/// or chroot, so the image's symlinks resolve inside its root.
struct berth_device_node {
    const char *path;                   /* absolute, inside the container */
    int type;                           /* 'c' or 'b' */
    uint32_t major, minor;
    uint32_t mode;                      /* permission bits */
    uint32_t uid, gid;
    const char *host;                   /* the host's node, bound in its place in a user namespace */
};

/// A resource limit (`--ulimit`), set with setrlimit(2) before exec.
struct berth_rlimit {
    int resource;                       /* RLIMIT_* */
    uint64_t soft, hard;                /* UINT64_MAX: RLIM_INFINITY */
};

/// Everything the child needs, prepared by Swift before the clone: after it
/// only async-signal-safe calls run (the runc nsexec / containerization CShim
/// rule), and failures travel back over error_fd.
struct berth_spawn_config {
    const char *rootfs;                 /* host path of the container root */
    const char *hostname;               /* NULL: leave unchanged */
    const char *domainname;             /* NULL: leave unchanged (--domainname) */
    char *const *argv;                  /* NULL-terminated */
    char *const *envp;                  /* NULL-terminated */
    const char *cwd;                    /* inside the container */
    uint32_t uid, gid;
    const uint32_t *groups;
    int ngroups;
    int clone_flags;                    /* CLONE_NEW*; 0 for the chroot backend */
    int pivot;                          /* 1: private mounts, /proc, /dev, /sys, pivot_root; 0: chroot only */
    int stdio[3];                       /* -1: /dev/null */
    int tty_mode;                       /* enum berth_tty_mode */
    int console_socket;                 /* for BERTH_TTY_INSIDE */
    unsigned short tty_rows, tty_cols;  /* for BERTH_TTY_INSIDE: the pty's size before exec (0: leave 0x0) */
    int sync_fd;                        /* child waits for one byte here before anything of the image runs */
    int close_fds[3];                   /* the monitor's fds the child closes first (-1: none): the write
                                           end of the sync pipe, so a dead monitor reads as EOF, the
                                           monitor's report pipe, so its reader sees EOF too, and the
                                           write end of the user namespace's sync pipe */
    int error_fd;                       /* close-on-exec; child writes struct berth_spawn_error on failure */
    uint64_t capabilities;              /* bit N = keep capability N; UINT64_MAX keeps all */
    const char *const *masked_paths;    /* NULL-terminated, may be NULL */
    const char *const *readonly_paths;  /* NULL-terminated, may be NULL */
    int readonly_root;
    const struct berth_mount *mounts;   /* applied after /proc, /dev, /sys, before pivot_root */
    int nmounts;
    int net_setup;                      /* 1: in the new network namespace, bring lo up (and net_ifname, below) */
    const char *net_ifname;             /* NULL: loopback only (--network none) */
    uint32_t net_address, net_gateway;  /* IPv4, network byte order */
    int net_prefix;
    int cgroup_fd;                      /* >= 0: a cgroup v2 directory to clone straight into (CLONE_INTO_CGROUP) */
    int exec_fd;                        /* berth_trampoline_fd(), or -1 to exec directly */
    int no_new_privs;                   /* 1: PR_SET_NO_NEW_PRIVS before exec */
    const void *seccomp_filter;         /* struct sock_filter[seccomp_len], compiled before the clone */
    unsigned short seccomp_len;         /* 0: no seccomp filter (unconfined, or the chroot backend) */
    const struct berth_device_node *devices;   /* --device nodes */
    int ndevices;
    uint64_t shm_size;                  /* bytes of /dev/shm (--shm-size); 0: Docker's 64 MiB */
    const struct berth_rlimit *rlimits; /* --ulimit, set before exec */
    int nrlimits;
    int set_oom_score_adj;              /* 1: write oom_score_adj (--oom-score-adj) */
    int oom_score_adj;
    const char *const *sysctl_paths;    /* --sysctl: /proc/sys files written inside the namespaces, */
    const char *const *sysctl_values;   /* before /proc/sys is made read-only; NULL-terminated, may be NULL */
    int shm_mode;                       /* enum berth_shm_mode (--ipc) */
    int shm_donor_mntns;                /* BERTH_SHM_DONOR: the donor's /proc/PID/ns/mnt, opened by the caller */
    int userns_sync_fd;                 /* with CLONE_NEWUSER in clone_flags: the child waits for one byte here,
                                           sent once the parent wrote its uid_map and gid_map; -1 otherwise */
    const char *userns_dev_dir;         /* with CLONE_NEWUSER: where the monitor made the basic device nodes,
                                           bound over /dev/null etc. (mknod is not allowed in the namespace) */
    int bind_devices;                   /* 1 (rootless): /dev's nodes are the host's, bound, as mknod is refused */
    int cgroup_namespace;               /* 1 (--cgroupns private): unshare one once in the container's cgroups */
    int clean_mntns;                    /* >= 0: Berth's clean mount namespace (berth_clean_mntns); the child
                                           copies it instead of the host's, so clone_flags' CLONE_NEWNS is
                                           done by the child; -1: the host's, copied at the clone */
};

/// An fd of Berth's clean mount namespace, pinned at `pin` (made on first
/// use, under an flock of `lock`, with a tmpfs root mounted over `dir` in
/// the helper's own namespace): a tmpfs root holding an empty /c and the
/// host's /proc, nothing else (clean_mntns.c). -1 with errno where it cannot
/// be made (no CAP_SYS_ADMIN, a read-only /run): callers copy the host's.
int berth_clean_mntns(const char *dir, const char *pin, const char *lock);

/// Where the container's /dev/shm comes from (`--ipc`).
enum berth_shm_mode {
    BERTH_SHM_OWN = 0,                  /* a tmpfs of its own, shm_size bytes (private, shareable) */
    BERTH_SHM_NONE = 1,                 /* none at all (--ipc none) */
    BERTH_SHM_HOST = 2,                 /* the host's /dev/shm, bound (--ipc host) */
    BERTH_SHM_DONOR = 3,                /* the joined container's own /dev/shm mount (--ipc container:NAME) */
};

/// The stage at which a child failed.
enum berth_spawn_stage {
    BERTH_STAGE_SYNC = 1, BERTH_STAGE_MOUNT, BERTH_STAGE_PIVOT, BERTH_STAGE_HOSTNAME,
    BERTH_STAGE_TTY, BERTH_STAGE_STDIO, BERTH_STAGE_CWD, BERTH_STAGE_USER,
    BERTH_STAGE_CAPS, BERTH_STAGE_EXEC, BERTH_STAGE_NETWORK, BERTH_STAGE_SECCOMP,
    BERTH_STAGE_LIMITS,
};

/// What a failed child reports before _exit.
struct berth_spawn_error {
    int32_t stage;
    int32_t err;
    char detail[240];
};

/// clone(2)s the container's first process; returns its pid in the caller's
/// PID namespace, or -1 with errno. With cgroup_fd >= 0 it uses clone3(2)
/// with CLONE_INTO_CGROUP, so the child starts in that cgroup and nobody has
/// to move it; *into_cgroup tells whether that happened (a kernel without
/// clone3 gets a plain clone, and the caller moves the child itself).
/// The caller may have other threads: until its exec the child makes only
/// system calls on stack buffers (no malloc, no glibc wrapper that waits
/// for the parent's threads).
pid_t berth_spawn(const struct berth_spawn_config *config, int *into_cgroup);

/// A process to start inside a running container (`exec`).
struct berth_exec_config {
    pid_t target;                       /* the container's PID 1, host PID */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    uint32_t uid, gid;
    const uint32_t *groups;
    int ngroups;
    int stdio[3];                       /* -1: /dev/null (inside the container) */
    int tty_mode;                       /* NONE or INSIDE (a pty on the container's devpts) */
    int console_socket;
    uint64_t capabilities;
    const int *cgroup_procs_fds;        /* cgroup.procs of every hierarchy of the container, opened by the caller */
    int ncgroup_fds;
    int cgroup_dir_fd;                  /* >= 0: the container's cgroup v2 directory; the process is cloned
                                           straight into it (CLONE_INTO_CGROUP) and writes no cgroup.procs */
    int error_fd;                       /* close-on-exec; struct berth_spawn_error on failure */
    int detach;                         /* the intermediate process exits at once (exec -d) */
    int close_fds[3];                   /* the caller's ends of the process's stdio pipes (-1: none): the
                                           helper closes them first, or the process never sees EOF on stdin */
    int exec_fd;                        /* berth_trampoline_fd(), or -1 to exec directly */
    int no_new_privs;                   /* 1: PR_SET_NO_NEW_PRIVS before exec */
    const void *seccomp_filter;         /* the container's filter, as for berth_spawn_config */
    unsigned short seccomp_len;
    const struct berth_rlimit *rlimits; /* the container's --ulimit, as Docker's exec inherits them */
    int nrlimits;
    int set_oom_score_adj;              /* and its --oom-score-adj */
    int oom_score_adj;
};

/// Forks a helper that joins the container's namespaces (ipc, uts, net, pid,
/// mnt — the mount namespace last, which also moves it into the container's
/// root) and forks again so the process is really inside the PID namespace;
/// that grandchild joins the cgroup and execs. Returns the helper's PID: it
/// exits with the command's status (128+N for signal N), or at once with -d.
pid_t berth_exec(const struct berth_exec_config *config);

/// A sealed memfd (close-on-exec) holding the exec trampoline, made before
/// fork: every container process execs its command through it, so that
/// /proc/self/exe is never the engine's binary during that exec
/// (CVE-2019-5736). -1 with errno (ENOSYS where no trampoline exists).
int berth_trampoline_fd(void);

/// A sealed memfd (close-on-exec) holding berth-init, the reaper `run
/// --init` runs as PID 1 (scripts/init/init.c). It keeps the trampoline's
/// contract, so it is passed as exec_fd in the trampoline's place. -1 with
/// errno (ENOSYS where Berth has no init for this architecture).
int berth_init_fd(void);

/// berth-init's bytes (a static ELF program), for backends that hand the
/// runtime a file instead (the oci backend); 0 where there is none.
size_t berth_init_program(const unsigned char **bytes);

/// In a container process, last of all: resolves argv[0] on envp's PATH as
/// execvp does, then execs it through the trampoline (or directly when
/// trampoline_fd is -1). Returns only on failure, -1 with errno.
int berth_exec_sealed(int trampoline_fd, int error_fd, char *const argv[], char *const envp[]);

/// Sends one fd over a unix socket (SCM_RIGHTS). 0 or -1 with errno.
int berth_send_fd(int sock, int fd);
/// Receives one fd from a unix socket; -1 with errno.
int berth_recv_fd(int sock);

/// pidfd_open(2); -1 with errno.
int berth_pidfd_open(pid_t pid);
/// pidfd_send_signal(2).
int berth_pidfd_send_signal(int pidfd, int sig);

/// Terminal helpers (macros or variadic ioctls in C).
int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
int berth_set_winsize(int fd, unsigned short rows, unsigned short cols);
/// Bytes waiting to be read on a pipe, pty or socket (FIONREAD); 0 if it cannot tell.
int berth_bytes_readable(int fd);
int berth_make_raw(int fd, void *saved_termios, int saved_size);
int berth_restore_termios(int fd, const void *saved_termios);
int berth_termios_size(void);

/// A signalfd for the given signals (which this call also blocks); -1 on error.
int berth_signalfd(const int *signals, int count);
/// Reads one signal number from a signalfd; -1 on error.
int berth_signalfd_read(int fd);
/// Unblocks the given signals (after a signalfd is closed).
void berth_unblock_signals_only(const int *signals, int count);
/// Unblocks every signal and restores default dispositions (for children).
void berth_unblock_signals(void);

/// pipe2(fds, O_CLOEXEC); glibc declares pipe2 only under _GNU_SOURCE.
int berth_pipe_cloexec(int fds[2]);
/// posix_spawnattr flag POSIX_SPAWN_SETSID (a _GNU_SOURCE macro).
short berth_posix_spawn_setsid(void);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): the child keeps
/// no fd from `lowfd` up, close-on-exec or not. `actions` is a
/// posix_spawn_file_actions_t *.
int berth_spawn_close_from(void *actions, int lowfd);

/// A listening unix stream socket at `path` (any length: it binds through
/// /proc/self/fd/N/NAME of the parent directory, so the 108-byte sun_path
/// limit never bites). Non-blocking, close-on-exec. -1 with errno.
int berth_unix_listen(const char *path);
/// Connects to a unix stream socket at `path` (any length); -1 with errno.
int berth_unix_connect(const char *path);
/// accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK).
int berth_accept(int fd);
/// A connected socketpair (AF_UNIX, SOCK_STREAM, close-on-exec) in fds.
int berth_socketpair(int fds[2]);
/// Sets or clears O_NONBLOCK.
int berth_set_nonblocking(int fd, int on);
/// Opens a host pty pair (for the chroot backend): master in *master, slave in *slave.
int berth_openpty(int *master, int *slave);

/// Forks a child that tries unshare(flags); returns 0 if it worked, else its errno.
int berth_probe_unshare(int flags);

/// fork + chdir + dup2 stdio + exec of a helper program (an OCI runtime);
/// other fds stay close-on-exec. Returns the child's PID or -1.
pid_t berth_fork_exec(const char *path, char *const *argv, const char *cwd, int fd0, int fd1, int fd2);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphans below us become our children.
int berth_set_subreaper(void);

/// prctl(PR_SET_PDEATHSIG, sig): this process gets `sig` when its parent dies.
int berth_set_parent_death_signal(int sig);

/// Closes every fd from `lowfd` up (close_range, or a loop where it is missing).
void berth_close_from(int lowfd);

/// setns(2).
int berth_setns(int fd, int nstype);
/// unshare(2) of the calling thread (cp's private mount namespace).
int berth_unshare(int flags);

/// Linux constants Swift cannot see as macros.
int berth_clone_newpid(void);
int berth_clone_newns(void);
int berth_clone_newuts(void);
int berth_clone_newipc(void);
int berth_clone_newnet(void);
int berth_clone_newcgroup(void);
int berth_clone_newuser(void);

#endif
