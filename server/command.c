/*
 * command.c: the command table and dispatcher, registration (PASS, NICK,
 * USER, CAP), PING/PONG/QUIT, JOIN/PART and PRIVMSG/NOTICE/TAGMSG.
 * Handlers run on the sending client's thread with its turn (turn.c):
 * they reply to it through the turn, and reach everyone else by posts
 * made under server.lock, which fix the recipients there and then.  A
 * handler never blocks while its posts are open (until it returns).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natterd.h"
#include "str.h"
#include "utf8.h"

struct command {
	const char	*name;
	void		(*handler)(struct turn *, struct irc_msg *);
	int		 min_params;
	int		 flags;
#define CMD_PREREG	0x01	/* allowed before registration */
};

static void	 cmd_tagmsg_targets(struct turn *, struct irc_msg *);

static const struct command commands[] = {
	{ "PRIVMSG",	cmd_privmsg,	0, 0 },
	{ "NOTICE",	cmd_notice,	0, 0 },
	{ "PING",	cmd_ping,	0, CMD_PREREG },
	{ "PONG",	cmd_pong,	0, CMD_PREREG },
	{ "JOIN",	cmd_join,	1, 0 },
	{ "PART",	cmd_part,	1, 0 },
	{ "MODE",	cmd_mode,	1, 0 },
	{ "WHO",	cmd_who,	0, 0 },
	{ "NAMES",	cmd_names,	0, 0 },
	{ "TOPIC",	cmd_topic,	1, 0 },
	{ "NICK",	cmd_nick,	0, CMD_PREREG },
	{ "USER",	cmd_user,	4, CMD_PREREG },
	{ "PASS",	cmd_pass,	1, CMD_PREREG },
	{ "CAP",	cmd_cap,	1, CMD_PREREG },
	{ "QUIT",	cmd_quit,	0, CMD_PREREG },
	{ "WHOIS",	cmd_whois,	1, 0 },
	{ "WHOWAS",	cmd_whowas,	1, 0 },
	{ "KICK",	cmd_kick,	2, 0 },
	{ "RENAME",	cmd_rename,	2, 0 },
	{ "INVITE",	cmd_invite,	2, 0 },
	{ "LIST",	cmd_list,	0, 0 },
	{ "AWAY",	cmd_away,	0, 0 },
	{ "ISON",	cmd_ison,	1, 0 },
	{ "USERHOST",	cmd_userhost,	1, 0 },
	{ "LUSERS",	cmd_lusers,	0, 0 },
	{ "MOTD",	cmd_motd,	0, 0 },
	{ "VERSION",	cmd_version,	0, 0 },
	{ "TIME",	cmd_time,	0, 0 },
	{ "ADMIN",	cmd_admin,	0, 0 },
	{ "INFO",	cmd_info,	0, 0 },
	{ "OPER",	cmd_oper,	2, 0 },
	{ "KILL",	cmd_kill,	2, 0 },
	{ "WALLOPS",	cmd_wallops,	1, 0 },
	{ "REHASH",	cmd_rehash,	0, 0 },
	{ "DIE",	cmd_die,	0, 0 },
	{ "TAGMSG",	cmd_tagmsg_targets, 1, 0 },
	{ "CHATHISTORY", cmd_chathistory, 1, 0 },
	{ "SETNAME",	cmd_setname,	1, 0 },
	{ "AUTHENTICATE", cmd_authenticate, 1, CMD_PREREG },
	{ "ACCOUNT",	cmd_account,	1, 0 },
	{ "MARKREAD",	cmd_markread,	0, 0 },
	{ "REGISTER",	cmd_register,	3, CMD_PREREG },
	{ "VERIFY",	cmd_verify,	2, CMD_PREREG },
	{ "NICKSERV",	cmd_nickserv,	0, 0 },
	{ "NS",		cmd_nickserv,	0, 0 },
	{ "HELP",	cmd_help,	0, 0 },
	{ "HELPOP",	cmd_help,	0, 0 },
	{ "MONITOR",	cmd_monitor,	1, 0 },
	{ "REDACT",	cmd_redact,	2, 0 },
};

void
command_dispatch(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	const struct command *cmd = NULL;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, m->command) == 0) {
			cmd = &commands[i];
			break;
		}
	}
	if (cmd == NULL) {
		if (c->flags & CLIENT_REGISTERED)
			reply(t, ERR_UNKNOWNCOMMAND, m->command);
		else
			reply(t, ERR_NOTREGISTERED);
		return;
	}
	if (!(c->flags & CLIENT_REGISTERED) && !(cmd->flags & CMD_PREREG)) {
		reply(t, ERR_NOTREGISTERED);
		return;
	}
	if (m->nparams < cmd->min_params) {
		reply(t, ERR_NEEDMOREPARAMS, cmd->name);
		return;
	}
	cmd->handler(t, m);
}

