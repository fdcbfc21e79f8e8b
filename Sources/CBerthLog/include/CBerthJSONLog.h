#ifndef CBERTH_JSONLOG_H
#define CBERTH_JSONLOG_H
#include <stddef.h>
#include <stdint.h>

/// Writes `in` as the inside of a JSON string (no quotes) to `out`, which
/// must hold 6 * n bytes: the escapes of Berth's JSON encoder (\" \\ \n \r
/// \t, \u00XX for other controls and for < > &), and U+FFFD for each maximal
/// ill-formed UTF-8 subsequence, as Swift's String(decoding:as:) repairs.
/// Returns the bytes written. The container log runs every byte a container
/// writes through this, so it is C: fast even in a debug build.
size_t berth_json_escape(const uint8_t *in, size_t n, uint8_t *out);

#endif
