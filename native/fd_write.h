/*
 * libgovernor, governor-monitor and governor-tenant-init alike (nothing here is exported from the library):
 * writing a whole buffer to a file descriptor.
 */
#ifndef GOVERNOR_FD_WRITE_H
#define GOVERNOR_FD_WRITE_H

#include <stddef.h>

/* Writes all `len` bytes, again after a short write or EINTR: 0, or the -errno of the write that failed. */
int gv_write_all(int fd, const void *buf, size_t len);

#endif
