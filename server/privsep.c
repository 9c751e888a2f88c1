/*
 * privsep.c: the files natterd reads again on SIGHUP and REHASH (the
 * MOTD, the operator file, the TLS certificate and key, the help
 * file), and, with
 * --user, the helper process that reads them as root.
 *
 * The helper is forked just before the privileges are dropped, while
 * natterd still has one thread.  It keeps nothing but its end of a
 * socket pair and answers one request at a time until the server's end
 * closes, which happens when natterd exits for any reason.  A request
 * names a file by its enum priv_file index, never by a path: the helper
 * knows the paths from the config it inherited, so the unprivileged
 * side can only ask for what root was told to read.
 *
 *   request:  uint32_t which
 *   reply:    int32_t status (0 or an errno), uint32_t len, then len
 *             bytes of the file when status is 0 (len <= PRIV_FILE_MAX)
 *
 * priv_lock guards priv_fd and keeps one request on the socket at a
 * time.  It is taken with no other lock held and nothing is taken under
 * it; callers never hold server.lock (the helper reads the disk).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natterd.h"

struct priv_reply {
	int32_t		 status;	/* 0 or an errno */
	uint32_t	 len;		/* bytes that follow */
};

static pthread_mutex_t	 priv_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 priv_fd = -1;	/* the server's end; -1: no helper */
static pid_t		 priv_pid = -1;
/* In the helper: the account natterd runs as, which must not be able to
 * point the helper at another file. */
static uid_t		 priv_uid;
static gid_t		 priv_gid;

static const char	*priv_path(int);
static int		 priv_file_read(const char *, char **, size_t *);
static int		 priv_dir_safe(const char *);
static int		 priv_helper_read(const char *, char **, size_t *);
static int		 priv_readn(int, void *, size_t);
static int		 priv_writen(int, const void *, size_t);
static _Noreturn void	 priv_main(int, pid_t);
static int		 priv_ask_locked(int, int *, char **, size_t *);

/* The file behind index which, from the config; NULL if not given. */
static const char *
priv_path(int which)
{
	switch (which) {
	case PRIV_MOTD:
		return config.motd_file;
	case PRIV_OPER_FILE:
		return config.oper_file;
	case PRIV_TLS_CERT:
		return config.tls_cert;
	case PRIV_TLS_KEY:
		return config.tls_key;
	case PRIV_HELP:
		return config.help_file;
	}
	return NULL;
}

/*
 * Reads path whole into a new buffer with a NUL after its *lenp bytes.
 * A file bigger than PRIV_FILE_MAX is EFBIG.  Returns -1 with errno set.
 */
static int
priv_file_read(const char *path, char **bufp, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;		/* a FIFO or a device */
		goto fail;
	}
	/* One byte more than allowed tells a file that is too big. */
	if ((buf = malloc(PRIV_FILE_MAX + 2)) == NULL)
		goto fail;
	while (len <= PRIV_FILE_MAX) {
		n = read(fd, buf + len, PRIV_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PRIV_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	saved = errno;
	priv_free(buf, len);
	close(fd);
	errno = saved;
	return -1;
}

void
priv_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, len);
	free(buf);
}

