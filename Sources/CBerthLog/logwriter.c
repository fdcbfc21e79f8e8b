/* The container log's writer: see CBerthLogWriter.h. */
#define _GNU_SOURCE
#include "CBerthLogWriter.h"
#include "CBerthJSONLog.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A partial line is logged as an entry of its own once it holds this much. */
#define PARTIAL_LIMIT (16 * 1024)

struct berth_log {
    char *path;
    int driver;
    int fd;
    int opened; /* the file was opened (or the open failed): at the first entry */
    int64_t max_size;
    int max_file;
    int64_t size;
    uint8_t *partial[2];
    size_t partial_len[2];
};

/* The growing buffer one append's entries are encoded into. */
struct out { uint8_t *data; size_t len, cap; int failed; };

static void out_reserve(struct out *o, size_t more) {
    if (o->failed || o->len + more <= o->cap) return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + more) cap *= 2;
    uint8_t *d = realloc(o->data, cap);
    if (!d) { o->failed = 1; return; }
    o->data = d;
    o->cap = cap;
}

static void out_put(struct out *o, const void *bytes, size_t n) {
    out_reserve(o, n);
    if (o->failed) return;
    memcpy(o->data + o->len, bytes, n);
    o->len += n;
}

static void open_file(struct berth_log *log) {
    log->opened = 1;
    log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    log->size = log->fd >= 0 && fstat(log->fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

struct berth_log *berth_log_open(const char *path, int driver, int64_t max_size, int max_file) {
    struct berth_log *log = calloc(1, sizeof *log);
    if (!log) return NULL;
    log->path = strdup(path);
    if (!log->path) { free(log); return NULL; }
    log->driver = driver;
    log->max_size = max_size;
    log->max_file = max_file < 1 ? 1 : max_file;
    log->fd = -1;
    return log;
}

/* The entry time: RFC 3339 in UTC with the nanoseconds' trailing zeros cut
   (json-file, as Docker writes it), or all nine digits and +00:00 (k8s-file,
   as Podman writes it). */
static size_t format_time(int driver, char *buf, size_t size) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    char frac[16];
    snprintf(frac, sizeof frac, "%09ld", (long)ts.tv_nsec);
    if (driver == BERTH_LOG_K8S_FILE) {
        n += snprintf(buf + n, size - (size_t)n, ".%s+00:00", frac);
    } else {
        int digits = 9;
        while (digits > 0 && frac[digits - 1] == '0') digits--;
        if (digits > 0) n += snprintf(buf + n, size - (size_t)n, ".%.*s", digits, frac);
        n += snprintf(buf + n, size - (size_t)n, "Z");
    }
    return (size_t)n;
}

static void encode(const struct berth_log *log, struct out *o, int stream, const uint8_t *bytes, size_t n,
                   const char *time, size_t time_len) {
    const char *name = stream == BERTH_LOG_STDERR ? "stderr" : "stdout";
    if (log->driver == BERTH_LOG_K8S_FILE) {
        int full = n > 0 && bytes[n - 1] == '\n';
        out_put(o, time, time_len);
        out_put(o, " ", 1);
        out_put(o, name, 6);
        out_put(o, full ? " F " : " P ", 3);
        out_put(o, bytes, full ? n - 1 : n);
        out_put(o, "\n", 1);
        return;
    }
    static const char head[] = "{\"log\":\"";
    static const char mid[] = "\",\"stream\":\"";
    static const char tail[] = "\",\"time\":\"";
    out_put(o, head, sizeof head - 1);
    out_reserve(o, n * 6);
    if (!o->failed) o->len += berth_json_escape(bytes, n, o->data + o->len);
    out_put(o, mid, sizeof mid - 1);
    out_put(o, name, 6);
    out_put(o, tail, sizeof tail - 1);
    out_put(o, time, time_len);
    out_put(o, "\"}\n", 3);
}

static void write_all(struct berth_log *log, const uint8_t *bytes, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(log->fd, bytes + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        done += (size_t)w;
        log->size += w;
    }
}

/* Shifts container.log.N-1 to .N … and container.log to .1, then starts a
   new file; with max-file 1 the file starts over. */
static void rotate(struct berth_log *log) {
    if (log->max_file <= 1) {
        if (log->fd >= 0 && ftruncate(log->fd, 0) == 0) log->size = 0;
        return;
    }
    size_t len = strlen(log->path) + 16;
    char *from = malloc(len), *to = malloc(len);
    if (from && to) {
        for (int n = log->max_file - 1; n >= 2; n--) {
            snprintf(from, len, "%s.%d", log->path, n - 1);
            snprintf(to, len, "%s.%d", log->path, n);
            rename(from, to);
        }
        snprintf(to, len, "%s.1", log->path);
        rename(log->path, to);
    }
    free(from);
    free(to);
    if (log->fd >= 0) close(log->fd);
    open_file(log);
}

/* Writes whole entries, rotating between entries when the next would take
   the file past max-size; an entry larger than max-size gets a file of its own. */
static void write_entries(struct berth_log *log, const uint8_t *bytes, size_t n) {
    if (n == 0) return;
    if (!log->opened && log->driver != BERTH_LOG_NONE) open_file(log);
    if (log->fd < 0) return;
    if (log->max_size <= 0) { write_all(log, bytes, n); return; }
    size_t start = 0;
    while (start < n) {
        size_t end = start;
        while (end < n) {
            const uint8_t *nl = memchr(bytes + end, '\n', n - end);
            size_t next = nl ? (size_t)(nl - bytes) + 1 : n;
            if (log->size + (int64_t)(next - start) > log->max_size && (end > start || log->size > 0)) break;
            end = next;
        }
        if (end == start) {
            int64_t before = log->size;
            int fd = log->fd;
            rotate(log);
            if (log->fd < 0) return;
            if (log->fd == fd && log->size == before) return;  /* could not start over: stop, never spin */
            continue;
        }
        write_all(log, bytes + start, end - start);
        start = end;
    }
}

void berth_log_append(struct berth_log *log, int stream, const uint8_t *bytes, size_t n) {
    if (!log || log->driver == BERTH_LOG_NONE || n == 0) return;
    int s = stream == BERTH_LOG_STDERR ? 1 : 0;
    /* The partial line first, then what came. */
    uint8_t *buf = log->partial[s];
    size_t len = log->partial_len[s];
    uint8_t *joined = realloc(buf, len + n);
    if (!joined) return;
    memcpy(joined + len, bytes, n);
    len += n;
    char time[64];
    size_t time_len = format_time(log->driver, time, sizeof time);
    struct out o = {0};
    size_t start = 0;
    const uint8_t *nl;
    while (start < len && (nl = memchr(joined + start, '\n', len - start)) != NULL) {
        size_t end = (size_t)(nl - joined) + 1;
        encode(log, &o, stream, joined + start, end - start, time, time_len);
        start = end;
    }
    size_t rest = len - start;
    if (rest >= PARTIAL_LIMIT) {
        encode(log, &o, stream, joined + start, rest, time, time_len);
        rest = 0;
    }
    if (rest == 0) {
        free(joined);
        log->partial[s] = NULL;
    } else {
        memmove(joined, joined + start, rest);
        log->partial[s] = joined;
    }
    log->partial_len[s] = rest;
    if (!o.failed) write_entries(log, o.data, o.len);
    free(o.data);
}

void berth_log_flush(struct berth_log *log) {
    if (!log) return;
    char time[64];
    size_t time_len = format_time(log->driver, time, sizeof time);
    struct out o = {0};
    for (int s = 0; s < 2; s++) {
        if (log->partial_len[s] > 0 && log->driver != BERTH_LOG_NONE)
            encode(log, &o, s == 1 ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT, log->partial[s], log->partial_len[s], time,
                   time_len);
        free(log->partial[s]);
        log->partial[s] = NULL;
        log->partial_len[s] = 0;
    }
    if (!o.failed) write_entries(log, o.data, o.len);
    free(o.data);
}

int berth_log_has_partial(const struct berth_log *log) {
    return log && (log->partial_len[0] > 0 || log->partial_len[1] > 0);
}

const uint8_t *berth_log_partial(const struct berth_log *log, int stream, size_t *len) {
    int s = stream == BERTH_LOG_STDERR ? 1 : 0;
    *len = log ? log->partial_len[s] : 0;
    return *len ? log->partial[s] : NULL;
}

int berth_log_set_partial(struct berth_log *log, int stream, const uint8_t *bytes, size_t n) {
    int s = stream == BERTH_LOG_STDERR ? 1 : 0;
    if (!log || n == 0) return 0;
    uint8_t *copy = malloc(n);
    if (!copy) return -1;
    memcpy(copy, bytes, n);
    free(log->partial[s]);
    log->partial[s] = copy;
    log->partial_len[s] = n;
    return 0;
}

void berth_log_close(struct berth_log *log) {
    if (!log) return;
    if (log->fd >= 0) close(log->fd);
    free(log->partial[0]);
    free(log->partial[1]);
    free(log->path);
    free(log);
}
