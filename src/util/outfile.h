/* outfile.h: writing a result file where the user points it: stdout, a device or FIFO in
 * place, a regular file replaced atomically. */
#ifndef STAMPEDE_OUTFILE_H
#define STAMPEDE_OUTFILE_H

#include <stddef.h>

/* The marker in temporary file names: ".NAME.stampede-tmp.PID" next to the target. */
#define OUTFILE_TMP_TAG ".stampede-tmp."

/* Check, before any load is sent, that outfile_write(path, ...) can work: "-" and a
 * descriptor of this process named as /dev/stdout, /dev/stderr, /dev/fd/N or
 * /proc/self/fd/N must be open for writing; a character device or FIFO (after following
 * symlinks) must be writable; a regular file, or a name that does not exist yet, needs its
 * directory to exist and be writable, and an existing file to be writable. A FIFO is not
 * opened (that would end its reader's input). Returns 0, or a negative errno with a
 * message naming path in err: -EINVAL (empty path), -EISDIR (a directory, or a missing name
 * ending in '/'), -ENOENT or -ENOTDIR (missing directory), -EACCES (not writable), -ENXIO
 * (a socket or block device), -EBADF (a descriptor not open for writing), -ELOOP. */
int outfile_check(const char *path, char *err, size_t errlen);

/* Write data[0..len) to path: "-" and this process's descriptors (as outfile_check) are
 * written in place, after stdio's stdout buffer is flushed; a character device or FIFO
 * (following symlinks) is opened without O_CREAT/O_TRUNC and written directly (a FIFO
 * without a reader is waited for up to 10 s: -ENXIO); a regular file, or a name that does
 * not exist yet, is written to a temporary file in the directory of the symlinks' final
 * target, ".NAME" OUTFILE_TMP_TAG "PID" (earlier ones whose process is gone are removed
 * first), fsync'ed and renamed over it, so the link is kept, the old file's mode too, and
 * readers see the old or the new content, never a part. Short writes and EINTR are retried;
 * a slow reader is waited for until SIGINT, SIGTERM or SIGHUP is pending (-EINTR: the
 * process blocks them while it runs); SIGPIPE is not raised (-EPIPE). Returns 0, or a
 * negative errno (-ENOSPC, -EPIPE, -EINTR, -EIO, and those of outfile_check) with
 * "cannot write 'PATH': REASON" in err; no temporary file is left behind on failure. */
int outfile_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
