/*
 * command.c: the command table and dispatcher, registration (PASS, NICK,
 * USER, CAP), PING/PONG/QUIT, JOIN/PART and PRIVMSG/NOTICE.  Handlers run
 * on the sending client's thread; they touch other clients and rooms
 * only under server.lock (natterd.h has the lock order).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

struct command {
	const char	*name;
	void		(*handler)(struct client *, struct irc_msg *);
	int		 min_params;
	int		 flags;
#define CMD_PREREG	0x01	/* allowed before registration */
};

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
	{ "TAGMSG",	cmd_tagmsg,	1, 0 },
	{ "CHATHISTORY", cmd_chathistory, 1, 0 },
	{ "SETNAME",	cmd_setname,	1, 0 },
};

void
command_dispatch(struct client *c, struct irc_msg *m)
{
	const struct command *cmd = NULL;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, m->command) == 0) {
			cmd = &commands[i];
			break;
		}
	}
	/* Messages queued from earlier lines go out before anything else
	 * this client asked for can be seen. */
	if (cmd == NULL || (cmd->handler != cmd_privmsg &&
	    cmd->handler != cmd_notice))
		history_deliver(c);
	if (cmd == NULL) {
		if (c->flags & CLIENT_REGISTERED)
			reply(c, ERR_UNKNOWNCOMMAND, m->command);
		else
			reply(c, ERR_NOTREGISTERED);
		return;
	}
	if (!(c->flags & CLIENT_REGISTERED) && !(cmd->flags & CMD_PREREG)) {
		reply(c, ERR_NOTREGISTERED);
		return;
	}
	if (m->nparams < cmd->min_params) {
		reply(c, ERR_NEEDMOREPARAMS, cmd->name);
		return;
	}
	cmd->handler(c, m);
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

void
send_welcome(struct client *c)
{
	char mask[MASK_MAX + 1];

	client_mask(c, mask, sizeof(mask));
	reply(c, RPL_WELCOME, config.network, mask);
	reply(c, RPL_YOURHOST, config.server_name, NATTERD_VERSION);
	reply(c, RPL_CREATED, server.created);
	reply(c, RPL_MYINFO, config.server_name, NATTERD_VERSION, "iow",
	    "biklmnotv", "bklov");
	send_isupport(c);
	pthread_mutex_lock(&server.lock);
	send_lusers_locked(c);
	send_motd_locked(c);
	pthread_mutex_unlock(&server.lock);
}

/* --- registration --- */

void
cmd_pass(struct client *c, struct irc_msg *m)
{
	if (c->flags & CLIENT_REGISTERED) {
		reply(c, ERR_ALREADYREGISTERED);
		return;
	}
	if (config.password == NULL)
		return;
	if (strcmp(m->params[0], config.password) == 0) {
		c->reg |= REG_PASS;
		return;
	}
	reply(c, ERR_PASSWDMISMATCH);
	log_info("%s: wrong server password", c->ip);
	client_kill(c, "Bad password");
}

