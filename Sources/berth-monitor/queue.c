/* berth-monitor: the byte queue of relay.h. */
#define _GNU_SOURCE
#include "relay.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

size_t queue_count(const struct queue *q) { return q->len - q->head; }

void queue_clear(struct queue *q) {
    free(q->data);
    q->data = NULL;
    q->head = q->len = q->cap = 0;
}

bool queue_append(struct queue *q, const void *bytes, size_t n) {
    if (n == 0) return true;
    if (q->head > 0 && q->len + n > q->cap) {
        /* Move the unread bytes to the front before growing. */
        memmove(q->data, q->data + q->head, q->len - q->head);
        q->len -= q->head;
        q->head = 0;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n) cap *= 2;
        uint8_t *d = realloc(q->data, cap);
        if (!d) return false;
        q->data = d;
        q->cap = cap;
    }
    memcpy(q->data + q->len, bytes, n);
    q->len += n;
    return true;
}

enum flush_result queue_flush(struct queue *q, int fd, bool socket) {
    while (q->head < q->len) {
        size_t size = q->len - q->head;
        ssize_t n = socket ? send(fd, q->data + q->head, size, MSG_NOSIGNAL | MSG_DONTWAIT)
                           : write(fd, q->data + q->head, size);
        if (n > 0) { q->head += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return FLUSH_BLOCKED;
        return FLUSH_FAILED;
    }
    /* Empty: give the memory back, a monitor idles most of its life. */
    queue_clear(q);
    return FLUSH_DONE;
}
