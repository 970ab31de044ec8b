/* test_procfs.c: util/procfs readings of this test process, a child and the host. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/procfs.h"

Test(procfs, reads_this_process)
{
	struct procfs_proc p;
	cr_assert_eq(procfs_proc_read(getpid(), &p), 0);
	cr_assert_eq(p.processes, 1);
	cr_assert_geq(p.threads, 1);
	cr_assert_gt(p.rss_bytes, 100000); /* a process takes more than 100 kB */
	cr_assert_geq(p.fds, 3);           /* stdin, stdout, stderr at least */
	cr_assert_gt(p.ctx_voluntary + p.ctx_involuntary, 0);
	char comm[32];
	cr_assert_eq(procfs_comm(getpid(), comm, sizeof(comm)), 0);
	cr_assert_gt(strlen(comm), 0);
}

/* A child process that waits for its end (end_child). */
static pid_t child_that_waits(void)
{
	pid_t kid = fork();
	if (kid == 0) {
		pause();
		_exit(0);
	}
	cr_assert_gt(kid, 0);
	return kid;
}

static void end_child(pid_t kid)
{
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

Test(procfs, a_tree_counts_its_children)
{
	pid_t kid = child_that_waits();
	struct procfs_proc one, tree;
	int e1 = procfs_proc_read(getpid(), &one), e2 = procfs_tree_read(getpid(), &tree);
	end_child(kid);
	cr_assert_eq(e1, 0);
	cr_assert_eq(e2, 0);
	cr_assert_geq(tree.processes, 2);
	cr_assert_gt(tree.rss_bytes, one.rss_bytes);
}

/* The one-pass reading (the monitor's) sees the child's threads and sums as the tree
 * reading does; the light reading of the generator agrees with the full one. */
Test(procfs, one_pass_reads_the_tree_and_its_threads)
{
	pid_t kid = child_that_waits();
	struct procfs_proc tree, both, light;
	struct procfs_thread thr[64];
	int e = procfs_tree_read(getpid(), &tree);
	int n = procfs_tree_read_threads(getpid(), &both, thr, 64);
	int e2 = procfs_proc_cpu_rss(getpid(), &light);
	end_child(kid);
	cr_assert_eq(e, 0);
	cr_assert_eq(e2, 0);
	cr_assert_geq(n, 2, "this process's threads and the child's: %d", n);
	cr_expect_eq(both.processes, tree.processes);
	cr_expect_eq(both.threads, tree.threads);
	cr_expect_eq(n, both.threads, "one thread entry per thread of the tree");
	bool has_kid = false;
	for (int i = 0; i < n; i++) {
		has_kid |= thr[i].tid == kid;
		if (i)
			cr_expect_lt(thr[i - 1].tid, thr[i].tid, "sorted by tid");
	}
	cr_expect(has_kid, "the child's thread %d is read", (int)kid);
	cr_expect_gt(light.rss_bytes, 100000);
	cr_expect_eq(light.fds, -1, "the light reading does not count descriptors");
	cr_expect_geq(light.user_us + light.system_us, 0);
}

Test(procfs, a_gone_process_is_esrch)
{
	pid_t kid = fork();
	if (kid == 0)
		_exit(0);
	waitpid(kid, NULL, 0); /* reaped: the pid is free */
	struct procfs_proc p;
	cr_assert_eq(procfs_proc_read(kid, &p), -ESRCH);
	cr_assert_eq(procfs_tree_read(kid, &p), -ESRCH);
}

Test(procfs, finds_the_listener_of_a_port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	int port = ntohs(a.sin_port);
	cr_assert_eq(procfs_port_pid(port), -ENOENT, "bound, not listening: not found");
	cr_assert_eq(listen(s, 1), 0);
	cr_assert_eq(procfs_port_pid(port), getpid());
	close(s);
	cr_assert_eq(procfs_port_pid(port), -ENOENT);
}

Test(procfs, reads_the_host)
{
	struct procfs_host h, h2;
	cr_assert_eq(procfs_host_read(&h), 0);
	cr_assert_geq(h.cpus, 1);
	cr_assert_gt(h.mem_total_bytes, 0);
	cr_assert_leq(h.mem_available_bytes, h.mem_total_bytes);
	cr_assert_gt(h.cpu_total, 0);
	cr_assert_leq(h.cpu_busy, h.cpu_total);
	cr_assert_eq(procfs_host_read(&h2), 0);
	cr_assert_geq(h2.cpu_total, h.cpu_total, "jiffies only grow");
	cr_assert_geq(h2.tcp_retrans_segs, h.tcp_retrans_segs);
}

static volatile int spin_stop;

static void *spin(void *arg)
{
	(void)arg;
	while (!spin_stop)
		;
	return NULL;
}

Test(procfs, the_busiest_thread_is_the_spinning_one)
{
	/* a thread that spins for ~300 ms of CPU while the main thread sleeps */
	struct procfs_thread a[64], b[64];
	int na = procfs_tree_threads(getpid(), a, 64);
	cr_assert_geq(na, 1);
	for (int i = 1; i < na; i++)
		cr_assert_lt(a[i - 1].tid, a[i].tid, "sorted by tid");
	pthread_t t;
	spin_stop = 0;
	cr_assert_eq(pthread_create(&t, NULL, spin, NULL), 0);
	usleep(20000);
	na = procfs_tree_threads(getpid(), a, 64);
	struct timespec until, now;
	/* wait until the spinner has used CPU (bounded: 5 s of wall time) */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 5;
	int nb = 0;
	uint64_t best = 0;
	pid_t tid = 0;
	do {
		usleep(50000);
		nb = procfs_tree_threads(getpid(), b, 64);
		best = procfs_threads_busiest(a, na, b, nb, &tid);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (best < 200000 && now.tv_sec < until.tv_sec);
	spin_stop = 1;
	pthread_join(t, NULL);
	cr_assert_geq(best, 200000, "the spinner used %llu us", (unsigned long long)best);
	cr_assert_neq(tid, getpid(), "the busiest is not the sleeping main thread");
	/* a thread only in one reading does not count */
	cr_assert_eq(procfs_threads_busiest(a, 0, b, nb, NULL), 0);
	cr_assert_eq(procfs_tree_threads(999999999, b, 64), -ESRCH);
}

Test(procfs, a_threads_demand_counts_its_wait_for_a_cpu)
{
	/* tid 7 ran 600 us and waited 300 us for a CPU: a demand of 900 us, the most */
	struct procfs_thread prev[] = { { 5, 1000, 0 }, { 7, 100, 0 }, { 9, 0, 0 } };
	struct procfs_thread cur[] = { { 5, 1800, 0 }, { 7, 700, 300 }, { 8, 5000, 5000 } };
	pid_t tid;
	cr_assert_eq(procfs_threads_busiest(prev, 3, cur, 3, &tid), 900);
	cr_assert_eq(tid, 7);
}

/* A tree of more processes than PROCFS_TREE_MAX: the reading says it left some out. */
Test(procfs, a_tree_too_large_is_marked_capped)
{
	enum { KIDS = PROCFS_TREE_MAX + 10 };
	static pid_t kids[KIDS];
	struct procfs_proc p;
	int n = 0;
	for (; n < KIDS; n++)
		if ((kids[n] = fork()) == 0) {
			pause();
			_exit(0);
		} else if (kids[n] < 0) {
			break;
		}
	int e = procfs_tree_read(getpid(), &p);
	for (int i = 0; i < n; i++)
		end_child(kids[i]);
	cr_assert_eq(n, KIDS, "fork failed after %d children", n);
	cr_assert_eq(e, 0);
	cr_expect_eq(p.processes, PROCFS_TREE_MAX);
	cr_expect(p.tree_capped);
	/* a tree within the cap is not marked */
	pid_t kid = child_that_waits();
	e = procfs_tree_read(getpid(), &p);
	end_child(kid);
	cr_assert_eq(e, 0);
	cr_expect_not(p.tree_capped);
}

/* More threads than the per-thread reading's max: marked; within it: not. */
Test(procfs, threads_beyond_the_max_are_marked_capped)
{
	pthread_t t;
	spin_stop = 0;
	cr_assert_eq(pthread_create(&t, NULL, spin, NULL), 0);
	struct procfs_proc p;
	static struct procfs_thread thr[PROCFS_THREADS_MAX];
	int one = procfs_tree_read_threads(getpid(), &p, thr, 1);
	bool capped_one = p.threads_capped;
	int all = procfs_tree_read_threads(getpid(), &p, thr, PROCFS_THREADS_MAX);
	bool capped_all = p.threads_capped;
	spin_stop = 1;
	pthread_join(t, NULL);
	cr_assert_eq(one, 1);
	cr_expect(capped_one);
	cr_assert_geq(all, 2);
	cr_expect_not(capped_all);
}

Test(procfs, in_tree_follows_the_parents)
{
	pid_t kid = child_that_waits();
	bool kid_in_mine = procfs_in_tree(getpid(), kid),
	     me_in_kids = procfs_in_tree(kid, getpid()), self = procfs_in_tree(kid, kid),
	     init_in_mine = procfs_in_tree(getpid(), 1);
	end_child(kid);
	cr_expect(kid_in_mine);
	cr_expect_not(me_in_kids);
	cr_expect(self);
	cr_expect_not(init_in_mine);
	cr_expect_not(procfs_in_tree(getpid(), kid)); /* gone */
}

Test(procfs, a_group_counts_its_live_processes_only)
{
	pid_t kid = fork();
	if (kid == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	cr_assert_gt(kid, 0);
	setpgid(kid, kid);
	int live = procfs_group_live(kid);
	kill(kid, SIGKILL);
	siginfo_t si;
	waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT); /* a zombie until reaped */
	int zombie = procfs_group_live(kid);
	waitpid(kid, NULL, 0);
	cr_expect_eq(live, 1);
	cr_expect_eq(zombie, 0);
	cr_expect_eq(procfs_group_live(kid), 0);
}
