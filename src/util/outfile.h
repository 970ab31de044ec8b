/* outfile.h: writing a result file where the user points it: stdout, a device or FIFO in
 * place, a regular file replaced atomically. */
#ifndef STAMPEDE_OUTFILE_H
#define STAMPEDE_OUTFILE_H

#include <stdbool.h>
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

/* The file a write to path would replace, as one canonical name (symlinks followed as a
 * write follows them, the directory through realpath), so that two spellings of one file
 * compare equal: a new string, or NULL when path writes no file of its own ("-", a
 * descriptor, a device or FIFO) or cannot be resolved. */
char *outfile_where(const char *path);

/* The link from a file written at out to the directory dir, as a URL path prefix for a
 * relative href (RFC 3986 §4.2: a relative-path reference): "" when out is written in dir
 * itself (or out is "-" or a descriptor), else the path from out's directory to dir ending
 * in '/' ("../run/", "a/b/"), each byte outside RFC 3986's unreserved set and '/'
 * percent-encoded, so it can be written into an HTML attribute or a Markdown link as it
 * is. Both paths are made absolute and normalised by their text (RFC 3986 §5.2.4), not by
 * following symlinks: a page written through a symlinked directory links from where it is
 * opened, as a browser resolves it. A new string (free()). */
char *outfile_link_base(const char *out, const char *dir);

/* Whether writing to out would replace the file in (an input: a result file, a history
 * database): the same file (device and inode) when both exist, else the same canonical
 * name (outfile_where). "-" and descriptors are never an input's file. */
bool outfile_same(const char *in, const char *out);

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

/* --- streaming: a file written as the run goes ---------------------------------------- */

/* outfile_stream_open flags. */
#define OUTFILE_GZIP 1u /* gzip (RFC 1952) what is written, as zlib's deflate level 1 */

/* How many bytes may wait for the writer thread before outfile_stream_write waits. */
#define OUTFILE_STREAM_QUEUE_MAX (64u << 20)

struct outfile_stream;

/*
 * Open path to be written as the run goes, with the same rules as outfile_write: "-" and
 * this process's descriptors are written in place; a character device or FIFO is opened
 * now, without O_CREAT/O_TRUNC (a FIFO's reader is waited for up to 10 s: -ENXIO); a
 * regular file, or a name not there yet, is written to the temporary file ".NAME"
 * OUTFILE_TMP_TAG "PID" next to it and renamed over it by outfile_stream_commit(), so
 * readers see the old or the whole new file (follow the run with `tail -f` on the
 * temporary file, or write to a FIFO or '-'). A writer thread of the stream does the
 * writes (and the gzip compression with OUTFILE_GZIP), so the caller never waits on the
 * file. Returns 0 with *out set, or a negative errno with "cannot write 'PATH': REASON" in
 * err (the errors of outfile_check, -EMFILE, -ENOSPC...).
 */
int outfile_stream_open(const char *path, unsigned flags, struct outfile_stream **out, char *err,
                        size_t errlen);

/* Queue data[0..len) (copied) for the writer thread. Waits only while more than
 * OUTFILE_STREAM_QUEUE_MAX bytes are queued, until the writer catches up or SIGINT,
 * SIGTERM or SIGHUP is pending. Returns 0, or the first error the writer met (negative
 * errno; what is written after an error is dropped). */
int outfile_stream_write(struct outfile_stream *s, const void *data, size_t len);

/* Write everything queued, end the gzip stream, and for a regular file fsync the
 * temporary file and rename it over the target. Returns 0, or a negative errno with
 * "cannot write 'PATH': REASON" in err (the temporary file is removed). Call once;
 * outfile_stream_free() still releases s. */
int outfile_stream_commit(struct outfile_stream *s, char *err, size_t errlen);

/* Stop the writer and release s; a regular file that was not committed is left as it
 * was (the temporary file is removed). Accepts NULL. */
void outfile_stream_free(struct outfile_stream *s);

#endif
