/*
 * help.c: HELP and HELPOP (Modern IRC: 704 RPL_HELPSTART, 705
 * RPL_HELPTXT, 706 RPL_ENDOFHELP, 524 ERR_HELPNOTFOUND), answered from
 * the help file (--help-file; make install puts server/natterd.help in
 * the data folder, whose path is compiled in as NATTERD_HELP_FILE).
 * The file's format is described at its top.
 *
 * The file is read at start and on SIGHUP and REHASH (config_reload
 * calls help_reload), through priv_read() like the MOTD, and parsed
 * with no lock held; the parsed topics are swapped in under
 * server.lock, which guards the pointer `help' and is held while HELP
 * reads it.  A file that cannot be read, is too big or holds no topic
 * is logged and leaves the topics as they were: none at start, so HELP
 * answers 524 to everything.  What passes a bound (topics, names,
 * lines, bytes of a line) is logged and left out.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define HELP_FILE_MAX	(256 * 1024)	/* bytes of the file */
#define HELP_TOPICS_MAX	200		/* topics; the rest is ignored */
#define HELP_NAMES_MAX	4		/* names of one topic */
#define HELP_NAME_MAX	32		/* bytes of a name */
#define HELP_LINES_MAX	60		/* lines of one topic */
#define HELP_LINE_MAX	350		/* bytes of a line, so that any 705
					   fits in 512 */
#define HELP_INDEX	"INDEX"		/* HELP with no subject */
#define HELP_LIST_MAX	300		/* bytes of a line listing topics */

_Static_assert(1 + 63 + 5 + NICK_MAX + 1 + HELP_NAME_MAX + 2 +
    HELP_LINE_MAX + 2 <= IRC_LINE_MAX, "a 705 line fits");

struct help_topic {
	char	 names[HELP_NAMES_MAX][HELP_NAME_MAX + 1];	/* upper case */
	int	 nnames;
	char	**lines;
	int	 nlines;
};

struct help {
	struct help_topic	*topics;
	int			 ntopics;
};

static struct help	*help;		/* server.lock; NULL: no topics */

static void	 help_free(struct help *);
static int	 help_name_ok(const char *, size_t);
static struct help *help_parse(const char *, const char *, size_t);
static const struct help_topic *help_find_locked(const char *);
static void	 help_send_locked(struct turn *, const char *,
		    const struct help_topic *, int);

static void
help_free(struct help *h)
{
	int i, j;

	if (h == NULL)
		return;
	for (i = 0; i < h->ntopics; i++) {
		for (j = 0; j < h->topics[i].nlines; j++)
			free(h->topics[i].lines[j]);
		free(h->topics[i].lines);
	}
	free(h->topics);
	free(h);
}

/* Letters, digits, '-' and '_', at most HELP_NAME_MAX bytes. */
static int
help_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HELP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* The topic named name (any case), or NULL. */
static const struct help_topic *
help_find_in(const struct help *h, const char *name)
{
	int i, j;

	for (i = 0; h != NULL && i < h->ntopics; i++)
		for (j = 0; j < h->topics[i].nnames; j++)
			if (strcasecmp(h->topics[i].names[j], name) == 0)
				return &h->topics[i];
	return NULL;
}

