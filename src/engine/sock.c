/* sock.c: non-blocking TCP connect and the plain-socket transports (syscalls, or the
 * loop's io_uring streams). */
#include "engine/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum err_kind connect_errno_kind(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return ERR_CONN_REFUSED;
	case ETIMEDOUT:
		return ERR_CONNECT_TIMEOUT;
	case ECONNRESET:
		return ERR_RESET;
	default:
		return ERR_CONNECT;
	}
}

enum io_res sock_connect(struct sock *s, const struct sockaddr *addr, socklen_t len)
{
	int one = 1;
	s->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (s->fd < 0) {
		s->sys_errno = errno;
		s->err = ERR_CONNECT;
		return IO_ERR;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, addr, len) == 0)
		return IO_OK;
	if (errno == EINPROGRESS)
		return IO_AGAIN;
	s->sys_errno = errno;
	s->err = connect_errno_kind(errno);
	close(s->fd);
	s->fd = -1;
	return IO_ERR;
}

enum io_res sock_finish_connect(struct sock *s)
{
	int e = 0;
	socklen_t len = sizeof(e);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == 0)
		return IO_OK;
	s->sys_errno = e;
	s->err = connect_errno_kind(e);
	return IO_ERR;
}

void sock_close(struct sock *s)
{
	if (s->ops && s->ops->close)
		s->ops->close(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static enum io_res plain_handshake(struct sock *s)
{
	return IO_OK;
}

static enum io_res plain_read(struct sock *s, char *buf, size_t len, size_t *n)
{
	ssize_t r = read(s->fd, buf, len);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	if (r == 0)
		return IO_EOF;
	if (errno == EAGAIN || errno == EINTR)
		return IO_AGAIN;
	s->sys_errno = errno;
	s->err = errno == ECONNRESET ? ERR_RESET : ERR_RESET;
	return IO_ERR;
}

static enum io_res plain_write(struct sock *s, const char *buf, size_t len, size_t *n)
{
	ssize_t r = send(s->fd, buf, len, MSG_NOSIGNAL);
	if (r >= 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	if (errno == EAGAIN || errno == EINTR)
		return IO_AGAIN;
	s->sys_errno = errno;
	s->err = (errno == ECONNRESET || errno == EPIPE) ? ERR_RESET : ERR_WRITE;
	return IO_ERR;
}

static void plain_close(struct sock *s)
{
}

const struct sock_ops sock_plain_ops = {
	.handshake = plain_handshake,
	.read = plain_read,
	.write = plain_write,
	.close = plain_close,
};

bool sock_stream_attach(struct sock *s, struct loop *loop, struct loop_io *io)
{
	if (!loop_has_streams(loop) || loop_stream_start(loop, io) < 0)
		return false;
	s->loop = loop;
	s->io = io;
	s->ops = &sock_stream_ops;
	return true;
}

static enum io_res stream_read(struct sock *s, char *buf, size_t len, size_t *n)
{
	long r = loop_stream_read(s->loop, s->io, buf, len);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	if (r == 0)
		return IO_EOF;
	if (r == -EAGAIN)
		return IO_AGAIN;
	s->sys_errno = (int)-r;
	s->err = ERR_RESET;
	return IO_ERR;
}

static enum io_res stream_write(struct sock *s, const char *buf, size_t len, size_t *n)
{
	long r = loop_stream_send(s->loop, s->io, buf, len);
	if (r >= 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	if (r == -EAGAIN)
		return IO_AGAIN;
	s->sys_errno = (int)-r;
	s->err = (r == -ECONNRESET || r == -EPIPE) ? ERR_RESET : ERR_WRITE;
	return IO_ERR;
}

static void stream_close(struct sock *s)
{
	loop_release_fd(s->loop, s->io);
	s->loop = NULL;
	s->io = NULL;
	s->ops = &sock_plain_ops;
}

const struct sock_ops sock_stream_ops = {
	.handshake = plain_handshake,
	.read = stream_read,
	.write = stream_write,
	.close = stream_close,
};
