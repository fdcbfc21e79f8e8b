#ifndef CBERTH_HTTP_H
#define CBERTH_HTTP_H
#include <stddef.h>
#include <stdint.h>

/// What went wrong with a transfer, in the terms Berth's messages need
/// (libcurl's CURLcode values are mapped in curl.c so that its header stays
/// private to that file).
enum berth_http_failure {
    BERTH_HTTP_OK = 0,
    BERTH_HTTP_NO_LIBRARY,     /* libcurl.so.4 could not be loaded */
    BERTH_HTTP_RESOLVE,        /* the host (or the proxy) has no address */
    BERTH_HTTP_CONNECT,        /* nothing listens, or the proxy refused CONNECT */
    BERTH_HTTP_TIMEOUT,        /* connect or transfer too slow */
    BERTH_HTTP_TLS_VERIFY,     /* the server's certificate is not trusted or not for this name */
    BERTH_HTTP_TLS_HANDSHAKE,  /* no TLS spoken (a plain-HTTP server) or the handshake failed */
    BERTH_HTTP_TLS_CLIENT,     /* client.cert/client.key or ca.crt could not be used */
    BERTH_HTTP_ABORTED,        /* a callback refused (Berth's own error is the one to show) */
    BERTH_HTTP_DROPPED,        /* the connection broke in the middle: worth another try */
    BERTH_HTTP_OTHER,
};

/// One request. Header lines are `Name: value`. The body is `body`/`body_len`
/// bytes in memory, or, when `body_fd` >= 0, `body_size` bytes read from that
/// file. TLS: `verify` 0 skips certificate checks (--tls-verify=false);
/// `ca_pem` (`ca_pem_len` bytes, PEM) replaces the trusted CAs (curl.c
/// is handed the system bundle plus certs.d's `*.crt` together);
/// `client_cert`/`client_key` are PEM files. `proxy`: NULL or "" for a
/// direct connection (the environment is never read here: Swift decides).
struct berth_http_request {
    const char *method;
    const char *url;
    const char *const *headers;
    int nheaders;
    const void *body;
    size_t body_len;
    int body_fd;
    int64_t body_size;
    int has_body;
    int verify;
    const char *ca_pem;
    size_t ca_pem_len;
    const char *client_cert;
    const char *client_key;
    const char *proxy;
    long connect_timeout;
    long low_speed_seconds;
    void *context;
    /// Each response header line (status lines included), without CRLF.
    /// Return 0 to abort the transfer.
    int (*on_header)(void *context, const char *line, size_t length);
    /// Body bytes. Return 0 to abort.
    int (*on_body)(void *context, const char *data, size_t length);
    /// Bytes of the request body sent so far (may be NULL).
    void (*on_upload)(void *context, int64_t sent);
};

/// Performs `request` with libcurl, which is dlopen'd here on the first
/// call (commands that never touch the network never load it). Returns a
/// `berth_http_failure`; on failure `error` (sized `error_size`) has
/// libcurl's own words.
int berth_http_perform(const struct berth_http_request *request, char *error, size_t error_size);

#endif
