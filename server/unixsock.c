/*
 * unixsock.c: the local listener, a Unix stream socket for the users of
 * this machine (--unix).  The main thread alone opens and closes it,
 * at start-up before any other thread exists and after the accept loop
 * ends; nothing here is shared.
 *
 * Who may connect is decided by the peer's uid (SO_PEERCRED, read at
 * accept), not by the file's mode: the socket is 0666 so that every
 * local user can connect, as on a shell box they should.  What must
 * not happen is someone else planting or swapping the socket, so the
 * folder it lives in is natterd's own: owned by the user natterd runs
 * as (the --user account when given), not writable by group or others,
 * not a symbolic link, reached through folders only root or that user
 * can change (a sticky folder such as /tmp may be on the way, but is
 * never the socket's own folder), and made 0755 when missing so that
 * everyone can reach the socket.
 *
 * Two servers on one path: a lock file beside the socket (NAME.lock,
 * flock held for natterd's life) decides who owns the path, so two
 * starting at once cannot both unlink and bind.  The owner then
 * connects to an existing socket: a refusal means a dead server left
 * it (it is replaced), an answer means another natterd, one that took
 * no lock, is there.  At exit the socket is unlinked if it is still
 * the one bound here; the lock file stays, since removing it would let
 * a third server lock a file the second no longer sees.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natterd.h"

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == SOCKPATH_MAX,
    "SOCKPATH_MAX is the size of sun_path");

static struct {
	int		 fd;		/* the listener, or -1 */
	int		 dirfd;		/* its folder, or -1 */
	int		 lockfd;	/* NAME.lock, held until exit */
	char		 path[SOCKPATH_MAX];
	char		 name[SOCKPATH_MAX];	/* the last component */
	dev_t		 dev;		/* what was bound, to unlink */
	ino_t		 ino;
	int		 stale;		/* replaced a dead server's socket */
} us = { -1, -1, -1, "", "", 0, 0, 0 };

/* 1 if a folder or link owned by uid is one natterd may trust. */
static int
trusted_owner(uid_t owner, uid_t uid)
{
	return owner == 0 || owner == uid;
}

/*
 * Checks each folder above dir (and, through its real path, where any
 * symbolic links lead): owned by root or uid, and writable by group or
 * others only when sticky; a link on the way must belong to root or
 * uid.  0, or -1 with why.
 */
static int
check_ancestors(const char *dir, uid_t uid, char *why, size_t whylen)
{
	char buf[PATH_MAX], real[PATH_MAX], *p;
	struct stat sb;
	int pass, n;

	n = snprintf(buf, sizeof(buf), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	/* Pass 0: the path as given (links); pass 1: its real path. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if ((p = strrchr(buf, '/')) != NULL)
				*p = '\0';
			if (buf[0] == '\0')
				return 0;	/* dir is "/x": only "/" above */
			if (realpath(buf, real) == NULL) {
				snprintf(why, whylen, "%s: %s", buf,
				    strerror(errno));
				return -1;
			}
			n = snprintf(buf, sizeof(buf), "%s/x", real);
			if (n < 0 || (size_t)n >= sizeof(buf))
				return -1;
		}
		/* Every prefix of buf that ends before a '/', "/" first. */
		for (p = buf;;) {
			char save;

			p = strchr(p + 1, '/');
			save = p != NULL ? *p : '\0';
			if (p == NULL)
				break;
			*p = '\0';
			if (lstat(buf, &sb) == -1) {
				snprintf(why, whylen, "%s: %s", buf,
				    strerror(errno));
				*p = save;
				return -1;
			}
			if (S_ISLNK(sb.st_mode) && !trusted_owner(sb.st_uid,
			    uid)) {
				snprintf(why, whylen, "%s is a symbolic link "
				    "owned by uid %lu, not root or natterd's "
				    "user", buf, (unsigned long)sb.st_uid);
				*p = save;
				return -1;
			}
			if (pass == 1 && (!trusted_owner(sb.st_uid, uid) ||
			    ((sb.st_mode & (S_IWGRP | S_IWOTH)) &&
			    !(sb.st_mode & S_ISVTX)))) {
				snprintf(why, whylen, "%s can be changed by "
				    "others (owned by uid %lu, mode %03o)", buf,
				    (unsigned long)sb.st_uid,
				    (unsigned)sb.st_mode & 07777);
				*p = save;
				return -1;
			}
			*p = save;
		}
		/* "/" itself, in the real pass. */
		if (pass == 1 && lstat("/", &sb) == 0 &&
		    !trusted_owner(sb.st_uid, uid)) {
			snprintf(why, whylen, "/ is not owned by root");
			return -1;
		}
	}
	return 0;
}

