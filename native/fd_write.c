/* Writing a whole buffer to a file descriptor (fd_write.h). */
#include "fd_write.h"

#include <errno.h>
#include <unistd.h>

int gv_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno != EINTR)
			return -errno;
		p += n > 0 ? n : 0;
		len -= n > 0 ? (size_t)n : 0;
	}
	return 0;
}
