/*
 * command_chan.c: the room commands that need more than membership:
 * MODE (user and room modes), TOPIC, KICK and INVITE (with its
 * invite-notify copies).  Every room and every other client is touched
 * only under server.lock; each command takes it once so that what it
 * checks is still true when it acts, and builds its broadcast under it
 * so the line matches what was applied.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

/*
 * Changes one MODE command can apply besides the i/m/n/t flags: at most
 * MODES_PER_LINE take a parameter, and each -k or -l without one must
 * follow a +k or +l (one of those) or undo the state the room had.
 */
#define MODE_CHANGES_MAX	(3 * MODES_PER_LINE + 4)

struct mode_change {
	char	 sign;		/* '+' or '-' */
	char	 letter;
	int	 arg;		/* offset into mode_out.args, or -1 */
};

/* The effective changes of one MODE command, in the order applied. */
struct mode_out {
	struct mode_change	 ch[MODE_CHANGES_MAX];
	int			 n;
	char			 args[IRC_LINE_MAX];
	size_t			 argslen;
};

static struct client	*chan_user_locked(const char *);
static void		 mode_user(struct client *, struct irc_msg *);
static void		 mode_user_string(unsigned, char *, size_t);
static void		 mode_room(struct client *, struct irc_msg *);
static int		 mode_room_is_list(struct irc_msg *);
static void		 mode_room_banlist_locked(struct client *,
			    struct room *);
static int		 mode_out_add(struct mode_out *, int, int,
			    const char *);
static void		 mode_out_format(const struct mode_out *, unsigned,
			    unsigned, char *, size_t);
static int		 mode_key_valid(const char *);
static int		 mode_limit_parse(const char *, unsigned *);
static int		 chan_append(char *, size_t, size_t *, const char *);
static void		 chan_invite_notify_locked(struct room *,
			    struct client *, struct client *);

/*
 * A registered client by nick.  The nick table may also hold clients
 * still registering; to everyone else they do not exist yet.
 */
static struct client *
chan_user_locked(const char *nick)
{
	struct client	*t;

	t = client_find_locked(nick);
	if (t == NULL || !(t->flags & CLIENT_REGISTERED))
		return NULL;
	return t;
}