void
mask_normalize(const char *in, char *out, size_t len)
{
	const char *bang = strchr(in, '!'), *at = strchr(in, '@');

	if (bang != NULL && at != NULL && bang < at)
		snprintf(out, len, "%s", in);
	else if (bang != NULL)
		snprintf(out, len, "%s@*", in);
	else if (at != NULL)
		snprintf(out, len, "*!%s", in);
	else
		snprintf(out, len, "%s!*@*", in);
}

/* 001-005: constants, and mask; no lock needed. */
static void
welcome_head(struct turn *t, const char *mask)
{
	reply(t, RPL_WELCOME, config.network, mask);
	reply(t, RPL_YOURHOST, config.server_name, NATTERD_VERSION);
	reply(t, RPL_CREATED, server.created);
	reply(t, RPL_MYINFO, config.server_name, NATTERD_VERSION, USER_MODES,
	    room_modes_all(), room_modes_with_param());
	send_isupport(t);
}

/* The MOTD (SIGHUP replaces it under server.lock), then +r. */
static void
welcome_tail_locked(struct turn *t)
{
	send_motd_locked(t);
	/* Logged in before the welcome (SASL, the Unix socket, another
	 * device's account): its +r, as a login later would say it. */
	if (t->c->account != NULL)
		turn_sendf(t, ":%s MODE %s :+r", config.server_name,
		    t->c->nick);
}

void
send_welcome(struct turn *t, const char *mask, const struct lusers *lu)
{
	welcome_head(t, mask);
	send_lusers(t, lu);
	/* Only read: the MOTD a reload may replace, the client's own. */
	pthread_rwlock_rdlock(&server.lock);
	welcome_tail_locked(t);
	pthread_rwlock_unlock(&server.lock);
}

void
send_welcome_locked(struct turn *t)
{
	char mask[MASK_MAX + 1];

	client_mask(t->c, mask, sizeof(mask));
	welcome_head(t, mask);
	send_lusers_locked(t);
	welcome_tail_locked(t);
}

/* --- registration --- */

void
cmd_pass(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;

	if (c->flags & CLIENT_REGISTERED) {
		reply(t, ERR_ALREADYREGISTERED);
		return;
	}
	if (config.password == NULL)
		return;
	if (strcmp(m->params[0], config.password) == 0) {
		t->conn->reg |= REG_PASS;
		return;
	}
	reply(t, ERR_PASSWDMISMATCH);
	log_info("%s: wrong server password", t->conn->ip);
	conn_kill(t->conn, "Bad password");
}

int
client_nick_set_locked(struct turn *t, const char *nick, const char *key)
{
	struct client *c = t->c;
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	struct line l;
	int moved;

	if (map_put(server.nicks, key, c) == -1)
		return -1;
	if (c->nickkey[0] != '\0' && strcmp(c->nickkey, key) != 0)
		map_del(server.nicks, c->nickkey);
	/* MONITOR: a new nick (not a new case of the same one) is the
	 * old one going offline and the new one coming online. */
	moved = (c->flags & CLIENT_REGISTERED) &&
	    strcmp(c->nickkey, key) != 0;
	if (c->flags & CLIENT_REGISTERED) {
		client_mask(c, mask, sizeof(mask));
		snprintf(line, sizeof(line), ":%s NICK %s", mask, nick);
		memset(&l, 0, sizeof(l));
		l.text = line;
		l.src = c;
		(void)room_fanout_locked(t, NULL, &l, FAN_SELF, 0, NULL);
		whowas_add_locked(c);
	}
	if (moved)
		monitor_offline_locked(t, c->nick, c->nickkey);
	/* A new nick (not a new case of the same one) starts a new
	 * private history: what the last holder said is not ours. */
	if (strcmp(c->nickkey, key) != 0)
		c->nick_seq = store_last_seq();
	snprintf(c->nick, sizeof(c->nick), "%s", nick);
	snprintf(c->nickkey, sizeof(c->nickkey), "%s", key);
	if (moved)
		monitor_online_locked(t, c);
	return 0;
}

