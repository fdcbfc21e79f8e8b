// HTTP(S) for pull, push, login and `import URL`, through libcurl: TLS with
// the system's CAs, HTTP/2, proxies' CONNECT, all maintained by Debian.
//
// libcurl is dlopen'd on first use instead of linked, as libseccomp is: a
// command that never touches the network (`ps`, `run --network none`) does
// not pay the dynamic loader's time to map libcurl and the ~40 libraries it
// pulls in (OpenSSL, nghttp2, libssh2, Kerberos, LDAP…). Only the build
// needs libcurl's header (libcurl4-openssl-dev); at run time libcurl.so.4
// (Debian's libcurl4) is enough.
//
// Redirects, the proxy choice, retries and the choice of certificates stay
// in Swift (Sources/BerthEngine/Distribution): this file performs one
// request, exactly as it is described.
#define _GNU_SOURCE
#include "CBerthHTTP.h"
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
    int loaded;                        /* 1 ok, -1 failed */
    char error[200];
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* One easy handle per thread, kept between requests: curl_easy_reset keeps
 * its open connections (keep-alive to the registry), its DNS and TLS
 * session caches and the parsed CA store, which otherwise cost a CA-bundle
 * parse and a handshake per request. Freed when the thread ends. */
static pthread_key_t handle_key;

static void free_handle(void *handle) {
    if (handle) lib.easy_cleanup(handle);
}

/* Once per process: pull downloads run on several threads, and
 * curl_global_init is not thread-safe. */
static void load_library(void) {
    lib.loaded = -1;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(lib.error, sizeof lib.error,
                 "cannot load libcurl.so.4 (%s); install it: apt-get install libcurl4", dlerror());
        return;
    }
#define SYM(field, name) \
    if (!(*(void **)&lib.field = dlsym(h, name))) { \
        snprintf(lib.error, sizeof lib.error, "libcurl.so.4 has no %s; it is too old", name); \
        return; \
    }
    SYM(global_init, "curl_global_init")
    SYM(easy_init, "curl_easy_init")
    SYM(easy_setopt, "curl_easy_setopt")
    SYM(easy_perform, "curl_easy_perform")
    SYM(easy_cleanup, "curl_easy_cleanup")
    SYM(easy_reset, "curl_easy_reset")
    SYM(easy_strerror, "curl_easy_strerror")
    SYM(slist_append, "curl_slist_append")
    SYM(slist_free_all, "curl_slist_free_all")
#undef SYM
    if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || pthread_key_create(&handle_key, free_handle) != 0) {
        snprintf(lib.error, sizeof lib.error, "libcurl failed to initialise");
        return;
    }
    lib.loaded = 1;
}

struct transfer {
    const struct berth_http_request *request;
    size_t body_offset;
    int64_t sent;
    int aborted;
};

static size_t on_header(char *data, size_t size, size_t count, void *opaque) {
    struct transfer *t = opaque;
    size_t n = size * count, len = n;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
    if (!t->request->on_header(t->request->context, data, len)) { t->aborted = 1; return 0; }
    return n;
}

static size_t on_body(char *data, size_t size, size_t count, void *opaque) {
    struct transfer *t = opaque;
    size_t n = size * count;
    if (!t->request->on_body(t->request->context, data, n)) { t->aborted = 1; return 0; }
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *opaque) {
    struct transfer *t = opaque;
    const struct berth_http_request *r = t->request;
    size_t want = size * count;
    size_t got = 0;
    if (r->body_fd >= 0) {
        if ((int64_t)want > r->body_size - t->sent) want = (size_t)(r->body_size - t->sent);
        while (want > 0) {
            ssize_t n = read(r->body_fd, buffer, want);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { t->aborted = 1; return CURL_READFUNC_ABORT; }
            got = (size_t)n;
            break;
        }
    } else {
        size_t left = r->body_len - t->body_offset;
        got = want < left ? want : left;
        if (got > 0) memcpy(buffer, (const char *)r->body + t->body_offset, got);
        t->body_offset += got;
    }
    t->sent += (int64_t)got;
    if (r->on_upload && got > 0) r->on_upload(r->context, t->sent);
    return got;
}