/* Appends s at *off in buf; returns -1 (buf unchanged) if it won't fit. */
static int
chan_append(char *buf, size_t len, size_t *off, const char *s)
{
	size_t	n = strlen(s);

	if (*off >= len || n >= len - *off)
		return -1;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

void
cmd_mode(struct client *c, struct irc_msg *m)
{
	if (m->params[0][0] == '#')
		mode_room(c, m);
	else
		mode_user(c, m);
}

static void
mode_user_string(unsigned flags, char *buf, size_t len)
{
	size_t	off = 0;

	buf[0] = '\0';
	(void)chan_append(buf, len, &off, "+");
	if (flags & CLIENT_INVISIBLE)
		(void)chan_append(buf, len, &off, "i");
	if (flags & CLIENT_OPER)
		(void)chan_append(buf, len, &off, "o");
	if (flags & CLIENT_WALLOPS)
		(void)chan_append(buf, len, &off, "w");
}

static void
mode_user(struct client *c, struct irc_msg *m)
{
	const char	*target = m->params[0], *p;
	unsigned	 old, new, diff;
	int		 adding = 1, unknown = 0;
	char		 buf[16];
	size_t		 off;

	if (casemap_cmp(target, c->nick) != 0) {
		pthread_mutex_lock(&server.lock);
		if (chan_user_locked(target) == NULL)
			reply(c, ERR_NOSUCHNICK, target);
		else
			reply(c, ERR_USERSDONTMATCH);
		pthread_mutex_unlock(&server.lock);
		return;
	}
	if (m->nparams < 2) {
		/* Our own flags: only this thread writes them. */
		mode_user_string(c->flags, buf, sizeof buf);
		reply(c, RPL_UMODEIS, buf);
		return;
	}

	pthread_mutex_lock(&server.lock);
	old = new = c->flags;
	for (p = m->params[1]; *p != '\0'; p++) {
		switch (*p) {
		case '+':
		case '-':
			adding = *p == '+';
			break;
		case 'i':
			new = adding ? new | CLIENT_INVISIBLE :
			    new & ~CLIENT_INVISIBLE;
			break;
		case 'w':
			new = adding ? new | CLIENT_WALLOPS :
			    new & ~CLIENT_WALLOPS;
			break;
		case 'o':
			/* Only OPER grants +o; asking for it is ignored. */
			if (!adding)
				new &= ~CLIENT_OPER;
			break;
		default:
			unknown = 1;
			break;
		}
	}
	c->flags = new;
	diff = old ^ new;
	if (diff & CLIENT_INVISIBLE) {
		if (new & CLIENT_INVISIBLE)
			server.ninvisible++;
		else
			server.ninvisible--;
	}
	if (diff & CLIENT_OPER)
		server.nopers--;
	pthread_mutex_unlock(&server.lock);

	if (unknown)
		reply(c, ERR_UMODEUNKNOWNFLAG);
	if (diff == 0)
		return;

	/* Only what changed, additions first: "+iw-o". */
	off = 0;
	buf[0] = '\0';
	if (new & diff) {
		(void)chan_append(buf, sizeof buf, &off, "+");
		if (new & diff & CLIENT_INVISIBLE)
			(void)chan_append(buf, sizeof buf, &off, "i");
		if (new & diff & CLIENT_WALLOPS)
			(void)chan_append(buf, sizeof buf, &off, "w");
	}
	if (old & diff) {
		(void)chan_append(buf, sizeof buf, &off, "-");
		if (old & diff & CLIENT_INVISIBLE)
			(void)chan_append(buf, sizeof buf, &off, "i");
		if (old & diff & CLIENT_OPER)
			(void)chan_append(buf, sizeof buf, &off, "o");
		if (old & diff & CLIENT_WALLOPS)
			(void)chan_append(buf, sizeof buf, &off, "w");
	}
	client_sendf(c, ":%s MODE %s :%s", c->nick, c->nick, buf);
}

/*
 * 1 if the command only asks for the ban list ("MODE #r b", "+b"),
 * which anyone may do; everything else needs a chanop.
 */
static int
mode_room_is_list(struct irc_msg *m)
{
	const char	*p;
	int		 b = 0;

	if (m->nparams != 2)
		return 0;
	for (p = m->params[1]; *p != '\0'; p++) {
		if (*p == 'b')
			b = 1;
		else if (*p != '+' && *p != '-')
			return 0;
	}
	return b;
}

static void
mode_room_banlist_locked(struct client *c, struct room *r)
{
	int	i;

	for (i = 0; i < r->nbans; i++)
		reply(c, RPL_BANLIST, r->name, r->bans[i].mask,
		    r->bans[i].setter, (long long)r->bans[i].when);
	reply(c, RPL_ENDOFBANLIST, r->name);
}

/* Records one applied change; arg is copied.  -1 if out of room. */
static int
mode_out_add(struct mode_out *o, int sign, int letter, const char *arg)
{
	size_t	off = o->argslen;

	if (o->n >= MODE_CHANGES_MAX)
		return -1;
	if (arg != NULL) {
		if (chan_append(o->args, sizeof o->args, &off, arg) == -1)
			return -1;
		o->ch[o->n].arg = (int)o->argslen;
		o->argslen = off + 1;	/* keep the NUL */
	} else
		o->ch[o->n].arg = -1;
	o->ch[o->n].sign = (char)sign;
	o->ch[o->n].letter = (char)letter;
	o->n++;
	return 0;
}

/*
 * "+nt-i+ov alice bob": the flags that differ between old and new
 * first, then the other changes in order, a sign only where it changes.
 */
static void
mode_out_format(const struct mode_out *o, unsigned old, unsigned new,
    char *buf, size_t len)
{
	static const struct {
		unsigned	 bit;
		char		 letter;
	} flags[] = {
		{ ROOM_INVITE, 'i' },
		{ ROOM_MODERATED, 'm' },
		{ ROOM_NOEXTERNAL, 'n' },
		{ ROOM_TOPICLOCK, 't' },
	};
	char	 modes[2 * MODE_CHANGES_MAX + 16];
	size_t	 mi = 0, off = 0, i;
	int	 sign = 0, pass, want;
	int	 k;

	for (pass = 0; pass < 2; pass++) {
		want = pass == 0 ? '+' : '-';
		for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
			if (((pass == 0 ? new & ~old : old & ~new) &
			    flags[i].bit) == 0)
				continue;
			if (sign != want)
				modes[mi++] = (char)(sign = want);
			modes[mi++] = flags[i].letter;
		}
	}
	for (k = 0; k < o->n; k++) {
		if (sign != o->ch[k].sign)
			modes[mi++] = (char)(sign = o->ch[k].sign);
		modes[mi++] = o->ch[k].letter;
	}
	modes[mi] = '\0';

	buf[0] = '\0';
	if (chan_append(buf, len, &off, modes) == -1)
		return;
	for (k = 0; k < o->n; k++) {
		if (o->ch[k].arg == -1)
			continue;
		if (chan_append(buf, len, &off, " ") == -1 ||
		    chan_append(buf, len, &off, o->args + o->ch[k].arg) == -1)
			return;
	}
}