void
cmd_nick(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	char key[NICK_MAX + 1];
	const char *nick;
	struct client *other;
	struct account *owner;
	enum owner_state st = OWNER_FREE;
	int reserved;

	if (m->nparams < 1 || m->params[0][0] == '\0') {
		reply(t, ERR_NONICKNAMEGIVEN);
		return;
	}
	nick = m->params[0];
	if (!casemap_valid_nick(nick, NICK_MAX)) {
		/* Bytes that are not UTF-8 are not echoed back. */
		reply(t, ERR_ERRONEUSNICKNAME,
		    utf8_valid(nick, strlen(nick)) ? nick : "*");
		return;
	}
	if (nickserv_reserved(nick)) {
		reply(t, ERR_ERRONEUSNICKNAME, nick);
		return;
	}
	casemap_fold(key, nick, sizeof(key));

	pthread_rwlock_wrlock(&server.lock);
	other = map_get(server.nicks, key);
	if (other != NULL && other != c) {
		pthread_rwlock_unlock(&server.lock);
		reply(t, ERR_NICKNAMEINUSE, nick);
		return;
	}
	/* Logged in, it could never log in to another owner in time; not
	 * logged in, the owner's nicks are not for the taking while it is
	 * online, under whichever nick. */
	if ((owner = account_nick_owner(key)) != NULL) {
		reserved = c->account != NULL ? owner != c->account :
		    client_people_find_locked(owner) != NULL;
		account_unref(owner);
		if (reserved) {
			pthread_rwlock_unlock(&server.lock);
			if (c->account != NULL)
				reply(t, ERR_NICKRESERVED, nick);
			else
				reply(t, ERR_NICKNAMEINUSE, nick);
			return;
		}
	}
	if (strcmp(c->nick, nick) == 0) {
		pthread_rwlock_unlock(&server.lock);
		return;
	}
	if (client_nick_set_locked(t, nick, key) == -1) {
		pthread_rwlock_unlock(&server.lock);
		conn_kill(t->conn, "Out of memory");
		return;
	}
	/* Before registration, client_try_register decides. */
	if (c->flags & CLIENT_REGISTERED)
		st = owner_check_locked(c);
	pthread_rwlock_unlock(&server.lock);

	if (st == OWNER_GRACE)
		owner_grace_notice(t);
	if (!(c->flags & CLIENT_REGISTERED)) {
		t->conn->reg |= REG_NICK;
		client_try_register(t);
	}
}

void
cmd_user(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	char user[USER_MAX + 1];
	const char *s;
	size_t n = 0;

	if (c->flags & CLIENT_REGISTERED) {
		reply(t, ERR_ALREADYREGISTERED);
		return;
	}
	/* Both must be there (RFC 2812 3.1.3): an empty one is missing. */
	if (m->params[0][0] == '\0' || m->params[3][0] == '\0') {
		reply(t, ERR_NEEDMOREPARAMS, "USER");
		return;
	}
	/* The line may not be UTF-8 (client.c lets USER through, so that
	 * registration gets an answer): what is kept must be. */
	utf8_scrub(m->params[3], strlen(m->params[3]));
	/* A local user is who the kernel says, as ident would say. */
	if (t->conn->local) {
		client_local_user(t->conn, user, sizeof(user));
		n = strlen(user);
	} else {
		/* Keep the characters a username may hold, like an ident
		 * reply. */
		for (s = m->params[0]; *s != '\0' && n < USER_MAX; s++)
			if ((*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') ||
			    strchr("-_.~", *s) != NULL)
				user[n++] = *s;
		user[n] = '\0';
	}
	/* Nothing a username may hold (other bytes, another script):
	 * register anyway, with a stock one, rather than leave the client
	 * waiting for a welcome that cannot come. */
	if (n == 0)
		n = (size_t)snprintf(user, sizeof(user), "%s", USER_STOCK);
	pthread_rwlock_wrlock(&server.lock);
	snprintf(c->user, sizeof(c->user), "%s", user);
	n = utf8_cut(m->params[3], strlen(m->params[3]), REALNAME_MAX);
	snprintf(c->realname, sizeof(c->realname), "%.*s", (int)n,
	    m->params[3]);
	pthread_rwlock_unlock(&server.lock);
	t->conn->reg |= REG_USER;
	client_try_register(t);
}

void
cmd_ping(struct turn *t, struct irc_msg *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		reply(t, ERR_NOORIGIN);
		return;
	}
	turn_sendf(t, ":%s PONG %s :%s", config.server_name,
	    config.server_name, m->params[0]);
}

void
cmd_pong(struct turn *t, struct irc_msg *m)
{
	/* Any input resets the ping timer; nothing more to do. */
	(void)t;
	(void)m;
}

