#ifndef CBERTH_LOGWRITER_H
#define CBERTH_LOGWRITER_H
#include <stddef.h>
#include <stdint.h>

/// A container's log file, written one entry per line in its driver's
/// format: Docker's json-file (`{"log":…,"stream":…,"time":…}`) or
/// Podman's k8s-file (`TIME STREAM F|P TEXT`), rotated by max-size and
/// max-file as Docker's json-file rotates. Both monitors write through it,
/// the forked Swift one and the small `berth-monitor` it hands over to
/// (docs/architecture.md, "The monitor"), so the format exists once.
///
/// Output is cut into entries at newlines; a partial line waits for its
/// newline, for 16 KiB, or for `berth_log_flush` at the exit. The entries of
/// one `berth_log_append` share its time and go to the file in one write.
struct berth_log;

enum berth_log_driver { BERTH_LOG_JSON_FILE = 0, BERTH_LOG_K8S_FILE = 1, BERTH_LOG_NONE = 2 };
enum berth_log_stream { BERTH_LOG_STDOUT = 1, BERTH_LOG_STDERR = 2 };

/// A log appending to `path`, which is opened (made if missing) at the
/// first entry: a container that writes nothing leaves no file, and a
/// `run --rm` of one makes and deletes one inode fewer in the store.
/// `max_size` <= 0: never rotate; `max_file` files are kept, the current
/// one included. NULL only when out of memory; a file that cannot be opened
/// makes a log that drops what it is given, as the container must run on.
struct berth_log *berth_log_open(const char *path, int driver, int64_t max_size, int max_file);

/// Logs `n` bytes a container wrote on `stream`.
void berth_log_append(struct berth_log *log, int stream, const uint8_t *bytes, size_t n);

/// Writes the partial lines as entries of their own (PID 1 exited).
void berth_log_flush(struct berth_log *log);

/// 1 while a partial line waits for its newline.
int berth_log_has_partial(const struct berth_log *log);

/// The partial line of `stream` (its bytes, `*len` of them; NULL when none).
const uint8_t *berth_log_partial(const struct berth_log *log, int stream, size_t *len);

/// Starts `stream` with a partial line (handed over by the monitor before).
int berth_log_set_partial(struct berth_log *log, int stream, const uint8_t *bytes, size_t n);

/// Closes the file and frees the log (without flushing).
void berth_log_close(struct berth_log *log);

#endif
