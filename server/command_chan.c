/*
 * command_chan.c: the room commands that need more than membership:
 * MODE (user modes here, room modes in room.c), TOPIC, KICK and INVITE
 * (with its invite-notify copies).  Every room and every other client
 * is touched only under server.lock; each command takes it once so that
 * what it checks is still true when it acts, and posts its broadcast
 * under it, so the line and its recipients match what was applied.
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

static struct client	*chan_user_locked(const char *);
static void		 mode_user(struct turn *, struct irc_msg *);
static void		 mode_user_string(unsigned, int, char *, size_t);
static int		 chan_append(char *, size_t, size_t *, const char *);

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
cmd_mode(struct turn *t, struct irc_msg *m)
{
	struct room	*r;

	if (m->params[0][0] != '#') {
		mode_user(t, m);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	if ((r = room_find_locked(m->params[0])) == NULL)
		reply(t, ERR_NOSUCHCHANNEL, m->params[0]);
	else
		room_mode_locked(t, r, m);
	pthread_rwlock_unlock(&server.lock);
}

/* "+Biorw": the flags, and r when logged in to an account. */
static void
mode_user_string(unsigned flags, int account, char *buf, size_t len)
{
	size_t	off = 0;

	buf[0] = '\0';
	(void)chan_append(buf, len, &off, "+");
	if (flags & CLIENT_BOT)
		(void)chan_append(buf, len, &off, "B");
	if (flags & CLIENT_INVISIBLE)
		(void)chan_append(buf, len, &off, "i");
	if (flags & CLIENT_OPER)
		(void)chan_append(buf, len, &off, "o");
	if (account)
		(void)chan_append(buf, len, &off, "r");
	if (flags & CLIENT_WALLOPS)
		(void)chan_append(buf, len, &off, "w");
}

