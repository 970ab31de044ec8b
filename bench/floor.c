/*
 * floor.c: the least an HTTP/1.1 keep-alive client can do per request, to measure the
 * kernel's floor under `make bench`'s CPU ratios (issue #10): N connections to
 * 127.0.0.1:PORT (loopback only), each writes a fixed GET and reads the (single-segment)
 * response, again and again, for SECONDS; no parsing, no clock, no metrics. Prints
 * "N requests in" like wrk, so bench-style scripts can divide CPU time by it.
 *
 *   cc -O2 -o floor bench/floor.c -luring
 *   taskset -c 1 perf stat -e task-clock ./floor epoll|uring CONNS SECONDS PORT
 *
 * Measured (bench/README.md): 0.78-0.90x wrk's CPU per request against nginx on this
 * 2-core VM, where stampede measures 0.79-0.88x: the kernel's TCP work is the floor.
 */
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static const char REQ[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
/* A send of the request linked to a receive of its response (user_data i + 1). */
static void queue_request(struct io_uring *r, int fd, char *buf, int i)
{
	struct io_uring_sqe *s = io_uring_get_sqe(r);
	io_uring_prep_send(s, fd, REQ, sizeof REQ - 1, 0);
	s->flags |= IOSQE_IO_LINK;
	s->user_data = 0;
	s = io_uring_get_sqe(r);
	io_uring_prep_recv(s, fd, buf, 4096, 0);
	s->user_data = (uint64_t)i + 1;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "epoll") && strcmp(argv[1], "uring"))) {
		fprintf(stderr, "usage: floor epoll|uring CONNS SECONDS PORT (127.0.0.1 only)\n");
		return 2;
	}
	int n = atoi(argv[2]), secs = atoi(argv[3]), port = atoi(argv[4]);
	if (n < 1 || n > 1000 || secs < 1 || secs > 60 || port < 1 || port > 65535) {
		fprintf(stderr, "floor: CONNS 1-1000, SECONDS 1-60, PORT 1-65535\n");
		return 2;
	}
	int *fd = calloc(n, sizeof(int));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	for (int i = 0; i < n; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd[i], (void *)&a, sizeof a)) {
			perror("connect");
			return 1;
		}
	}
	long reqs = 0;
	static char buf[65536];
	double end = now() + secs;
	if (!strcmp(argv[1], "epoll")) {
		int ep = epoll_create1(0);
		for (int i = 0; i < n; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
			write(fd[i], REQ, sizeof REQ - 1);
		}
		struct epoll_event evs[256];
		while (now() < end) {
			int k = epoll_wait(ep, evs, 256, 100);
			for (int j = 0; j < k; j++) {
				int f = fd[evs[j].data.u32];
				if (read(f, buf, sizeof buf) > 0) {
					reqs++;
					write(f, REQ, sizeof REQ - 1);
				}
			}
		}
	} else {
		struct io_uring r;
		io_uring_queue_init(1024, &r,
		                    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
		char *bufs = malloc((size_t)n * 4096);
		for (int i = 0; i < n; i++)
			queue_request(&r, fd[i], bufs + (size_t)i * 4096, i);
		while (now() < end) {
			io_uring_submit_and_wait(&r, 1);
			struct io_uring_cqe *c;
			unsigned head, cnt = 0;
			io_uring_for_each_cqe(&r, head, c)
			{
				cnt++;
				if (c->user_data && c->res > 0) {
					int i = c->user_data - 1;
					reqs++;
					queue_request(&r, fd[i], bufs + (size_t)i * 4096, i);
				}
			}
			io_uring_cq_advance(&r, cnt);
		}
	}
	printf("%ld requests in\n", reqs);
	return 0;
}
