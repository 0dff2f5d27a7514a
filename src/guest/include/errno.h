/* errno.h - glint guest libc: one plain variable (a guest has one thread). */
#ifndef GLINT_LIBC_ERRNO_H
#define GLINT_LIBC_ERRNO_H

extern int errno;
#define errno errno

#define EPERM   1
#define ENOENT  2
#define EIO     5
#define EBADF   9
#define ENOMEM  12
#define EACCES  13
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define EINVAL  22
#define ENOSPC  28
#define EDOM    33
#define ERANGE  34
#define ENOSYS  38
#define EILSEQ  84
#define EOVERFLOW 75
#define ENOTSUP 95
#define ETIMEDOUT 110

#endif