void
cmd_nick(struct client *c, struct irc_msg *m)
{
	char key[NICK_MAX + 1], mask[MASK_MAX + 1];
	const char *nick;
	struct client *other;
	struct buf *b;
	int i;

	if (m->nparams < 1 || m->params[0][0] == '\0') {
		reply(c, ERR_NONICKNAMEGIVEN);
		return;
	}
	nick = m->params[0];
	if (!casemap_valid_nick(nick, NICK_MAX)) {
		/* Bytes that are not UTF-8 are not echoed back. */
		reply(c, ERR_ERRONEUSNICKNAME,
		    utf8_valid(nick, strlen(nick)) ? nick : "*");
		return;
	}
	casemap_fold(key, nick, sizeof(key));
	client_mask(c, mask, sizeof(mask));

	pthread_mutex_lock(&server.lock);
	other = map_get(server.nicks, key);
	if (other != NULL && other != c) {
		pthread_mutex_unlock(&server.lock);
		reply(c, ERR_NICKNAMEINUSE, nick);
		return;
	}
	if (strcmp(c->nick, nick) == 0) {
		pthread_mutex_unlock(&server.lock);
		return;
	}
	if (c->flags & CLIENT_REGISTERED) {
		b = buf_printf(":%s NICK %s", mask, nick);
		client_send_common_locked(c, b, 1);
		buf_unref(b);
		whowas_add_locked(c);
		for (i = 0; i < c->nrooms; i++)
			history_event_locked(c->rooms[i]->key_folded, c, "NICK",
			    nick);
	}
	if (c->nickkey[0] != '\0' && strcmp(c->nickkey, key) != 0)
		map_del(server.nicks, c->nickkey);
	if (map_put(server.nicks, key, c) == -1) {
		pthread_mutex_unlock(&server.lock);
		client_kill(c, "Out of memory");
		return;
	}
	snprintf(c->nick, sizeof(c->nick), "%s", nick);
	snprintf(c->nickkey, sizeof(c->nickkey), "%s", key);
	pthread_mutex_unlock(&server.lock);

	if (!(c->flags & CLIENT_REGISTERED)) {
		c->reg |= REG_NICK;
		client_try_register(c);
	}
}

void
cmd_user(struct client *c, struct irc_msg *m)
{
	char user[USER_MAX + 1];
	const char *s;
	size_t n = 0;

	if (c->flags & CLIENT_REGISTERED) {
		reply(c, ERR_ALREADYREGISTERED);
		return;
	}
	/* Keep the characters a username may hold, like an ident reply. */
	for (s = m->params[0]; *s != '\0' && n < USER_MAX; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.~", *s) != NULL)
			user[n++] = *s;
	user[n] = '\0';
	if (n == 0) {
		reply(c, ERR_NEEDMOREPARAMS, "USER");
		return;
	}
	pthread_mutex_lock(&server.lock);
	snprintf(c->user, sizeof(c->user), "%s", user);
	n = utf8_cut(m->params[3], strlen(m->params[3]), REALNAME_MAX);
	snprintf(c->realname, sizeof(c->realname), "%.*s", (int)n,
	    m->params[3]);
	pthread_mutex_unlock(&server.lock);
	c->reg |= REG_USER;
	client_try_register(c);
}

void
cmd_ping(struct client *c, struct irc_msg *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		reply(c, ERR_NOORIGIN);
		return;
	}
	client_sendf(c, ":%s PONG %s :%s", config.server_name,
	    config.server_name, m->params[0]);
}

void
cmd_pong(struct client *c, struct irc_msg *m)
{
	/* Any input resets the ping timer; nothing more to do. */
	(void)c;
	(void)m;
}

void
cmd_quit(struct client *c, struct irc_msg *m)
{
	char why[OUT_LINE_MAX];

	/* Cut like a KICK reason, so the relayed QUIT stays one line. */
	if (m->nparams > 0 && m->params[0][0] != '\0')
		snprintf(why, sizeof(why), "Quit: %.*s", (int)utf8_cut(
		    m->params[0], strlen(m->params[0]), QUIT_MAX),
		    m->params[0]);
	else
		snprintf(why, sizeof(why), "Quit");
	client_kill(c, why);
}

/* --- rooms --- */

static void
part_locked(struct client *c, struct room *r, const char *mask,
    const char *reason)
{
	struct buf *b;

	char params[OUT_LINE_MAX];

	if (reason != NULL)
		b = buf_printf(":%s PART %s :%s", mask, r->name, reason);
	else
		b = buf_printf(":%s PART %s", mask, r->name);
	room_send_locked(r, b, NULL);
	buf_unref(b);
	snprintf(params, sizeof(params), "%s%s%s", r->name,
	    reason != NULL ? " :" : "", reason != NULL ? reason : "");
	history_event_locked(r->key_folded, c, "PART", params);
	room_remove_locked(r, c);
}

