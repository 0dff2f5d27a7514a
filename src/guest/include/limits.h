/* limits.h - glint guest libc: gcc's own limits.h, without the system one
 * it would otherwise look for. */
#ifndef _LIBC_LIMITS_H_
#define _LIBC_LIMITS_H_ 1
#include_next <limits.h>
#endif
