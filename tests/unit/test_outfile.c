/* test_outfile.c: unit tests for the result-file writer (stdout, devices, FIFOs, symlinks,
 * atomic replacement, stale temporary files, errors). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/common.h"
#include "util/outfile.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_outfile.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void remove_dir(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(outfile, .init = make_dir, .fini = remove_dir);

static char *in_dir(const char *name)
{
	static char bufs[4][256];
	static int i;
	char *b = bufs[i++ % 4];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Expect the file at path to hold exactly want. */
static void expect_content(const char *path, const char *want, const char *why)
{
	char *buf = NULL;
	size_t n = 0;
	cr_assert_eq(read_file_max(path, 1 << 30, &buf, &n), 0, "cannot read %s", path);
	cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "%s holds '%s', want '%s' %s",
	          path, buf, want, why);
	free(buf);
}

/* The names in dir, sorted and joined with spaces. */
static void listing(char *out, size_t len)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ls -A %s | tr '\\n' ' '", dir);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

Test(outfile, new_regular_file)
{
	char err[512] = "";
	const char *p = in_dir("out.json");
	cr_assert_eq(outfile_check(p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_write(p, "{}\n", 3, err, sizeof(err)), 0, "%s", err);
	expect_content(p, "{}\n", "");
	char ls[256];
	listing(ls, sizeof(ls));
	cr_expect_str_eq(ls, "out.json ", "no temporary file is left: %s", ls);
}

Test(outfile, existing_file_replaced_with_its_mode)
{
	char err[512] = "";
	const char *p = in_dir("out.json");
	FILE *f = fopen(p, "w");
	fputs("old and longer content", f);
	fclose(f);
	chmod(p, 0640);
	struct stat before, after;
	stat(p, &before);
	cr_assert_eq(outfile_write(p, "new", 3, err, sizeof(err)), 0, "%s", err);
	stat(p, &after);
	expect_content(p, "new", "");
	cr_expect_neq(before.st_ino, after.st_ino, "replaced by rename, not rewritten in place");
	cr_expect_eq(after.st_mode & 0777, 0640);
}

Test(outfile, symlink_kept_and_target_replaced)
{
	char err[512] = "";
	mkdir(in_dir("real"), 0755);
	const char *target = in_dir("real/data.json");
	FILE *f = fopen(target, "w");
	fputs("old", f);
	fclose(f);
	const char *link = in_dir("link.json");
	cr_assert_eq(symlink("real/data.json", link), 0); /* relative to the link's directory */
	cr_assert_eq(outfile_write(link, "fresh", 5, err, sizeof(err)), 0, "%s", err);
	struct stat st;
	cr_assert_eq(lstat(link, &st), 0);
	cr_expect(S_ISLNK(st.st_mode), "the symlink was replaced by a file");
	expect_content(target, "fresh", "");
	char ls[256];
	listing(ls, sizeof(ls));
	cr_expect_str_eq(ls, "link.json real ", "%s", ls);
}

Test(outfile, dangling_symlink_creates_its_target)
{
	char err[512] = "";
	const char *link = in_dir("link.json");
	cr_assert_eq(symlink("new.json", link), 0);
	cr_assert_eq(outfile_check(link, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_write(link, "x", 1, err, sizeof(err)), 0, "%s", err);
	expect_content(in_dir("new.json"), "x", "");
	struct stat st;
	cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
}

Test(outfile, symlink_loop_is_an_error)
{
	char err[512] = "";
	symlink("b", in_dir("a"));
	symlink("a", in_dir("b"));
	cr_expect_eq(outfile_check(in_dir("a"), err, sizeof(err)), -ELOOP, "%s", err);
	cr_expect_eq(outfile_write(in_dir("a"), "x", 1, err, sizeof(err)), -ELOOP, "%s", err);
}

struct reader {
	const char *path;
	char *buf;
	size_t len;
};

static void *read_fifo(void *arg)
{
	struct reader *r = arg;
	r->buf = NULL;
	read_file_max(r->path, 1 << 30, &r->buf, &r->len);
	return NULL;
}

Test(outfile, fifo_reader_gets_every_byte)
{
	char err[512] = "";
	const char *p = in_dir("fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_assert_eq(outfile_check(p, err, sizeof(err)), 0, "%s", err);
	size_t len = 3 << 20; /* many times a pipe's buffer */
	char *data = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 26);
	struct reader r = { .path = p };
	pthread_t th;
	pthread_create(&th, NULL, read_fifo, &r);
	cr_assert_eq(outfile_write(p, data, len, err, sizeof(err)), 0, "%s", err);
	pthread_join(th, NULL);
	cr_assert_eq(r.len, len, "the reader got %zu of %zu bytes", r.len, len);
	cr_expect(memcmp(r.buf, data, len) == 0);
	struct stat st;
	cr_expect(stat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");
	free(r.buf);
	free(data);
}

static void *read_one_byte_and_leave(void *arg)
{
	char c;
	int fd = open(arg, O_RDONLY);
	if (fd >= 0 && read(fd, &c, 1) < 0)
		c = 0;
	close(fd);
	return NULL;
}

Test(outfile, fifo_reader_that_goes_away_is_epipe)
{
	char err[512] = "";
	const char *p = in_dir("fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(SIGPIPE, &dfl, NULL); /* a SIGPIPE would kill this test */
	size_t len = 4 << 20;
	char *data = xcalloc(1, len);
	pthread_t th;
	pthread_create(&th, NULL, read_one_byte_and_leave, (void *)p);
	int rc = outfile_write(p, data, len, err, sizeof(err));
	pthread_join(th, NULL);
	cr_expect_eq(rc, -EPIPE, "rc %d: %s", rc, err);
	cr_expect(strstr(err, "Broken pipe"), "%s", err);
	free(data);
}

/* A character device like /dev/NAME (1, minor): a node of our own in the test directory
 * when we may make one, so that a writer that wrongly replaced devices could only replace
 * that one (as root, replacing /dev/null breaks the machine); else /dev/NAME itself. */
static const char *char_device(const char *name, unsigned minor)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mknod(path, S_IFCHR | 0666, makedev(1, minor)) == 0) {
		int fd = open(path, O_WRONLY); /* a nodev mount refuses to open it */
		if (fd >= 0) {
			close(fd);
			return path;
		}
		unlink(path);
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	return path;
}

Test(outfile, dev_full_fails_with_its_reason)
{
	char err[512] = "";
	const char *full = char_device("full", 7);
	cr_assert_eq(outfile_check(full, err, sizeof(err)), 0, "%s", err);
	int rc = outfile_write(full, "data", 4, err, sizeof(err));
	cr_expect_eq(rc, -ENOSPC);
	cr_expect(strstr(err, "No space left on device") && strstr(err, full), "%s", err);
	struct stat st;
	cr_expect(stat(full, &st) == 0 && S_ISCHR(st.st_mode), "still a device");
}

Test(outfile, dev_null_is_fine)
{
	char err[512] = "";
	const char *null = char_device("null", 3);
	cr_expect_eq(outfile_check(null, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(outfile_write(null, "data", 4, err, sizeof(err)), 0, "%s", err);
	struct stat st;
	cr_expect(stat(null, &st) == 0 && S_ISCHR(st.st_mode), "still a device");
}

Test(outfile, dash_and_proc_fd_links_write_descriptor_one_in_place)
{
	char err[512] = "";
	const char *p = in_dir("stdout.txt");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	fflush(stdout);
	cr_assert_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	struct stat before, after;
	stat(p, &before);
	printf("text summary\n"); /* buffered: must come out before the export */
	cr_assert_eq(outfile_write("-", "A\n", 2, err, sizeof(err)), 0, "%s", err);
	/* as /dev/stdout, which a wrong writer must not get to replace */
	cr_assert_eq(symlink("/proc/self/fd/1", in_dir("stdout")), 0);
	cr_assert_eq(outfile_write(in_dir("stdout"), "B\n", 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_write("/dev/fd/1", "C\n", 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_write("/proc/self/fd/1", "D\n", 2, err, sizeof(err)), 0, "%s", err);
	stat(p, &after);
	cr_expect_eq(before.st_ino, after.st_ino, "the file behind stdout was replaced");
	expect_content(p, "text summary\nA\nB\nC\nD\n", "");
}

Test(outfile, closed_descriptor_is_an_error)
{
	char err[512] = "";
	close(9);
	cr_expect_eq(outfile_check("/dev/fd/9", err, sizeof(err)), -EBADF, "%s", err);
	int fd = open("/dev/null", O_RDONLY);
	cr_assert_eq(dup2(fd, 9), 9);
	cr_expect_eq(outfile_write("/dev/fd/9", "x", 1, err, sizeof(err)), -EBADF, "%s", err);
	cr_expect(strstr(err, "not open for writing"), "%s", err);
}

Test(outfile, directory_is_an_error)
{
	char err[512] = "";
	cr_expect_eq(outfile_check(dir, err, sizeof(err)), -EISDIR, "%s", err);
	cr_expect(strstr(err, "is a directory"), "%s", err);
	cr_expect_eq(outfile_write(dir, "x", 1, err, sizeof(err)), -EISDIR, "%s", err);
	cr_expect_eq(outfile_check(in_dir("missing/"), err, sizeof(err)), -EISDIR, "%s", err);
	symlink(".", in_dir("dirlink"));
	cr_expect_eq(outfile_write(in_dir("dirlink"), "x", 1, err, sizeof(err)), -EISDIR, "%s",
	             err);
	char ls[256];
	listing(ls, sizeof(ls));
	cr_expect_str_eq(ls, "dirlink ", "%s", ls);
}

Test(outfile, empty_path_is_an_error)
{
	char err[512] = "";
	cr_expect_eq(outfile_check("", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "empty path"), "%s", err);
	cr_expect_eq(outfile_write("", "x", 1, err, sizeof(err)), -EINVAL);
	cr_expect_eq(outfile_write(NULL, "x", 1, err, sizeof(err)), -EINVAL);
}

Test(outfile, missing_directory_is_an_error)
{
	char err[512] = "";
	const char *p = in_dir("missing/out.json");
	cr_expect_eq(outfile_check(p, err, sizeof(err)), -ENOENT, "%s", err);
	cr_expect(strstr(err, "does not exist") && strstr(err, "missing"), "%s", err);
	cr_expect_eq(outfile_write(p, "x", 1, err, sizeof(err)), -ENOENT, "%s", err);
	cr_expect_eq(outfile_check("/dev/null/x", err, sizeof(err)), -ENOTDIR, "%s", err);
}

Test(outfile, unwritable_directory_is_an_error)
{
	char err[512] = "";
	if (geteuid() == 0)
		cr_skip_test("root writes anywhere");
	mkdir(in_dir("ro"), 0555);
	cr_expect_eq(outfile_check(in_dir("ro/out.json"), err, sizeof(err)), -EACCES, "%s", err);
	cr_expect(strstr(err, "not writable"), "%s", err);
}

Test(outfile, socket_is_an_error)
{
	char err[512] = "";
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"%s\")'",
	         in_dir("sock"));
	cr_assert_eq(system(cmd), 0);
	cr_expect_eq(outfile_check(in_dir("sock"), err, sizeof(err)), -ENXIO, "%s", err);
	cr_expect(strstr(err, "socket"), "%s", err);
}

static char *tmp_for(const char *name, long pid)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/.%s" OUTFILE_TMP_TAG "%ld", dir, name, pid);
	return buf;
}

Test(outfile, stale_temporary_files_are_removed)
{
	char err[512] = "";
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0); /* a pid no process has now */
	char stale[256], live[256], other[256];
	snprintf(stale, sizeof(stale), "%s", tmp_for("out.json", dead));
	snprintf(live, sizeof(live), "%s", tmp_for("out.json", (long)getppid()));
	snprintf(other, sizeof(other), "%s", tmp_for("other.json", dead));
	const char *paths[] = { stale, live, other };
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		fclose(fopen(paths[i], "w"));
	cr_assert_eq(outfile_write(in_dir("out.json"), "x", 1, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(access(stale, F_OK), 0, "the dead process's temporary file is left");
	cr_expect_eq(access(live, F_OK), 0, "a running process's temporary file was removed");
	cr_expect_eq(access(other, F_OK), 0, "another target's temporary file was removed");
}

Test(outfile, no_temporary_file_left_on_error)
{
	char err[512] = "";
	const char *p = in_dir("out.json");
	FILE *f = fopen(p, "w");
	fputs("previous", f);
	fclose(f);
	struct rlimit small = { 4, 4 }; /* writes past 4 bytes fail with EFBIG */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	int rc = outfile_write(p, "more than four bytes", 20, err, sizeof(err));
	cr_expect_eq(rc, -EFBIG, "rc %d: %s", rc, err);
	cr_expect(strstr(err, "File too large"), "%s", err);
	expect_content(p, "previous", "the old content is kept");
	char ls[256];
	listing(ls, sizeof(ls));
	cr_expect_str_eq(ls, "out.json ", "%s", ls);
}

/* Block SIGTERM (as the run does, reading it from a signalfd) and make one pending. */
static void pending_sigterm(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGTERM);
}

Test(outfile, stop_signal_ends_the_wait_for_a_fifo_reader)
{
	char err[512] = "";
	const char *p = in_dir("fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	pending_sigterm();
	/* -EINTR at once, not -ENXIO after the 10 s wait */
	cr_expect_eq(outfile_write(p, "x", 1, err, sizeof(err)), -EINTR, "%s", err);
	cr_expect(strstr(err, "interrupted"), "%s", err);
}

Test(outfile, stop_signal_ends_the_wait_for_a_stalled_fifo_reader)
{
	char err[512] = "";
	const char *p = in_dir("fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	int rfd = open(p, O_RDONLY | O_NONBLOCK); /* a reader that never reads */
	cr_assert_geq(rfd, 0);
	pending_sigterm();
	size_t len = 1 << 20;
	char *data = xcalloc(1, len);
	cr_expect_eq(outfile_write(p, data, len, err, sizeof(err)), -EINTR, "%s", err);
	free(data);
	close(rfd);
}

Test(outfile, stop_signal_ends_a_blocking_write_to_a_stalled_stdout)
{
	char err[512] = "";
	int fds[2];
	cr_assert_eq(pipe(fds), 0); /* blocking, and nobody reads fds[0] */
	cr_assert_eq(dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
	pending_sigterm();
	size_t len = 1 << 20;
	char *data = xcalloc(1, len);
	cr_expect_eq(outfile_write("-", data, len, err, sizeof(err)), -EINTR, "%s", err);
	free(data);
}

/* --- streaming ---------------------------------------------------------------------- */

Test(outfile, stream_replaces_the_file_only_at_commit)
{
	char err[512] = "";
	const char *p = in_dir("stream.txt");
	struct outfile_stream *s;
	cr_assert_eq(outfile_write(p, "old", 3, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_stream_open(p, 0, &s, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(outfile_stream_write(s, "new ", 4), 0);
	cr_expect_eq(outfile_stream_write(s, "content", 7), 0);
	expect_content(p, "old", "before the commit");
	cr_expect_eq(outfile_stream_commit(s, err, sizeof(err)), 0, "%s", err);
	outfile_stream_free(s);
	expect_content(p, "new content", "after the commit");
	char names[512];
	listing(names, sizeof(names));
	cr_expect_str_eq(names, "stream.txt ", "no temporary file is left");
}

Test(outfile, stream_not_committed_leaves_the_old_file)
{
	char err[512] = "";
	const char *p = in_dir("keep.txt");
	struct outfile_stream *s;
	cr_assert_eq(outfile_write(p, "old", 3, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(outfile_stream_open(p, 0, &s, err, sizeof(err)), 0, "%s", err);
	outfile_stream_write(s, "partial", 7);
	outfile_stream_free(s);
	expect_content(p, "old", "a stream freed without a commit");
	char names[512];
	listing(names, sizeof(names));
	cr_expect_str_eq(names, "keep.txt ", "the temporary file is removed");
}

Test(outfile, stream_gzip_reads_back_with_zlib)
{
	char err[512] = "";
	const char *p = in_dir("data.gz");
	struct outfile_stream *s;
	size_t len = 5 << 20; /* several queue batches and deflate chunks */
	char *data = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + (i * 7919 % 26));
	cr_assert_eq(outfile_stream_open(p, OUTFILE_GZIP, &s, err, sizeof(err)), 0, "%s", err);
	for (size_t off = 0; off < len; off += 100000)
		cr_assert_eq(outfile_stream_write(s, data + off, MIN(100000, len - off)), 0);
	cr_assert_eq(outfile_stream_commit(s, err, sizeof(err)), 0, "%s", err);
	outfile_stream_free(s);
	char cmd[512], *back = xmalloc(len + 1);
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", p);
	FILE *f = popen(cmd, "r");
	size_t n = fread(back, 1, len + 1, f);
	cr_expect_eq(pclose(f), 0, "gzip -t accepts the stream");
	cr_expect_eq(n, len);
	cr_expect(memcmp(back, data, len) == 0);
	free(back);
	free(data);
}

Test(outfile, stream_to_a_fifo_in_place)
{
	char err[512] = "";
	const char *p = in_dir("sfifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	struct reader r = { .path = p };
	pthread_t th;
	pthread_create(&th, NULL, read_fifo, &r);
	struct outfile_stream *s;
	cr_assert_eq(outfile_stream_open(p, 0, &s, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(outfile_stream_write(s, "line 1\n", 7), 0);
	cr_expect_eq(outfile_stream_write(s, "line 2\n", 7), 0);
	cr_expect_eq(outfile_stream_commit(s, err, sizeof(err)), 0, "%s", err);
	outfile_stream_free(s);
	pthread_join(th, NULL);
	cr_expect(r.len == 14 && memcmp(r.buf, "line 1\nline 2\n", 14) == 0);
	struct stat st;
	cr_expect(stat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");
	free(r.buf);
}

Test(outfile, stream_write_error_is_reported_at_commit)
{
	char err[512] = "";
	const char *full = char_device("full", 7);
	struct outfile_stream *s;
	cr_assert_eq(outfile_stream_open(full, 0, &s, err, sizeof(err)), 0, "%s", err);
	outfile_stream_write(s, "data", 4);
	int rc = outfile_stream_commit(s, err, sizeof(err));
	cr_expect_eq(rc, -ENOSPC);
	cr_expect(strstr(err, "No space left on device") && strstr(err, full), "%s", err);
	cr_expect_eq(outfile_stream_write(s, "more", 4), -ENOSPC, "the error is latched");
	outfile_stream_free(s);
}

Test(outfile, stream_open_errors_name_the_path)
{
	char err[512] = "";
	struct outfile_stream *s = NULL;
	cr_expect_eq(outfile_stream_open(in_dir("no/such/dir/x"), 0, &s, err, sizeof(err)),
	             -ENOENT);
	cr_expect(strstr(err, "no/such/dir/x"), "%s", err);
	cr_expect_eq(outfile_stream_open(dir, 0, &s, err, sizeof(err)), -EISDIR);
	cr_expect_null(s);
}

/* outfile_where: one canonical name for every spelling of the file a write replaces (the
 * pipeline refuses two outputs on one file; report refuses to overwrite its input). */
Test(outfile, where_names_the_file_a_write_replaces)
{
	char *a = outfile_where(in_dir("a.json"));
	cr_assert_not_null(a, "a file not there yet has a name");
	cr_assert_eq(mkdir(in_dir("sub"), 0755), 0);
	cr_assert_eq(symlink("a.json", in_dir("link.json")), 0); /* to nothing yet */
	const char *same[] = { "sub/../a.json", "./a.json", "link.json" };
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *w = outfile_where(in_dir(same[i]));
		cr_expect(w && !strcmp(w, a), "%s: %s, not %s", same[i], w ? w : "NULL", a);
		free(w);
	}
	char *b = outfile_where(in_dir("b.json"));
	cr_expect(b && strcmp(a, b), "another name is another file");
	cr_expect_null(outfile_where("-"), "stdout writes no file of its own");
	cr_expect_null(outfile_where("/dev/null"), "nor does a device");
	free(a);
	free(b);
}

/* outfile_link_base: the relative link from where a page is written to a directory. */
Test(outfile, link_base_leads_from_the_page_to_the_directory)
{
	char sub[256], deep[256], odd[256], p[512];
	snprintf(sub, sizeof(sub), "%s/run", dir);
	snprintf(deep, sizeof(deep), "%s/a/b", dir);
	snprintf(odd, sizeof(odd), "%s/my run%%", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(mkdir(in_dir("a"), 0700), 0);
	cr_assert_eq(mkdir(deep, 0700), 0);
	cr_assert_eq(mkdir(odd, 0700), 0);
	struct {
		const char *out, *to, *want;
	} cases[] = {
		{ "run/page.html", sub, "" },           /* beside it */
		{ "page.html", sub, "run/" },           /* one level up */
		{ "a/b/page.html", sub, "../../run/" }, /* in another branch */
		{ "run/page.html", dir, "../" },        /* in it, the parent */
		{ "a/page.html", deep, "b/" },
		{ "page.html", odd, "my%20run%25/" }, /* escaped for an href */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, cases[i].out);
		char *got = outfile_link_base(p, cases[i].to);
		cr_expect_str_eq(got, cases[i].want, "%s -> %s: '%s'", cases[i].out, cases[i].to,
		                 got);
		free(got);
	}
	/* a prefix of a name is not a common directory: /x/ab from /x/a is ../ab/ */
	snprintf(p, sizeof(p), "%s/a/page.html", dir);
	char ab[256];
	snprintf(ab, sizeof(ab), "%s/ab", dir);
	cr_assert_eq(mkdir(ab, 0700), 0);
	char *got = outfile_link_base(p, ab);
	cr_expect_str_eq(got, "../ab/", "%s", got);
	free(got);
	/* stdout: no prefix */
	got = outfile_link_base("-", sub);
	cr_expect_str_eq(got, "");
	free(got);
	/* a page written through a symlinked directory links from where it is opened (the
	 * link's own place, dir/SO), as a browser resolves it: not from a/b */
	char so[256];
	snprintf(so, sizeof(so), "%s/SO", dir);
	cr_assert_eq(symlink(deep, so), 0);
	snprintf(p, sizeof(p), "%s/SO/page.html", dir);
	got = outfile_link_base(p, sub);
	cr_expect_str_eq(got, "../run/", "%s", got);
	free(got);
	/* and "..", "." in the paths are taken by their text */
	snprintf(p, sizeof(p), "%s/a/./b/../page.html", dir);
	got = outfile_link_base(p, sub);
	cr_expect_str_eq(got, "../run/", "%s", got);
	free(got);
}
