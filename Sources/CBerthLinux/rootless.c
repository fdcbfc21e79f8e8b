// Rootless Berth: a non-root `berth` joins (or first creates) the user and
// mount namespace it keeps for its user, before Swift starts any thread.
//
// setns(2) into a user namespace and unshare(CLONE_NEWUSER) both refuse a
// multi-threaded caller, and the Swift runtime may start threads before
// main, so this runs as an ELF constructor, as runc's nsenter and Podman's
// pkg/rootless do. The namespace is held by a tiny "pause" process (Podman's
// name and design): the first command creates it, has newuidmap/newgidmap
// write its maps (uid 0 inside = the user, 1..N = the subordinate ranges),
// records its pid in RUNTIME/pause.pid, and every later command (and every
// monitor they start) joins its user and mount namespaces, so they all see
// the same overlay mounts and running containers.
//
// A failure is never fatal here (`berth --help` must still work): it is kept
// as one line for berth_rootless_error(), which the store opening reports.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CBerthLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_NAME "berth-pause"
#define MAX_RANGES 8

static int rootless_active;
static uid_t host_uid;
static gid_t host_gid;
static char rootless_error[512];
static char runtime_dir[512];
static int saved_argc;
static char **saved_argv;

int berth_rootless_active(void) { return rootless_active; }
uint32_t berth_rootless_host_uid(void) { return host_uid; }
uint32_t berth_rootless_host_gid(void) { return host_gid; }
const char *berth_rootless_error(void) { return rootless_error[0] ? rootless_error : NULL; }
const char *berth_rootless_runtime_dir(void) { return runtime_dir; }

static void set_error(const char *fmt, const char *a, const char *b) {
    snprintf(rootless_error, sizeof rootless_error, fmt, a, b);
}

/* Whether this process runs in a rootless berth's user namespace: uid 0
   inside is exactly host uid `uid` (one id, never host root), as the pause
   process's map has it. A root whose environment merely carries the
   markers (inherited by a script, or set by anyone) is never steered by them. */
static int in_rootless_userns(unsigned long uid) {
    if (uid == 0) return 0;
    FILE *f = fopen("/proc/self/uid_map", "re");
    if (!f) return 0;
    unsigned long inside = 0, outside = 0, count = 0;
    int n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
    fclose(f);
    return n == 3 && inside == 0 && outside == uid && count == 1;
}

/* $XDG_RUNTIME_DIR/berth, or /tmp/berth-UID: made 0700 and checked to be
   a real directory of the user's, never someone else's or a symlink. */