/* Adds a header's names to t, each unless taken; 0 if none was. */
static int
help_names(const char *path, unsigned long lineno, const struct help *h,
    struct help_topic *t, const char *p, size_t len)
{
	const char *end = p + len, *w;
	size_t n, i;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
			;
		if ((n = (size_t)(p - w)) == 0)
			break;
		if (!help_name_ok(w, n)) {
			log_warnx("%s:%lu: topic name '%.*s' is not letters, "
			    "digits, '-' or '_' (at most %d), left out", path,
			    lineno, (int)(n > 64 ? 64 : n), w, HELP_NAME_MAX);
			continue;
		}
		if (t->nnames == HELP_NAMES_MAX) {
			log_warnx("%s:%lu: more than %d names, the rest left "
			    "out", path, lineno, HELP_NAMES_MAX);
			break;
		}
		for (i = 0; i < n; i++)
			t->names[t->nnames][i] =
			    (char)toupper((unsigned char)w[i]);
		t->names[t->nnames][n] = '\0';
		if (help_find_in(h, t->names[t->nnames]) != NULL ||
		    (t->nnames > 0 && help_find_in(&(struct help){ t, 1 },
		    t->names[t->nnames]) != NULL)) {
			log_warnx("%s:%lu: topic %s is already there, left "
			    "out", path, lineno, t->names[t->nnames]);
			continue;
		}
		t->nnames++;
	}
	return t->nnames > 0;
}

/* Ends topic t of h: trailing blank lines go; an empty one is dropped. */
static void
help_topic_end(const char *path, struct help *h, struct help_topic *t)
{
	if (t == NULL)
		return;
	while (t->nlines > 0 && t->lines[t->nlines - 1][0] == '\0')
		free(t->lines[--t->nlines]);
	if (t->nlines == 0) {
		log_warnx("%s: topic %s has no text, left out", path,
		    t->names[0]);
		free(t->lines);
		memset(t, 0, sizeof(*t));
		h->ntopics--;
	}
}

/*
 * The topics of the file's text buf (len bytes), or NULL (logged) if
 * it holds none or memory ran out.
 */
static struct help *
help_parse(const char *path, const char *buf, size_t len)
{
	struct help *h;
	struct help_topic *t = NULL;
	const char *p = buf, *end = buf + len, *nl;
	unsigned long lineno = 0;
	size_t n, cut;
	int skipping = 0, full = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->topics = calloc(HELP_TOPICS_MAX, sizeof(*h->topics))) ==
	    NULL)
		goto fail;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		lineno++;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && p[0] == '@') {
			help_topic_end(path, h, t);
			t = NULL;
			skipping = 1;
			if (h->ntopics == HELP_TOPICS_MAX) {
				log_warnx("%s:%lu: more than %d topics, the "
				    "rest left out", path, lineno,
				    HELP_TOPICS_MAX);
				break;
			}
			t = &h->topics[h->ntopics];
			if (!help_names(path, lineno, h, t, p + 1, n - 1)) {
				log_warnx("%s:%lu: a topic without a name, "
				    "left out", path, lineno);
				memset(t, 0, sizeof(*t));
				t = NULL;
				continue;
			}
			h->ntopics++;
			skipping = 0;
			full = 0;
			continue;
		}
		if (t == NULL || skipping)
			continue;	/* the header comment, or a bad topic */
		if (!utf8_valid(p, n) || memchr(p, '\0', n) != NULL) {
			log_warnx("%s:%lu: not UTF-8, line left out", path,
			    lineno);
			continue;
		}
		/* Leading blank lines would leave 704 empty. */
		if (t->nlines == 0 && n == 0)
			continue;
		if (t->nlines == HELP_LINES_MAX) {
			if (!full)
				log_warnx("%s:%lu: topic %s has more than %d "
				    "lines, the rest left out", path, lineno,
				    t->names[0], HELP_LINES_MAX);
			full = 1;
			continue;
		}
		if ((cut = utf8_cut(p, n, HELP_LINE_MAX)) < n)
			log_warnx("%s:%lu: line longer than %d bytes, cut",
			    path, lineno, HELP_LINE_MAX);
		if (t->lines == NULL && (t->lines = calloc(HELP_LINES_MAX,
		    sizeof(*t->lines))) == NULL)
			goto fail;
		if ((t->lines[t->nlines] = strndup(p, cut)) == NULL)
			goto fail;
		t->nlines++;
	}
	help_topic_end(path, h, t);
	if (h->ntopics == 0) {
		log_warnx("%s: no help topics", path);
		help_free(h);
		return NULL;
	}
	return h;
