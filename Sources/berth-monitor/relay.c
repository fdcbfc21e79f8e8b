/* berth-monitor: the relay, MonitorIO.swift's loop in C. Container output
   goes to the log and to every attach client; client input goes to the
   container. Nothing blocks on one descriptor while another has data: every
   descriptor is non-blocking, each direction has a bounded queue, and a full
   queue pauses the reading of its source. */
#define _GNU_SOURCE
#include "relay.h"
#include "CBerthLogWriter.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* One read of container output or client input. */
static uint8_t chunk[65536];

static void broadcast(struct relay *r, int type, const uint8_t *payload, size_t n);
static void feed_container(struct relay *r, bool closed);

static struct client *find_client(struct relay *r, int fd) {
    for (size_t i = 0; i < r->nclients; i++)
        if (r->clients[i].fd == fd && fd >= 0) return &r->clients[i];
    return NULL;
}

static void frame_header(uint8_t h[8], int type, size_t n) {
    h[0] = (uint8_t)type; h[1] = h[2] = h[3] = 0;
    h[4] = (uint8_t)(n >> 24); h[5] = (uint8_t)(n >> 16); h[6] = (uint8_t)(n >> 8); h[7] = (uint8_t)n;
}

static void queue_frame(struct client *c, int type, const uint8_t *payload, size_t n) {
    uint8_t h[8];
    frame_header(h, type, n);
    queue_append(&c->pending, h, 8);
    queue_append(&c->pending, payload, n);
}

bool relay_add_client(struct relay *r, int fd) {
    struct client *slot = NULL;
    for (size_t i = 0; !slot && i < r->nclients; i++)
        if (r->clients[i].fd < 0) slot = &r->clients[i];
    if (!slot) {
        struct client *grown = realloc(r->clients, (r->nclients + 1) * sizeof *grown);
        if (!grown) return false;
        r->clients = grown;
        slot = &r->clients[r->nclients++];
    }
    memset(slot, 0, sizeof *slot);
    slot->fd = fd;
    /* A late client learns at once that its input has nowhere to go. */
    if (r->stdin_gone) queue_frame(slot, FRAME_STDIN_CLOSED, NULL, 0);
    return true;
}

static int container_input(const struct relay *r) { return r->tty ? r->master : r->stdin_w; }

static void close_stdin(struct relay *r) {
    if (r->stdin_w >= 0) close(r->stdin_w);
    r->stdin_w = -1;
    r->close_stdin_when_written = false;
}

static void drop(struct relay *r, struct client *c) {
    int fd = c->fd;
    close(fd);
    queue_clear(&c->pending);
    queue_clear(&c->input);
    c->fd = -1;
    if (fd == r->stdin_once) {
        /* The client of `run -i` or `start -ai` went, even killed without
           sending end of input: the container's stdin closes (StdinOnce). */
        r->stdin_once = -1;
        if (!r->tty && r->stdin_w >= 0) {
            r->close_stdin_when_written = true;
            feed_container(r, false);
        }
    }
}

static void flush_client(struct relay *r, struct client *c) {
    if (queue_flush(&c->pending, c->fd, true) == FLUSH_FAILED) drop(r, c);
}

static void broadcast(struct relay *r, int type, const uint8_t *payload, size_t n) {
    for (size_t i = 0; i < r->nclients; i++) {
        struct client *c = &r->clients[i];
        if (c->fd < 0) continue;
        queue_frame(c, type, payload, n);
        flush_client(r, c);
    }
}

static void container_closed_stdin(struct relay *r) {
    queue_clear(&r->to_container);
    if (!r->tty) close_stdin(r);
    if (r->stdin_gone) return;
    r->stdin_gone = true;
    broadcast(r, FRAME_STDIN_CLOSED, NULL, 0);
}

/* Writes queued input to the container. A write error (EPIPE: it closed its
   stdin or exited; EIO on a pty) drops all input from now on. */
static void feed_container(struct relay *r, bool closed) {
    int fd = container_input(r);
    if (fd < 0) { queue_clear(&r->to_container); return; }
    if (closed || (queue_count(&r->to_container) > 0 && queue_flush(&r->to_container, fd, false) == FLUSH_FAILED)) {
        container_closed_stdin(r);
        return;
    }
    if (queue_count(&r->to_container) == 0 && r->close_stdin_when_written && !r->tty) close_stdin(r);
}

/* Reads what is there: >0 bytes, 0 nothing now, -1 end of file or error
   (EIO: a pty master once every slave is closed). */
static ssize_t read_available(int fd) {
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) return n;
        if (n == 0) return -1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        return -1;
    }
}

static void stop_reading(struct relay *r, int fd) {
    close(fd);
    if (fd == r->master) { r->master = -1; queue_clear(&r->to_container); }
    if (fd == r->stdout_r) r->stdout_r = -1;
    if (fd == r->stderr_r) r->stderr_r = -1;
}

static void pump(struct relay *r, int fd, bool drain) {
    do {
        ssize_t n = read_available(fd);
        if (n < 0) { stop_reading(r, fd); return; }
        if (n == 0) return;
        bool err = fd == r->stderr_r;
        berth_log_append(r->log, err ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT, chunk, (size_t)n);
        broadcast(r, err ? FRAME_STDERR : FRAME_STDOUT, chunk, (size_t)n);
    } while (drain);
}