void
cmd_quit(struct turn *t, struct irc_msg *m)
{
	char why[OUT_LINE_MAX];

	/* Cut like a KICK reason, so the relayed QUIT stays one line. */
	if (m->nparams > 0 && m->params[0][0] != '\0')
		snprintf(why, sizeof(why), "Quit: %.*s", (int)utf8_cut(
		    m->params[0], strlen(m->params[0]), QUIT_MAX),
		    m->params[0]);
	else
		snprintf(why, sizeof(why), "Quit");
	conn_kill(t->conn, why);
}

/* --- rooms --- */

static void
part_locked(struct turn *t, struct room *r, const char *mask,
    const char *reason)
{
	char line[OUT_LINE_MAX];
	struct line l;

	if (reason != NULL)
		snprintf(line, sizeof(line), ":%s PART %s :%s", mask,
		    room_name(r), reason);
	else
		snprintf(line, sizeof(line), ":%s PART %s", mask,
		    room_name(r));
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = t->c;
	(void)room_fanout_locked(t, r, &l, FAN_SELF, 0, NULL);
	room_remove_locked(r, t->c);
}

/*
 * One room of a JOIN.  The JOIN post, the joiner's own JOIN line, topic,
 * NAMES and the replay all take their place in the order of events at
 * once, under the lock: the replay ends with the last message sequenced
 * before the JOIN (which the joiner is not a recipient of), and every
 * message after it is a live line that reaches the joiner after them.
 */
