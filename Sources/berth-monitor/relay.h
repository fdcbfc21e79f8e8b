/* berth-monitor: the steady state of a container's monitor. See main.c. */
#ifndef BERTH_MONITOR_RELAY_H
#define BERTH_MONITOR_RELAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_log;

/* Bytes waiting for a descriptor that is not ready: appended at the tail,
   written from the head. A relay stops reading a queue's source while it
   holds QUEUE_LIMIT bytes, so memory stays bounded and a slow reader slows
   its writer (the Swift monitor's ByteQueue, the same rule). */
#define QUEUE_LIMIT (256 * 1024)

struct queue {
    uint8_t *data;
    size_t head, len, cap;
};

enum flush_result { FLUSH_DONE, FLUSH_BLOCKED, FLUSH_FAILED };

size_t queue_count(const struct queue *q);
bool queue_append(struct queue *q, const void *bytes, size_t n);
void queue_clear(struct queue *q);
/* Writes what fd takes now: send(MSG_NOSIGNAL|MSG_DONTWAIT) for a socket,
   write for a pipe or pty. */
enum flush_result queue_flush(struct queue *q, int fd, bool socket);

/* The attach protocol's frames (AttachProtocol.swift): an 8-byte header
   [type, 0, 0, 0, length as big-endian u32], then the payload. */
enum frame_type {
    FRAME_STDIN = 0, FRAME_STDOUT = 1, FRAME_STDERR = 2, FRAME_EXIT = 3, FRAME_ERROR = 4,
    FRAME_RESIZE = 5, FRAME_STDIN_EOF = 6, FRAME_STDIN_CLOSED = 7,
};
/* A client that announces a larger frame is dropped: no client of Berth's
   sends more than 64 KiB of input a frame. */
#define FRAME_MAX (16u << 20)

struct client {
    int fd;                 /* -1: a free slot */
    struct queue pending;   /* output it has not read yet */
    struct queue input;     /* a partial frame it sent */
};

struct relay {
    pid_t child;
    bool tty;
    int signals;
    int master, stdin_w, stdout_r, stderr_r;
    int listener;
    struct client *clients;
    size_t nclients;
    struct queue to_container;
    bool close_stdin_when_written;
    bool stdin_gone;
    int stdin_once;
    struct berth_log *log;
};

/* Relays until PID 1 exits, then takes the output still buffered; returns
   its exit code (128+N for signal N). */
int relay_run(struct relay *r);
/* Adds an attach client (its fd non-blocking). */
bool relay_add_client(struct relay *r, int fd);

#endif
