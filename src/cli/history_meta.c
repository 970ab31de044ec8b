/* history_meta.c: a run's test hash, source and git commit/branch for the history. */
#include "cli/history_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/common.h"

extern char **environ;

#define SCRIPT_MAX  (64u << 20)
#define GIT_OUT_MAX 4096

/* Option keys that do not change what is sent: how the run is observed, judged, reported
 * or executed on the generator. Everything else (the URL, the workload, the scenarios,
 * the script's own settings) is part of the test. */
static const char *const not_the_test[] = {
	"threads",
	"io",
	/* how a distributed run was split: its merged result is the same test as one run
	 * (a part keeps its executionSegment: a share of the load is another test) */
	"executionSegmentSequence",
	"monitor",
	"profile",
	"tags",
	"thresholds",
	"slo",
	"sloPreset",
	"summaryTrendStats",
	"summaryTimeUnit",
	"summaryExport",
	"systemTags",
	"noUsageReport",
	"ext",
	"cloud",
	"metricSamplesBufferSize",
	"logOutput",
	"logFormat",
	"consoleOutput",
	"httpDebug",
	"handleSummaryTimeout",
	"noThresholds",
	"noSummary",
	"out",
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int history_meta_test_hash(const struct result *r, char out[HISTORY_HASH_LEN + 1], char *warn,
                           size_t warnlen)
{
	if (warn && warnlen)
		*warn = '\0';
	json_t *o = json_deep_copy(r->options);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	for (size_t i = 0; i < ARRAY_SIZE(not_the_test); i++)
		json_object_del(o, not_the_test[i]);
	const char *script = json_string_value(json_object_get(r->options, "script"));
	if (script)
		json_object_set_new(o, "script", json_string(base_name(script)));
	char *canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	char *body = NULL;
	size_t blen = 0;
	if (script) {
		int rc = read_file_max(script, SCRIPT_MAX, &body, &blen);
		if (rc < 0) {
			body = NULL;
			if (warn && warnlen)
				snprintf(
				    warn, warnlen,
				    "the script '%s' cannot be read (%s): its test hash covers the "
				    "options only",
				    script, read_file_strerror(rc));
		}
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = canon && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	         EVP_DigestUpdate(ctx, canon, strlen(canon)) &&
	         (!body || (EVP_DigestUpdate(ctx, "\n", 1) && EVP_DigestUpdate(ctx, body, blen))) &&
	         EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen * 2 >= HISTORY_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	free(canon);
	free(body);
	if (!ok)
		return -ENOMEM;
	for (int i = 0; i < HISTORY_HASH_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

char *history_meta_git(const char *const argv[])
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0)
		return NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (rc != 0) {
		close(fd[0]);
		return NULL;
	}
	char buf[GIT_OUT_MAX];
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd[0], buf + n, sizeof(buf) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n == sizeof(buf) - 1) { /* more than a line: drain it */
			char sink[512];
			while (read(fd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !*buf)
		return NULL;
	return xstrdup(buf);
}

int history_meta_collect(const struct result *r, const char *tag, struct history_meta *m,
                         char *warn, size_t warnlen)
{
	char hash[HISTORY_HASH_LEN + 1];
	*m = (struct history_meta){ 0 };
	int rc = history_meta_test_hash(r, hash, warn, warnlen);
	if (rc < 0)
		return rc;
	m->test_hash = xstrdup(hash);
	const char *src = json_string_value(json_object_get(r->options, "script"));
	if (!src)
		src = json_string_value(json_object_get(r->options, "url"));
	m->source = src ? xstrdup(src) : NULL;
	m->tag = tag ? xstrdup(tag) : NULL;
	static const char *const commit[] = { "git", "rev-parse", "--verify", "-q", "HEAD", NULL };
	static const char *const branch[] = { "git", "rev-parse", "--abbrev-ref", "HEAD", NULL };
	m->git_commit = history_meta_git(commit);
	char *b = m->git_commit ? history_meta_git(branch) : NULL;
	if (b && strcmp(b, "HEAD") == 0) { /* detached */
		free(b);
		b = NULL;
	}
	m->git_branch = b;
	return 0;
}

void history_meta_release(struct history_meta *m)
{
	free((char *)m->git_commit);
	free((char *)m->git_branch);
	free((char *)m->tag);
	free((char *)m->source);
	free((char *)m->test_hash);
	*m = (struct history_meta){ 0 };
}

bool history_tag_ok(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > HISTORY_TAG_MAX)
		return false;
	for (; *tag; tag++)
		if ((unsigned char)*tag < 0x20 || *tag == 0x7f)
			return false;
	return true;
}