/* Checks the join rules for an existing room; returns 0 or sends the
 * error numeric and returns -1. */
static int
join_allowed_locked(struct client *c, struct room *r, const char *key)
{
	int invited = room_invited_locked(r, c);

	if (!invited && room_banned_locked(r, c)) {
		reply(c, ERR_BANNEDFROMCHAN, r->name);
		return -1;
	}
	if (!invited && (r->modes & ROOM_INVITE)) {
		reply(c, ERR_INVITEONLYCHAN, r->name);
		return -1;
	}
	if (r->key[0] != '\0' && (key == NULL || strcmp(key, r->key) != 0)) {
		reply(c, ERR_BADCHANNELKEY, r->name);
		return -1;
	}
	if (!invited && r->limit > 0 && (unsigned)r->nmembers >= r->limit) {
		reply(c, ERR_CHANNELISFULL, r->name);
		return -1;
	}
	return 0;
}

/* The JOIN line, in its extended-join form ("JOIN #r * :realname",
 * no accounts here) for members who asked for that. */
static void
join_announce_locked(struct client *c, struct room *r, const char *mask)
{
	struct buf *plain, *ext = NULL;
	struct client *m;
	int i;

	plain = buf_printf(":%s JOIN %s", mask, r->name);
	for (i = 0; i < r->nmembers; i++) {
		m = r->members[i].c;
		if (m->caps & CAP(CAP_EXTENDED_JOIN)) {
			if (ext == NULL)
				ext = buf_printf(":%s JOIN %s * :%s", mask,
				    r->name, c->realname);
			client_send(m, ext);
		} else
			client_send(m, plain);
	}
	buf_unref(plain);
	buf_unref(ext);
}

static void
join_one(struct client *c, const char *name, const char *key,
    const char *mask)
{
	char shown[ROOM_NAME_MAX + 1], folded[ROOM_NAME_MAX + 1];
	struct room *r;
	int64_t cutoff = 0;
	int created = 0, replay = 0;

	if (!casemap_valid_room(name, ROOM_NAME_MAX)) {
		reply(c, ERR_BADCHANMASK, name);
		return;
	}
	pthread_mutex_lock(&server.lock);
	r = room_find_locked(name);
	if (r != NULL && room_member_locked(r, c) != NULL)
		goto out;
	if (c->nrooms >= ROOMS_PER_CLIENT) {
		reply(c, ERR_TOOMANYCHANNELS, name);
		goto out;
	}
	if (r != NULL && join_allowed_locked(c, r, key) == -1)
		goto out;
	if (r == NULL) {
		if ((r = room_create_locked(name)) == NULL) {
			reply(c, ERR_UNKNOWNERROR, "JOIN", "Out of memory");
			goto out;
		}
		created = 1;
	}
	if (room_add_locked(r, c, created ? MEMBER_OP : 0) == -1) {
		reply(c, ERR_UNKNOWNERROR, "JOIN", "Out of memory");
		if (created)
			room_remove_locked(r, c);
		goto out;
	}
	room_invite_del_locked(r, c->nickkey);
	join_announce_locked(c, r, mask);
	away_notify_join_locked(c, r);
	if (r->topic != NULL) {
		reply(c, RPL_TOPIC, r->name, r->topic);
		reply(c, RPL_TOPICWHOTIME, r->name, r->topic_who,
		    (long long)r->topic_time);
	}
	send_names_locked(c, r);
	history_event_locked(r->key_folded, c, "JOIN", r->name);
	snprintf(shown, sizeof(shown), "%s", r->name);
	snprintf(folded, sizeof(folded), "%s", r->key_folded);
	/* Replay only what was stored before this JOIN. */
	cutoff = store_last_seq();
	replay = 1;
out:
	pthread_mutex_unlock(&server.lock);
	if (replay)
		history_replay_join(c, shown, folded, cutoff);
}

