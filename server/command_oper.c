/*
 * command_oper.c: IRC operators (OPER, KILL, WALLOPS, REHASH, DIE),
 * password checking, and loading the MOTD and operator files.
 *
 * Files are read (through priv_read(), so with --user by root's helper)
 * and passwords hashed without server.lock held, since both are slow;
 * only the swap of the loaded data into struct server and
 * the copy of a secret out of it happen under the lock.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define MOTD_LINE_MAX	400	/* bytes of one MOTD line kept */
#define MOTD_LINES_MAX	1000	/* a bigger file is cut, with a warning */
#define OPERS_MAX	1000

static int	 oper_equal(const char *, const char *);
static FILE	*oper_fopen(int, const char *, char **, size_t *);
static int	 oper_load_motd(const char *, char ***, int *);
static int	 oper_load_opers(const char *, struct oper **, int *);
static void	 oper_free_motd(char **, int);
static void	 oper_free_opers(struct oper *, int);
static char	*oper_find_secret(const char *, int *);
static int	 oper_require(struct turn *);

/*
 * Compares without an early exit, so the time taken depends only on the
 * length of what the client sent, never on how much of it was right.
 */
static int
oper_equal(const char *secret, const char *given)
{
	size_t		 ls = strlen(secret), lg = strlen(given), i;
	unsigned	 d = ls != lg;

	for (i = 0; i < lg; i++)
		d |= (unsigned char)given[i] ^
		    (unsigned char)secret[i < ls ? i : ls];
	return d == 0;
}

int
oper_check(const struct oper *o, const char *password)
{
	struct crypt_data	*cd;
	const char		*h;
	int			 ok;

	if (o->secret == NULL || password == NULL)
		return 0;
	if (!o->hashed)
		return oper_equal(o->secret, password);
	/* 32 KiB: far too big for a 64 KiB client thread stack. */
	if ((cd = calloc(1, sizeof *cd)) == NULL) {
		log_warn("oper_check");
		return 0;
	}
	h = crypt_r(password, o->secret, cd);
	/* Failure is NULL or a "*0"-style token that must never match. */
	ok = h != NULL && h[0] != '*' && oper_equal(o->secret, h);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

int
oper_hash(const char *password, char *out, size_t outlen)
{
	struct crypt_data	*cd;
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			 rc = -1, saved;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof setting) == NULL &&
	    crypt_gensalt_rn("$6$", 0, NULL, 0, setting,
	    sizeof setting) == NULL)
		return -1;
	if ((cd = calloc(1, sizeof *cd)) == NULL)
		return -1;
	h = crypt_r(password, setting, cd);
	if (h == NULL || h[0] == '*')
		errno = EINVAL;
	else if (strlen(h) >= outlen)
		errno = ERANGE;
	else {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
	saved = errno;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	errno = saved;
	return rc;
}

static void
oper_free_motd(char **lines, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static void
oper_free_opers(struct oper *o, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		free(o[i].name);
		if (o[i].secret != NULL) {
			explicit_bzero(o[i].secret, strlen(o[i].secret));
			free(o[i].secret);
		}
	}
	free(o);
}

/*
 * The file which (path, for messages) as a stream over its bytes, read
 * through priv_read(): with --user, root's helper reads it.  *bufp goes
 * to priv_free() once the stream is closed.
 */
static FILE *
oper_fopen(int which, const char *path, char **bufp, size_t *lenp)
{
	FILE	*f;

	if (priv_read(which, bufp, lenp) == -1) {
		log_warn("%s", path);
		return NULL;
	}
	if ((f = fmemopen(*bufp, *lenp, "r")) == NULL) {
		log_warn("%s", path);
		priv_free(*bufp, *lenp);
	}
	return f;
}

/*
 * Reads the MOTD: one line per entry, cut at the first CR or LF (a stray
 * CR would end the line on the wire), at most MOTD_LINE_MAX bytes.
 * Lines that are not UTF-8 are skipped rather than sent garbled.
 */