static int classify(CURLcode code, const char *text) {
    switch (code) {
    case CURLE_OK: return BERTH_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return BERTH_HTTP_RESOLVE;
    case CURLE_COULDNT_CONNECT:
    case CURLE_PROXY: return BERTH_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return BERTH_HTTP_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION: return BERTH_HTTP_TLS_VERIFY;
    case CURLE_SSL_CONNECT_ERROR:
        /* TLS 1.3 servers refuse a missing client certificate in an alert. */
        if (strstr(text, "certificate required") || strstr(text, "bad certificate")) return BERTH_HTTP_TLS_CLIENT;
        return BERTH_HTTP_TLS_HANDSHAKE;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: return BERTH_HTTP_TLS_CLIENT;
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK: return BERTH_HTTP_ABORTED;
    case CURLE_RECV_ERROR:
        if (strstr(text, "certificate required") || strstr(text, "bad certificate")) return BERTH_HTTP_TLS_CLIENT;
        return BERTH_HTTP_DROPPED;
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return BERTH_HTTP_DROPPED;
    default: return BERTH_HTTP_OTHER;
    }
}

int berth_http_perform(const struct berth_http_request *r, char *error, size_t error_size) {
    pthread_once(&load_once, load_library);
    if (lib.loaded != 1) {
        snprintf(error, error_size, "%s", lib.error);
        return BERTH_HTTP_NO_LIBRARY;
    }
    CURL *c = pthread_getspecific(handle_key);
    if (c) {
        lib.easy_reset(c);
    } else {
        c = lib.easy_init();
        if (!c || pthread_setspecific(handle_key, c) != 0) {
            if (c) lib.easy_cleanup(c);
            snprintf(error, error_size, "libcurl could not start a transfer (out of memory?)");
            return BERTH_HTTP_OTHER;
        }
    }
    /* A CR or LF in a header would end its line and forge further headers;
     * one in the URL, the request line. HTTPClient.swift refuses them
     * first; this is the last line before the wire. */
    for (int i = 0; i < r->nheaders; i++) {
        if (strpbrk(r->headers[i], "\r\n")) {
            snprintf(error, error_size, "refusing a request header that holds a line break (CR or LF)");
            return BERTH_HTTP_OTHER;
        }
    }
    if (strpbrk(r->url, "\r\n \t")) {
        snprintf(error, error_size, "refusing a URL that holds a space or line break");
        return BERTH_HTTP_OTHER;
    }
    char curl_error[CURL_ERROR_SIZE] = "";
    struct transfer t = {.request = r};
    struct curl_slist *headers = NULL;
    for (int i = 0; i < r->nheaders; i++) headers = lib.slist_append(headers, r->headers[i]);

    lib.easy_setopt(c, CURLOPT_URL, r->url);
    lib.easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
    lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    lib.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    lib.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    lib.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    lib.easy_setopt(c, CURLOPT_HEADERDATA, &t);
    lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    lib.easy_setopt(c, CURLOPT_WRITEDATA, &t);
    lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->connect_timeout);
    /* A transfer slower than 1 byte/s for this long is a dead connection. */
    lib.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    lib.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, r->low_speed_seconds);
    lib.easy_setopt(c, CURLOPT_PROXY, r->proxy ? r->proxy : "");
    lib.easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    lib.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, r->verify ? 1L : 0L);
    lib.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->verify ? 2L : 0L);
    if (r->ca_pem && r->ca_pem_len > 0) {
        struct curl_blob blob = {.data = (void *)r->ca_pem, .len = r->ca_pem_len, .flags = CURL_BLOB_COPY};
        lib.easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (r->client_cert) lib.easy_setopt(c, CURLOPT_SSLCERT, r->client_cert);
    if (r->client_key) lib.easy_setopt(c, CURLOPT_SSLKEY, r->client_key);

    if (strcmp(r->method, "HEAD") == 0) {
        lib.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (r->has_body) {
        lib.easy_setopt(c, CURLOPT_UPLOAD, 1L);
        lib.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        lib.easy_setopt(c, CURLOPT_READDATA, &t);
        lib.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(r->body_fd >= 0 ? r->body_size : (int64_t)r->body_len));
        lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }

    /* OpenSSL writes to the socket without MSG_NOSIGNAL: a registry that
     * closes the connection mid-upload would kill the CLI with SIGPIPE.
     * Block it on this thread for the transfer and discard what came (a
     * per-thread mask: pull downloads on several threads at once). */
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    CURLcode code = lib.easy_perform(c);
    if (!sigismember(&old_mask, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) > 0) {}
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    const char *text = curl_error[0] ? curl_error : lib.easy_strerror(code);
    int result = t.aborted ? BERTH_HTTP_ABORTED : classify(code, text);
    if (result != BERTH_HTTP_OK) snprintf(error, error_size, "%s", text);
    /* The handle keeps pointers to this call's buffers until the next reset. */
    lib.easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    lib.easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    lib.slist_free_all(headers);
    return result;
}