/* 0 once len bytes are read; -1 on error, or EOF (errno EPIPE). */
static int
priv_readn(int fd, void *p, size_t len)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		n = read(fd, (char *)p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int
priv_writen(int fd, const void *p, size_t len)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		n = send(fd, (const char *)p + done, len - done,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/*
 * 0 if the folder holding path is one the unprivileged account cannot
 * change: otherwise it could swap the file for a link to a secret that
 * only root may read, and the helper would hand it over.
 */
static int
priv_dir_safe(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, strlen(path) + 1);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1)
		return -1;
	if ((st.st_mode & S_IWOTH) ||
	    (st.st_uid == priv_uid && (st.st_mode & S_IWUSR)) ||
	    (st.st_gid == priv_gid && (st.st_mode & S_IWGRP))) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * The helper's read: only from folders the server's account cannot
 * change (the path as given and where its links lead), and only a
 * regular file (a FIFO would stall every later reload).
 */
static int
priv_helper_read(const char *path, char **bufp, size_t *lenp)
{
	char real[PATH_MAX];

	if (priv_dir_safe(path) == -1 || realpath(path, real) == NULL ||
	    priv_dir_safe(real) == -1)
		return -1;
	return priv_file_read(real, bufp, lenp);
}

/*
 * The helper: root, one descriptor besides stdio, answering until the
 * server's end of the socket closes.  parent: natterd's pid.
 */
static _Noreturn void
priv_main(int fd, pid_t parent)
{
	static const int	 ignored[] = { SIGHUP, SIGINT, SIGUSR1, SIGPIPE };
	struct priv_reply	 r;
	struct sigaction	 sa;
	sigset_t		 none;
	uint32_t		 which;
	const char		*path;
	char			*buf;
	size_t			 len, i;

	(void)prctl(PR_SET_NAME, "natterd-priv", 0, 0, 0);
	/* SIGTERM when natterd dies: it must not be ignored or blocked
	 * (the server blocked it for its signal thread).  What natterd
	 * itself handles is ignored here, so that a SIGHUP or ^C meant
	 * for natterd never ends the helper before natterd. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* natterd may have died before the death signal was set. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1 ||
	    getppid() != parent)
		_exit(0);
	/* The listeners and anything else natterd had open. */
	if (fd != 3 && (dup2(fd, 3) == -1 || close(fd) == -1))
		_exit(1);
	fd = 3;
	if (close_range(4, ~0U, 0) == -1)
		_exit(1);

	while (priv_readn(fd, &which, sizeof(which)) == 0) {
		buf = NULL;
		len = 0;
		memset(&r, 0, sizeof(r));
		if ((path = priv_path((int)which)) == NULL)
			r.status = EINVAL;
		else if (priv_helper_read(path, &buf, &len) == -1)
			r.status = errno;
		r.len = (uint32_t)len;
		if (priv_writen(fd, &r, sizeof(r)) == -1 ||
		    priv_writen(fd, buf, len) == -1)
			break;
		priv_free(buf, len);
	}
	_exit(0);
}

int
priv_start(uid_t uid, gid_t gid)
{
	int	 sv[2];
	pid_t	 pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		priv_uid = uid;
		priv_gid = gid;
		priv_main(sv[1], parent);
	}
	close(sv[1]);
	priv_fd = sv[0];
	priv_pid = pid;
	log_info("reloads read files through a root helper (pid %ld)",
	    (long)pid);
	return 0;
}

/*
 * One request and its reply: 0 with *status 0 and the file, or with
 * *status the helper's errno; -1 if the stream broke (errno set).
 * Caller holds priv_lock.
 */
static int
priv_ask_locked(int which, int *status, char **bufp, size_t *lenp)
{
	struct priv_reply	 r;
	uint32_t		 w = (uint32_t)which;
	char			*buf;

	if (priv_writen(priv_fd, &w, sizeof(w)) == -1 ||
	    priv_readn(priv_fd, &r, sizeof(r)) == -1)
		return -1;
	if (r.status < 0 || (r.status != 0 && r.len != 0) ||
	    r.len > PRIV_FILE_MAX) {
		errno = EPROTO;
		return -1;
	}
	*status = r.status;
	if (r.status != 0)
		return 0;
	if ((buf = malloc((size_t)r.len + 1)) == NULL)
		return -1;
	if (priv_readn(priv_fd, buf, r.len) == -1) {
		priv_free(buf, r.len);
		return -1;
	}
	buf[r.len] = '\0';
	*bufp = buf;
	*lenp = r.len;
	return 0;
}

int
priv_read(int which, char **bufp, size_t *lenp)
{
	const char	*path;
	int		 status = 0;

	*bufp = NULL;
	*lenp = 0;
	if ((path = priv_path(which)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&priv_lock);
	if (priv_fd != -1 && priv_ask_locked(which, &status, bufp,
	    lenp) == -1) {
		/* Out of step, or the helper is gone: no more requests;
		 * this read and the next are done as this user. */
		log_warnx("root helper gone (%s): files are read as %s "
		    "from now on", strerror(errno), config.user);
		close(priv_fd);
		priv_fd = -1;
		(void)waitpid(priv_pid, NULL, WNOHANG);
	}
	if (priv_fd == -1) {
		pthread_mutex_unlock(&priv_lock);
		return priv_file_read(path, bufp, lenp);
	}
	pthread_mutex_unlock(&priv_lock);
	if (status != 0) {
		errno = status;
		return -1;
	}
	return 0;
}
