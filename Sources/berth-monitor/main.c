/* berth-monitor: the steady state of a container's monitor, as small as
   conmon.

   `berth` forks a monitor per container (Monitor.swift): it creates the
   cgroups, clones PID 1 into its namespaces, records it running and relays
   its first output. A forked copy of the Swift CLI carries the CLI's
   relocated data, runtime caches and heap: about 900 kB of memory of its
   own per running container, where conmon needs 350 kB. So once PID 1 has
   run for a moment and nothing is in flight (MonitorHandover.swift), the
   Swift monitor execs this program in the same process, handing over the
   descriptors: PID 1 stays its child, the record's MonitorPid stays true.
   This program only relays and logs (relay.c) until PID 1 exits; then it
   execs `berth __monitor-exit`, in the same process again, which records
   the exit, releases the container's cgroups, network and volumes, removes
   a --rm container or restarts one under its policy, and sends the attach
   clients the exit code (Monitor.finishAfterHandover).

   Arguments (all given by MonitorHandover.swift; fds are inherited):
     --root ROOT __monitor ID   first, so that ps shows (and `rm` finds) the
                       monitor as before: `berth-monitor --root ROOT __monitor ID …`
     --exe FD          berth (or berth-service), opened: execveat at the exit
     --child PID [--tty]
     --master FD --stdin FD --stdout FD --stderr FD   (-1: none)
     --listener FD --clients FD,FD… --stdin-once FD [--stdin-gone]
     --log PATH --log-driver N --log-max-size N --log-max-file N
     [--log-partial FD]  the partial log lines, stdout's then stderr's, each
                       as 8 bytes of length (little-endian) and the bytes
     --health PID --hold FD,FD… --backoff MS
     (--hold: published ports' reservations, slirp4netns's exit pipe and
     the monitor's flock on the container directory (MonitorLiveness.swift),
     open while PID 1 runs, closed when it exits) */
#define _GNU_SOURCE
#include "relay.h"
#include "CBerthLogWriter.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LIST 1024

/* The arguments this program takes, as MonitorHandover.swift checks for
   this text in the file before it execs it: once exec'd, a monitor cannot
   go back, so a berth and a berth-monitor of different builds must never
   meet (an upgrade between a container's start and its hand-over). Change
   the number with the arguments. */
static const char protocol[] = "berth-monitor protocol 2";

struct options {
    int exe;
    const char *root, *id;
    pid_t child;
    bool tty, stdin_gone;
    int master, stdin_w, stdout_r, stderr_r, listener, stdin_once;
    int clients[MAX_LIST];
    size_t nclients;
    const char *log_path;
    int log_driver, log_max_file;
    long long log_max_size;
    pid_t health;
    int held[MAX_LIST];
    size_t nheld;
    long long backoff;
    int log_partial;
};

static void die(const char *what) {
    fprintf(stderr, "berth-monitor: %s\n", what);
    exit(125);
}

static long long number(const char *text, long long min, long long max) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) die("a bad number in the arguments (berth and berth-monitor must come from the same build)");
    return v;
}

static size_t list(const char *text, int *out) {
    size_t n = 0;
    char *copy = strdup(text), *save = NULL;
    if (!copy) die("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == MAX_LIST) die("too many descriptors in a list");
        out[n++] = (int)number(t, 0, INT_MAX);
    }
    free(copy);
    return n;
}