/*
 * A key goes on the wire as a middle parameter of JOIN and MODE, so it
 * may not hold a space or comma, start with ':', or be empty.
 */
static int
mode_key_valid(const char *key)
{
	const unsigned char	*p;
	size_t			 n = strlen(key);

	if (n == 0 || n > KEY_MAX || key[0] == ':')
		return 0;
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		if (*p <= ' ' || *p == ',' || *p == 0x7f)
			return 0;
	return 1;
}

/* A positive decimal that fits in unsigned; strtoul alone takes "-1". */
static int
mode_limit_parse(const char *s, unsigned *out)
{
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void
mode_room(struct client *c, struct irc_msg *m)
{
	struct mode_out	 out;
	struct room	*r;
	struct member	*me, *tm;
	struct client	*t;
	const char	*name = m->params[0], *p, *arg;
	char		 mask[MASK_MAX + 1], ban[MASK_MAX + 1];
	char		 num[16], line[IRC_LINE_MAX + 64];
	unsigned	 old, bit, limit, mbit;
	int		 adding = 1, argi = 2, nparam = 0, listed = 0;
	int		 need = 0, rc;
	unsigned char	 seen[32];	/* 472 once per letter */
	struct buf	*b;

	/* Built from our own fields before taking the lock. */
	client_mask(c, mask, sizeof mask);
	memset(&out, 0, sizeof out);
	memset(seen, 0, sizeof seen);

	pthread_mutex_lock(&server.lock);
	if ((r = room_find_locked(name)) == NULL) {
		reply(c, ERR_NOSUCHCHANNEL, name);
		goto done;
	}
	me = room_member_locked(r, c);
	if (m->nparams < 2) {
		/* The key is the members' secret. */
		room_modes_string(r, line, sizeof line, me != NULL);
		reply(c, RPL_CHANNELMODEIS, r->name, line);
		reply(c, RPL_CREATIONTIME, r->name, (long long)r->created);
		goto done;
	}
	if (mode_room_is_list(m)) {
		mode_room_banlist_locked(c, r);
		goto done;
	}
	if (me == NULL) {
		reply(c, ERR_NOTONCHANNEL, r->name);
		goto done;
	}
	if (!(me->modes & MEMBER_OP)) {
		reply(c, ERR_CHANOPRIVSNEEDED, r->name);
		goto done;
	}

	old = r->modes;
	for (p = m->params[1]; *p != '\0'; p++) {
		bit = 0;
		switch (*p) {
		case '+':
		case '-':
			adding = *p == '+';
			continue;
		case 'i':
			bit = ROOM_INVITE;
			break;
		case 'm':
			bit = ROOM_MODERATED;
			break;
		case 'n':
			bit = ROOM_NOEXTERNAL;
			break;
		case 't':
			bit = ROOM_TOPICLOCK;
			break;
		case 'o':
		case 'v':
		case 'k':
		case 'l':
		case 'b':
			break;
		default:
			if (!(seen[(unsigned char)*p / 8] &
			    (1 << ((unsigned char)*p % 8))))
				reply(c, ERR_UNKNOWNMODE, *p);
			seen[(unsigned char)*p / 8] |=
			    1 << ((unsigned char)*p % 8);
			continue;
		}
		if (bit != 0) {
			if (adding)
				r->modes |= bit;
			else
				r->modes &= ~bit;
			continue;
		}

		/* Modes with a parameter.  -l never has one; -k may. */
		if (*p == 'l' && !adding) {
			if (r->limit != 0) {
				r->limit = 0;
				(void)mode_out_add(&out, '-', 'l', NULL);
			}
			continue;
		}
		if (argi >= m->nparams) {
			if (*p == 'b') {
				if (!listed)
					mode_room_banlist_locked(c, r);
				listed = 1;
			} else if (*p == 'k' && !adding) {
				if (r->key[0] != '\0') {
					r->key[0] = '\0';
					(void)mode_out_add(&out, '-', 'k',
					    "*");
				}
			} else
				need = 1;
			continue;
		}
		/* Extra parameter modes are ignored, not errors. */
		if (nparam >= MODES_PER_LINE)
			continue;
		nparam++;
		arg = m->params[argi++];

		switch (*p) {
		case 'o':
		case 'v':
			mbit = *p == 'o' ? MEMBER_OP : MEMBER_VOICE;
			if ((t = chan_user_locked(arg)) == NULL) {
				reply(c, ERR_NOSUCHNICK, arg);
				break;
			}
			if ((tm = room_member_locked(r, t)) == NULL) {
				reply(c, ERR_USERNOTINCHANNEL, t->nick,
				    r->name);
				break;
			}
			if (adding == ((tm->modes & mbit) != 0))
				break;
			if (mode_out_add(&out, adding ? '+' : '-', *p,
			    t->nick) == -1)
				break;
			if (adding)
				tm->modes |= mbit;
			else
				tm->modes &= ~mbit;
			break;
		case 'k':
			if (!adding) {
				/* The key given is not checked: - wins. */
				if (r->key[0] != '\0') {
					r->key[0] = '\0';
					(void)mode_out_add(&out, '-', 'k',
					    "*");
				}
				break;
			}
			if (!mode_key_valid(arg)) {
				reply(c, ERR_INVALIDKEY, r->name);
				break;
			}
			if (r->key[0] != '\0') {
				reply(c, ERR_KEYSET, r->name);
				break;
			}
			if (mode_out_add(&out, '+', 'k', arg) == -1)
				break;
			(void)snprintf(r->key, sizeof r->key, "%s", arg);
			break;
		case 'l':
			if (mode_limit_parse(arg, &limit) == -1) {
				reply(c, ERR_INVALIDMODEPARAM, r->name, 'l',
				    arg, "Invalid limit");
				break;
			}
			if (limit == r->limit)
				break;
			(void)snprintf(num, sizeof num, "%u", limit);
			if (mode_out_add(&out, '+', 'l', num) == -1)
				break;
			r->limit = limit;
			break;
		case 'b':
			mask_normalize(arg, ban, sizeof ban);
			/* It would read as the trailing parameter. */
			if (ban[0] == ':' || ban[0] == '\0') {
				reply(c, ERR_INVALIDMODEPARAM, r->name, 'b',
				    arg, "Invalid ban mask");
				break;
			}
			if (adding) {
				rc = room_ban_add_locked(r, ban, mask);
				if (rc == -1)
					reply(c, ERR_BANLISTFULL, r->name, 'b');
			} else
				rc = room_ban_del_locked(r, ban);
			if (rc == 0)
				(void)mode_out_add(&out, adding ? '+' : '-',
				    'b', ban);
			break;
		}
	}

	if (need)
		reply(c, ERR_NEEDMOREPARAMS, "MODE");
	if (out.n == 0 && r->modes == old)
		goto done;
	mode_out_format(&out, old, r->modes, line, sizeof line);
	b = buf_printf(":%s MODE %s %s", mask, r->name, line);
	room_send_locked(r, b, NULL);
	buf_unref(b);
done:
	pthread_mutex_unlock(&server.lock);
}

void
cmd_topic(struct client *c, struct irc_msg *m)
{
	struct room	*r;
	struct member	*me;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1], params[OUT_LINE_MAX];
	char		*text = NULL, *who = NULL, *oldtext, *oldwho;
	size_t		 len;
	struct buf	*b;

	if (m->nparams >= 2) {
		/* Allocate before the lock; an empty topic clears it. */
		client_mask(c, mask, sizeof mask);
		len = strlen(m->params[1]);
		len = utf8_cut(m->params[1], len, TOPIC_MAX);
		if (len > 0 && (text = strndup(m->params[1], len)) == NULL) {
			log_warn("topic");
			reply(c, ERR_UNKNOWNERROR, "TOPIC", "Out of memory");
			return;
		}
		if ((who = strdup(mask)) == NULL) {
			log_warn("topic");
			free(text);
			reply(c, ERR_UNKNOWNERROR, "TOPIC", "Out of memory");
			return;
		}
	}

	pthread_mutex_lock(&server.lock);
	if ((r = room_find_locked(name)) == NULL) {
		reply(c, ERR_NOSUCHCHANNEL, name);
		goto done;
	}
	if (m->nparams < 2) {
		if (r->topic == NULL)
			reply(c, RPL_NOTOPIC, r->name);
		else {
			reply(c, RPL_TOPIC, r->name, r->topic);
			reply(c, RPL_TOPICWHOTIME, r->name,
			    r->topic_who != NULL ? r->topic_who : "*",
			    (long long)r->topic_time);
		}
		goto done;
	}
	if ((me = room_member_locked(r, c)) == NULL) {
		reply(c, ERR_NOTONCHANNEL, r->name);
		goto done;
	}
	if ((r->modes & ROOM_TOPICLOCK) && !(me->modes & MEMBER_OP)) {
		reply(c, ERR_CHANOPRIVSNEEDED, r->name);
		goto done;
	}
	oldtext = r->topic;
	oldwho = r->topic_who;
	r->topic = text;
	r->topic_who = who;
	r->topic_time = time(NULL);
	/* Freed after the unlock, below. */
	text = oldtext;
	who = oldwho;
	b = buf_printf(":%s TOPIC %s :%s", mask, r->name,
	    r->topic != NULL ? r->topic : "");
	room_send_locked(r, b, NULL);
	buf_unref(b);
	snprintf(params, sizeof(params), "%s :%s", r->name,
	    r->topic != NULL ? r->topic : "");
	history_event_locked(r->key_folded, c, "TOPIC", params);
done:
	pthread_mutex_unlock(&server.lock);
	free(text);
	free(who);
}

