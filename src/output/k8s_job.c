/* k8s_job.c: the ConfigMap, PersistentVolumeClaim, Indexed Job and merge Job of
 * `stampede k8s render`, written as YAML by hand (a fixed shape; strings double-quoted,
 * the script and the pods' shell commands as literal blocks when that keeps them exact). */
#include "output/k8s_job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/k8s.h"
#include "util/escape.h"

#define IMAGE_MAX 1024
#define ENV_MAX   1000

/* What the header calls the manifests written to stdout. */
#define STREAM_FILE "MANIFESTS.yaml"

/* The longest sequence ("0,1/1000,...,1") and segment a pod is given. */
#define SEGMENT_TEXT_MAX 32

/* --- checks ---------------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An RFC 1123 DNS subdomain (a storage class's name): dot-separated labels of [a-z0-9-],
 * at most 253 characters. */
static bool dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	char label[254];
	for (const char *p = s; *p;) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 63)
			return false;
		memcpy(label, p, l);
		label[l] = '\0';
		if (!k8s_dns1123_label(label))
			return false;
		p += l;
		if (*p == '.' && !*++p)
			return false;
	}
	return true;
}

bool k8s_job_quantity(const char *s)
{
	static const char *const units[] = { "",  "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
		                             "k", "M",  "G",  "T",  "P",  "E",  NULL };
	const char *p = s;
	bool nonzero = false;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		nonzero |= *p != '0';
	if (digits == 0)
		return false;
	if (*p == '.') {
		size_t frac = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, frac++)
			nonzero |= *p != '0';
		if (frac == 0)
			return false;
	}
	for (int i = 0; units[i]; i++)
		if (strcmp(p, units[i]) == 0)
			return nonzero && p - s <= 18;
	return false;
}

/* An image reference, loosely: registry/path:tag@digest characters only, so that it
 * stays one word in YAML, comments and the shell lines of the header. */
static bool image_ref(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IMAGE_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", *s))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@") ==
	       n;
}

/* A ConfigMap key as Kubernetes checks it (IsConfigMapKey): [-._a-zA-Z0-9]+, at most 253
 * characters, not "." or "..", and not starting with ".." (a configMap volume keeps its
 * own entries under such names). Safe in the shell lines too. */
