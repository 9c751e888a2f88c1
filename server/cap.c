/*
 * cap.c: IRCv3 capability negotiation (CAP LS 302, REQ, LIST, END;
 * cap-notify is implied by 302) and the message tags that capabilities
 * add to a line: server-time, msgid, account and client-only tags.
 *
 * A client's caps field is written by its own thread under server.lock,
 * because other threads read it (under that lock) to choose which
 * variant of a line to queue for it.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "natterd.h"

#define CAP_NAME(bit, name, value)	name,
static const char *const cap_names[CAP_COUNT] = {
	CAP_LIST(CAP_NAME)
};
#undef CAP_NAME
#define CAP_VALUE(bit, name, value)	value,
static const char *const cap_values[CAP_COUNT] = {
	CAP_LIST(CAP_VALUE)
};
#undef CAP_VALUE

/* Bytes of CAP LS list per line, so ":server CAP nick LS * :" fits. */
#define CAP_LS_CHUNK	400

static int
cap_find(const char *name)
{
	int i;

	for (i = 0; i < CAP_COUNT; i++)
		if (strcmp(cap_names[i], name) == 0)
			return i;
	return -1;
}

/* Whether natterd offers bit now: chathistory and message-redaction
 * need history, account-registration open registration, and multiline
 * no --no-multiline. */
static int
cap_offered(int bit)
{
	if (bit == CAP_CHATHISTORY || bit == CAP_MESSAGE_REDACTION)
		return history_enabled();
	if (bit == CAP_MULTILINE)
		return !config.no_multiline;
	if (bit == CAP_ACCOUNT_REGISTRATION)
		return config.registration == REGISTRATION_OPEN;
	return 1;
}

static const char *
cap_value(int bit)
{
	if (bit == CAP_ACCOUNT_REGISTRATION)
		return register_cap_value();
	return cap_values[bit];
}

/*
 * CAP LS: with_values (a 302 client) gets the values, and lines of about
 * CAP_LS_CHUNK bytes, all but the last marked "*".  A client before 302
 * gets one line, the names alone (it would not understand the "*";
 * irctest's testNoMultiline301Response): they fit in IRC_LINE_MAX.
 */
static void
cap_ls(struct turn *t, int with_values)
{
	struct client *c = t->c;
	char line[IRC_LINE_MAX];
	const char *value;
	size_t len = 0;
	int i, n;

	for (i = 0; i < CAP_COUNT; i++) {
		if (!cap_offered(i))
			continue;
		if (with_values && len > CAP_LS_CHUNK) {
			/* 302: more lines follow, marked with "*". */
			turn_sendf(t, ":%s CAP %s LS * :%s",
			    config.server_name, c->nick, line);
			len = 0;
		}
		value = with_values ? cap_value(i) : NULL;
		n = snprintf(line + len, sizeof(line) - len, "%s%s%s%s",
		    len > 0 ? " " : "", cap_names[i], value != NULL ? "=" : "",
		    value != NULL ? value : "");
		if (n > 0 && (size_t)n < sizeof(line) - len)
			len += (size_t)n;
	}
	/* IRCv3 sts: a plain connection learns the TLS port; a TLS one how
	 * long to insist on TLS.  It has a value, so 302 only, and it is
	 * never requested (REQ sts gets a NAK). */
	if (with_values && config.tls_port != NULL && config.sts_duration > 0) {
		if (t->conn->tls)
			n = snprintf(line + len, sizeof(line) - len,
			    " sts=duration=%d", config.sts_duration);
		else
			n = snprintf(line + len, sizeof(line) - len,
			    " sts=port=%s", config.tls_port);
		if (n > 0 && (size_t)n < sizeof(line) - len)
			len += (size_t)n;
	}
	line[len] = '\0';
	turn_sendf(t, ":%s CAP %s LS :%s", config.server_name, c->nick,
	    line);
}

static void
cap_list(struct turn *t)
{
	struct client *c = t->c;
	char line[CAP_LS_CHUNK + 64];
	size_t len = 0;
	unsigned caps;
	int i, n;

	pthread_rwlock_wrlock(&server.lock);
	caps = t->conn->caps;
	pthread_rwlock_unlock(&server.lock);
	line[0] = '\0';
	for (i = 0; i < CAP_COUNT; i++) {
		if (!(caps & CAP(i)))
			continue;
		n = snprintf(line + len, sizeof(line) - len, "%s%s",
		    len > 0 ? " " : "", cap_names[i]);
		if (n > 0 && (size_t)n < sizeof(line) - len)
			len += (size_t)n;
	}
	turn_sendf(t, ":%s CAP %s LIST :%s", config.server_name, c->nick,
	    line);
}

/* REQ is all or nothing: one unknown name refuses the whole list. */
static void
cap_req(struct turn *t, const char *list)
{
	struct client *c = t->c;
	char copy[512], *p, *name;
	unsigned add = 0, del = 0;
	int bit, neg;

	if (strlen(list) >= sizeof(copy))
		goto nak;
	snprintf(copy, sizeof(copy), "%s", list);
	p = copy;
	while ((name = strsep(&p, " ")) != NULL) {
		if (*name == '\0')
			continue;
		neg = *name == '-';
		if ((bit = cap_find(name + neg)) == -1 || !cap_offered(bit))
			goto nak;
		if (neg)
			del |= CAP(bit);
		else
			add |= CAP(bit);
	}
	if (add == 0 && del == 0)
		goto nak;
	/* cap-notify cannot be turned off by a 302 client. */
	if ((del & CAP(CAP_CAP_NOTIFY)) && t->conn->cap_version >= 302)
		goto nak;
	pthread_rwlock_wrlock(&server.lock);
	t->conn->caps = (t->conn->caps | add) & ~del;
	pthread_rwlock_unlock(&server.lock);
	turn_sendf(t, ":%s CAP %s ACK :%s", config.server_name, c->nick,
	    list);
	return;
nak:
	turn_sendf(t, ":%s CAP %s NAK :%s", config.server_name, c->nick,
	    list);
}

