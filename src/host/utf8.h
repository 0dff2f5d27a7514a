/*
 * utf8.h - the one UTF-8 check for everything that crosses into or out of a
 * sandbox: well-formed sequences only (no overlong forms, no surrogates,
 * nothing past U+10FFFF).  Header-only and freestanding, so that the host
 * library (wire.c), the WebAssembly runtime guest and glintd share it.
 */
#ifndef GLINT_UTF8_H
#define GLINT_UTF8_H

#include <stddef.h>
#include <stdint.h>

static inline int glint_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1fu, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0fu, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07u, min = 0x10000;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

#endif