static void
mode_user(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	const char	*target = m->params[0], *p;
	unsigned	 old, new, diff;
	int		 adding = 1, unknown = 0, r = 0, account;
	char		 buf[16];
	size_t		 off;

	if (casemap_cmp(target, c->nick) != 0) {
		pthread_rwlock_wrlock(&server.lock);
		if (chan_user_locked(target) == NULL)
			reply(t, ERR_NOSUCHNICK, target);
		else
			reply(t, ERR_USERSDONTMATCH);
		pthread_rwlock_unlock(&server.lock);
		return;
	}
	if (m->nparams < 2) {
		/* Our own flags: only this thread writes them; an
		 * operator's ACCOUNT DELETE may clear the account. */
		pthread_rwlock_wrlock(&server.lock);
		account = c->account != NULL;
		pthread_rwlock_unlock(&server.lock);
		mode_user_string(c->flags, account, buf, sizeof buf);
		reply(t, RPL_UMODEIS, buf);
		return;
	}

	pthread_rwlock_wrlock(&server.lock);
	old = new = c->flags;
	for (p = m->params[1]; *p != '\0'; p++) {
		switch (*p) {
		case '+':
		case '-':
			adding = *p == '+';
			break;
		case 'B':
			/* bot-mode: the user says so; anyone may. */
			new = adding ? new | CLIENT_BOT : new & ~CLIENT_BOT;
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
		case 'r':
			/* Logging in and out sets it, nothing else (as
			 * InspIRCd answers: 481). */
			r = 1;
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
	pthread_rwlock_unlock(&server.lock);

	if (r)
		reply(t, ERR_NOPRIVILEGES_R);
	if (unknown)
		reply(t, ERR_UMODEUNKNOWNFLAG);
	if (diff == 0)
		return;

	/* Only what changed, additions first: "+iw-o". */
	off = 0;
	buf[0] = '\0';
	if (new & diff) {
		(void)chan_append(buf, sizeof buf, &off, "+");
		if (new & diff & CLIENT_BOT)
			(void)chan_append(buf, sizeof buf, &off, "B");
		if (new & diff & CLIENT_INVISIBLE)
			(void)chan_append(buf, sizeof buf, &off, "i");
		if (new & diff & CLIENT_WALLOPS)
			(void)chan_append(buf, sizeof buf, &off, "w");
	}
	if (old & diff) {
		(void)chan_append(buf, sizeof buf, &off, "-");
		if (old & diff & CLIENT_BOT)
			(void)chan_append(buf, sizeof buf, &off, "B");
		if (old & diff & CLIENT_INVISIBLE)
			(void)chan_append(buf, sizeof buf, &off, "i");
		if (old & diff & CLIENT_OPER)
			(void)chan_append(buf, sizeof buf, &off, "o");
		if (old & diff & CLIENT_WALLOPS)
			(void)chan_append(buf, sizeof buf, &off, "w");
	}
	turn_sendf(t, ":%s MODE %s :%s", c->nick, c->nick, buf);
}

void
cmd_topic(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	struct room	*r;
	struct line	 l;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	char		*text = NULL, *who = NULL;
	size_t		 len;

	if (m->nparams >= 2) {
		/* Allocate before the lock; an empty topic clears it. */
		client_mask(c, mask, sizeof mask);
		len = strlen(m->params[1]);
		len = utf8_cut(m->params[1], len, TOPIC_MAX);
		if (len > 0 && (text = strndup(m->params[1], len)) == NULL) {
			log_warn("topic");
			reply(t, ERR_UNKNOWNERROR, "TOPIC", "Out of memory");
			return;
		}
		if ((who = strdup(mask)) == NULL) {
			log_warn("topic");
			free(text);
			reply(t, ERR_UNKNOWNERROR, "TOPIC", "Out of memory");
			return;
		}
	}

	pthread_rwlock_wrlock(&server.lock);
	if ((r = room_find_locked(name)) == NULL)
		reply(t, ERR_NOSUCHCHANNEL, name);
	else if (m->nparams < 2 && room_secret(r) &&
	    room_member_locked(r, t->c) == NULL)
		/* A +s room's topic is for its members (Modern IRC
		 * allows 442 to an outsider who asks). */
		reply(t, ERR_NOTONCHANNEL, room_name(r));
	else if (m->nparams < 2)
		room_send_topic_locked(t, r, 1);
	else if (room_topic_set_locked(t, r, &text, &who) == 0) {
		snprintf(line, sizeof(line), ":%s TOPIC %s :%s", mask,
		    room_name(r), room_topic(r) != NULL ? room_topic(r) : "");
		memset(&l, 0, sizeof(l));
		l.text = line;
		l.src = t->c;
		(void)room_fanout_locked(t, r, &l, FAN_SELF, 0, NULL);
	}
	pthread_rwlock_unlock(&server.lock);
	/* The old topic, or the new one if it was refused. */
	free(text);
	free(who);
}

/* The commas in s. */
static size_t
kick_count(const char *s)
{
	size_t n = 0;

	while ((s = strchr(s, ',')) != NULL) {
		n++;
		s++;
	}
	return n;
}

/*
 * KICK <room>[,<room>...] <nick>[,<nick>...] [:reason] (RFC 2812 3.2.8):
 * one room and any number of nicks, or as many rooms as nicks, paired by
 * position; anything else is 461.  At most KICK_TARGETS_MAX kicks, each
 * its own line with one room and one nick.
 */
void
cmd_kick(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c, *victim;
	struct room	*r;
	struct member	*me;
	struct line	 l;
	const char	*name;
	char		 mask[MASK_MAX + 1], rooms[IRC_LINE_MAX];
	char		 list[IRC_LINE_MAX];
	char		 reason[KICK_MAX + 1], line[OUT_LINE_MAX];
	char		*rp, *p, *nick;
	size_t		 len;
	int		 ntargets = 0, nrooms, nnicks, single;

	client_mask(c, mask, sizeof mask);
	if (m->nparams >= 3 && m->params[2][0] != '\0') {
		len = strlen(m->params[2]);
		len = utf8_cut(m->params[2], len, KICK_MAX);
		memcpy(reason, m->params[2], len);
		reason[len] = '\0';
	} else
		(void)snprintf(reason, sizeof reason, "%s", c->nick);
	/* Split copies: the message stays intact for whoever logs it. */
	(void)snprintf(rooms, sizeof rooms, "%s", m->params[0]);
	(void)snprintf(list, sizeof list, "%s", m->params[1]);
	nrooms = 1 + (int)kick_count(rooms);
	nnicks = 1 + (int)kick_count(list);
	single = nrooms == 1;
	if (!single && nrooms != nnicks) {
		reply(t, ERR_NEEDMOREPARAMS, "KICK");
		return;
	}

	pthread_rwlock_wrlock(&server.lock);
	rp = rooms;
	p = list;
	name = rooms;
	while ((nick = strsep(&p, ",")) != NULL) {
		if (!single)
			name = strsep(&rp, ",");
		if (*nick == '\0' || *name == '\0')
			continue;
		if (++ntargets > KICK_TARGETS_MAX) {
			reply(t, ERR_TOOMANYTARGETS, nick, KICK_TARGETS_MAX);
			break;
		}
		/* Looked up each time: a self-kick may free the room.  With
		 * one room, an error about it ends the command; with pairs,
		 * only that pair. */
		if ((r = room_find_locked(name)) == NULL) {
			reply(t, ERR_NOSUCHCHANNEL, name);
			if (single)
				break;
			continue;
		}
		if ((me = room_member_locked(r, c)) == NULL) {
			reply(t, ERR_NOTONCHANNEL, room_name(r));
			if (single)
				break;
			continue;
		}
		if (!(me->modes & MEMBER_OP)) {
			reply(t, ERR_CHANOPRIVSNEEDED, room_name(r));
			if (single)
				break;
			continue;
		}
		if ((victim = chan_user_locked(nick)) == NULL) {
			reply(t, ERR_NOSUCHNICK, nick);
			continue;
		}
		if (room_member_locked(r, victim) == NULL) {
			reply(t, ERR_USERNOTINCHANNEL, victim->nick,
			    room_name(r));
			continue;
		}
		snprintf(line, sizeof(line), ":%s KICK %s %s :%s", mask,
		    room_name(r), victim->nick, reason);
		memset(&l, 0, sizeof(l));
		l.text = line;
		l.src = t->c;
		/* The victim hears it as a member, before it leaves. */
		(void)room_fanout_locked(t, r, &l, FAN_SELF, 0, NULL);
		(void)room_remove_locked(r, victim);
	}
	pthread_rwlock_unlock(&server.lock);
}

/*
 * INVITE <nick> <room>.  Any member may invite to a room that is not
 * +i, but only an operator's invite is remembered: it lets that
 * connection (not whoever holds the nick later) past +i, +b, +k and +l
 * once, for --invite-expiry seconds.  invite-notify: members who could
 * have sent it (the ops while r is +i, else everyone) hear of it.
 */
void
cmd_invite(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c, *target;
	struct room	*r;
	struct member	*me;
	struct post	*p;
	struct line	 l;
	const char	*nick = m->params[0], *name = m->params[1];
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];

	client_mask(c, mask, sizeof mask);

	pthread_rwlock_wrlock(&server.lock);
	if ((target = chan_user_locked(nick)) == NULL) {
		reply(t, ERR_NOSUCHNICK, nick);
		goto done;
	}
	me = NULL;
	if ((r = room_find_locked(name)) != NULL) {
		if ((me = room_member_locked(r, c)) == NULL) {
			reply(t, ERR_NOTONCHANNEL, room_name(r));
			goto done;
		}
		if (room_invite_only(r) && !(me->modes & MEMBER_OP)) {
			reply(t, ERR_CHANOPRIVSNEEDED, room_name(r));
			goto done;
		}
		if (room_member_locked(r, target) != NULL) {
			reply(t, ERR_USERONCHANNEL, target->nick,
			    room_name(r));
			goto done;
		}
		if (me->modes & MEMBER_OP)
			room_invite_locked(r, target);
		name = room_name(r);
	} else if (!casemap_valid_room(name, ROOM_NAME_MAX)) {
		/* RFC 2812 allows inviting to a room nobody is in yet. */
		reply(t, ERR_NOSUCHCHANNEL, name);
		goto done;
	}
	reply(t, RPL_INVITING, target->nick, name);
	snprintf(line, sizeof(line), ":%s INVITE %s %s", mask, target->nick,
	    name);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = c;
	p = post_new_locked(t, &l);
	if (target != c)
		post_add_locked(p, target, 0);
	if (r != NULL)
		(void)room_fanout_locked(t, r, &l, room_invite_only(r) ?
		    FAN_OPS : 0, CAP(CAP_INVITE_NOTIFY), target);
	if (target->away != NULL)
		reply(t, RPL_AWAY, target->nick, target->away);
done:
	pthread_rwlock_unlock(&server.lock);
}

/* --- RENAME (draft/channel-rename) --- */

/*
 * What a connection without draft/channel-rename sees of a rename: its
 * person leaving the old name and joining the new one, then the topic,
 * NAMES and the replay as a JOIN gives them (the spec's fallback).  The
 * actor's own connection gets them in its turn; any other, as posts of
 * its own lines.
 */
static void
rename_fallback_locked(struct turn *t, struct room *r, struct conn *k,
    const char *old, const char *reason, int64_t seq)
{
	struct client	*m = k->cl;
	char		 mask[MASK_MAX + 1], chunk[1024];
	struct outlist	 lines;
	struct turn	 kt, *to = t;
	struct gen	*g;

	if (k != t->conn) {
		/* A turn of its own, for the reply functions; never posts. */
		turn_begin(&kt, k, chunk, sizeof(chunk));
		to = &kt;
	}
	client_mask(m, mask, sizeof(mask));
	turn_sendf(to, ":%s PART %s :%s", mask, old,
	    reason[0] != '\0' ? reason : "Channel renamed");
	if (k->caps & CAP(CAP_EXTENDED_JOIN))
		turn_sendf(to, ":%s JOIN %s %s :%s", mask, room_name(r),
		    m->account != NULL ? account_name(m->account) : "*",
		    m->realname);
	else
		turn_sendf(to, ":%s JOIN %s", mask, room_name(r));
	room_send_topic_locked(to, r, 0);
	send_names_locked(to, r);
	/* And the replay a JOIN gives: the room's lines, now under the
	 * new name once the move (seq) is on disk. */
	if ((g = history_replay_gen(r, seq)) != NULL)
		turn_gen(to, g);
	if (to == t)
		return;
	memset(&lines, 0, sizeof(lines));
	turn_take(&kt, &lines);
	(void)post_lines_locked(t, k, &lines);
}

/*
 * RENAME <old> <new> [:<reason>]: a room's operator (or a server
 * operator) renames it.  Everything is decided and done in one critical
 * section: the room changes its key in the table and queues the move of
 * its history in the store, in the order of messages
 * (room_rename_locked), and the news is posted to every member: RENAME
 * to a connection with the cap, the fallback to the others (none for a
 * change of case only, as the spec says).  The RENAME post waits for
 * the move to be on disk, like a message: whoever saw it finds the
 * history under the new name after a crash.
 */
void
cmd_rename(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c, *who;
	const char	*want = m->params[1];
	const char	*reason = m->nparams > 2 ? m->params[2] : "";
	char		 mask[MASK_MAX + 1], old[ROOM_NAME_MAX + 1];
	char		 line[OUT_LINE_MAX], fold_old[ROOM_NAME_MAX + 1];
	char		 fold_new[ROOM_NAME_MAX + 1];
	const struct member *mb;
	struct member	*me;
	struct room	*r, *taken;
	struct conn	*k;
	struct line	 l;
	int64_t		 seq;
	int		 oper, i;

	client_mask(c, mask, sizeof(mask));
	pthread_rwlock_wrlock(&server.lock);
	oper = (c->flags & CLIENT_OPER) != 0;
	r = room_find_locked(m->params[0]);
	me = r != NULL ? room_member_locked(r, c) : NULL;
	/* To an outsider a +s room does not exist. */
	if (r == NULL || (me == NULL && !oper && room_secret(r))) {
		reply(t, ERR_NOSUCHCHANNEL, m->params[0]);
		goto out;
	}
	snprintf(old, sizeof(old), "%s", room_name(r));
	if (me == NULL && !oper) {
		reply(t, ERR_NOTONCHANNEL, old);
		goto out;
	}
	if (!oper && !(me->modes & MEMBER_OP)) {
		reply(t, ERR_CHANOPRIVSNEEDED, old);
		goto out;
	}
	if (!casemap_valid_room(want, ROOM_NAME_MAX)) {
		reply(t, ERR_BADCHANMASK, want);
		goto out;
	}
	taken = room_find_locked(want);
	if (taken != NULL && taken != r) {
		turn_sendf(t, ":%s FAIL RENAME CHANNEL_NAME_IN_USE %s %s "
		    ":The channel name is already taken", config.server_name,
		    old, want);
		goto out;
	}
	if (strcmp(old, want) == 0) {
		turn_sendf(t, ":%s FAIL RENAME CANNOT_RENAME %s %s "
		    ":The channel already has that name", config.server_name,
		    old, want);
		goto out;
	}
	if ((seq = room_rename_locked(r, want)) == -1) {
		if (errno == EBUSY)
			turn_sendf(t, ":%s FAIL RENAME CANNOT_RENAME %s %s "
			    ":This channel has been renamed recently",
			    config.server_name, old, want);
		else if (errno == EFBIG)
			turn_sendf(t, ":%s FAIL RENAME CANNOT_RENAME %s %s "
			    ":This channel has too much history to move",
			    config.server_name, old, want);
		else
			turn_sendf(t, ":%s FAIL RENAME "
			    "TEMPORARILY_UNAVAILABLE %s %s :The channel "
			    "cannot be renamed now", config.server_name, old,
			    want);
		goto out;
	}
	snprintf(line, sizeof(line), ":%s RENAME %s %s :%s", mask, old,
	    room_name(r), reason);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.seq = seq;
	l.keep = 1;
	l.src = c;
	(void)room_fanout_locked(t, r, &l, FAN_SELF,
	    CAP(CAP_CHANNEL_RENAME), NULL);
	casemap_fold(fold_old, old, sizeof(fold_old));
	casemap_fold(fold_new, room_name(r), sizeof(fold_new));
	if (strcmp(fold_old, fold_new) != 0) {
		for (i = 0; (mb = room_member_at(r, i)) != NULL; i++) {
			who = mb->c;
			for (k = who->conns; k != NULL; k = k->cnext)
				if (!(k->caps & CAP(CAP_CHANNEL_RENAME)))
					rename_fallback_locked(t, r, k, old,
					    reason, seq);
		}
	}
	/* An oper outside the room: told as a cap client would be. */
	if (me == NULL && !(t->conn->caps & CAP(CAP_CHANNEL_RENAME)))
		turn_sendf(t, "%s", line);
out:
	pthread_rwlock_unlock(&server.lock);
}