void
cmd_kick(struct client *c, struct irc_msg *m)
{
	struct room	*r;
	struct member	*me;
	struct client	*t;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1], list[IRC_LINE_MAX];
	char		 reason[KICK_MAX + 1], params[OUT_LINE_MAX];
	char		*p, *nick;
	size_t		 len;
	struct buf	*b;
	int		 ntargets = 0;

	client_mask(c, mask, sizeof mask);
	if (m->nparams >= 3 && m->params[2][0] != '\0') {
		len = strlen(m->params[2]);
		len = utf8_cut(m->params[2], len, KICK_MAX);
		memcpy(reason, m->params[2], len);
		reason[len] = '\0';
	} else
		(void)snprintf(reason, sizeof reason, "%s", c->nick);
	/* Split a copy: the message stays intact for whoever logs it. */
	(void)snprintf(list, sizeof list, "%s", m->params[1]);

	pthread_mutex_lock(&server.lock);
	p = list;
	while ((nick = strsep(&p, ",")) != NULL) {
		if (*nick == '\0')
			continue;
		if (++ntargets > KICK_TARGETS_MAX) {
			reply(c, ERR_TOOMANYTARGETS, nick, KICK_TARGETS_MAX);
			break;
		}
		/* Looked up each time: a self-kick may free the room. */
		if ((r = room_find_locked(name)) == NULL) {
			reply(c, ERR_NOSUCHCHANNEL, name);
			break;
		}
		if ((me = room_member_locked(r, c)) == NULL) {
			reply(c, ERR_NOTONCHANNEL, r->name);
			break;
		}
		if (!(me->modes & MEMBER_OP)) {
			reply(c, ERR_CHANOPRIVSNEEDED, r->name);
			break;
		}
		if ((t = chan_user_locked(nick)) == NULL) {
			reply(c, ERR_NOSUCHNICK, nick);
			continue;
		}
		if (room_member_locked(r, t) == NULL) {
			reply(c, ERR_USERNOTINCHANNEL, t->nick, r->name);
			continue;
		}
		b = buf_printf(":%s KICK %s %s :%s", mask, r->name, t->nick,
		    reason);
		room_send_locked(r, b, NULL);
		buf_unref(b);
		snprintf(params, sizeof(params), "%s %s :%s", r->name, t->nick,
		    reason);
		history_event_locked(r->key_folded, c, "KICK", params);
		(void)room_remove_locked(r, t);
	}
	pthread_mutex_unlock(&server.lock);
}