static int make_runtime_dir(uid_t uid) {
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int len;
    if (xdg && *xdg) len = snprintf(runtime_dir, sizeof runtime_dir, "%s/berth", xdg);
    else len = snprintf(runtime_dir, sizeof runtime_dir, "/tmp/berth-%u", (unsigned)uid);
    /* A cut path would be another directory (a prefix of the one meant). */
    if (len < 0 || (size_t)len >= sizeof runtime_dir - 32) {
        runtime_dir[0] = 0;
        set_error("rootless: XDG_RUNTIME_DIR is too long (%s); set it to a directory of yours%s",
                  "more than 470 bytes", " with a shorter path");
        return -1;
    }
    if (mkdir(runtime_dir, 0700) != 0 && errno != EEXIST) {
        set_error("rootless: cannot make the runtime directory %s: %s; set XDG_RUNTIME_DIR to a directory of yours",
                  runtime_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(runtime_dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) != 0) {
        set_error("rootless: the runtime directory %s is not a directory of yours with mode 0700%s; "
                  "remove it, or set XDG_RUNTIME_DIR to a directory of yours", runtime_dir, "");
        return -1;
    }
    return 0;
}

/* Joins the user and mount namespaces of the recorded pause process. 0 on
   success; -1 when there is none (or it is not ours), with nothing changed. */
static int join_pause(uid_t uid) {
    char path[600], comm[32] = {0}, text[32] = {0};
    snprintf(path, sizeof path, "%s/pause.pid", runtime_dir);
    /* Never a symlink or a FIFO (opening one would block forever), and
       only a short decimal number of a live pid above 1. */
    int pf = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (pf < 0) return -1;
    struct stat st;
    ssize_t got = -1;
    if (fstat(pf, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid) got = read(pf, text, sizeof text - 1);
    close(pf);
    if (got <= 0) return -1;
    char *end = NULL;
    errno = 0;
    long pid = strtol(text, &end, 10);
    if (errno != 0 || end == text || (*end != '\n' && *end != 0) || pid <= 1 || pid > 4194304) return -1;
    /* Everything through one directory fd of /proc/PID: if the pid is
       reused meanwhile, openat fails rather than reading another process. */
    snprintf(path, sizeof path, "/proc/%ld", pid);
    int proc = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0) return -1;
    if (fstat(proc, &st) != 0 || st.st_uid != uid) { close(proc); return -1; }
    int fd = openat(proc, "comm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0 || strcmp(comm, PAUSE_NAME "\n") != 0) { close(proc); return -1; }
    int userns = openat(proc, "ns/user", O_RDONLY | O_CLOEXEC);
    int mntns = openat(proc, "ns/mnt", O_RDONLY | O_CLOEXEC);
    /* Still the same process (owner and name) once its namespaces are held. */
    int same = fstat(proc, &st) == 0 && st.st_uid == uid;
    if (same) {
        fd = openat(proc, "comm", O_RDONLY | O_CLOEXEC);
        memset(comm, 0, sizeof comm);
        n = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
        if (fd >= 0) close(fd);
        same = n > 0 && strcmp(comm, PAUSE_NAME "\n") == 0;
    }
    close(proc);
    if (userns < 0 || mntns < 0 || !same) {
        if (userns >= 0) close(userns);
        if (mntns >= 0) close(mntns);
        return -1;
    }
    /* setns into a mount namespace moves the cwd to its root: keep ours. */
    char cwd[4096];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    int rc = setns(userns, CLONE_NEWUSER);
    if (rc == 0) rc = setns(mntns, CLONE_NEWNS);
    int err = errno;
    close(userns);
    close(mntns);
    if (rc != 0) {
        set_error("rootless: cannot join the user namespace of berth's pause process: %s; %s",
                  strerror(err), "kill it (its pid is in pause.pid) and run berth again");
        return -2;
    }
    if (have_cwd && chdir(cwd) != 0) { int unused = chdir("/"); (void)unused; }
    return 0;
}

struct range { unsigned long start, count; };

/* The user's lines of /etc/subuid or /etc/subgid (by name or by number). */
static int read_ranges(const char *file, const char *name, unsigned long id, struct range *out) {
    FILE *f = fopen(file, "re");
    if (!f) return 0;
    char line[512];
    int n = 0;
    while (n < MAX_RANGES && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char number[32];
        snprintf(number, sizeof number, "%lu", id);
        if (strcmp(line, name) != 0 && strcmp(line, number) != 0) continue;
        unsigned long start, count;
        if (sscanf(colon + 1, "%lu:%lu", &start, &count) == 2 && count > 0) out[n++] = (struct range){start, count};
    }
    fclose(f);
    return n;
}

/* Runs newuidmap or newgidmap for `pid`: 0 = the user, then the ranges. */
static int write_map(const char *tool, pid_t pid, unsigned long self, const struct range *r, int n) {
    char args[3 + 3 * (MAX_RANGES + 1)][24];
    char *argv[3 + 3 * (MAX_RANGES + 1) + 1];
    int a = 0;
    snprintf(args[a], sizeof args[a], "%s", tool); argv[a] = args[a]; a++;
    snprintf(args[a], sizeof args[a], "%d", (int)pid); argv[a] = args[a]; a++;
    unsigned long next = 1;
    snprintf(args[a], sizeof args[a], "0"); argv[a] = args[a]; a++;
    snprintf(args[a], sizeof args[a], "%lu", self); argv[a] = args[a]; a++;
    snprintf(args[a], sizeof args[a], "1"); argv[a] = args[a]; a++;
    for (int i = 0; i < n; i++) {
        snprintf(args[a], sizeof args[a], "%lu", next); argv[a] = args[a]; a++;
        snprintf(args[a], sizeof args[a], "%lu", r[i].start); argv[a] = args[a]; a++;
        snprintf(args[a], sizeof args[a], "%lu", r[i].count); argv[a] = args[a]; a++;
        next += r[i].count;
    }
    argv[a] = NULL;
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) dup2(null, 1);
        char path[64];
        snprintf(path, sizeof path, "/usr/bin/%s", tool);
        execv(path, argv);
        execvp(tool, argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* The pause process: unshares the user and mount namespaces, waits for its
   maps, and holds them until killed. Never returns. */
static void pause_process(int ready_fd, int go_fd) {
    char status = 0;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) status = (char)errno;
    if (write(ready_fd, &status, 1) != 1 || status != 0) _exit(1);
    char go = 0;
    if (read(go_fd, &go, 1) != 1 || go != 1) _exit(1);
    /* Mounts made in here (overlay roots) must not reach the host; the
       host's new mounts still arrive (slave, not private). */
    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    setsid();
    if (chdir("/") != 0) _exit(1);
    prctl(PR_SET_NAME, PAUSE_NAME, 0, 0, 0);
    if (saved_argv) berth_set_proctitle(saved_argc, saved_argv, PAUSE_NAME);   /* what ps shows */
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;) pause();
}

/* Creates the pause process and joins it. Under pause.lock. */
static int create_pause(uid_t uid, gid_t gid) {
    struct passwd *pw = getpwuid(uid);
    const char *name = pw ? pw->pw_name : "";
    struct range uids[MAX_RANGES], gids[MAX_RANGES];
    int nu = read_ranges("/etc/subuid", name, uid, uids);
    int ng = read_ranges("/etc/subgid", name, uid, gids);
    if (nu == 0 || ng == 0) {
        set_error("rootless: user %s has no subordinate ids in /etc/subuid and /etc/subgid; ask root to add them "
                  "(usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", name, name);
        return -1;
    }
    int ready[2], go[2], report[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
        set_error("rootless: pipe: %s%s", strerror(errno), "");
        return -1;
    }
    /* Fork twice, so the pause process is nobody's child but init's. */
    pid_t middle = fork();
    if (middle < 0) { set_error("rootless: fork: %s%s", strerror(errno), ""); return -1; }
    if (middle == 0) {
        pid_t pause_pid = fork();
        if (pause_pid == 0) {
            close(ready[0]); close(go[1]); close(report[0]); close(report[1]);
            pause_process(ready[1], go[0]);
        }
        ssize_t unused = write(report[1], &pause_pid, sizeof pause_pid);
        (void)unused;
        _exit(0);
    }
    close(ready[1]); close(go[0]); close(report[1]);
    pid_t pause_pid = -1;
    ssize_t got = read(report[0], &pause_pid, sizeof pause_pid);
    close(report[0]);
    while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {}
    char status = 1;
    if (got != sizeof pause_pid || pause_pid <= 0 || read(ready[0], &status, 1) != 1 || status != 0) {
        set_error("rootless: cannot create a user namespace (unshare: %s)%s; check user.max_user_namespaces",
                  strerror(status > 1 ? status : EPERM), "");
        close(ready[0]); close(go[1]);
        return -1;
    }
    close(ready[0]);
    int rc = write_map("newuidmap", pause_pid, uid, uids, nu);
    if (rc == 0) rc = write_map("newgidmap", pause_pid, gid, gids, ng);
    if (rc != 0) {
        kill(pause_pid, SIGKILL);
        close(go[1]);
        set_error("rootless: newuidmap/newgidmap failed for the ranges of %s in /etc/subuid and /etc/subgid; "
                  "install uidmap (apt-get install uidmap) and check those lines%s", name, "");
        return -1;
    }
    char one = 1;
    if (write(go[1], &one, 1) != 1) { kill(pause_pid, SIGKILL); close(go[1]); return -1; }
    close(go[1]);
    char path[600], tmp[640], text[32];
    snprintf(path, sizeof path, "%s/pause.pid", runtime_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int n = snprintf(text, sizeof text, "%d\n", (int)pause_pid);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || rename(tmp, path) != 0) {
        if (fd >= 0) close(fd);
        unlink(tmp);
        kill(pause_pid, SIGKILL);
        set_error("rootless: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    /* The pause process renames itself after the go byte: wait for it. */
    for (int i = 0; i < 2000; i++) {
        int r = join_pause(uid);
        if (r == 0) return 0;
        if (r == -2) return -1;
        usleep(500);
    }
    set_error("rootless: berth's pause process %s did not come up%s; run berth again", path, "");
    return -1;
}

/* glibc passes main's arguments to constructors too. */
__attribute__((constructor)) static void berth_rootless_enter(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
    if (geteuid() == 0) {
        /* A monitor or helper re-executed inside the namespace. */
        const char *mark = getenv("_BERTH_ROOTLESS");
        unsigned u = 0, g = 0;
        if (mark && sscanf(mark, "%u:%u", &u, &g) == 2 && in_rootless_userns(u)) {
            rootless_active = 1;
            host_uid = u; host_gid = g;
            const char *dir = getenv("_BERTH_ROOTLESS_RUNTIME");
            if (dir) snprintf(runtime_dir, sizeof runtime_dir, "%s", dir);
        }
        return;
    }
    if (strncmp(program_invocation_short_name, "berth", 5) != 0) return;
    host_uid = getuid();
    host_gid = getgid();
    if (make_runtime_dir(host_uid) != 0) return;
    char lock_path[600];
    snprintf(lock_path, sizeof lock_path, "%s/pause.lock", runtime_dir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        set_error("rootless: cannot lock %s: %s", lock_path, strerror(errno));
        if (lock >= 0) close(lock);
        return;
    }
    int r = join_pause(host_uid);
    if (r == -1) r = create_pause(host_uid, host_gid);
    close(lock);
    if (r != 0) return;
    rootless_active = 1;
    /* No setenv here: the markers go into the environment from main
       (berth_rootless_export_markers). A statically linked Swift program
       finds argv by walking back from `environ` on the initial stack, and
       setenv moves `environ` to the heap: a berth built with
       --static-swift-stdlib then saw no arguments at all. */
}

void berth_rootless_export_markers(void) {
    if (!rootless_active) return;
    char mark[48];
    snprintf(mark, sizeof mark, "%u:%u", (unsigned)host_uid, (unsigned)host_gid);
    setenv("_BERTH_ROOTLESS", mark, 1);
    setenv("_BERTH_ROOTLESS_RUNTIME", runtime_dir, 1);
}