static void parse(int argc, char **argv, struct options *o) {
    memset(o, 0, sizeof *o);
    o->exe = o->master = o->stdin_w = o->stdout_r = o->stderr_r = o->listener = o->stdin_once = -1;
    o->log_partial = -1;
    o->log_driver = BERTH_LOG_NONE;
    o->log_max_file = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "__monitor") && i + 1 < argc) { o->id = argv[++i]; continue; }
        if (!strcmp(a, "--tty")) { o->tty = true; continue; }
        if (!strcmp(a, "--stdin-gone")) { o->stdin_gone = true; continue; }
        if (i + 1 >= argc) die("an option without its value");
        const char *v = argv[++i];
        if (!strcmp(a, "--exe")) o->exe = (int)number(v, 0, INT_MAX);
        else if (!strcmp(a, "--root")) o->root = v;
        else if (!strcmp(a, "--child")) o->child = (pid_t)number(v, 1, INT_MAX);
        else if (!strcmp(a, "--master")) o->master = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--stdin")) o->stdin_w = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--stdout")) o->stdout_r = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--stderr")) o->stderr_r = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--listener")) o->listener = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--stdin-once")) o->stdin_once = (int)number(v, -1, INT_MAX);
        else if (!strcmp(a, "--clients")) o->nclients = list(v, o->clients);
        else if (!strcmp(a, "--log")) o->log_path = v;
        else if (!strcmp(a, "--log-driver")) o->log_driver = (int)number(v, 0, 2);
        else if (!strcmp(a, "--log-max-size")) o->log_max_size = number(v, 0, LLONG_MAX);
        else if (!strcmp(a, "--log-max-file")) o->log_max_file = (int)number(v, 1, INT_MAX);
        else if (!strcmp(a, "--health")) o->health = (pid_t)number(v, 0, INT_MAX);
        else if (!strcmp(a, "--hold")) o->nheld = list(v, o->held);
        else if (!strcmp(a, "--backoff")) o->backoff = number(v, 0, LLONG_MAX);
        else if (!strcmp(a, "--log-partial")) o->log_partial = (int)number(v, 0, INT_MAX);
        else die("an unknown option (berth and berth-monitor must come from the same build)");
    }
    if (o->exe < 0 || !o->root || !o->id || o->child <= 0) die("--root, __monitor ID, --exe and --child are required");
}