static void
join_one(struct turn *t, const char *name, const char *key,
    const char *mask)
{
	struct client *c = t->c;
	char line[OUT_LINE_MAX], ext[OUT_LINE_MAX];
	struct room *r;
	struct line l;
	struct gen *g;
	int created = 0;

	if (!casemap_valid_room(name, ROOM_NAME_MAX)) {
		reply(t, ERR_BADCHANMASK, name);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	r = room_find_locked(name);
	if (r != NULL && room_member_locked(r, c) != NULL)
		goto out;
	if (c->nrooms >= ROOMS_PER_CLIENT) {
		reply(t, ERR_TOOMANYCHANNELS, name);
		goto out;
	}
	if (r != NULL && room_join_check_locked(t, r, key) == -1)
		goto out;
	if (r == NULL) {
		if ((r = room_create_locked(name)) == NULL) {
			reply(t, ERR_UNKNOWNERROR, "JOIN", "Out of memory");
			goto out;
		}
		created = 1;
	}
	if (room_add_locked(r, c, created ? MEMBER_OP : 0) == -1) {
		reply(t, ERR_UNKNOWNERROR, "JOIN", "Out of memory");
		if (created)
			room_remove_locked(r, c);
		goto out;
	}
	/* extended-join: "JOIN #r <account or *> :realname". */
	snprintf(line, sizeof(line), ":%s JOIN %s", mask, room_name(r));
	snprintf(ext, sizeof(ext), ":%s JOIN %s %s :%s", mask, room_name(r),
	    c->account != NULL ? account_name(c->account) : "*",
	    c->realname);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.alt = ext;
	l.alt_cap = CAP(CAP_EXTENDED_JOIN);
	l.src = c;
	(void)room_fanout_locked(t, r, &l, FAN_SELF, 0, NULL);
	markread_join_locked(t, r);
	room_send_topic_locked(t, r, 0);
	send_names_locked(t, r);
	if ((g = history_replay_gen(r, store_last_seq())) != NULL)
		turn_gen(t, g);
	if (c->away != NULL) {
		/* away-notify: the others learn the joiner is away. */
		snprintf(line, sizeof(line), ":%s AWAY :%s", mask, c->away);
		memset(&l, 0, sizeof(l));
		l.text = line;
		l.src = c;
		(void)room_fanout_locked(t, r, &l, 0, CAP(CAP_AWAY_NOTIFY),
		    NULL);
	}
out:
	pthread_rwlock_unlock(&server.lock);
}

void
cmd_join(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	char mask[MASK_MAX + 1], *names, *keys, *name, *key;

	client_mask(c, mask, sizeof(mask));
	if (strcmp(m->params[0], "0") == 0) {
		pthread_rwlock_wrlock(&server.lock);
		while (c->nrooms > 0)
			part_locked(t, c->rooms[c->nrooms - 1], mask, NULL);
		pthread_rwlock_unlock(&server.lock);
		return;
	}
	names = m->params[0];
	keys = m->nparams > 1 ? m->params[1] : NULL;
	while ((name = strsep(&names, ",")) != NULL) {
		key = keys != NULL ? strsep(&keys, ",") : NULL;
		if (key != NULL && key[0] == '\0')
			key = NULL;
		if (name[0] == '\0')
			continue;
		join_one(t, name, key, mask);
	}
}

void
cmd_part(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c;
	char mask[MASK_MAX + 1], *name, *sn;
	const char *reason = NULL;
	struct room *r;

	if (m->nparams > 1 && m->params[1][0] != '\0')
		reason = m->params[1];
	client_mask(c, mask, sizeof(mask));
	for (name = strtok_r(m->params[0], ",", &sn); name != NULL;
	    name = strtok_r(NULL, ",", &sn)) {
		pthread_rwlock_wrlock(&server.lock);
		r = room_find_locked(name);
		if (r == NULL)
			reply(t, ERR_NOSUCHCHANNEL, name);
		else if (room_member_locked(r, c) == NULL)
			reply(t, ERR_NOTONCHANNEL, room_name(r));
		else
			part_locked(t, r, mask, reason);
		pthread_rwlock_unlock(&server.lock);
	}
}

/* --- messages --- */

/*
 * Stores one message to target (its key in the store) and posts it, in
 * one critical section: the seq, the recipients and the place in the
 * order of events are one decision.  r is the room, or NULL for the
 * private message to `to`.  fan is a STATUSMSG's FAN_STATUS (0 for a
 * whole room): such a line is not stored, so neither replay, CHATHISTORY
 * nor a read marker shows it to members it was not for (Ergo does the
 * same); it is delivered like a TAGMSG.  Caller holds server.lock.
 */
static void
message_post_locked(struct turn *t, struct room *r, struct client *to,
    const char *key, const char *name, const char *cmd, const char *text,
    const char *ctags, int multi, unsigned fan)
{
	char stamp[STORE_STAMP_LEN + 1];
	struct client *c = t->c;
	char mask[MASK_MAX + 1], params_line[OUT_LINE_MAX], line[OUT_LINE_MAX];
	char *stored = NULL, *params = params_line;
	struct store_rec rec;
	struct post *p;
	struct line l;
	size_t len;
	int echo, rc;

	client_mask(c, mask, sizeof(mask));
	/* A multiline body is longer than a line: its own buffer. */
	len = strlen(name) + strlen(text) + 3;
	if (multi && (params = malloc(len)) == NULL) {
		turn_sendf(t, ":%s FAIL %s TEMPORARILY_UNAVAILABLE %s "
		    ":Message not sent: out of memory", config.server_name,
		    cmd, name);
		return;
	}
	str_join(params, multi ? len : sizeof(params_line), name, " :", text,
	    (char *)NULL);
	memset(&rec, 0, sizeof(rec));
	str_copy(rec.key, sizeof(rec.key), key);
	str_copy(rec.source, sizeof(rec.source), mask);
	str_copy(rec.command, sizeof(rec.command), cmd);
	rec.params = params;
	rec.tags = ctags[0] != '\0' ? (char *)ctags : NULL;
	if (r == NULL) {
		/* Whose the line is, as it is decided who gets it: the two
		 * people's nicks and accounts now (store.c, schema 5). */
		str_copy(rec.from_key, sizeof(rec.from_key), c->nickkey);
		str_copy(rec.to_key, sizeof(rec.to_key), to->nickkey);
		rec.from_account = c->account != NULL ?
		    account_id(c->account) : 0;
		rec.to_account = to->account != NULL ?
		    account_id(to->account) : 0;
	}
	if (c->account != NULL || (c->flags & CLIENT_BOT)) {
		/* The history keeps who sent it, as account-tag and the bot
		 * tag show it live: the same account and mode as the post
		 * below (one lock). */
		len = strlen(ctags) + 2 * NICK_MAX + 24;
		if ((stored = malloc(len)) == NULL ||
		    tags_stored(stored, len, c->account != NULL ?
		    account_name(c->account) : NULL,
		    (c->flags & CLIENT_BOT) != 0, ctags) == -1) {
			free(stored);
			if (params != params_line)
				free(params);
			turn_sendf(t, ":%s FAIL %s TEMPORARILY_UNAVAILABLE %s "
			    ":Message not sent: out of memory",
			    config.server_name, cmd, name);
			return;
		}
		rec.tags = stored;
	}
	/* Under server.lock held to read, this room's other messages may
	 * be here too: seq, post and recipients in one order. */
	if (r != NULL)
		room_post_lock(r);
	if (fan != 0) {
		store_stamp(stamp, &rec.time_ms);
		rec.seq = 0;
		rc = 0;
	} else {
		rc = store_append(&rec) == -1 ? -1 : 0;
		if (rc != -1 && r != NULL)
			room_stored_locked(r);
	}
	free(stored);
	if (params != params_line)
		free(params);
	if (rc == -1) {
		if (r != NULL)
			room_post_unlock(r);
		/* The store is failing and holds all it may: refuse now
		 * rather than let anyone believe the line was kept. */
		turn_sendf(t, ":%s FAIL %s TEMPORARILY_UNAVAILABLE %s "
		    ":Message not sent: the history store cannot keep it "
		    "now", config.server_name, cmd, name);
		return;
	}
	memset(&l, 0, sizeof(l));
	if (multi) {
		str_join(line, sizeof(line), ":", mask, " ", cmd, " ", name,
		    (char *)NULL);
		l.multi = text;
	} else
		str_join(line, sizeof(line), ":", mask, " ", cmd, " ", name,
		    " :", text, (char *)NULL);
	l.text = line;
	l.seq = rec.seq;
	l.time_ms = rec.time_ms;
	l.msgid = fan != 0 ? stamp : rec.msgid;
	l.ctags = ctags[0] != '\0' ? ctags : NULL;
	l.src = c;
	echo = (t->conn->caps & CAP(CAP_ECHO_MESSAGE)) != 0;
	if (r != NULL) {
		p = room_fanout_locked(t, r, &l, fan, 0, NULL);
		room_post_unlock(r);
	} else {
		p = post_new_locked(t, &l);
		/* The person's other devices get it as an echo; a message
		 * to oneself arrives once, echo or not, unless labeled:
		 * labeled-response puts the label on the echo-message echo
		 * only, so the message received comes as well, unlabeled
		 * (with no echo, the label goes on an ACK). */
		post_add_locked(p, to, 0);
		if (to != c)
			post_add_locked(p, c, 0);
		else if (t->label[0] != '\0')
			post_add_conn_locked(p, t->conn);
		else
			echo = 1;
	}
	turn_echo_locked(t, p, echo);
}

/*
 * Whether t->c may send to target now: 1 with the room (r) or person
 * (to, r NULL), its store key and the name shown (MSG_NAME_MAX + 1
 * bytes); else the numeric (none for a NOTICE) and 0.  A STATUSMSG
 * target ("@#room") sets *fan (room_status_target) and keeps its
 * prefix in the name; the sender passes the same checks as for the
 * whole room.  Caller holds server.lock.
 */
static int
message_target_locked(struct turn *t, const char *target, int notice,
    struct room **rp, struct client **top, char *key, char *name,
    unsigned *fan)
{
	struct client *c = t->c, *to;
	struct room *r = NULL;
	const char *room;
	char status;
	int ok = 0;

	*top = to = NULL;
	room = room_status_target(target, fan, &status);
	if (room[0] == '#') {
		if ((r = room_find_locked(room)) == NULL) {
			if (!notice)
				reply(t, ERR_NOSUCHCHANNEL, target);
		} else if (room_can_send_locked(r, c) == -1) {
			if (!notice)
				reply(t, ERR_CANNOTSENDTOCHAN, room_name(r));
		} else {
			char st[2] = { status, '\0' };

			str_join(name, MSG_NAME_MAX + 1, st, room_name(r),
			    (char *)NULL);
			str_copy(key, STORE_KEY_MAX + 1, room_key(r));
			ok = 1;
		}
	} else if (*fan != 0 || (to = client_find_locked(target)) == NULL ||
	    !(to->flags & CLIENT_REGISTERED)) {
		*fan = 0;
		if (!notice)
			reply(t, ERR_NOSUCHNICK, target);
	} else {
		str_copy(name, MSG_NAME_MAX + 1, to->nick);
		history_key(c->nick, to->nick, key, STORE_KEY_MAX + 1);
		if (!notice && to->away != NULL)
			reply(t, RPL_AWAY, to->nick, to->away);
		*top = to;
		ok = 1;
	}
	if (!notice)
		c->last_spoke = time(NULL);
	*rp = r;
	return ok;
}

/*
 * PRIVMSG and NOTICE: each target is checked, stored and posted under
 * server.lock; turn_end() delivers once the store holds it.
 */
static void
message(struct turn *t, struct irc_msg *m, const char *cmd, int notice)
{
	struct client *to;
	char key[STORE_KEY_MAX + 1], name[MSG_NAME_MAX + 1], *target, *sn;
	char done[MSG_TARGETS_MAX][STORE_KEY_MAX + 2];	/* fan, key */
	char ctags[IRC_TAGS_MAX + 1], status;
	struct room *r;
	unsigned fan;
	int ntargets = 0, ok, i;

	/* RFC 2812 3.3.2: never an automatic reply to a NOTICE. */
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		if (!notice)
			reply(t, ERR_NORECIPIENT, cmd);
		return;
	}
	if (m->nparams < 2 || m->params[1][0] == '\0') {
		if (!notice)
			reply(t, ERR_NOTEXTTOSEND);
		return;
	}
	/* Client-only tags travel only with message-tags. */
	if (!(t->conn->caps & CAP(CAP_MESSAGE_TAGS)) ||
	    tags_client_only(m->tags, ctags, sizeof(ctags)) == -1)
		ctags[0] = '\0';
	for (target = strtok_r(m->params[0], ",", &sn); target != NULL;
	    target = strtok_r(NULL, ",", &sn)) {
		if (++ntargets > MSG_TARGETS_MAX) {
			if (!notice)
				reply(t, ERR_TOOMANYTARGETS, target,
				    MSG_TARGETS_MAX);
			break;
		}
		/* A service: run here, never stored or relayed. */
		if (nickserv_reserved(target)) {
			done[ntargets - 1][0] = '\0';
			if (!notice)
				nickserv_privmsg(t, m->params[1]);
			continue;
		}
		/* A room's message changes nothing of the server's but
		 * what its post lock guards: many at once, to read. */
		if (room_status_target(target, &fan, &status)[0] == '#')
			pthread_rwlock_rdlock(&server.lock);
		else
			pthread_rwlock_wrlock(&server.lock);
		ok = message_target_locked(t, target, notice, &r, &to, key,
		    name, &fan);
		/* "#a,#A" or "bob,BOB" names one target: it gets one copy;
		 * "@#a" is another target than "#a" (fan told apart). */
		for (i = 0; ok && i < ntargets - 1; i++)
			if (done[i][0] == (char)('0' + FAN_STATUS_OF(fan)) &&
			    strcmp(done[i] + 1, key) == 0)
				ok = 0;
		if (ok) {
			done[ntargets - 1][0] =
			    (char)('0' + FAN_STATUS_OF(fan));
			str_copy(done[ntargets - 1] + 1, sizeof(done[0]) - 1,
			    key);
		} else
			done[ntargets - 1][0] = '\0';
		if (ok)
			message_post_locked(t, r, to, key, name, cmd,
			    m->params[1], ctags, 0, fan);
		pthread_rwlock_unlock(&server.lock);
	}
}

