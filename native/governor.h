/*
 * libgovernor: the few kernel calls Governor cannot make safely from Node.
 *
 * Conventions, for every function below:
 *   - returns 0 on success (or the non-negative fd / pid / state that the comment names) and -errno on
 *     failure; it never aborts or exits the calling process and keeps no global state;
 *   - every fd it creates is close-on-exec;
 *   - "beneath" means that `rel` is resolved from `dirfd` with openat2(2) and
 *     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV: an absolute path or a
 *     ".." that leaves dirfd gives -EXDEV, any symlink on the way gives -ELOOP, a mount point -EXDEV.
 */
#ifndef GOVERNOR_H
#define GOVERNOR_H

#include <stddef.h>

#define GV_API __attribute__((visibility("default")))

/* Opens `path` (absolute, or relative to the cwd) O_PATH | O_DIRECTORY | O_CLOEXEC. Returns the fd. */
GV_API int gv_open_dir(const char *path);

/* close(2). EINTR counts as success: Linux has released the fd by then and a retry could close another. */
GV_API int gv_close(int fd);

/*
 * Reads the whole file `rel` beneath `dirfd` into buf and stores its length in *len. -EFBIG when the file
 * holds more than `cap` bytes (the caller retries with a larger buffer).
 */
GV_API int gv_read_beneath(int dirfd, const char *rel, unsigned char *buf, size_t cap, size_t *len);

/*
 * Opens the existing file `rel` beneath `dirfd` O_WRONLY (| O_NONBLOCK when nonblock != 0) and writes
 * `len` bytes in a single write(2), as cgroup files expect. A short write is -EIO.
 */
GV_API int gv_write_beneath(int dirfd, const char *rel, const unsigned char *buf, size_t len, int nonblock);

/*
 * mkdirat / unlinkat(AT_REMOVEDIR) of the last component of `rel`, in its parent opened beneath `dirfd`.
 * A last component that is empty, "." or ".." is -EINVAL.
 */
GV_API int gv_mkdir_beneath(int dirfd, const char *rel, unsigned int mode);
GV_API int gv_rmdir_beneath(int dirfd, const char *rel);

/* The step of gv_spawn that failed, stored in *failed_step whenever it returns -errno. */
enum gv_spawn_step {
	GV_STEP_NONE = 0,
	GV_STEP_ARGS = 1,   /* a NULL argument */
	GV_STEP_CGROUP = 2, /* opening cgroup_dir */
	GV_STEP_PIPE = 3,   /* the error-report pipe */
	GV_STEP_CLONE = 4,  /* clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) */
	GV_STEP_STDIN = 5,  /* opening /dev/null */
	GV_STEP_STDOUT = 6, /* opening stdout_path */
	GV_STEP_STDERR = 7, /* opening stderr_path */
	GV_STEP_DUP = 8,    /* dup2 onto 0, 1, 2; marking every other fd close-on-exec */
	GV_STEP_CWD = 9,    /* chdir(cwd) */
	GV_STEP_SIGNALS = 10,
	GV_STEP_SETSID = 11,
	GV_STEP_EXEC = 12,  /* execve(command) */
	GV_STEP_REPORT = 13 /* reading the child's report */
};

/*
 * Starts `command` (an absolute path: no PATH search) with the NULL-terminated `argv` and `envp` straight
 * into the cgroup v2 directory `cgroup_dir`, with clone3(CLONE_INTO_CGROUP | CLONE_PIDFD). The child
 * appends stdout and stderr to the two files (created 0640, relative paths resolve against the caller's
 * cwd), reads /dev/null, inherits no other fd, runs in `cwd` in a new session with default signal
 * dispositions and an empty signal mask. Returns 0 once execve has succeeded, with *pid and *pidfd (close-on-exec, owned by the
 * caller, who must also reap the child: see gv_pidfd_wait). When any step fails the child, if any, has
 * been reaped and the function returns that step's -errno with *failed_step set.
 */
GV_API int gv_spawn(const char *command, const char *const *argv, const char *const *envp, const char *cwd,
		    const char *cgroup_dir, const char *stdout_path, const char *stderr_path, int *pid,
		    int *pidfd, int *failed_step);

/* pidfd_open(2). Returns the pidfd. */
GV_API int gv_pidfd_open(int pid);

/* pidfd_send_signal(2); sig 0 checks for existence (-ESRCH once the process has exited). */
GV_API int gv_pidfd_send_signal(int pidfd, int sig);

/*
 * Reaps the child behind `pidfd` if it has terminated, without blocking (waitid(P_PIDFD, WEXITED |
 * WNOHANG)). Returns 1 when it was reaped, with *exit_code (or -1) and *term_signal (or -1); 0 while it is
 * still running; -ECHILD when it is not the caller's child or has been reaped already.
 */
GV_API int gv_pidfd_wait(int pidfd, int *exit_code, int *term_signal);

#endif
