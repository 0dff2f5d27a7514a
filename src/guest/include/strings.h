/* strings.h - glint guest libc. */
#ifndef GLINT_LIBC_STRINGS_H
#define GLINT_LIBC_STRINGS_H

#include <stddef.h>

int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
int ffs(int v);

#endif