static int
oper_load_motd(const char *path, char ***linesp, int *np)
{
	FILE		 *f;
	char		 *line = NULL, **lines = NULL, **nl, *s, *buf;
	size_t		  cap = 0, len, buflen;
	unsigned long	  lineno = 0;
	int		  n = 0, lcap = 0;

	if ((f = oper_fopen(PRIV_MOTD, path, &buf, &buflen)) == NULL)
		return -1;
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (n >= MOTD_LINES_MAX) {
			log_warnx("%s:%lu: more than %d lines, rest ignored",
			    path, lineno, MOTD_LINES_MAX);
			break;
		}
		len = strcspn(line, "\r\n");
		if (!utf8_valid(line, len)) {
			log_warnx("%s:%lu: not UTF-8, line skipped", path,
			    lineno);
			continue;
		}
		len = utf8_cut(line, len, MOTD_LINE_MAX);
		if (n == lcap) {
			lcap = lcap == 0 ? 16 : lcap * 2;
			if ((nl = reallocarray(lines, (size_t)lcap,
			    sizeof *lines)) == NULL)
				goto fail;
			lines = nl;
		}
		if ((s = strndup(line, len)) == NULL)
			goto fail;
		lines[n++] = s;
	}
	if (ferror(f)) {
		log_warn("%s", path);
		goto fail_quiet;
	}
	free(line);
	fclose(f);
	priv_free(buf, buflen);
	*linesp = lines;
	*np = n;
	return 0;
fail:
	log_warn("%s", path);
fail_quiet:
	free(line);
	fclose(f);
	priv_free(buf, buflen);
	oper_free_motd(lines, n);
	return -1;
}

/*
 * Reads "NAME HASH" lines; '#' starts a comment line.  Only crypt(3)
 * hashes are accepted here: a plain password in a file is a mistake
 * that crypt_r would silently turn into a DES salt.
 */
static int
oper_load_opers(const char *path, struct oper **operp, int *np)
{
	FILE		*f;
	struct oper	*o = NULL, *no;
	char		*line = NULL, *p, *name, *hash, *extra, *save, *buf;
	size_t		 cap = 0, buflen;
	unsigned long	 lineno = 0;
	int		 n = 0, ocap = 0, i, dup;

	if ((f = oper_fopen(PRIV_OPER_FILE, path, &buf, &buflen)) == NULL)
		return -1;
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		name = strtok_r(p, " \t", &save);
		hash = strtok_r(NULL, " \t", &save);
		extra = strtok_r(NULL, " \t", &save);
		if (name == NULL || hash == NULL || extra != NULL) {
			log_warnx("%s:%lu: expected NAME HASH, line skipped",
			    path, lineno);
			continue;
		}
		if (hash[0] != '$') {
			log_warnx("%s:%lu: %s: not a crypt(3) hash, line "
			    "skipped", path, lineno, name);
			continue;
		}
		for (dup = 0, i = 0; i < n; i++)
			if (strcmp(o[i].name, name) == 0)
				dup = 1;
		if (dup) {
			log_warnx("%s:%lu: %s: duplicate operator, line "
			    "skipped", path, lineno, name);
			continue;
		}
		if (n >= OPERS_MAX) {
			log_warnx("%s:%lu: more than %d operators, rest "
			    "ignored", path, lineno, OPERS_MAX);
			break;
		}
		if (n == ocap) {
			ocap = ocap == 0 ? 8 : ocap * 2;
			if ((no = reallocarray(o, (size_t)ocap,
			    sizeof *o)) == NULL)
				goto fail;
			o = no;
		}
		o[n].name = strdup(name);
		o[n].secret = strdup(hash);
		o[n].hashed = 1;
		if (o[n].name == NULL || o[n].secret == NULL) {
			free(o[n].name);
			free(o[n].secret);
			goto fail;
		}
		n++;
	}
	if (ferror(f)) {
		log_warn("%s", path);
		goto fail_quiet;
	}
	free(line);
	fclose(f);
	priv_free(buf, buflen);
	*operp = o;
	*np = n;
	return 0;
fail:
	log_warn("%s", path);
fail_quiet:
	free(line);
	fclose(f);
	priv_free(buf, buflen);
	oper_free_opers(o, n);
	return -1;
}

/*
 * Each file that loads replaces its old data; one that fails leaves its
 * old data in place, so a bad edit never locks the operators out.
 */