/*
 * invite-notify: the INVITE also goes to the members of r who enabled
 * it and could have sent it themselves (the ops while r is +i, else
 * everyone), except the inviter.  The target is not a member.
 */
static void
chan_invite_notify_locked(struct room *r, struct client *c,
    struct client *t)
{
	struct member	*mb;
	struct buf	*b = NULL;
	char		 mask[MASK_MAX + 1];
	int		 i;

	for (i = 0; i < r->nmembers; i++) {
		mb = &r->members[i];
		if (mb->c == c || mb->c == t ||
		    !(mb->c->caps & CAP(CAP_INVITE_NOTIFY)))
			continue;
		if ((r->modes & ROOM_INVITE) && !(mb->modes & MEMBER_OP))
			continue;
		/* Built only once someone wants it. */
		if (b == NULL) {
			client_mask(c, mask, sizeof(mask));
			b = buf_printf(":%s INVITE %s %s", mask, t->nick,
			    r->name);
		}
		client_send(mb->c, b);
	}
	buf_unref(b);
}

void
cmd_invite(struct client *c, struct irc_msg *m)
{
	struct room	*r;
	struct member	*me;
	struct client	*t;
	const char	*nick = m->params[0], *name = m->params[1];
	char		 mask[MASK_MAX + 1];

	client_mask(c, mask, sizeof mask);

	pthread_mutex_lock(&server.lock);
	if ((t = chan_user_locked(nick)) == NULL) {
		reply(c, ERR_NOSUCHNICK, nick);
		goto done;
	}
	if ((r = room_find_locked(name)) != NULL) {
		if ((me = room_member_locked(r, c)) == NULL) {
			reply(c, ERR_NOTONCHANNEL, r->name);
			goto done;
		}
		if ((r->modes & ROOM_INVITE) && !(me->modes & MEMBER_OP)) {
			reply(c, ERR_CHANOPRIVSNEEDED, r->name);
			goto done;
		}
		if (room_member_locked(r, t) != NULL) {
			reply(c, ERR_USERONCHANNEL, t->nick, r->name);
			goto done;
		}
		room_invite_add_locked(r, t->nickkey);
		name = r->name;
	} else if (!casemap_valid_room(name, ROOM_NAME_MAX)) {
		/* RFC 2812 allows inviting to a room nobody is in yet. */
		reply(c, ERR_NOSUCHCHANNEL, name);
		goto done;
	}
	reply(c, RPL_INVITING, t->nick, name);
	client_sendf(t, ":%s INVITE %s %s", mask, t->nick, name);
	if (r != NULL)
		chan_invite_notify_locked(r, c, t);
	if (t->away != NULL)
		reply(c, RPL_AWAY, t->nick, t->away);
done:
	pthread_mutex_unlock(&server.lock);
}