uint64_t
message_target_id(const char *target)
{
	struct client *to;
	struct room *r;
	const char *room;
	uint64_t id = 0;
	unsigned fan;
	char status;

	room = room_status_target(target, &fan, &status);
	pthread_rwlock_wrlock(&server.lock);
	if (room[0] == '#') {
		if ((r = room_find_locked(room)) != NULL)
			id = room_id(r);
	} else if ((to = client_find_locked(target)) != NULL &&
	    (to->flags & CLIENT_REGISTERED))
		id = to->id;
	pthread_rwlock_unlock(&server.lock);
	return id;
}

void
message_multiline(struct turn *t, const char *target, const char *body,
    const char *ctags, uint64_t to_id)
{
	char key[STORE_KEY_MAX + 1], name[MSG_NAME_MAX + 1];
	struct client *to;
	struct room *r;
	unsigned fan;

	/* A service answers one line at a time. */
	if (nickserv_reserved(target)) {
		turn_sendf(t, ":%s FAIL BATCH MULTILINE_INVALID_TARGET %s %s "
		    ":Invalid multiline target", config.server_name, target,
		    target);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	if (message_target_locked(t, target, 0, &r, &to, key, name, &fan)) {
		/* Its first lines were written to whoever had the nick
		 * then: someone who took it since must not read them. */
		if (to != NULL && to->id != to_id)
			turn_sendf(t, ":%s FAIL BATCH "
			    "MULTILINE_INVALID_TARGET %s %s :%s changed "
			    "hands while the batch was open; not sent",
			    config.server_name, target, name, name);
		else if (r != NULL && room_id(r) != to_id)
			/* Renamed while the batch was open, and its old
			 * name taken by a room its lines were not for. */
			turn_sendf(t, ":%s FAIL BATCH "
			    "MULTILINE_INVALID_TARGET %s %s :%s is another "
			    "channel than when the batch was opened; not "
			    "sent", config.server_name, target, name, name);
		else
			message_post_locked(t, r, to, key, name, "PRIVMSG",
			    body, ctags, 1, fan);
	}
	pthread_rwlock_unlock(&server.lock);
}

/*
 * TAGMSG carries only tags (typing notices, reactions): it goes to those
 * who negotiated message-tags and is not stored.  Like PRIVMSG it has a
 * msgid (a reaction names the msgid it answers; so may a reply to it)
 * and a time, taken when its recipients are.
 */
void
cmd_tagmsg(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c, *to;
	char ctags[IRC_TAGS_MAX + 1], mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	char msgid[STORE_STAMP_LEN + 1];
	const char *target = m->params[0], *room;
	struct room *r;
	struct post *p;
	struct line l;
	unsigned fan;
	char status;
	int echo;

	if (!(t->conn->caps & CAP(CAP_MESSAGE_TAGS))) {
		reply(t, ERR_UNKNOWNCOMMAND, "TAGMSG");
		return;
	}
	if (tags_client_only(m->tags, ctags, sizeof(ctags)) == -1 ||
	    ctags[0] == '\0')
		return;
	client_mask(c, mask, sizeof(mask));
	echo = (t->conn->caps & CAP(CAP_ECHO_MESSAGE)) != 0;
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.ctags = ctags;
	l.src = c;
	l.msgid = msgid;
	pthread_rwlock_wrlock(&server.lock);
	store_stamp(msgid, &l.time_ms);
	room = room_status_target(target, &fan, &status);
	if (room[0] == '#') {
		if ((r = room_find_locked(room)) == NULL)
			reply(t, ERR_NOSUCHCHANNEL, target);
		else if (room_can_send_locked(r, c) == -1)
			reply(t, ERR_CANNOTSENDTOCHAN, room_name(r));
		else {
			/* STATUSMSG too: "@#room" as sent. */
			if (status != '\0')
				snprintf(line, sizeof(line),
				    ":%s TAGMSG %c%s", mask, status,
				    room_name(r));
			else
				snprintf(line, sizeof(line), ":%s TAGMSG %s",
				    mask, room_name(r));
			(void)room_fanout_locked(t, r, &l,
			    (echo ? FAN_SELF : 0) | fan,
			    CAP(CAP_MESSAGE_TAGS), NULL);
		}
	} else if (fan != 0 || (to = client_find_locked(target)) == NULL ||
	    !(to->flags & CLIENT_REGISTERED))
		reply(t, ERR_NOSUCHNICK, target);
	else {
		snprintf(line, sizeof(line), ":%s TAGMSG %s", mask, to->nick);
		p = post_new_locked(t, &l);
		post_add_locked(p, to, CAP(CAP_MESSAGE_TAGS));
		if (to != c)
			post_add_locked(p, c, CAP(CAP_MESSAGE_TAGS));
		else if (t->label[0] != '\0')
			/* As for PRIVMSG: the label on the echo only. */
			post_add_conn_locked(p, t->conn);
		turn_echo_locked(t, p, echo || (to == c &&
		    t->label[0] == '\0'));
	}
	pthread_rwlock_unlock(&server.lock);
}

void
cmd_privmsg(struct turn *t, struct irc_msg *m)
{
	message(t, m, "PRIVMSG", 0);
}

void
cmd_notice(struct turn *t, struct irc_msg *m)
{
	message(t, m, "NOTICE", 1);
}

/*
 * TAGMSG to a comma-separated list of targets, as PRIVMSG takes them (at
 * most MSG_TARGETS_MAX, one copy per target however it is spelt): each
 * is a TAGMSG of its own, so with echo-message a labeled one returns its
 * echoes in one labeled-response batch.
 */
static void
cmd_tagmsg_targets(struct turn *t, struct irc_msg *m)
{
	char done[MSG_TARGETS_MAX][ROOM_NAME_MAX + NICK_MAX + 1];
	char fold[sizeof(done[0])], *list, *target, *sn;
	int ntargets = 0, i;

	if (!(t->conn->caps & CAP(CAP_MESSAGE_TAGS)) ||
	    strchr(m->params[0], ',') == NULL) {
		cmd_tagmsg(t, m);
		return;
	}
	list = m->params[0];
	for (target = strtok_r(list, ",", &sn); target != NULL;
	    target = strtok_r(NULL, ",", &sn)) {
		if (++ntargets > MSG_TARGETS_MAX) {
			reply(t, ERR_TOOMANYTARGETS, target, MSG_TARGETS_MAX);
			break;
		}
		casemap_fold(fold, target, sizeof(fold));
		snprintf(done[ntargets - 1], sizeof(done[0]), "%s", fold);
		for (i = 0; i < ntargets - 1; i++)
			if (strcmp(done[i], fold) == 0)
				break;
		if (i < ntargets - 1)
			continue;
		m->params[0] = target;
		cmd_tagmsg(t, m);
	}
}