void
cmd_cap(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	const char *sub = m->params[0];

	if (strcasecmp(sub, "LS") == 0) {
		if (!(c->flags & CLIENT_REGISTERED))
			t->conn->reg |= REG_CAP;
		if (m->nparams > 1 && atoi(m->params[1]) >= 302) {
			t->conn->cap_version = 302;
			pthread_rwlock_wrlock(&server.lock);
			t->conn->caps |= CAP(CAP_CAP_NOTIFY);
			pthread_rwlock_unlock(&server.lock);
		}
		cap_ls(t, t->conn->cap_version >= 302);
	} else if (strcasecmp(sub, "LIST") == 0) {
		cap_list(t);
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (!(c->flags & CLIENT_REGISTERED))
			t->conn->reg |= REG_CAP;
		cap_req(t, m->nparams > 1 ? m->params[1] : "");
	} else if (strcasecmp(sub, "END") == 0) {
		t->conn->reg &= ~REG_CAP;
		client_try_register(t);
	} else
		reply(t, ERR_INVALIDCAPCMD, sub);
}

void
tag_time(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int
tag_time_parse(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, frac = 0, n = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
	    &sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		if (sscanf(s + 1, "%3d%n", &frac, &n) != 1 || n != 3)
			return -1;
		s += 4;
	}
	if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

int
tags_client_only(const char *tags, char *out, size_t len)
{
	const char *p = tags, *end;
	size_t n, used = 0;

	out[0] = '\0';
	if (tags == NULL)
		return 0;
	while (*p != '\0') {
		end = strchr(p, ';');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 1 && p[0] == '+') {
			if (used + n + 2 > len)
				return -1;
			if (used > 0)
				out[used++] = ';';
			memcpy(out + used, p, n);
			used += n;
			out[used] = '\0';
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

void
line_tags(char *out, size_t len, unsigned caps, int64_t time_ms,
    const char *msgid, const char *account, int bot, const char *ctags)
{
	char when[32], esc[NICK_MAX * 2 + 1];
	int n = 0;

	out[0] = '\0';
	if ((caps & CAP(CAP_SERVER_TIME)) && time_ms != 0) {
		tag_time(time_ms, when, sizeof(when));
		n = snprintf(out, len, "time=%s", when);
	}
	if ((caps & CAP(CAP_MESSAGE_TAGS)) && msgid != NULL && n >= 0 &&
	    (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "%smsgid=%s",
		    n > 0 ? ";" : "", msgid);
	/* account-tag stands alone: it needs no message-tags. */
	if ((caps & CAP(CAP_ACCOUNT_TAG)) && account != NULL &&
	    account[0] != '\0' && irc_tag_escape(account, esc,
	    sizeof(esc)) != -1 && n >= 0 && (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "%saccount=%s",
		    n > 0 ? ";" : "", esc);
	/* bot-mode: the tag has no value and goes only with message-tags. */
	if ((caps & CAP(CAP_MESSAGE_TAGS)) && bot && n >= 0 &&
	    (size_t)n < len)
		n += snprintf(out + n, len - (size_t)n, "%sbot",
		    n > 0 ? ";" : "");
	if ((caps & CAP(CAP_MESSAGE_TAGS)) && ctags != NULL &&
	    ctags[0] != '\0' && n >= 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%s%s", n > 0 ? ";" : "",
		    ctags);
}

int
tags_stored(char *out, size_t len, const char *account, int bot,
    const char *ctags)
{
	char esc[NICK_MAX * 2 + 1];
	int n;

	if (ctags == NULL)
		ctags = "";
	esc[0] = '\0';
	if (account != NULL && account[0] != '\0' &&
	    irc_tag_escape(account, esc, sizeof(esc)) == -1)
		return -1;
	n = snprintf(out, len, "%s%s%s%s%s%s",
	    esc[0] != '\0' ? "account=" : "", esc,
	    esc[0] != '\0' && (bot || ctags[0] != '\0') ? ";" : "",
	    bot ? "bot" : "", bot && ctags[0] != '\0' ? ";" : "", ctags);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

const char *
tags_stored_split(const char *tags, char *account, size_t alen, int *bot)
{
	const char *end;

	account[0] = '\0';
	*bot = 0;
	if (tags == NULL)
		return NULL;
	if (strncmp(tags, "account=", 8) == 0) {
		if (irc_tag_get(tags, "account", account, alen) != 1)
			account[0] = '\0';
		if ((end = strchr(tags, ';')) == NULL)
			return NULL;
		tags = end + 1;
	}
	/* Client tags start with '+': "bot" is never one of them. */
	if (strncmp(tags, "bot", 3) == 0 && (tags[3] == ';' ||
	    tags[3] == '\0')) {
		*bot = 1;
		tags = tags[3] == ';' ? tags + 4 : NULL;
	}
	return tags;	/* client tags alone, as before account-tag */
}