static void accept_clients(struct relay *r) {
    for (;;) {
        int fd = accept4(r->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (!relay_add_client(r, fd)) close(fd);
    }
}

static void set_winsize(int fd, unsigned rows, unsigned cols) {
    struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
    ioctl(fd, TIOCSWINSZ, &ws);
}

/* "ROWS COLS", each 1…65535. */
static bool parse_size(const uint8_t *p, size_t n, unsigned *rows, unsigned *cols) {
    char text[32];
    if (n == 0 || n >= sizeof text) return false;
    memcpy(text, p, n);
    text[n] = 0;
    char *end;
    unsigned long a = strtoul(text, &end, 10);
    if (end == text || *end != ' ') return false;
    char *start = end + 1;
    unsigned long b = strtoul(start, &end, 10);
    if (end == start || *end != 0 || a > 65535 || b > 65535) return false;
    *rows = (unsigned)a;
    *cols = (unsigned)b;
    return true;
}

static void handle_frame(struct relay *r, int type, const uint8_t *p, size_t n) {
    unsigned rows, cols;
    switch (type) {
    case FRAME_STDIN:
        if (container_input(r) >= 0 && !r->stdin_gone && !r->close_stdin_when_written) queue_append(&r->to_container, p, n);
        break;
    case FRAME_STDIN_EOF:
        if (!r->tty && r->stdin_w >= 0) r->close_stdin_when_written = true;
        break;
    case FRAME_RESIZE:
        if (r->master >= 0 && parse_size(p, n, &rows, &cols) && rows > 0 && cols > 0) set_winsize(r->master, rows, cols);
        break;
    default:
        break;
    }
}

static void serve(struct relay *r, struct client *c) {
    ssize_t n = read_available(c->fd);
    if (n < 0) { drop(r, c); return; }
    if (!queue_append(&c->input, chunk, (size_t)n)) { drop(r, c); return; }
    struct queue *in = &c->input;
    while (queue_count(in) >= 8) {
        const uint8_t *h = in->data + in->head;
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (len > FRAME_MAX) { drop(r, c); feed_container(r, false); return; }
        if (queue_count(in) < 8 + (size_t)len) break;
        handle_frame(r, h[0], h + 8, len);
        in->head += 8 + (size_t)len;
    }
    if (queue_count(in) == 0) queue_clear(in);
    feed_container(r, false);
}

static bool output_paused(const struct relay *r) {
    for (size_t i = 0; i < r->nclients; i++)
        if (r->clients[i].fd >= 0 && queue_count(&r->clients[i].pending) >= QUEUE_LIMIT) return true;
    return false;
}

static void add(struct pollfd *set, size_t *n, int fd, int events, bool always) {
    if (fd >= 0 && (events != 0 || always)) set[(*n)++] = (struct pollfd){ .fd = fd, .events = (short)events };
}

/* What to wait for: output only while no client's queue is full, client
   input only while the container's queue is not, POLLOUT only where
   something waits. The stdin pipe is always watched: POLLERR there says the
   container closed its stdin, which the clients are told at once. */
static size_t poll_set(struct relay *r, struct pollfd *set) {
    size_t n = 0;
    bool paused = output_paused(r);
    int input = queue_count(&r->to_container) > 0 ? POLLOUT : 0;
    add(set, &n, r->signals, POLLIN, false);
    add(set, &n, r->listener, POLLIN, false);
    add(set, &n, r->master, (paused ? 0 : POLLIN) | (r->tty ? input : 0), false);
    add(set, &n, r->stdin_w, r->tty ? 0 : input, true);
    add(set, &n, r->stdout_r, paused ? 0 : POLLIN, false);
    add(set, &n, r->stderr_r, paused ? 0 : POLLIN, false);
    bool input_paused = queue_count(&r->to_container) >= QUEUE_LIMIT;
    for (size_t i = 0; i < r->nclients; i++) {
        struct client *c = &r->clients[i];
        if (c->fd >= 0) add(set, &n, c->fd, (input_paused ? 0 : POLLIN) | (queue_count(&c->pending) ? POLLOUT : 0), false);
    }
    return n;
}

/* SIGCHLD: PID 1's exit code once it exited, else -1. */
static int reap(struct relay *r) {
    struct signalfd_siginfo si;
    while (read(r->signals, &si, sizeof si) == (ssize_t)sizeof si) {}
    int status = 0;
    pid_t pid = waitpid(r->child, &status, WNOHANG);
    if (pid != r->child) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (status & 0x7f);
}

int relay_run(struct relay *r) {
    int code = -1;
    struct pollfd *set = NULL;
    size_t cap = 0;
    while (code < 0) {
        if (cap < 6 + r->nclients) {
            cap = 6 + r->nclients;
            struct pollfd *grown = realloc(set, cap * sizeof *set);
            if (!grown) { usleep(10000); continue; }
            set = grown;
        }
        size_t n = poll_set(r, set);
        if (poll(set, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            struct pollfd *p = &set[i];
            if (p->revents == 0) continue;
            bool readable = (p->revents & (POLLIN | POLLHUP | POLLERR)) != 0;
            if (p->fd == r->signals) {
                int c = reap(r);
                if (c >= 0) code = c;
            } else if (p->fd == r->listener) {
                accept_clients(r);
            } else if (p->fd == r->master || p->fd == r->stdin_w || p->fd == r->stdout_r || p->fd == r->stderr_r) {
                if (p->fd == container_input(r) && (p->revents & (POLLOUT | POLLERR | POLLHUP)))
                    feed_container(r, p->fd == r->stdin_w && (p->revents & POLLERR));
                if (p->fd != r->stdin_w && readable && (p->events & POLLIN)) pump(r, p->fd, false);
            } else {
                struct client *c = find_client(r, p->fd);
                if (!c) continue;
                if (p->revents & POLLOUT) flush_client(r, c);
                if (c->fd >= 0 && readable) serve(r, c);
            }
        }
    }
    free(set);
    /* PID 1 is gone: take whatever output is still buffered. */
    int fds[3] = { r->master, r->stdout_r, r->stderr_r };
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0) pump(r, fds[i], true);
    return code < 0 ? 255 : code;
}
