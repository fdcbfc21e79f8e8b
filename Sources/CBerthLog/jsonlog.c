/* The container log's string escaper: see CBerthJSONLog.h. */
#include "CBerthJSONLog.h"

/* After lead byte b: how many continuation bytes follow, and the range of
   the first (the others are 80..BF), per Unicode table 3-7. 0: no sequence
   starts with b. */
static int continuation(uint8_t b, uint8_t *low, uint8_t *high) {
    *low = 0x80; *high = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) return 1;
    if (b == 0xE0) { *low = 0xA0; return 2; }
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return 2;
    if (b == 0xED) { *high = 0x9F; return 2; }
    if (b == 0xF0) { *low = 0x90; return 3; }
    if (b >= 0xF1 && b <= 0xF3) return 3;
    if (b == 0xF4) { *high = 0x8F; return 3; }
    return 0;
}

size_t berth_json_escape(const uint8_t *in, size_t n, uint8_t *out) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    while (i < n) {
        uint8_t b = in[i];
        if (b >= 0x80) {
            uint8_t low, high;
            int need = continuation(b, &low, &high), k = 0;
            while (k < need && i + 1 + k < n) {
                uint8_t c = in[i + 1 + k];
                if (c < (k == 0 ? low : 0x80) || c > (k == 0 ? high : 0xBF)) break;
                k++;
            }
            if (need > 0 && k == need) {
                for (int j = 0; j <= k; j++) out[o++] = in[i + j];
            } else {
                /* The lead and the continuation bytes that fit it: one U+FFFD. */
                out[o++] = 0xEF; out[o++] = 0xBF; out[o++] = 0xBD;
            }
            i += 1 + k;
            continue;
        }
        switch (b) {
        case '"': out[o++] = '\\'; out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
        case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
        case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
        case '\t': out[o++] = '\\'; out[o++] = 't'; break;
        default:
            if (b < 0x20 || b == '<' || b == '>' || b == '&') {
                out[o++] = '\\'; out[o++] = 'u'; out[o++] = '0'; out[o++] = '0';
                out[o++] = (uint8_t)hex[b >> 4]; out[o++] = (uint8_t)hex[b & 15];
            } else {
                out[o++] = b;
            }
        }
        i++;
    }
    return o;
}
