// The last step of every container process: exec the user's command with
// the engine's own binary out of reach (CVE-2019-5736).
//
// Until execve(2) completes, /proc/self/exe of the process is whatever it
// was forked from: the host's berth. A container command that is a script
// with `#!/proc/self/exe` as its interpreter would make the kernel run that
// binary inside the container (with the container's ld.so), and a process
// that runs it can open it and, once Berth exits, write to it. runc answers
// by re-executing from a sealed copy of itself; Berth execs a 266-byte
// static trampoline (scripts/trampoline/) from a sealed memfd, which in turn
// execs the command. During that exec /proc/self/exe is the sealed
// trampoline, which cannot be written and, started by anything but Berth,
// exits at once.
#define _GNU_SOURCE
#include "CBerthSpawn.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#if defined(__x86_64__)
static const unsigned char trampoline[] = {
#include "trampoline_x86_64.inc"
};
/* `run --init`'s PID 1 (scripts/init/init.c): same contract as the
   trampoline, so it takes the trampoline's place in the exec. */
static const unsigned char init_program[] = {
#include "init_x86_64.inc"
};
#endif

/* A sealed, close-on-exec memfd holding `size` bytes of a static program. */
static int sealed_program(const char *name, const unsigned char *bytes, size_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = errno; close(fd); errno = e ? e : EIO; return -1; }
        done += (size_t)n;
    }
    if (fchmod(fd, 0555) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        int e = errno; close(fd); errno = e; return -1;
    }
    return fd;
}

int berth_trampoline_fd(void) {
#if defined(__x86_64__)
    return sealed_program("berth-exec", trampoline, sizeof trampoline);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int berth_init_fd(void) {
#if defined(__x86_64__)
    return sealed_program("berth-init", init_program, sizeof init_program);
#else
    errno = ENOSYS;
    return -1;
#endif
}

size_t berth_init_program(const unsigned char **bytes) {
#if defined(__x86_64__)
    *bytes = init_program;
    return sizeof init_program;
#else
    *bytes = NULL;
    return 0;
#endif
}

/* PATH from envp, or glibc's default. */
static const char *path_of(char *const envp[]) {
    for (int i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0) return envp[i] + 5;
    return "/bin:/usr/bin";
}

/* 0 when `path` is a regular file we may execute; else errno. */
static int runnable(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return EACCES;
    return access(path, X_OK) == 0 ? 0 : errno;
}

/* execvp's search: a name with a slash as it is, else each PATH entry.
   ENOENT if nothing exists, EACCES if something exists but cannot run. */
static int resolve(const char *name, char *const envp[], char *out, size_t size) {
    if (strchr(name, '/')) {
        if (strlen(name) >= size) return ENAMETOOLONG;
        strcpy(out, name);
        return runnable(out);
    }
    int found = ENOENT;
    const char *p = path_of(envp);
    for (;;) {
        const char *end = strchrnul(p, ':');
        size_t dir = (size_t)(end - p);
        if (dir + 1 + strlen(name) < size) {
            memcpy(out, dir ? p : ".", dir ? dir : 1);
            size_t at = dir ? dir : 1;
            out[at] = '/';
            strcpy(out + at + 1, name);
            int err = runnable(out);
            if (err == 0) return 0;
            if (err == EACCES) found = EACCES;
        }
        if (!*end) break;
        p = end + 1;
    }
    return found;
}

/* Closes every descriptor from 3 up but `a` and `b` (both above 2). */
static void close_all_but(int a, int b) {
    if (a < 3 || b < 3 || a == b) return;  /* not the layout this is for: close nothing */
    unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);
    unsigned ranges[3][2] = {{3, lo - 1}, {lo + 1, hi - 1}, {hi + 1, ~0U}};
    for (int i = 0; i < 3; i++) {
        if (ranges[i][0] > ranges[i][1]) continue;
        if (syscall(SYS_close_range, ranges[i][0], ranges[i][1], 0) == 0) continue;
        unsigned last = ranges[i][1] < 65536 ? ranges[i][1] : 65535;
        for (unsigned fd = ranges[i][0]; fd <= last; fd++) close((int)fd);
    }
}

int berth_exec_sealed(int trampoline_fd, int error_fd, char *const argv[], char *const envp[]) {
    char path[4096];
    int err = resolve(argv[0], envp, path, sizeof path);
    if (err) { errno = err; return -1; }
    if (trampoline_fd < 0) {            /* no trampoline on this architecture */
        execve(path, argv, envp);
        return -1;
    }
    /* Every other descriptor is already close-on-exec (the monitor's
       leftovers): close them now, so that a small --ulimit nofile still has
       room for what the start needs: stdio and the error pipe on 3 (the
       trampoline may stay above the limit; moved off 3, it needs a 5th). */
    close_all_but(error_fd, trampoline_fd);
    int t = trampoline_fd;
    if (t == 3) {                       /* the error pipe goes there: move it */
        t = fcntl(trampoline_fd, F_DUPFD_CLOEXEC, 4);
        /* EINVAL: no descriptor at or above 4 is below RLIMIT_NOFILE. */
        if (t < 0) { if (errno == EINVAL) errno = EMFILE; return -1; }
    }
    if (error_fd == 3) {
        if (fcntl(3, F_SETFD, 0) != 0) return -1;
    } else if (dup2(error_fd, 3) != 3) {
        if (errno == EBADF) errno = EMFILE;   /* 3 is at or above RLIMIT_NOFILE */
        return -1;
    }
    int argc = 0;
    while (argv[argc]) argc++;
    char *args[argc + 2];
    args[0] = path;
    for (int i = 0; i <= argc; i++) args[i + 1] = argv[i];
    syscall(SYS_execveat, t, "", args, envp, AT_EMPTY_PATH);
    if (errno != ENOSYS) return -1;     /* E2BIG, ENOEXEC, …: the command's own failure */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", t);
    execve(self, args, envp);
    return -1;
}