int
config_reload(void)
{
	char		**motd = NULL, **oldmotd = NULL;
	struct oper	 *opers = NULL, *oldopers = NULL;
	int		  nmotd = 0, nopers = 0, noldmotd = 0, noldopers = 0;
	int		  motd_ok = 1, opers_ok = 1;

	/* A help file that fails is logged and does not fail the rest:
	 * HELP answers 524 until it loads. */
	(void)help_reload();
	if (config.motd_file != NULL &&
	    oper_load_motd(config.motd_file, &motd, &nmotd) == -1)
		motd_ok = 0;
	if (config.oper_file != NULL &&
	    oper_load_opers(config.oper_file, &opers, &nopers) == -1)
		opers_ok = 0;

	/* An empty file means no MOTD, as numeric 422 tells. */
	if (nmotd == 0) {
		free(motd);
		motd = NULL;
	}

	pthread_rwlock_wrlock(&server.lock);
	if (motd_ok) {
		oldmotd = server.motd;
		noldmotd = server.nmotd;
		server.motd = motd;
		server.nmotd = nmotd;
	}
	if (opers_ok) {
		oldopers = server.file_opers;
		noldopers = server.nfile_opers;
		server.file_opers = opers;
		server.nfile_opers = nopers;
	}
	pthread_rwlock_unlock(&server.lock);

	oper_free_motd(oldmotd, noldmotd);
	oper_free_opers(oldopers, noldopers);
	if (motd_ok && opers_ok)
		log_debug("config: %d MOTD lines, %d file operators", nmotd,
		    nopers);
	return motd_ok && opers_ok ? 0 : -1;
}


/* Frees what config_reload() loaded; at exit, once no client is left. */
void
config_unload(void)
{
	char		**motd;
	struct oper	 *opers;
	int		  nmotd, nopers;

	pthread_rwlock_wrlock(&server.lock);
	motd = server.motd;
	nmotd = server.nmotd;
	opers = server.file_opers;
	nopers = server.nfile_opers;
	server.motd = NULL;
	server.nmotd = 0;
	server.file_opers = NULL;
	server.nfile_opers = 0;
	pthread_rwlock_unlock(&server.lock);
	oper_free_motd(motd, nmotd);
	oper_free_opers(opers, nopers);
	help_unload();
}

/*
 * A copy of the secret of operator name (--oper first, then the file),
 * so it can be checked after the lock is dropped.  NULL if there is no
 * such operator or no memory (errno tells).
 */
static char *
oper_find_secret(const char *name, int *hashed)
{
	char	*s = NULL;
	int	 i, found = 0;

	for (i = 0; i < config.ncli_opers; i++) {
		if (strcmp(config.cli_opers[i].name, name) == 0) {
			*hashed = config.cli_opers[i].hashed;
			s = strdup(config.cli_opers[i].secret);
			found = 1;
			break;
		}
	}
	if (!found) {
		pthread_rwlock_wrlock(&server.lock);
		for (i = 0; i < server.nfile_opers; i++) {
			if (strcmp(server.file_opers[i].name, name) == 0) {
				*hashed = server.file_opers[i].hashed;
				s = strdup(server.file_opers[i].secret);
				found = 1;
				break;
			}
		}
		pthread_rwlock_unlock(&server.lock);
	}
	/* strdup left ENOMEM in errno when it failed. */
	if (!found)
		errno = 0;
	return s;
}

void
cmd_oper(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	struct oper	 o;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1];
	int		 ok, hashed = 0, was;

	client_mask(c, mask, sizeof mask);
	/* Our own flags: only this thread writes them. */
	if (c->flags & CLIENT_OPER) {
		reply(t, RPL_YOUREOPER);
		return;
	}
	if ((o.secret = oper_find_secret(name, &hashed)) == NULL) {
		if (errno == ENOMEM) {
			log_warn("oper");
			reply(t, ERR_UNKNOWNERROR, "OPER", "Out of memory");
			return;
		}
		log_warnx("oper: %s: no operator \"%s\"", mask, name);
		reply(t, ERR_NOOPERHOST);
		return;
	}
	o.name = NULL;
	o.hashed = hashed;
	ok = oper_check(&o, m->params[1]);
	explicit_bzero(o.secret, strlen(o.secret));
	free(o.secret);
	if (!ok) {
		log_warnx("oper: %s: wrong password for \"%s\"", mask, name);
		reply(t, ERR_PASSWDMISMATCH);
		return;
	}

	pthread_rwlock_wrlock(&server.lock);
	was = (c->flags & CLIENT_OPER) != 0;
	if (!was) {
		c->flags |= CLIENT_OPER;
		server.nopers++;
	}
	pthread_rwlock_unlock(&server.lock);
	if (!was)
		turn_sendf(t, ":%s MODE %s :+o", c->nick, c->nick);
	reply(t, RPL_YOUREOPER);
	log_info("oper: %s is now an operator as \"%s\"", mask, name);
}