/*
 * Opens (making it when missing) the socket's folder and checks it is
 * natterd's own.  The fd, or -1 with why.
 */
static int
open_folder(const char *dir, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	struct stat sb;
	int fd, made = 0;

	if (lstat(dir, &sb) == -1) {
		if (errno != ENOENT) {
			snprintf(why, whylen, "folder %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		/* 0700 until it is checked and ours, then 0755. */
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			snprintf(why, whylen, "cannot create folder %s: %s",
			    dir, strerror(errno));
			return -1;
		}
		made = 1;
	} else if (S_ISLNK(sb.st_mode)) {
		snprintf(why, whylen, "folder %s is a symbolic link", dir);
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			snprintf(why, whylen, "%s is not a folder (or is a "
			    "symbolic link)", dir);
		else
			snprintf(why, whylen, "folder %s: %s", dir,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(why, whylen, "folder %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Root hands a folder of its own to --user, as it would have
	 * made it; someone else's folder is never taken over. */
	if (sb.st_uid != uid && sb.st_uid == 0 && geteuid() == 0 &&
	    (made || !(sb.st_mode & (S_IWGRP | S_IWOTH)))) {
		if (fchown(fd, uid, gid) == -1) {
			snprintf(why, whylen, "folder %s: chown: %s", dir,
			    strerror(errno));
			goto fail;
		}
		sb.st_uid = uid;
	}
	if (sb.st_uid != uid) {
		snprintf(why, whylen, "folder %s belongs to uid %lu, not to "
		    "natterd's user (uid %lu)", dir, (unsigned long)sb.st_uid,
		    (unsigned long)uid);
		goto fail;
	}
	if (made && fchmod(fd, 0755) == -1) {
		snprintf(why, whylen, "folder %s: chmod: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (!made && (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, whylen, "folder %s is writable by %s (mode "
		    "%03o): the socket needs a folder of its own", dir,
		    (sb.st_mode & S_IWOTH) ? "everyone" : "its group",
		    (unsigned)sb.st_mode & 07777);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Runs fn(fd, name) with the current folder set to dirfd, so that the
 * path is resolved once, through the checked folder. */
static int
in_folder(int dirfd, int (*fn)(int, const char *), int fd, const char *name)
{
	int cwd, rc, e;

	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cwd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd == -1 || fchdir(dirfd) == -1) {
		e = errno;
		if (cwd != -1)
			close(cwd);
		errno = e;
		return -1;
	}
	rc = fn(fd, name);
	e = errno;
	if (fchdir(cwd) == -1)
		rc = -1;
	close(cwd);
	errno = e;
	return rc;
}

static int
sock_connect(int fd, const char *name)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int
sock_bind(int fd, const char *name)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/*
 * An existing file where the socket goes: a dead server's socket is
 * removed; a live one is refused.  0 when the name is free.
 */
static int
clear_stale(char *why, size_t whylen)
{
	struct stat sb;
	int fd, rc;

	if (fstatat(us.dirfd, us.name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", us.path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a socket", us.path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = in_folder(us.dirfd, sock_connect, fd, us.name);
	close(fd);
	if (rc == 0) {
		snprintf(why, whylen, "another natterd is listening on %s",
		    us.path);
		return -1;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", us.path, strerror(errno));
		return -1;
	}
	if (unlinkat(us.dirfd, us.name, 0) == -1 && errno != ENOENT) {
		snprintf(why, whylen, "cannot remove the stale socket %s: %s",
		    us.path, strerror(errno));
		return -1;
	}
	us.stale = 1;
	return 0;
}

int
unixsock_open(const char *path, uid_t uid, gid_t gid, char *why,
    size_t whylen)
{
	char dir[SOCKPATH_MAX], lockname[SOCKPATH_MAX + 8];
	const char *slash;
	struct stat sb;
	int fd = -1, n, root = geteuid() == 0 && uid != 0;

	slash = strrchr(path, '/');
	if (path[0] != '/' || strlen(path) >= sizeof(us.path) ||
	    slash == NULL || slash[1] == '\0' || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0) {
		snprintf(why, whylen, "%s: not an absolute path to a socket "
		    "of at most %d bytes", path, SOCKPATH_MAX - 1);
		return -1;
	}
	snprintf(us.path, sizeof(us.path), "%s", path);
	snprintf(us.name, sizeof(us.name), "%s", slash + 1);
	n = (int)(slash - path);
	snprintf(dir, sizeof(dir), "%.*s", n == 0 ? 1 : n, path);
	if (strcmp(dir, "/") == 0) {
		snprintf(why, whylen, "%s: the socket needs a folder of its "
		    "own, not /", path);
		return -1;
	}
	if (check_ancestors(dir, uid, why, whylen) == -1)
		return -1;
	if ((us.dirfd = open_folder(dir, uid, gid, why, whylen)) == -1)
		return -1;

	n = snprintf(lockname, sizeof(lockname), "%s.lock", us.name);
	if (n < 0 || (size_t)n >= sizeof(lockname) ||
	    (us.lockfd = openat(us.dirfd, lockname, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(why, whylen, "lock file %s.lock: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (flock(us.lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(why, whylen, "another natterd is listening on "
			    "%s", path);
		else
			snprintf(why, whylen, "lock file %s.lock: %s", path,
			    strerror(errno));
		goto fail;
	}
	if (root && fchown(us.lockfd, uid, gid) == -1) {
		snprintf(why, whylen, "lock file %s.lock: chown: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (clear_stale(why, whylen) == -1)
		goto fail;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (in_folder(us.dirfd, sock_bind, fd, us.name) == -1) {
		snprintf(why, whylen, "cannot listen on %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	/* Everyone may connect: the uid, not the mode, says who it is. */
	if (fchmodat(us.dirfd, us.name, 0666, 0) == -1 ||
	    (root && fchownat(us.dirfd, us.name, uid, gid,
	    AT_SYMLINK_NOFOLLOW) == -1) ||
	    fstatat(us.dirfd, us.name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		(void)unlinkat(us.dirfd, us.name, 0);
		goto fail;
	}
	us.dev = sb.st_dev;
	us.ino = sb.st_ino;
	if (listen(fd, 1024) == -1) {
		snprintf(why, whylen, "listen on %s: %s", path,
		    strerror(errno));
		(void)unlinkat(us.dirfd, us.name, 0);
		goto fail;
	}
	us.fd = fd;
	return fd;
fail:
	if (fd != -1)
		close(fd);
	if (us.lockfd != -1)
		close(us.lockfd);
	close(us.dirfd);
	us.lockfd = us.dirfd = -1;
	return -1;
}

const char *
unixsock_path(void)
{
	return us.fd != -1 ? us.path : NULL;
}

int
unixsock_replaced_stale(void)
{
	return us.stale;
}

void
unixsock_close(void)
{
	struct stat sb;

	if (us.fd == -1)
		return;
	close(us.fd);
	us.fd = -1;
	/* Only the socket bound here: never one a later server made. */
	if (fstatat(us.dirfd, us.name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_dev == us.dev && sb.st_ino == us.ino &&
	    unlinkat(us.dirfd, us.name, 0) == -1)
		log_warn("cannot remove %s", us.path);
	close(us.dirfd);
	us.dirfd = -1;
	/* The lock goes with the process: until then no other natterd
	 * takes the path. */
}
