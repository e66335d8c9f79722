/*
 * libgovernor, batched cgroup I/O (batch.c). The conventions of governor.h hold: 0 or -errno, no global
 * state, every fd close-on-exec, and "beneath" resolution (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) for `dir` beneath `dirfd` and for every name beneath `dir`.
 */
#ifndef GOVERNOR_BATCH_H
#define GOVERNOR_BATCH_H

#include "governor.h"

#include <stddef.h>

/*
 * Reads `count` files whose names (relative to `dir`, which is relative to `dirfd`; "" is dirfd itself) lie
 * one after another in `names`, each NUL-terminated, within `names_len` bytes. Their contents go one after
 * another into buf; *used is the total. `results` holds `count` int64 slots (native byte order): the length
 * of each file's content, or -errno for a file that could not be opened or read (ENOENT for a missing
 * controller). Returns -EFBIG when buf is too small for all of them (the caller retries with a larger one),
 * -errno when `dir` cannot be opened, -EINVAL for a names list without enough NULs; 0 otherwise, even when
 * some files failed.
 */
GV_API int gv_read_files_beneath(int dirfd, const char *dir, const char *names, size_t names_len, size_t count,
				 unsigned char *buf, size_t cap, size_t *used, unsigned char *results);

/*
 * Reads the files of many cgroups in one call (a whole /metrics scrape). `list` holds entries "dir\0file\0",
 * one after another within `list_len` bytes; entries that follow each other with the same dir share one
 * open of it. The first `skip` entries are passed over; the others are read in order, their contents one
 * after another into buf, *used the total. `results` holds one int64 slot per entry (native byte order),
 * `skip` included: the length of the entry's content, or -errno for a file that could not be read (every
 * file of a dir that cannot be opened gets that dir's -errno: ENOENT for a removed cgroup). *done is the
 * number of entries settled from the start of the list, `skip` included. Returns 0 when all `count` are,
 * -EFBIG when buf filled up first (the caller reads on from *done with a new buffer, a larger one when
 * *done did not move), -EINVAL for a list without enough NULs.
 */
GV_API int gv_read_tree_beneath(int dirfd, const char *list, size_t list_len, size_t count, size_t skip, unsigned char *buf,
				size_t cap, size_t *used, unsigned char *results, size_t *done);

/*
 * Applies an ordered write plan in `dir`: `count` pairs "name\0value\0" in `plan` (plan_len bytes). Each value
 * is written to its existing file in one write(2), opened O_WRONLY (| O_NONBLOCK with nonblock != 0). The
 * order is the caller's (the cgroup write-order rules), so the first refused write stops the plan. `results`
 * holds `count` int64 slots: 0 for a write done, -errno for the refused one, 1 for writes not attempted.
 * Returns 0 when every write was done, else the -errno of the refused write (or of opening `dir`).
 */
GV_API int gv_write_files_beneath(int dirfd, const char *dir, const char *plan, size_t plan_len, size_t count,
				  int nonblock, unsigned char *results);

/* sysconf(_SC_PAGESIZE): the unit in which the kernel keeps memory limits (4096, 16384, 65536 ...). */
GV_API long gv_page_size(void);

#endif