/* 1 if c is an operator, else answers 481. */
static int
oper_require(struct turn *t)
{
	struct client	*c = t->c;

	/* Our own flags: only this thread writes them. */
	if (c->flags & CLIENT_OPER)
		return 1;
	reply(t, ERR_NOPRIVILEGES);
	return 0;
}

void
cmd_kill(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	struct client	*victim;
	const char	*nick = m->params[0], *reason;
	char		 why[IRC_LINE_MAX], mask[MASK_MAX + 1];
	char		 vnick[NICK_MAX + 1];
	size_t		 len;

	if (!oper_require(t))
		return;
	if (casemap_cmp(nick, config.server_name) == 0) {
		reply(t, ERR_CANTKILLSERVER);
		return;
	}
	reason = m->nparams >= 2 && m->params[1][0] != '\0' ?
	    m->params[1] : c->nick;
	len = utf8_cut(reason, strlen(reason), KICK_MAX);
	(void)snprintf(why, sizeof why, "Killed (%s (%.*s))", c->nick,
	    (int)len, reason);
	client_mask(c, mask, sizeof mask);

	pthread_rwlock_wrlock(&server.lock);
	if ((victim = client_find_locked(nick)) == NULL) {
		reply(t, ERR_NOSUCHNICK, nick);
		pthread_rwlock_unlock(&server.lock);
		return;
	}
	(void)snprintf(vnick, sizeof vnick, "%s", victim->nick);
	/* Under the lock so t cannot be freed; it takes only out_lock. */
	client_kill_locked(victim, why);
	pthread_rwlock_unlock(&server.lock);
	log_info("kill: %s killed %s: %s", mask, vnick, why);
}

void
cmd_wallops(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c, *u;
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	struct post	*p;
	struct line	 l;

	if (!oper_require(t))
		return;
	client_mask(c, mask, sizeof mask);
	snprintf(line, sizeof line, ":%s WALLOPS :%s", mask, m->params[0]);
	memset(&l, 0, sizeof l);
	l.text = line;
	l.src = c;
	pthread_rwlock_wrlock(&server.lock);
	p = post_new_locked(t, &l);
	for (u = server.clients; u != NULL; u = u->next)
		if (u != c && (u->flags & (CLIENT_REGISTERED |
		    CLIENT_WALLOPS)) == (CLIENT_REGISTERED | CLIENT_WALLOPS))
			post_add_locked(p, u, 0);
	turn_echo_locked(t, p, (c->flags & CLIENT_WALLOPS) != 0);
	pthread_rwlock_unlock(&server.lock);
}

void
cmd_rehash(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	char	mask[MASK_MAX + 1];
	int	rc;

	(void)m;
	if (!oper_require(t))
		return;
	client_mask(c, mask, sizeof mask);
	reply(t, RPL_REHASHING, "natterd");
	log_info("rehash: by %s", mask);
	rc = config_reload();
	if (tls_reload() == -1)
		rc = -1;
	if (rc == -1)
		turn_sendf(t, ":%s NOTICE %s :Rehash failed, old data kept; "
		    "see the server log", config.server_name, c->nick);
}

void
cmd_die(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	char	mask[MASK_MAX + 1], why[MASK_MAX + 16];

	(void)m;
	if (!oper_require(t))
		return;
	client_mask(c, mask, sizeof mask);
	log_info("die: by %s", mask);
	(void)snprintf(why, sizeof why, "DIE by %s", mask);
	server_stop(why);
}