static bool configmap_key(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= K8S_JOB_KEY_MAX && strcmp(s, ".") != 0 && strncmp(s, "..", 2) != 0 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

static bool c_identifier(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && !(*s >= '0' && *s <= '9') &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static bool utf8_text(const char *s)
{
	char *fixed = utf8_fix(s);
	free(fixed);
	return fixed == NULL;
}

static int check_env(const struct k8s_job *j, char *err, size_t errlen)
{
	if (j->nenv > ENV_MAX)
		return fail(err, errlen, "--env: at most %d variables", ENV_MAX);
	for (int i = 0; i < j->nenv; i++) {
		const struct k8s_env *e = &j->env[i];
		if (!c_identifier(e->name))
			return fail(err, errlen,
			            "--env '%s': not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
			            e->name);
		if (strcmp(e->name, "JOB_COMPLETION_INDEX") == 0 ||
		    strcmp(e->name, K8S_JOB_RESULTS_ENV) == 0)
			return fail(err, errlen, "--env %s: set by the Job itself", e->name);
		if (!utf8_text(e->value))
			return fail(err, errlen, "--env %s: the value is not UTF-8 text", e->name);
		for (int k = 0; k < i; k++)
			if (strcmp(j->env[k].name, e->name) == 0)
				return fail(err, errlen, "--env %s given twice", e->name);
	}
	return 0;
}

/* The script: UTF-8 text without NUL bytes, 1 byte to 1 MiB, under a valid key. */
static int check_script(const struct k8s_job *j, char *err, size_t errlen)
{
	if (!configmap_key(j->key))
		return fail(err, errlen,
		            "--script: the file name '%s' cannot be a ConfigMap key (1-%d "
		            "characters of a-z, A-Z, 0-9, '-', '_' and '.', not '.' and not "
		            "starting with '..'): rename the file",
		            j->key, K8S_JOB_KEY_MAX);
	if (j->script_len == 0)
		return fail(err, errlen, "--script '%s': the file is empty", j->key);
	if (j->script_len > K8S_JOB_SCRIPT_MAX)
		return fail(err, errlen,
		            "--script '%s': %zu bytes, more than the %u (1 MiB) a ConfigMap holds",
		            j->key, j->script_len, K8S_JOB_SCRIPT_MAX);
	if (strlen(j->script) != j->script_len)
		return fail(err, errlen, "--script '%s': holds a NUL byte: not a text file",
		            j->key);
	if (!utf8_text(j->script))
		return fail(err, errlen, "--script '%s': not UTF-8 text", j->key);
	return 0;
}

int k8s_job_check(const struct k8s_job *j, char *err, size_t errlen)
{
	static const char dns[] = "not an RFC 1123 DNS label (1-63 characters of a-z, 0-9 and "
	                          "'-', starting and ending with a letter or digit)";
	if (!k8s_dns1123_label(j->name))
		return fail(err, errlen, "--name '%s': %s", j->name, dns);
	if ((int)strlen(j->name) > K8S_JOB_NAME_MAX)
		return fail(err, errlen,
		            "--name '%s': longer than %d characters (the merge Job, NAME%s, is a "
		            "DNS label of at most 63)",
		            j->name, K8S_JOB_NAME_MAX, K8S_JOB_MERGE_SUFFIX);
	if (j->coordinator && (strlen(j->name) > (size_t)K8S_JOB_COORD_NAMEMAX ||
	                       !(j->name[0] >= 'a' && j->name[0] <= 'z')))
		return fail(err, errlen,
		            "--name '%s': with --coordinator, at most %d characters starting with "
		            "a letter (the Service NAME%s is an RFC 1035 label)",
		            j->name, K8S_JOB_COORD_NAMEMAX, K8S_JOB_COORD_SUFFIX);
	if (j->ns && !k8s_dns1123_label(j->ns))
		return fail(err, errlen, "--namespace '%s': %s", j->ns, dns);
	if (j->parallelism < 1 || j->parallelism > K8S_JOB_PARALLELISM_MAX)
		return fail(err, errlen, "--parallelism %d: must be 1-%d", j->parallelism,
		            K8S_JOB_PARALLELISM_MAX);
	if (!image_ref(j->image))
		return fail(err, errlen,
		            "--image '%s': not an image reference (REGISTRY/NAME:TAG, at most %d "
		            "characters of a-z, A-Z, 0-9 and ._-:/@, starting with a-z or 0-9)",
		            j->image, IMAGE_MAX);
	if (!k8s_job_quantity(j->storage))
		return fail(err, errlen,
		            "--storage '%s': not a size above zero as Kubernetes writes it (e.g. "
		            "1Gi, 500Mi, 10G)",
		            j->storage);
	if (j->storage_class && !dns1123_subdomain(j->storage_class))
		return fail(err, errlen,
		            "--storage-class '%s': not a storage class name (an RFC 1123 DNS "
		            "subdomain: labels of a-z, 0-9 and '-' joined by '.')",
		            j->storage_class);
	if (j->deadline_s < 0 || j->merge_wait_s < 1)
		return fail(err, errlen, "--deadline and --merge-wait must be positive");
	int rc = check_script(j, err, errlen);
	return rc ? rc : check_env(j, err, errlen);
}

/* --- segments -------------------------------------------------------------------------- */

static int gcd(int a, int b)
{
	while (b) {
		int t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* i/n reduced ("0", "1/4", "1") into buf. */
static const char *fraction(int i, int n, char *buf, size_t size)
{
	if (i == 0 || i == n) {
		snprintf(buf, size, "%d", i == 0 ? 0 : 1);
		return buf;
	}
	int g = gcd(i, n);
	snprintf(buf, size, "%d/%d", i / g, n / g);
	return buf;
}

const char *k8s_job_segment(int i, int n, char *buf, size_t size)
{
	char from[SEGMENT_TEXT_MAX], to[SEGMENT_TEXT_MAX];
	snprintf(buf, size, "%s:%s", fraction(i, n, from, sizeof(from)),
	         fraction(i + 1, n, to, sizeof(to)));
	return buf;
}

void k8s_job_sequence(struct buf *b, int n)
{
	char f[SEGMENT_TEXT_MAX];
	for (int i = 0; i <= n; i++)
		buf_printf(b, "%s%s", i ? "," : "", fraction(i, n, f, sizeof(f)));
}

/* --- YAML pieces ----------------------------------------------------------------------- */

/* The code point of the well-formed UTF-8 sequence p of n bytes. */
static unsigned code_point(const unsigned char *p, int n)
{
	unsigned c = n == 1 ? p[0] : p[0] & (0x7f >> n);
	for (int i = 1; i < n; i++)
		c = c << 6 | (p[i] & 0x3f);
	return c;
}

/* Whether text (UTF-8, no NUL) reads back exactly from a literal block scalar: no
 * character that YAML escapes (k8s_yaml_special) but line feeds and tabs (so no CR: a
 * block turns CRLF into LF), and at least one line that is not empty. */
static bool block_safe(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	bool content = false;
	while (*p) {
		int n = utf8_seq_len(p);
		if (n == 0)
			return false;
		unsigned c = code_point(p, n);
		if (c != '\n' && c != '\t' && k8s_yaml_special(c))
			return false;
		content |= c != '\n';
		p += n;
	}
	return content;
}

/* Append text as a literal block scalar, the value of a key at column key_col, its lines
 * at column ind (an indentation indicator when the first line that is not empty starts
 * with a space; a chomping indicator for the trailing line feeds: none "-", one "", more
 * "+"), or as a double-quoted scalar when a block would not keep it exactly. */
static void block_yaml(struct buf *b, int key_col, int ind, const char *text)
{
	if (!block_safe(text)) {
		k8s_yaml_quote(b, text);
		buf_addstr(b, "\n");
		return;
	}
	size_t len = strlen(text), nl = 0;
	while (nl < len && text[len - 1 - nl] == '\n')
		nl++;
	const char *first = text + strspn(text, "\n");
	buf_addstr(b, "|");
	if (*first == ' ')
		buf_printf(b, "%d", ind - key_col);
	buf_addstr(b, nl == 0 ? "-\n" : nl == 1 ? "\n" : "+\n");
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n");
		if (l)
			buf_printf(b, "%*s%.*s", ind, "", (int)l, p);
		buf_addstr(b, "\n");
		p += l;
		if (*p == '\n' && !*++p)
			break;
	}
}

static void field(struct buf *b, int ind, const char *key, const char *value)
{
	buf_printf(b, "%*s%s: ", ind, "", key);
	k8s_yaml_quote(b, value);
	buf_addstr(b, "\n");
}

/* The labels every object carries (and its pods, with their component). */
static void labels(const struct k8s_job *j, struct buf *b, int ind, const char *component)
{
	buf_printf(b, "%*slabels:\n", ind, "");
	field(b, ind + 2, "app.kubernetes.io/name", "stampede");
	field(b, ind + 2, "app.kubernetes.io/instance", j->name);
	if (component)
		field(b, ind + 2, "app.kubernetes.io/component", component);
	else
		field(b, ind + 2, "app.kubernetes.io/managed-by", "stampede");
}

/* apiVersion, kind and metadata of the object NAME + suffix. */
static void head(const struct k8s_job *j, struct buf *b, const char *api, const char *kind,
                 const char *suffix)
{
	char name[128];
	snprintf(name, sizeof(name), "%s%s", j->name, suffix);
	field(b, 0, "apiVersion", api);
	field(b, 0, "kind", kind);
	buf_addstr(b, "metadata:\n");
	field(b, 2, "name", name);
	if (j->ns)
		field(b, 2, "namespace", j->ns);
	labels(j, b, 2, NULL);
}

/* The " -n NS" of the header's kubectl commands. */
static const char *ns_flag(const struct k8s_job *j, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", j->ns ? " -n " : "", j->ns ? j->ns : "");
	return buf;
}

void k8s_job_header(const struct k8s_job *j, struct buf *b, const char *dir)
{
	char ns[80];
	const char *n = j->name, *f = dir ? dir : STREAM_FILE;
	/* the merge waits for the parts, then merges: a bound for `kubectl wait` */
	long long wait_s = (long long)j->merge_wait_s + K8S_JOB_MERGE_SLACK_S;
	ns_flag(j, ns, sizeof(ns));
	buf_printf(b,
	           "# A distributed stampede run on Kubernetes, rendered by `stampede k8s render`\n"
	           "# (stampede %s): %d pod%s run%s %s, each its segment of the load (pod i of\n"
	           "# the Indexed Job runs segment i of %d); then a Job merges the parts into\n"
	           "# one result and its HTML report, on the claim %s-results.\n"
	           "#   ConfigMap %s-script: the script\n"
	           "#   PersistentVolumeClaim %s-results: the parts, total.json, report.html\n"
	           "#   Job %s: the run, %d pod%s\n"
	           "#   Job %s-merge: merge and report; it fails as `stampede merge` does\n"
	           "#     (exit code 99: a threshold of the whole run failed)\n",
	           j->version, j->parallelism, j->parallelism == 1 ? "" : "s",
	           j->parallelism == 1 ? "s" : "", j->key, j->parallelism, n, n, n, n,
	           j->parallelism, j->parallelism == 1 ? "" : "s", n);
	if (j->coordinator)
		buf_printf(b,
		           "#   Service and Job %s%s: `stampede coordinate`, the pods' ready\n"
		           "#     barrier and shared abort thresholds (exit code 108: it aborted "
		           "the run)\n",
		           n, K8S_JOB_COORD_SUFFIX);
	buf_printf(
	    b,
	    "# The image %s must be one the cluster can pull: build the\n"
	    "# Dockerfile of stampede's repository, push it to your registry and render\n"
	    "# with --image REGISTRY/stampede:TAG.\n"
	    "#\n"
	    "# Run (server-side apply: client-side apply copies the script into an\n"
	    "# annotation limited to 256 KiB)%s:\n"
	    "#   kubectl apply --server-side%s -f %s\n"
	    "#   kubectl wait%s --for=condition=complete --timeout=%llds job/%s-merge\n"
	    "#     (the longest the merge may take; a failed one shows in kubectl get jobs)\n"
	    "#   kubectl logs%s job/%s-merge        (the merged summary)\n"
	    "# Collect total.json and report.html (a pod that mounts the claim; tar is in\n"
	    "# the image):\n"
	    "#   kubectl run%s %s-collect --restart=Never --image=%s --overrides='\n"
	    "#     {\"spec\": {\"containers\": [{\"name\": \"collect\", \"image\": \"%s\",\n"
	    "#       \"command\": [\"sleep\", \"3600\"], \"volumeMounts\": [{\"name\": "
	    "\"results\",\n"
	    "#       \"mountPath\": \"/results\"}]}], \"volumes\": [{\"name\": "
	    "\"results\",\n"
	    "#       \"persistentVolumeClaim\": {\"claimName\": \"%s-results\"}}]}}'\n"
	    "#   kubectl wait%s --for=condition=ready pod/%s-collect\n"
	    "#   kubectl cp%s %s-collect:/results ./%s-results\n"
	    "# Then delete it all, the claim too (the run's pods refuse a claim that\n"
	    "# holds the parts of an earlier run):\n"
	    "#   kubectl delete%s pod/%s-collect; kubectl delete%s -f %s\n",
	    j->image, dir ? "" : ", this output saved as " STREAM_FILE, ns, f, ns, wait_s, n, ns, n,
	    ns, n, j->image, j->image, n, ns, n, ns, n, n, ns, n, ns, f);
}

static void pod_security(struct buf *b)
{
	buf_printf(b,
	           "      securityContext:\n"
	           "        runAsNonRoot: true\n"
	           "        runAsUser: %d\n"
	           "        runAsGroup: %d\n"
	           "        fsGroup: %d\n"
	           "        seccompProfile:\n"
	           "          type: \"RuntimeDefault\"\n",
	           K8S_JOB_UID, K8S_JOB_UID, K8S_JOB_UID);
}

/* A container's name, image, /bin/sh -c SCRIPT, env (the results' directory first),
 * security context and the results' mount (and the script's). */
static void container(const struct k8s_job *j, struct buf *b, const char *name, const char *sh,
                      bool run)
{
	buf_addstr(b, "        - name: ");
	k8s_yaml_quote(b, name);
	buf_addstr(b, "\n");
	field(b, 10, "image", j->image);
	field(b, 10, "imagePullPolicy", "IfNotPresent");
	buf_addstr(b, "          command:\n"
	              "            - \"/bin/sh\"\n"
	              "            - \"-c\"\n"
	              "            - ");
	block_yaml(b, 12, 14, sh);
	buf_addstr(b, "          env:\n");
	field(b, 12, "- name", K8S_JOB_RESULTS_ENV);
	field(b, 14, "value", K8S_JOB_RESULTS_DIR);
	for (int i = 0; run && i < j->nenv; i++) {
		/* Kubernetes expands $(VAR) in a value and turns $$ into $: every $ is doubled so
		 * that the pod gets the value as given */
		struct buf v = { 0 };
		for (const char *c = j->env[i].value; *c; c++)
			buf_add(&v, *c == '$' ? "$$" : c, *c == '$' ? 2 : 1);
		field(b, 12, "- name", j->env[i].name);
		field(b, 14, "value", v.p ? v.p : "");
		buf_free(&v);
	}
	if (run)
		buf_addstr(b, "          # Requests and limits are yours to set: a load generator "
		              "wants its CPU\n"
		              "          # guaranteed (requests = limits), e.g.\n"
		              "          # resources:\n"
		              "          #   requests: {cpu: \"2\", memory: \"1Gi\"}\n"
		              "          #   limits: {cpu: \"2\", memory: \"1Gi\"}\n");
	buf_addstr(b, "          securityContext:\n"
	              "            allowPrivilegeEscalation: false\n"
	              "            capabilities:\n"
	              "              drop: [\"ALL\"]\n"
	              "          volumeMounts:\n"
	              "            - name: \"results\"\n"
	              "              mountPath: \"" K8S_JOB_RESULTS_DIR "\"\n");
	if (run)
		buf_addstr(b, "            - name: \"script\"\n"
		              "              mountPath: \"" K8S_JOB_SCRIPTS_DIR "\"\n"
		              "              readOnly: true\n");
}

static void volumes(const struct k8s_job *j, struct buf *b, bool run)
{
	buf_printf(b,
	           "      volumes:\n"
	           "        - name: \"results\"\n"
	           "          persistentVolumeClaim:\n"
	           "            claimName: \"%s-results\"\n",
	           j->name);
	if (run)
		buf_printf(b,
		           "        - name: \"script\"\n"
		           "          configMap:\n"
		           "            name: \"%s-script\"\n",
		           j->name);
}

/* --- the documents --------------------------------------------------------------------- */

void k8s_job_configmap_yaml(const struct k8s_job *j, struct buf *b)
{
	buf_printf(b, "# The script %s, mounted at %s/ in the run's pods.\n", j->key,
	           K8S_JOB_SCRIPTS_DIR);
	head(j, b, "v1", "ConfigMap", "-script");
	buf_addstr(b, "data:\n  ");
	k8s_yaml_quote(b, j->key);
	buf_addstr(b, ": ");
	block_yaml(b, 2, 4, j->script);
}

void k8s_job_pvc_yaml(const struct k8s_job *j, struct buf *b)
{
	buf_printf(b,
	           "# The results: part-0.json .. part-%d.json (one per pod, each written at "
	           "once,\n"
	           "# never seen in part), then total.json and report.html. ReadWriteMany: the "
	           "pods\n"
	           "# run on several nodes (an NFS, CephFS, EFS, Filestore or Azure Files "
	           "class).\n",
	           j->parallelism - 1);
	head(j, b, "v1", "PersistentVolumeClaim", "-results");
	buf_addstr(b, "spec:\n"
	              "  accessModes:\n"
	              "    - \"ReadWriteMany\"\n");
	if (j->storage_class)
		field(b, 2, "storageClassName", j->storage_class);
	buf_addstr(b, "  resources:\n    requests:\n");
	field(b, 6, "storage", j->storage);
}

/* How long the coordinator and the pods wait at the ready barrier, in seconds. */
static int64_t coord_ready_s(const struct k8s_job *j)
{
	return j->deadline_s && j->deadline_s < K8S_JOB_COORD_READY_S ? j->deadline_s
	                                                              : K8S_JOB_COORD_READY_S;
}

/* With the coordinator, the run pod first waits until it listens (its pod may start after
 * this one, and `run --coordinator` gives up at once when it cannot connect): a TCP connect
 * with bash (in the image, as Debian's bash is essential), every 2 s. Past the barrier's
 * wait, `run` tries anyway and says why it cannot connect. */
static void coord_wait_command(const struct k8s_job *j, struct buf *b)
{
	if (!j->coordinator)
		return;
	buf_printf(b,
	           "# the coordinator's pod may start after this one: wait until it listens\n"
	           "end=$(( $(date +%%s) + %lld ))\n"
	           "until timeout 5 bash -c ': >/dev/tcp/%s%s/%d' 2>/dev/null; do\n"
	           "  [ -z \"$stop\" ] || exit 143\n"
	           "  if [ \"$(date +%%s)\" -ge \"$end\" ]; then\n"
	           "    echo \"stampede: %s%s:%d does not answer after %lld s\" >&2; break\n"
	           "  fi\n"
	           "  sleep 2\n"
	           "done\n",
	           (long long)coord_ready_s(j), j->name, K8S_JOB_COORD_SUFFIX, K8S_JOB_COORD_PORT,
	           j->name, K8S_JOB_COORD_SUFFIX, K8S_JOB_COORD_PORT, (long long)coord_ready_s(j));
}

/* The run pod's command: its segment from JOB_COMPLETION_INDEX, then `stampede run` (in
 * the background, as this shell is PID 1 and would not pass a stop on). */
static void run_command(const struct k8s_job *j, struct buf *b)
{
	struct buf wait = { 0 };
	char seg[2 * SEGMENT_TEXT_MAX + 2];
	coord_wait_command(j, &wait);
	const char *coord_wait = wait.p ? wait.p : "";
	int n = j->parallelism;
	buf_addstr(b, "set -u\ncase \"${JOB_COMPLETION_INDEX:-}\" in\n");
	for (int i = 0; i < n; i++)
		buf_printf(b, "  %d) SEG=%s ;;\n", i, k8s_job_segment(i, n, seg, sizeof(seg)));
	buf_printf(
	    b,
	    "  *) echo \"stampede: no segment for JOB_COMPLETION_INDEX "
	    "'${JOB_COMPLETION_INDEX:-}' (%d pods: 0..%d)\" >&2; exit 2 ;;\n"
	    "esac\n"
	    "PART=\"$" K8S_JOB_RESULTS_ENV "/part-$JOB_COMPLETION_INDEX.json\"\n"
	    "if [ -e \"$PART\" ]; then\n"
	    "  echo \"stampede: $PART is there from an earlier run: collect it, then "
	    "delete the claim %s-results\" >&2\n"
	    "  exit 3\n"
	    "fi\n"
	    "# a stop (the pod deleted) is trapped from here on: this shell is PID 1, which\n"
	    "# ignores an untrapped TERM; before the start it ends the pod (143), after it\n"
	    "# it is passed on to stampede, which stops gracefully and writes its part\n"
	    "pid=\"\"\n"
	    "stop=\"\"\n"
	    "sent=\"\"\n"
	    "trap 'stop=1; [ -z \"$pid\" ] || { sent=1; kill -TERM \"$pid\" 2>/dev/null; }' "
	    "TERM INT HUP\n"
	    "%s"
	    "[ -z \"$stop\" ] || exit 143\n"
	    "stampede run \"" K8S_JOB_SCRIPTS_DIR "/%s\" --execution-segment \"$SEG\" \\\n"
	    "  --execution-segment-sequence \"",
	    n, n - 1, j->name, coord_wait, j->key);
	k8s_job_sequence(b, n);
	buf_addstr(b, "\"");
	if (j->coordinator)
		buf_printf(
		    b, " \\\n  --coordinator \"http://%s%s:%d\" --coordinator-timeout \"%llds\"",
		    j->name, K8S_JOB_COORD_SUFFIX, K8S_JOB_COORD_PORT, (long long)coord_ready_s(j));
	buf_addstr(b, " \\\n"
	              "  --out \"result=$PART\" &\n"
	              "pid=$!\n"
	              "# a stop between the check above and here reached no stampede yet: once\n"
	              "# it has started (its own handlers set), pass it on\n"
	              "if [ -n \"$stop\" ] && [ -z \"$sent\" ]; then\n"
	              "  sleep 1; kill -TERM \"$pid\" 2>/dev/null\n"
	              "fi\n"
	              "rc=0\n"
	              "wait \"$pid\" || rc=$?\n"
	              "# a stop interrupts wait: wait again, for stampede's own exit code\n"
	              "while [ -n \"$stop\" ]; do\n"
	              "  stop=\"\"; r=0; wait \"$pid\" || r=$?; [ \"$r\" -eq 127 ] || rc=$r\n"
	              "done\n"
	              "# 99: this part's thresholds failed; the merged result decides them\n"
	              "[ \"$rc\" -ne 99 ] || rc=0\n"
	              "exit \"$rc\"\n");
	buf_free(&wait);
}

void k8s_job_run_yaml(const struct k8s_job *j, struct buf *b)
{
	struct buf sh = { 0 };
	int n = j->parallelism;
	run_command(j, &sh);
	buf_printf(b,
	           "# The run: %d pod%s at once, pod i running segment i of %d (`stampede run\n"
	           "# --execution-segment`), its result written to part-i.json. backoffLimit 0: "
	           "a\n"
	           "# pod is never run again (a second run of a segment would double its load); a\n"
	           "# pod that fails fails the Job. A part's failed thresholds do not: the merge\n"
	           "# decides them on the whole. The pods spread over the nodes when they can.\n",
	           n, n == 1 ? "" : "s", n);
	head(j, b, "batch/v1", "Job", "");
	buf_printf(b,
	           "spec:\n"
	           "  completionMode: \"Indexed\"\n"
	           "  completions: %d\n"
	           "  parallelism: %d\n"
	           "  backoffLimit: 0\n",
	           n, n);
	if (j->deadline_s)
		buf_printf(b, "  activeDeadlineSeconds: %lld\n", (long long)j->deadline_s);
	buf_addstr(b, "  template:\n    metadata:\n");
	labels(j, b, 6, "run");
	buf_addstr(b, "    spec:\n"
	              "      restartPolicy: \"Never\"\n"
	              "      affinity:\n"
	              "        podAntiAffinity:\n"
	              "          preferredDuringSchedulingIgnoredDuringExecution:\n"
	              "            - weight: 100\n"
	              "              podAffinityTerm:\n"
	              "                topologyKey: \"kubernetes.io/hostname\"\n"
	              "                labelSelector:\n"
	              "                  matchLabels:\n");
	field(b, 20, "app.kubernetes.io/name", "stampede");
	field(b, 20, "app.kubernetes.io/instance", j->name);
	field(b, 20, "app.kubernetes.io/component", "run");
	pod_security(b);
	buf_addstr(b, "      containers:\n");
	container(j, b, "stampede", sh.p, true);
	volumes(j, b, true);
	buf_free(&sh);
}

/* The merge pod's wait: every part there, checked every interval s, tries times. */
static void wait_command(const struct k8s_job *j, struct buf *b)
{
	int64_t w = j->merge_wait_s, interval = w / 10 < 1 ? 1 : w / 10 > 10 ? 10 : w / 10;
	int64_t tries = (w + interval - 1) / interval + 1;
	int n = j->parallelism;
	buf_printf(b,
	           "set -u\n"
	           "R=\"$" K8S_JOB_RESULTS_ENV "\"\n"
	           "tries=%lld  # a look every %lld s for %lld s (--merge-wait)\n"
	           "last=\"\"\n"
	           "while :; do\n"
	           "  missing=0; first=\"\"; i=0\n"
	           "  while [ \"$i\" -lt %d ]; do\n"
	           "    if [ ! -e \"$R/part-$i.json\" ]; then\n"
	           "      missing=$((missing + 1)); [ -n \"$first\" ] || first=\"part-$i.json\"\n"
	           "    fi\n"
	           "    i=$((i + 1))\n"
	           "  done\n"
	           "  [ \"$missing\" -gt 0 ] || exit 0\n"
	           "  [ \"$missing\" = \"$last\" ] || echo \"stampede: waiting for $missing of %d "
	           "parts in $R\"\n"
	           "  last=$missing\n"
	           "  tries=$((tries - 1))\n"
	           "  if [ \"$tries\" -le 0 ]; then\n"
	           "    echo \"stampede: gave up after %lld s: $missing of %d parts missing in $R "
	           "(the first: $first); did every pod of job/%s succeed? (kubectl describe "
	           "job/%s)\" >&2\n"
	           "    exit 1\n"
	           "  fi\n"
	           "  sleep %lld\n"
	           "done\n",
	           (long long)tries, (long long)interval, (long long)w, n, n, (long long)w, n,
	           j->name, j->name, (long long)interval);
}

/* The merge pod's work: merge (its exit code is the pod's), then the report. */
static void merge_command(const struct k8s_job *j, struct buf *b)
{
	buf_addstr(b, "set -u\n"
	              "R=\"$" K8S_JOB_RESULTS_ENV "\"\n"
	              "rc=0\n"
	              "stampede merge");
	for (int i = 0; i < j->parallelism; i++)
		buf_printf(b, "%s\"$R/part-%d.json\"", i % 4 == 0 ? " \\\n  " : " ", i);
	buf_addstr(b, " \\\n"
	              "  -o \"$R/total.json\" || rc=$?\n"
	              "# 99: a threshold of the merged result failed; total.json is written\n"
	              "if [ \"$rc\" -eq 0 ] || [ \"$rc\" -eq 99 ]; then\n"
	              "  stampede report \"$R/total.json\" -o \"$R/report.html\" || { r=$?; [ "
	              "\"$rc\" -ne 0 ] || rc=$r; }\n"
	              "fi\n"
	              "exit \"$rc\"\n");
}

void k8s_job_merge_yaml(const struct k8s_job *j, struct buf *b)
{
	struct buf wait = { 0 }, merge = { 0 };
	wait_command(j, &wait);
	merge_command(j, &merge);
	buf_printf(b,
	           "# The merge: waits until the %d parts are there (at most %lld s, "
	           "--merge-wait),\n"
	           "# merges them into total.json (`stampede merge`) and renders report.html. "
	           "Its\n"
	           "# exit code is merge's: 99 when a threshold of the whole run failed.\n",
	           j->parallelism, (long long)j->merge_wait_s);
	head(j, b, "batch/v1", "Job", K8S_JOB_MERGE_SUFFIX);
	buf_addstr(b, "spec:\n"
	              "  backoffLimit: 0\n"
	              "  template:\n"
	              "    metadata:\n");
	labels(j, b, 6, "merge");
	buf_addstr(b, "    spec:\n"
	              "      restartPolicy: \"Never\"\n");
	pod_security(b);
	buf_addstr(b, "      initContainers:\n");
	container(j, b, "wait-for-parts", wait.p, false);
	buf_addstr(b, "      containers:\n");
	container(j, b, "merge", merge.p, false);
	volumes(j, b, false);
	buf_free(&wait);
	buf_free(&merge);
}

void k8s_job_coordinator_yaml(const struct k8s_job *j, struct buf *b)
{
	char name[128];
	snprintf(name, sizeof(name), "%s%s", j->name, K8S_JOB_COORD_SUFFIX);
	buf_printf(b,
	           "# The coordinator's address, http://%s:%d for the run's pods (in\n"
	           "# the same namespace).\n",
	           name, K8S_JOB_COORD_PORT);
	head(j, b, "v1", "Service", K8S_JOB_COORD_SUFFIX);
	buf_addstr(b, "spec:\n"
	              "  type: \"ClusterIP\"\n"
	              "  selector:\n");
	field(b, 4, "app.kubernetes.io/name", "stampede");
	field(b, 4, "app.kubernetes.io/instance", j->name);
	field(b, 4, "app.kubernetes.io/component", "coordinator");
	buf_printf(b,
	           "  ports:\n"
	           "    - name: \"http\"\n"
	           "      protocol: \"TCP\"\n"
	           "      port: %d\n"
	           "      targetPort: %d\n"
	           "---\n",
	           K8S_JOB_COORD_PORT, K8S_JOB_COORD_PORT);
	buf_printf(
	    b,
	    "# The coordinator (`stampede coordinate`): the %d pods wait at its ready barrier\n"
	    "# (at most %lld s) and start together; it judges their abort-on-fail thresholds\n"
	    "# on all of them together and, when one fails, aborts every pod. Its exit\n"
	    "# code: 0 the run went to its end (or %lld s, --merge-wait, after the start), 108\n"
	    "# it aborted the run, 1 the barrier timed out. backoffLimit 0: a second\n"
	    "# coordinator would wait for pods that have started already.\n",
	    j->parallelism, (long long)coord_ready_s(j), (long long)j->merge_wait_s);
	head(j, b, "batch/v1", "Job", K8S_JOB_COORD_SUFFIX);
	buf_addstr(b, "spec:\n"
	              "  backoffLimit: 0\n"
	              "  template:\n"
	              "    metadata:\n");
	labels(j, b, 6, "coordinator");
	buf_addstr(b, "    spec:\n"
	              "      restartPolicy: \"Never\"\n");
	pod_security(b);
	buf_addstr(b, "      containers:\n"
	              "        - name: \"coordinator\"\n");
	field(b, 10, "image", j->image);
	field(b, 10, "imagePullPolicy", "IfNotPresent");
	buf_printf(
	    b,
	    "          command: [\"stampede\", \"coordinate\", \"--instances\", \"%d\",\n"
	    "                    \"--listen\", \"0.0.0.0:%d\", \"--ready-timeout\", \"%llds\",\n"
	    "                    \"--timeout\", \"%llds\"]\n"
	    "          ports:\n"
	    "            - name: \"http\"\n"
	    "              containerPort: %d\n"
	    "              protocol: \"TCP\"\n"
	    "          securityContext:\n"
	    "            allowPrivilegeEscalation: false\n"
	    "            capabilities:\n"
	    "              drop: [\"ALL\"]\n",
	    j->parallelism, K8S_JOB_COORD_PORT, (long long)coord_ready_s(j),
	    (long long)j->merge_wait_s, K8S_JOB_COORD_PORT);
}