void
cmd_join(struct client *c, struct irc_msg *m)
{
	char mask[MASK_MAX + 1], *names, *keys, *name, *key;

	client_mask(c, mask, sizeof(mask));
	if (strcmp(m->params[0], "0") == 0) {
		pthread_mutex_lock(&server.lock);
		while (c->nrooms > 0)
			part_locked(c, c->rooms[c->nrooms - 1], mask, NULL);
		pthread_mutex_unlock(&server.lock);
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
		join_one(c, name, key, mask);
	}
}

void
cmd_part(struct client *c, struct irc_msg *m)
{
	char mask[MASK_MAX + 1], *name, *sn;
	const char *reason = NULL;
	struct room *r;

	if (m->nparams > 1 && m->params[1][0] != '\0')
		reason = m->params[1];
	client_mask(c, mask, sizeof(mask));
	for (name = strtok_r(m->params[0], ",", &sn); name != NULL;
	    name = strtok_r(NULL, ",", &sn)) {
		pthread_mutex_lock(&server.lock);
		r = room_find_locked(name);
		if (r == NULL)
			reply(c, ERR_NOSUCHCHANNEL, name);
		else if (room_member_locked(r, c) == NULL)
			reply(c, ERR_NOTONCHANNEL, r->name);
		else
			part_locked(c, r, mask, reason);
		pthread_mutex_unlock(&server.lock);
	}
}

/* --- messages --- */

/* 0 if c may speak in r, else the numeric's reason was sent. */
static int
can_send_locked(struct client *c, struct room *r)
{
	struct member *mb = room_member_locked(r, c);

	if (mb == NULL && (r->modes & ROOM_NOEXTERNAL))
		return -1;
	if (mb != NULL && (mb->modes & (MEMBER_OP | MEMBER_VOICE)))
		return 0;
	if (r->modes & ROOM_MODERATED)
		return -1;
	if (room_banned_locked(r, c))
		return -1;
	return 0;
}

/*
 * PRIVMSG and NOTICE: checks each target under server.lock, then stores
 * the message and queues its delivery (history.c), which happens once
 * the store holds it.
 */
static void
message(struct client *c, struct irc_msg *m, const char *cmd, int notice)
{
	char key[STORE_KEY_MAX + 1], name[ROOM_NAME_MAX + 1], *target, *sn;
	char done[MSG_TARGETS_MAX][STORE_KEY_MAX + 1];
	char ctags[IRC_TAGS_MAX + 1];
	const char *text;
	struct client *to;
	struct room *r;
	int ntargets = 0, ok, i;

	/* RFC 2812 3.3.2: never an automatic reply to a NOTICE. */
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		if (!notice)
			reply(c, ERR_NORECIPIENT, cmd);
		return;
	}
	if (m->nparams < 2 || m->params[1][0] == '\0') {
		if (!notice)
			reply(c, ERR_NOTEXTTOSEND);
		return;
	}
	text = m->params[1];
	/* Client-only tags travel only with message-tags. */
	if (!(c->caps & CAP(CAP_MESSAGE_TAGS)) ||
	    tags_client_only(m->tags, ctags, sizeof(ctags)) == -1)
		ctags[0] = '\0';
	for (target = strtok_r(m->params[0], ",", &sn); target != NULL;
	    target = strtok_r(NULL, ",", &sn)) {
		if (++ntargets > MSG_TARGETS_MAX) {
			if (!notice)
				reply(c, ERR_TOOMANYTARGETS, target,
				    MSG_TARGETS_MAX);
			break;
		}
		ok = 0;
		pthread_mutex_lock(&server.lock);
		if (target[0] == '#') {
			if ((r = room_find_locked(target)) == NULL) {
				if (!notice)
					reply(c, ERR_NOSUCHCHANNEL, target);
			} else if (can_send_locked(c, r) == -1) {
				if (!notice)
					reply(c, ERR_CANNOTSENDTOCHAN, r->name);
			} else {
				snprintf(name, sizeof(name), "%s", r->name);
				snprintf(key, sizeof(key), "%s",
				    r->key_folded);
				ok = 1;
			}
		} else if ((to = client_find_locked(target)) == NULL ||
		    !(to->flags & CLIENT_REGISTERED)) {
			if (!notice)
				reply(c, ERR_NOSUCHNICK, target);
		} else {
			snprintf(name, sizeof(name), "%s", to->nick);
			history_key(c->nick, to->nick, key, sizeof(key));
			if (!notice && to->away != NULL)
				reply(c, RPL_AWAY, to->nick, to->away);
			ok = 1;
		}
		if (!notice)
			c->last_spoke = time(NULL);
		/* "#a,#A" or "bob,BOB" names one target: it gets one copy. */
		for (i = 0; ok && i < ntargets - 1; i++)
			if (strcmp(done[i], key) == 0)
				ok = 0;
		if (ok)
			snprintf(done[ntargets - 1], sizeof(done[0]), "%s",
			    key);
		else
			done[ntargets - 1][0] = '\0';
		/* Stored (and so ordered) under the lock, delivered once
		 * the row is committed. */
		if (ok && history_message_locked(c, key, name, cmd, text,
		    ctags) == -1)
			reply(c, ERR_UNKNOWNERROR, cmd, "Out of memory");
		pthread_mutex_unlock(&server.lock);
	}
}

