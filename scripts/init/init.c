/*
 * berth-init: the small PID 1 of `run --init` (Docker's docker-init/tini,
 * Podman's catatonit). It starts the container's command as its only
 * child, forwards every signal it gets to that child, reaps every process
 * that ends below it (orphans re-parent to PID 1), and exits with the
 * child's status (128+N when a signal N ended it), as tini does.
 *
 * A whole static program with no libc: raw system calls only, so it runs
 * in any image (no loader, no library of the image is touched) and Berth
 * keeps it as a few kilobytes in a sealed memfd, exactly like the exec
 * trampoline (docs/security.md, CVE-2019-5736): no file of the host is
 * reachable from inside the container, and the sealed copy cannot be
 * written. scripts/init/build.sh compiles it into
 * Sources/CBerthLinux/init_x86_64.inc; the result is committed.
 *
 * Two ways to start it:
 * - Berth's own start, the trampoline's contract: argv[0] is the resolved
 *   path of the command, argv[1..] its argv, fd 3 Berth's error pipe. The
 *   child marks fd 3 close-on-exec and execs; if that fails it writes a
 *   struct berth_spawn_error {stage 10, errno} there and exits 127/126.
 *   The init closes its own copy at once, so Berth sees end of file when
 *   the command has been exec'd, as without --init.
 * - An OCI runtime (the oci backend bind-mounts it read-only at
 *   /sbin/docker-init, as Docker does): `/sbin/docker-init -- CMD ARG...`;
 *   CMD is looked up on PATH as execvp does.
 */
typedef unsigned long u64;

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_ioctl 16
#define SYS_rt_sigprocmask 14
#define SYS_getpid 39
#define SYS_fork 57
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_fcntl 72
#define SYS_setpgid 109
#define SYS_rt_sigtimedwait 128
#define SYS_prctl 157

#define EINTR 4
#define ENOENT 2
#define EACCES 13
#define ECHILD 10
#define SIGCHLD 17
#define WNOHANG 1
#define TIOCSPGRP 0x5410
#define TCGETS 0x5401
#define PR_SET_CHILD_SUBREAPER 36
#define STAGE_EXEC 10

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static __attribute__((noreturn)) void quit(int code) {
    for (;;) sys(SYS_exit_group, code, 0, 0);
}

static u64 slen(const char *s) {
    u64 n = 0;
    while (s[n]) n++;
    return n;
}

static void say(const char *a, const char *b) {
    sys(SYS_write, 2, a, slen(a));
    sys(SYS_write, 2, b, slen(b));
    sys(SYS_write, 2, "\n", 1);
}

/* execvp's search, for the OCI form; returns the errno to report. */
static long exec_path(char **argv, char **envp) {
    const char *name = argv[0];
    for (const char *p = name; *p; p++)
        if (*p == '/') return -sys(SYS_execve, name, argv, envp);
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = envp; *e; e++) {
        const char *v = *e;
        if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
    }
    long found = ENOENT;
    char buf[4096];
    u64 n = slen(name);
    for (;;) {
        u64 dir = 0;
        while (path[dir] && path[dir] != ':') dir++;
        if (dir + n + 2 < sizeof buf) {
            u64 at = 0;
            if (dir == 0) buf[at++] = '.';
            for (u64 i = 0; i < dir; i++) buf[at++] = path[i];
            buf[at++] = '/';
            for (u64 i = 0; i <= n; i++) buf[at++] = name[i];
            long err = -sys(SYS_execve, buf, argv, envp);
            if (err == EACCES) found = EACCES;
            else if (err != ENOENT && err != 20 /* ENOTDIR */) return err;
        }
        if (!path[dir]) return found;
        path += dir + 1;
    }
}

/* The child: its own process group, in the foreground of the terminal if
   there is one (so ^C reaches it, not the init), every signal unblocked. */
static __attribute__((noreturn)) void child(char **argv, char **envp, int berth) {
    char termios[64];
    if (sys(SYS_ioctl, 0, TCGETS, termios) == 0) {
        sys(SYS_setpgid, 0, 0, 0);
        int me = (int)sys(SYS_getpid, 0, 0, 0);
        sys(SYS_ioctl, 0, TIOCSPGRP, &me);   /* SIGTTOU is still blocked here */
    }
    u64 none = 0;
    sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0);
    long err;
    if (berth) {
        err = -sys(SYS_execve, argv[0], argv + 1, envp);
        int report[62];
        for (int i = 0; i < 62; i++) report[i] = 0;
        report[0] = STAGE_EXEC;
        report[1] = (int)err;
        sys(SYS_write, 3, report, 248);
    } else {
        err = exec_path(argv, envp);
        say("berth-init: cannot exec ", argv[0]);
    }
    quit(err == ENOENT ? 127 : 126);
}

void start_c(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    int berth = !(argc >= 3 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 0);
    if (berth) {
        /* fd 3 must be Berth's error pipe; anything else started us by mistake. */
        if (argc < 2 || sys(SYS_fcntl, 3, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */) != 0) quit(126);
    } else {
        argv += 2;
    }
    u64 all = ~0UL;
    sys6(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&all, 0, 8, 0, 0);
    /* Not PID 1 (--pid host, the chroot backend): orphans still come to us. */
    if (sys(SYS_getpid, 0, 0, 0) != 1) sys6(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0);
    long pid = sys(SYS_fork, 0, 0, 0);
    if (pid == 0) child(argv, envp, berth);
    if (berth) sys(SYS_close, 3, 0, 0);
    if (pid < 0) {
        say("berth-init: ", "cannot fork");
        quit(125);
    }
    for (;;) {
        char info[128];
        long sig = sys6(SYS_rt_sigtimedwait, (long)&all, (long)info, 0, 8, 0, 0);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            sys(SYS_kill, pid, sig, 0);
            continue;
        }
        for (;;) {
            int status = 0;
            long done = sys6(SYS_wait4, -1, (long)&status, WNOHANG, 0, 0, 0);
            if (done <= 0) break;
            if (done == pid) {
                int code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
                quit(code);
            }
        }
    }
}

__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