fail:
	log_warn("%s", path);
	help_free(h);
	return NULL;
}

int
help_reload(void)
{
	struct help *h, *old;
	char *buf;
	size_t len;

	if (config.help_file == NULL)
		return 0;
	if (priv_read(PRIV_HELP, &buf, &len) == -1) {
		log_warn("%s: no help topics (HELP answers 524)",
		    config.help_file);
		return -1;
	}
	if (len > HELP_FILE_MAX) {
		log_warnx("%s: more than %d bytes, not read",
		    config.help_file, HELP_FILE_MAX);
		priv_free(buf, len);
		return -1;
	}
	h = help_parse(config.help_file, buf, len);
	priv_free(buf, len);
	if (h == NULL)
		return -1;
	pthread_rwlock_wrlock(&server.lock);
	old = help;
	help = h;
	pthread_rwlock_unlock(&server.lock);
	help_free(old);
	log_debug("help: %d topics from %s", h->ntopics, config.help_file);
	return 0;
}

void
help_unload(void)
{
	struct help *old;

	pthread_rwlock_wrlock(&server.lock);
	old = help;
	help = NULL;
	pthread_rwlock_unlock(&server.lock);
	help_free(old);
}

static const struct help_topic *
help_find_locked(const char *name)
{
	return help_find_in(help, name);
}

/*
 * 704, 705s, 706 for topic t under subject; with list, the names of
 * every topic after its text, packed into lines.
 */
static void
help_send_locked(struct turn *t, const char *subject,
    const struct help_topic *topic, int list)
{
	char line[HELP_LIST_MAX + HELP_NAME_MAX + 2];
	size_t len = 0;
	int i, j;

	reply(t, RPL_HELPSTART, subject, topic->lines[0]);
	for (i = 1; i < topic->nlines; i++)
		reply(t, RPL_HELPTXT, subject, topic->lines[i]);
	if (list) {
		reply(t, RPL_HELPTXT, subject, "");
		for (i = 0; i < help->ntopics; i++) {
			for (j = 0; j < help->topics[i].nnames; j++) {
				const char *name = help->topics[i].names[j];

				if (strcmp(name, HELP_INDEX) == 0)
					continue;
				if (len > 0 && len + 1 + strlen(name) >
				    HELP_LIST_MAX) {
					reply(t, RPL_HELPTXT, subject, line);
					len = 0;
				}
				len += (size_t)snprintf(line + len,
				    sizeof(line) - len, "%s%s",
				    len > 0 ? " " : "", name);
			}
		}
		if (len > 0)
			reply(t, RPL_HELPTXT, subject, line);
	}
	reply(t, RPL_ENDOFHELP, subject);
}

/*
 * HELP [<subject>] and HELPOP [<subject>]: the topic, any case; with
 * no subject (or INDEX) the INDEX topic and the list of topics.  A
 * subject that could not be a topic name shows as "*" in 524.
 */
void
cmd_help(struct turn *t, struct irc_msg *m)
{
	const struct help_topic *topic;
	char subject[HELP_NAME_MAX + 1];
	const char *asked = m->nparams > 0 ? m->params[0] : "";
	size_t i, n = strlen(asked);
	int index = n == 0;

	if (index)
		snprintf(subject, sizeof(subject), "*");
	else if (help_name_ok(asked, n)) {
		for (i = 0; i <= n; i++)
			subject[i] = (char)toupper((unsigned char)asked[i]);
		index = strcmp(subject, HELP_INDEX) == 0;
	} else {
		reply(t, ERR_HELPNOTFOUND, "*");
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	topic = help_find_locked(index ? HELP_INDEX : subject);
	if (topic != NULL)
		help_send_locked(t, subject, topic, index);
	else
		reply(t, ERR_HELPNOTFOUND, subject);
	pthread_rwlock_unlock(&server.lock);
}