/*
 * TAGMSG carries only tags (typing notices, reactions): it goes at once
 * to those who negotiated message-tags and is not stored.
 */
void
cmd_tagmsg(struct client *c, struct irc_msg *m)
{
	char ctags[IRC_TAGS_MAX + 1], mask[MASK_MAX + 1];
	const char *target = m->params[0];
	struct client *to;
	struct room *r;
	struct buf *b;
	int i;

	if (!(c->caps & CAP(CAP_MESSAGE_TAGS))) {
		reply(c, ERR_UNKNOWNCOMMAND, "TAGMSG");
		return;
	}
	if (tags_client_only(m->tags, ctags, sizeof(ctags)) == -1 ||
	    ctags[0] == '\0')
		return;
	client_mask(c, mask, sizeof(mask));
	pthread_mutex_lock(&server.lock);
	if (target[0] == '#') {
		if ((r = room_find_locked(target)) == NULL)
			reply(c, ERR_NOSUCHCHANNEL, target);
		else if (can_send_locked(c, r) == -1)
			reply(c, ERR_CANNOTSENDTOCHAN, r->name);
		else {
			b = buf_printf_long("@%s :%s TAGMSG %s", ctags, mask,
			    r->name);
			for (i = 0; i < r->nmembers; i++)
				if ((r->members[i].c != c ||
				    (c->caps & CAP(CAP_ECHO_MESSAGE))) &&
				    (r->members[i].c->caps &
				    CAP(CAP_MESSAGE_TAGS)))
					client_send(r->members[i].c, b);
			buf_unref(b);
		}
	} else if ((to = client_find_locked(target)) == NULL ||
	    !(to->flags & CLIENT_REGISTERED))
		reply(c, ERR_NOSUCHNICK, target);
	else {
		b = buf_printf_long("@%s :%s TAGMSG %s", ctags, mask, to->nick);
		if (to->caps & CAP(CAP_MESSAGE_TAGS))
			client_send(to, b);
		if (to != c && (c->caps & CAP(CAP_ECHO_MESSAGE)))
			client_send(c, b);
		buf_unref(b);
	}
	pthread_mutex_unlock(&server.lock);
}

void
cmd_privmsg(struct client *c, struct irc_msg *m)
{
	message(c, m, "PRIVMSG", 0);
}

void
cmd_notice(struct client *c, struct irc_msg *m)
{
	message(c, m, "NOTICE", 1);
}