static void cloexec(int fd, bool on) {
    if (fd < 0) return;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/* Appends "a:b" or "a" to a comma list. */
static void append_item(char *buf, size_t size, int a, int b) {
    size_t n = strlen(buf);
    if (b >= 0) snprintf(buf + n, size - n, "%s%d:%d", n ? "," : "", a, b);
    else snprintf(buf + n, size - n, "%s%d", n ? "," : "", a);
}

/* Output a client has not read yet goes to the exit recorder in an unnamed
   file, which queues it again before the exit frame. */
static int pending_file(struct client *c) {
    size_t n = queue_count(&c->pending);
    if (n == 0) return -1;
    int fd = (int)syscall(SYS_memfd_create, "berth-pending", 0);
    if (fd < 0) return -1;
    const uint8_t *p = c->pending.data + c->pending.head;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(fd); return -1; }
        p += w;
        n -= (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* The partial log lines the Swift monitor held (a shell's prompt). */
static void adopt_partial_lines(struct berth_log *log, int fd) {
    for (int stream = BERTH_LOG_STDOUT; stream <= BERTH_LOG_STDERR; stream++) {
        uint64_t n = 0;
        if (read(fd, &n, sizeof n) != (ssize_t)sizeof n || n > (1u << 20)) return;
        uint8_t *bytes = malloc(n ? n : 1);
        if (!bytes) return;
        if (read(fd, bytes, n) == (ssize_t)n) berth_log_set_partial(log, stream, bytes, n);
        free(bytes);
    }
}

/* PID 1 exited: hand the exit to berth, in this process. */
static void finish(struct options *o, struct relay *r, int code) {
    if (o->health > 0) {
        kill(o->health, SIGKILL);
        while (waitpid(o->health, NULL, 0) < 0 && errno == EINTR) {}
    }
    for (size_t i = 0; i < o->nheld; i++) close(o->held[i]);
    /* "fd" or "fd:memfd" per client, 24 bytes each at most. */
    size_t size = r->nclients * 24 + 1;
    char *clients = malloc(size);
    if (!clients) { clients = ""; size = 0; }
    else clients[0] = 0;
    for (size_t i = 0; size > 0 && i < r->nclients; i++) {
        struct client *c = &r->clients[i];
        if (c->fd < 0) continue;
        int pending = pending_file(c);
        cloexec(c->fd, false);
        append_item(clients, size, c->fd, pending);
    }
    cloexec(r->listener, false);
    char code_text[16], listener[16], backoff[32];
    snprintf(code_text, sizeof code_text, "%d", code);
    snprintf(listener, sizeof listener, "%d", r->listener);
    snprintf(backoff, sizeof backoff, "%lld", o->backoff);
    char *argv[] = {
        "berth", "--root", (char *)o->root, "__monitor-exit", (char *)o->id, code_text,
        "--listener", listener, "--clients", clients, "--backoff", backoff, NULL,
    };
    extern char **environ;
    for (int attempt = 0; attempt < 5; attempt++) {
        syscall(SYS_execveat, o->exe, "", argv, environ, AT_EMPTY_PATH);
        if (errno != EAGAIN && errno != ENOMEM && errno != EINTR) break;
        usleep(20000);
    }
    /* The descriptor failed (it should not): berth by its path, beside us. */
    int saved = errno;
    char self[PATH_MAX], path[PATH_MAX + 8];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/berth", self);
            execve(path, argv, environ);
        }
    }
    errno = saved;
    /* Only if berth could not run: the exit stays unrecorded, and the next
       berth command finds this monitor gone and records the container
       Exited (255). The clients learn the code at least. */
    fprintf(stderr, "berth-monitor: execveat berth to record the exit of %s: %s\n", o->id, strerror(errno));
    char text[16];
    int n = snprintf(text, sizeof text, "%d", code);
    for (size_t i = 0; i < r->nclients; i++) {
        struct client *c = &r->clients[i];
        if (c->fd < 0) continue;
        uint8_t h[8] = { FRAME_EXIT, 0, 0, 0, 0, 0, 0, (uint8_t)n };
        queue_append(&c->pending, h, 8);
        queue_append(&c->pending, text, (size_t)n);
        queue_flush(&c->pending, c->fd, true);
    }
    exit(125);
}

int main(int argc, char **argv) {
    /* `berth-monitor --protocol`: what it speaks. Also what keeps the text
       in a release build, whose linker drops what nothing refers to. */
    if (argc == 2 && !strcmp(argv[1], "--protocol")) {
        puts(protocol);
        return 0;
    }
    struct options o;
    parse(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    /* Every inherited descriptor of ours closes at the exec of the exit
       recorder unless handed to it there (the listener and the clients). */
    int own[] = { o.exe, o.master, o.stdin_w, o.stdout_r, o.stderr_r, o.listener };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) cloexec(own[i], true);
    for (size_t i = 0; i < o.nclients; i++) cloexec(o.clients[i], true);
    for (size_t i = 0; i < o.nheld; i++) cloexec(o.held[i], true);

    /* SIGCHLD and the termination signals arrive on a signalfd, as in the
       Swift monitor; they were blocked there already, so a SIGCHLD that
       came during the exec is pending and is read at once. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct relay r = {
        .child = o.child, .tty = o.tty, .master = o.master, .stdin_w = o.stdin_w, .stdout_r = o.stdout_r,
        .stderr_r = o.stderr_r, .listener = o.listener, .stdin_once = o.stdin_once,
    };
    r.signals = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r.signals < 0) die("signalfd failed");
    for (size_t i = 0; i < o.nclients; i++)
        if (!relay_add_client(&r, o.clients[i])) die("out of memory");
    /* After adding them: these clients were told already. */
    r.stdin_gone = o.stdin_gone;
    if (o.log_path) {
        r.log = berth_log_open(o.log_path, o.log_driver, o.log_max_size, o.log_max_file);
        if (!r.log) die("out of memory");
    }
    if (o.log_partial >= 0) {
        adopt_partial_lines(r.log, o.log_partial);
        close(o.log_partial);
    }
    int code = relay_run(&r);
    berth_log_flush(r.log);
    berth_log_close(r.log);
    r.log = NULL;
    finish(&o, &r, code);
    return 125;
}
