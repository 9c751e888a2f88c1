/*
 * cmd.c: turns what the user typed into IRC lines or UI actions.  A
 * table of commands, each with its usage line and help; handlers fill a
 * struct cmd_result and never touch the model, so the UI decides what
 * to do with the result under its own lock.
 *
 * Everything that reaches lines[] is checked here: no CR, LF or NUL,
 * valid nicks and room names, and at most 510 bytes a line.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casemap.h"
#include "natter.h"
#include "utf8.h"

/* A line on the wire holds 510 bytes before CRLF. */
#define LINE_MAX_BYTES	(IRC_LINE_MAX - 2)

_Static_assert(sizeof(((struct cmd_result *)0)->lines[0]) > LINE_MAX_BYTES,
    "cmd_result lines must hold a whole IRC line");
_Static_assert(sizeof("PRIVMSG  :") - 1 + WIN_NAME_MAX + TEXT_CHUNK <=
    LINE_MAX_BYTES, "a PRIVMSG chunk plus its target must fit a line");

struct cmd {
	const char	*name;
	void		(*fn)(const char *, const char *, struct cmd_result *);
	const char	*usage;
	const char	*help;
};

static void	cmd_away(const char *, const char *, struct cmd_result *);
static void	cmd_back(const char *, const char *, struct cmd_result *);
static void	cmd_clear(const char *, const char *, struct cmd_result *);
static void	cmd_close(const char *, const char *, struct cmd_result *);
static void	cmd_help(const char *, const char *, struct cmd_result *);
static void	cmd_identify(const char *, const char *, struct cmd_result *);
static void	cmd_join(const char *, const char *, struct cmd_result *);
static void	cmd_list(const char *, const char *, struct cmd_result *);
static void	cmd_me(const char *, const char *, struct cmd_result *);
static void	cmd_motd(const char *, const char *, struct cmd_result *);
static void	cmd_msg(const char *, const char *, struct cmd_result *);
static void	cmd_namelist(const char *, const char *, struct cmd_result *);
static void	cmd_nick(const char *, const char *, struct cmd_result *);
static void	cmd_part(const char *, const char *, struct cmd_result *);
static void	cmd_query(const char *, const char *, struct cmd_result *);
static void	cmd_quit(const char *, const char *, struct cmd_result *);
static void	cmd_quote(const char *, const char *, struct cmd_result *);
static void	cmd_reconnect(const char *, const char *,
		    struct cmd_result *);
static void	cmd_register(const char *, const char *, struct cmd_result *);
static void	cmd_set(const char *, const char *, struct cmd_result *);
static void	cmd_topic(const char *, const char *, struct cmd_result *);
static void	cmd_who(const char *, const char *, struct cmd_result *);
static void	cmd_whois(const char *, const char *, struct cmd_result *);
static void	cmd_win(const char *, const char *, struct cmd_result *);

/* Sorted by name: completion and /help show them in this order.  Must
 * match cmd_names below. */
static const struct cmd	cmds[] = {
	{ "away", cmd_away, "/away [reason]", "mark yourself away" },
	{ "back", cmd_back, "/back", "no longer away" },
	{ "clear", cmd_clear, "/clear", "clear this window" },
	{ "close", cmd_close, "/close", "close this window (and leave)" },
	{ "help", cmd_help, "/help [command|keys]",
	    "this list, one command, or the keys" },
	{ "identify", cmd_identify, "/identify [account] <password>",
	    "log in to your account (NickServ)" },
	{ "join", cmd_join, "/join <#room[,#room...]> [keys]",
	    "join rooms; 7 means #7 (/j)" },
	{ "list", cmd_list, "/list [#room[,#room...]]",
	    "rooms on the server, in a window of their own" },
	{ "me", cmd_me, "/me <text>", "an action: * you text" },
	{ "motd", cmd_motd, "/motd", "the server's message of the day" },
	{ "msg", cmd_msg, "/msg <nick|#room> <text>", "send a message" },
	{ "names", cmd_namelist, "/names [#room]", "who is in a room" },
	{ "nick", cmd_nick, "/nick <nick>", "change your nick" },
	{ "part", cmd_part, "/part [#room] [reason]", "leave a room" },
	{ "query", cmd_query, "/query <nick> [text]",
	    "talk to nick in a window (/q)" },
	{ "quit", cmd_quit, "/quit [reason]", "disconnect and exit" },
	{ "quote", cmd_quote, "/quote <raw line>",
	    "send a raw IRC line (/raw)" },
	{ "reconnect", cmd_reconnect, "/reconnect",
	    "drop the connection and connect again now" },
	{ "register", cmd_register, "/register <password> [email]",
	    "register your nick as an account" },
	{ "set", cmd_set, "/set [name [value]]",
	    "list the settings, or show or change one" },
	{ "topic", cmd_topic, "/topic [text]", "show or set the topic" },
	{ "who", cmd_who, "/who [mask]", "list users matching mask" },
	{ "whois", cmd_whois, "/whois <nick>", "about nick" },
	{ "win", cmd_win, "/win <number>", "go to window number" },
};

const char *const cmd_names[] = {
	"away", "back", "clear", "close", "help", "identify", "join", "list",
	"me", "motd", "msg", "names", "nick", "part", "query", "quit",
	"quote", "reconnect", "register", "set", "topic", "who", "whois",
	"win", NULL
};

_Static_assert(sizeof(cmds) / sizeof(cmds[0]) ==
    sizeof(cmd_names) / sizeof(cmd_names[0]) - 1,
    "cmds and cmd_names must list the same commands");

static const struct {
	const char	*alias;
	const char	*name;
} aliases[] = {
	{ "j", "join" },
	{ "q", "query" },
	{ "raw", "quote" },
};

static void
set_error(struct cmd_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct cmd_result *out, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
	out->action = CMD_ERROR;
	out->nlines = 0;
}

static void
usage(struct cmd_result *out, const struct cmd *c)
{
	set_error(out, "Usage: %s", c->usage);
}

/* Names are validated before they get here and fit; cut if not. */
static void
set_target(struct cmd_result *out, const char *name)
{
	size_t	n = strlen(name);

	if (n >= sizeof(out->target))
		n = sizeof(out->target) - 1;
	memcpy(out->target, name, n);
	out->target[n] = '\0';
}

static const struct cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* Same as cmd_find, for handlers that report their own usage. */
static void
usage_of(struct cmd_result *out, const char *name)
{
	usage(out, cmd_find(name));
}

static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/*
 * Appends one formatted line to out->lines.  Returns -1 (and sets an
 * error) when the lines are full or the line would be cut: a cut line
 * could change meaning, so it is never sent.
 */
static int
add_line(struct cmd_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
add_line(struct cmd_result *out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (out->nlines >= CMD_LINES_MAX) {
		set_error(out, "Too much to send at once");
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(out->lines[out->nlines], sizeof(out->lines[0]), fmt,
	    ap);
	va_end(ap);
	if (n < 0 || n > LINE_MAX_BYTES) {
		set_error(out, "Line too long to send");
		return -1;
	}
	if (has_crlf(out->lines[out->nlines])) {
		set_error(out, "Line breaks cannot be sent");
		return -1;
	}
	out->nlines++;
	return 0;
}

/* Copies the next space-separated word of *sp into buf and advances
 * *sp past it and the spaces after.  Returns the word's length, or -1
 * if it does not fit. */
static int
next_word(const char **sp, char *buf, size_t buflen)
{
	const char	*s = *sp, *e;
	size_t		 n;

	while (*s == ' ')
		s++;
	e = s;
	while (*e != '\0' && *e != ' ')
		e++;
	n = (size_t)(e - s);
	while (*e == ' ')
		e++;
	*sp = e;
	if (n >= buflen) {
		buf[0] = '\0';
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (int)n;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Normalises a room as typed: "7" and "room" become "#7" and "#room".
 * Returns 0, or -1 if the result is not a valid room name.
 */
static int
room_name(const char *in, char *buf, size_t buflen)
{
	int	n;

	if (in[0] == '#')
		n = snprintf(buf, buflen, "%s", in);
	else
		n = snprintf(buf, buflen, "#%s", in);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	return casemap_valid_room(buf, ROOM_NAME_MAX) ? 0 : -1;
}

static int
is_room(const char *s)
{
	return s != NULL && s[0] == '#';
}

/*
 * A message target as typed: a room (with '#' or a bare number) or a
 * nick.  Returns 0, or -1 (with an error set) if invalid.
 */
static int
msg_target(const char *in, char *buf, size_t buflen,
    struct cmd_result *out)
{
	if (in[0] == '#' || all_digits(in)) {
		if (room_name(in, buf, buflen) == -1) {
			set_error(out, "Not a valid room name: %s", in);
			return -1;
		}
		return 0;
	}
	if (!casemap_valid_nick(in, NICK_MAX) ||
	    (size_t)snprintf(buf, buflen, "%s", in) >= buflen) {
		set_error(out, "Not a valid nick: %s", in);
		return -1;
	}
	return 0;
}

/*
 * Length of the next chunk of text: at most max bytes, ending at the
 * last space that fits if there is one (*skip is then 1: that space is
 * the line break and is not sent), never inside a UTF-8 character.
 */
static size_t
chunk_len(const char *text, size_t len, size_t max, size_t *skip)
{
	size_t	n, i;

	*skip = 0;
	if (len <= max)
		return len;
	/* text[max] is in range: len > max.  A space there means the
	 * whole max bytes fit. */
	for (i = max; i > 0; i--)
		if (text[i] == ' ') {
			*skip = 1;
			return i;
		}
	n = utf8_cut(text, len, max);
	return n > 0 ? n : max;	/* junk bytes: cut anyway, never loop */
}

/*
 * PRIVMSGs to target holding text in chunks of at most TEXT_CHUNK bytes
 * (less what ctcp adds), each its own line.  ctcp: NULL, or a CTCP verb
 * ("ACTION") every chunk is wrapped in.
 */
static void
add_text(struct cmd_result *out, const char *target, const char *text,
    const char *ctcp)
{
	size_t	len = strlen(text), n, skip, max = TEXT_CHUNK;

	if (has_crlf(text)) {
		set_error(out, "Line breaks cannot be sent");
		return;
	}
	if (ctcp != NULL)
		max -= strlen(ctcp) + 3;
	out->action = CMD_SEND;
	while (len > 0) {
		n = chunk_len(text, len, max, &skip);
		if (ctcp != NULL) {
			if (add_line(out, "PRIVMSG %s :\001%s %.*s\001", target,
			    ctcp, (int)n, text) == -1)
				return;
		} else if (add_line(out, "PRIVMSG %s :%.*s", target, (int)n,
		    text) == -1)
			return;
		text += n + skip;
		len -= n + skip;
	}
}

static void
cmd_join(const char *args, const char *target, struct cmd_result *out)
{
	char		 list[512], keys[512], room[ROOM_NAME_MAX + 2];
	char		 rooms[LINE_MAX_BYTES + 1], *p, *item;
	const char	*s = args;
	size_t		 used = 0;
	int		 n;

	(void)target;
	if (next_word(&s, list, sizeof(list)) <= 0) {
		usage_of(out, "join");
		return;
	}
	if (next_word(&s, keys, sizeof(keys)) < 0 || *s != '\0') {
		usage_of(out, "join");
		return;
	}
	rooms[0] = '\0';
	p = list;
	while ((item = strsep(&p, ",")) != NULL) {
		if (*item == '\0' ||
		    room_name(item, room, sizeof(room)) == -1) {
			set_error(out, "Not a valid room name: %s", item);
			return;
		}
		n = snprintf(rooms + used, sizeof(rooms) - used, "%s%s",
		    used > 0 ? "," : "", room);
		if (n < 0 || (size_t)n >= sizeof(rooms) - used) {
			set_error(out, "Too many rooms at once");
			return;
		}
		if (used == 0)
			set_target(out, room);
		used += (size_t)n;
	}
	if (keys[0] != '\0')
		n = add_line(out, "JOIN %s %s", rooms, keys);
	else
		n = add_line(out, "JOIN %s", rooms);
	if (n == 0)
		out->action = CMD_SEND;
}

static void
cmd_part(const char *args, const char *target, struct cmd_result *out)
{
	char		 word[512], room[ROOM_NAME_MAX + 2];
	const char	*s = args, *reason;

	next_word(&s, word, sizeof(word));
	if (word[0] == '#' || all_digits(word)) {
		if (room_name(word, room, sizeof(room)) == -1) {
			set_error(out, "Not a valid room name: %s", word);
			return;
		}
		reason = s;
	} else if (is_room(target)) {
		snprintf(room, sizeof(room), "%s", target);
		reason = args;
		while (*reason == ' ')
			reason++;
	} else {
		usage_of(out, "part");
		return;
	}
	if (*reason != '\0')
		add_line(out, "PART %s :%s", room, reason);
	else
		add_line(out, "PART %s", room);
	if (out->action != CMD_ERROR) {
		out->action = CMD_SEND;
		set_target(out, room);
	}
}

static void
cmd_msg(const char *args, const char *target, struct cmd_result *out)
{
	char		 who[512], to[WIN_NAME_MAX];
	const char	*s = args;

	(void)target;
	if (next_word(&s, who, sizeof(who)) <= 0 || *s == '\0') {
		usage_of(out, "msg");
		return;
	}
	if (msg_target(who, to, sizeof(to), out) == -1)
		return;
	set_target(out, to);
	add_text(out, to, s, NULL);
}

static void
cmd_query(const char *args, const char *target, struct cmd_result *out)
{
	char		 who[512];
	const char	*s = args;

	(void)target;
	if (next_word(&s, who, sizeof(who)) <= 0) {
		usage_of(out, "query");
		return;
	}
	if (!casemap_valid_nick(who, NICK_MAX)) {
		set_error(out, "Not a valid nick: %s", who);
		return;
	}
	set_target(out, who);
	if (*s != '\0') {
		add_text(out, who, s, NULL);
		if (out->action == CMD_ERROR)
			return;
	}
	out->action = CMD_QUERY;
}

static void
cmd_me(const char *args, const char *target, struct cmd_result *out)
{
	while (*args == ' ')
		args++;
	if (*args == '\0') {
		usage_of(out, "me");
		return;
	}
	if (target == NULL) {
		set_error(out, "You are not in a room: use /join #room");
		return;
	}
	set_target(out, target);
	add_text(out, target, args, "ACTION");
}

static void
cmd_nick(const char *args, const char *target, struct cmd_result *out)
{
	char		 nick[512];
	const char	*s = args;

	(void)target;
	if (next_word(&s, nick, sizeof(nick)) <= 0 || *s != '\0') {
		usage_of(out, "nick");
		return;
	}
	if (!casemap_valid_nick(nick, NICK_MAX)) {
		set_error(out, "Not a valid nick: %s", nick);
		return;
	}
	if (add_line(out, "NICK %s", nick) == 0)
		out->action = CMD_SEND;
}

static void
cmd_topic(const char *args, const char *target, struct cmd_result *out)
{
	int	rc;

	if (!is_room(target)) {
		set_error(out, "/topic works in a room window");
		return;
	}
	while (*args == ' ')
		args++;
	if (*args == '\0')
		rc = add_line(out, "TOPIC %s", target);
	else
		rc = add_line(out, "TOPIC %s :%s", target, args);
	if (rc == 0)
		out->action = CMD_SEND;
}

static void
cmd_namelist(const char *args, const char *target, struct cmd_result *out)
{
	char		 word[512], room[ROOM_NAME_MAX + 2];
	const char	*s = args;

	if (next_word(&s, word, sizeof(word)) > 0) {
		if (room_name(word, room, sizeof(room)) == -1) {
			set_error(out, "Not a valid room name: %s", word);
			return;
		}
	} else if (is_room(target))
		snprintf(room, sizeof(room), "%s", target);
	else {
		usage_of(out, "names");
		return;
	}
	if (add_line(out, "NAMES %s", room) == 0)
		out->action = CMD_SEND;
}

static void
cmd_list(const char *args, const char *target, struct cmd_result *out)
{
	char		 rooms[512];
	const char	*s = args;
	int		 rc;

	(void)target;
	if (next_word(&s, rooms, sizeof(rooms)) < 0 || *s != '\0') {
		usage_of(out, "list");
		return;
	}
	if (rooms[0] == '\0')
		rc = add_line(out, "LIST");
	else
		rc = add_line(out, "LIST %s", rooms);
	if (rc == 0)
		out->action = CMD_SEND;
}

static void
cmd_motd(const char *args, const char *target, struct cmd_result *out)
{
	(void)target;
	while (*args == ' ')
		args++;
	if (*args != '\0') {
		usage_of(out, "motd");
		return;
	}
	if (add_line(out, "MOTD") == 0)
		out->action = CMD_SEND;
}

static void
cmd_who(const char *args, const char *target, struct cmd_result *out)
{
	char		 mask[512];
	const char	*s = args;
	int		 rc;

	if (next_word(&s, mask, sizeof(mask)) < 0 || *s != '\0') {
		usage_of(out, "who");
		return;
	}
	if (mask[0] == '\0' && is_room(target))
		rc = add_line(out, "WHO %s", target);
	else if (mask[0] == '\0')
		rc = add_line(out, "WHO");
	else
		rc = add_line(out, "WHO %s", mask);
	if (rc == 0)
		out->action = CMD_SEND;
}

static void
cmd_whois(const char *args, const char *target, struct cmd_result *out)
{
	char		 nick[512];
	const char	*s = args;

	(void)target;
	if (next_word(&s, nick, sizeof(nick)) <= 0 || *s != '\0') {
		usage_of(out, "whois");
		return;
	}
	if (!casemap_valid_nick(nick, NICK_MAX)) {
		set_error(out, "Not a valid nick: %s", nick);
		return;
	}
	if (add_line(out, "WHOIS %s", nick) == 0)
		out->action = CMD_SEND;
}

static void
cmd_away(const char *args, const char *target, struct cmd_result *out)
{
	(void)target;
	while (*args == ' ')
		args++;
	if (add_line(out, "AWAY :%s", *args != '\0' ? args : "away") == 0)
		out->action = CMD_SEND;
}

static void
cmd_back(const char *args, const char *target, struct cmd_result *out)
{
	(void)args;
	(void)target;
	if (add_line(out, "AWAY") == 0)
		out->action = CMD_SEND;
}

static void
cmd_quote(const char *args, const char *target, struct cmd_result *out)
{
	(void)target;
	while (*args == ' ')
		args++;
	if (*args == '\0') {
		usage_of(out, "quote");
		return;
	}
	if (has_crlf(args)) {
		set_error(out, "/quote: CR and LF cannot be sent");
		return;
	}
	if (add_line(out, "%s", args) == 0)
		out->action = CMD_SEND;
}

/* IRCv3 draft/account-registration: REGISTER <account> <email> <password>,
 * "*" for the account (the current nick) and for no email.  The line
 * carries a password: it is never shown (out->secret). */
static void
cmd_register(const char *args, const char *target, struct cmd_result *out)
{
	char	 pass[400], email[256];

	(void)target;
	if (next_word(&args, pass, sizeof(pass)) <= 0 || has_crlf(pass)) {
		usage_of(out, "register");
		return;
	}
	if (*args == '\0')
		snprintf(email, sizeof(email), "*");
	else if (next_word(&args, email, sizeof(email)) <= 0 ||
	    *args != '\0' ||
	    has_crlf(email) || email[0] == ':') {
		explicit_bzero(pass, sizeof(pass));
		usage_of(out, "register");
		return;
	}
	if (add_line(out, "REGISTER * %s %s", email, pass) == 0) {
		out->action = CMD_SEND;
		out->secret = 1;
	}
	explicit_bzero(pass, sizeof(pass));
}

/* NickServ IDENTIFY [account] password: what irssi and WeeChat users
 * type, and what natterd's NickServ answers.  Never shown. */
static void
cmd_identify(const char *args, const char *target, struct cmd_result *out)
{
	char	 a[400], b[400];
	int	 two;

	(void)target;
	if (next_word(&args, a, sizeof(a)) <= 0 || has_crlf(a)) {
		usage_of(out, "identify");
		return;
	}
	two = *args != '\0';
	if (two && (next_word(&args, b, sizeof(b)) <= 0 || *args != '\0' ||
	    has_crlf(b))) {
		explicit_bzero(a, sizeof(a));
		usage_of(out, "identify");
		return;
	}
	if ((two ? add_line(out, "PRIVMSG NickServ :IDENTIFY %s %s", a, b) :
	    add_line(out, "PRIVMSG NickServ :IDENTIFY %s", a)) == 0) {
		out->action = CMD_SEND;
		out->secret = 1;
	}
	explicit_bzero(a, sizeof(a));
	if (two)
		explicit_bzero(b, sizeof(b));
}

int
cmd_is_secret(const char *line)
{
	static const char *const secret[] = {
		"register", "identify", NULL
	};
	static const char *const raw[] = {
		"PASS", "AUTHENTICATE", "REGISTER", NULL
	};
	char		 name[16], w[16];
	const char	*s = line, *p;
	size_t		 n, i;

	if (s[0] != '/' || s[1] == '/')
		return 0;
	s++;
	n = strcspn(s, " ");
	if (n == 0 || n >= sizeof(name))
		return 0;
	for (i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)s[i]);
	name[n] = '\0';
	for (i = 0; secret[i] != NULL; i++)
		if (strcmp(name, secret[i]) == 0)
			return 1;
	for (p = s + n; *p == ' '; p++)
		;
	/* /quote PASS ..., /msg NickServ IDENTIFY ... */
	if (strcmp(name, "quote") == 0 || strcmp(name, "raw") == 0) {
		n = strcspn(p, " ");
		for (i = 0; raw[i] != NULL; i++)
			if (n == strlen(raw[i]) &&
			    strncasecmp(p, raw[i], n) == 0)
				return 1;
	} else if (strcmp(name, "msg") == 0 || strcmp(name, "query") == 0) {
		n = strcspn(p, " ");
		if (n != 8 || strncasecmp(p, "nickserv", 8) != 0)
			return 0;
		for (p += n; *p == ' '; p++)
			;
		n = strcspn(p, " ");
		if (n >= sizeof(w))
			return 0;
		memcpy(w, p, n);
		w[n] = '\0';
		for (i = 0; i < n; i++)
			w[i] = (char)toupper((unsigned char)w[i]);
		return strcmp(w, "IDENTIFY") == 0 ||
		    strcmp(w, "REGISTER") == 0 || strcmp(w, "PASSWD") == 0 ||
		    strcmp(w, "GHOST") == 0 || strcmp(w, "DROP") == 0;
	}
	return 0;
}

static void
cmd_win(const char *args, const char *target, struct cmd_result *out)
{
	char		 num[16];
	const char	*s = args;
	long		 n;

	(void)target;
	if (next_word(&s, num, sizeof(num)) <= 0 || *s != '\0' ||
	    !all_digits(num) || (n = strtol(num, NULL, 10)) < 1 ||
	    n > 9999) {
		usage_of(out, "win");
		return;
	}
	out->action = CMD_WIN;
	out->arg = (int)n;
}

static void
cmd_close(const char *args, const char *target, struct cmd_result *out)
{
	(void)args;
	/* No target: the status window (which the UI refuses to close)
	 * or the LIST window, which closes like a query. */
	if (target == NULL) {
		out->action = CMD_CLOSE;
		return;
	}
	/* Leaving the room is part of closing its window: the UI sends
	 * lines[] and closes. */
	if (is_room(target) && add_line(out, "PART %s", target) == -1)
		return;
	set_target(out, target);
	out->action = CMD_CLOSE;
}

static void
cmd_clear(const char *args, const char *target, struct cmd_result *out)
{
	(void)args;
	(void)target;
	out->action = CMD_CLEAR;
}

/* natter.c applies it (settings_set): the settings live in the
 * session, which cmd.c never touches. */
static void
cmd_set(const char *args, const char *target, struct cmd_result *out)
{
	(void)target;
	if (strlen(args) >= sizeof(out->msg)) {
		usage_of(out, "set");
		return;
	}
	snprintf(out->msg, sizeof(out->msg), "%s", args);
	out->action = CMD_SET;
}

static void
cmd_reconnect(const char *args, const char *target, struct cmd_result *out)
{
	(void)args;
	(void)target;
	out->action = CMD_RECONNECT;
}

static void
cmd_quit(const char *args, const char *target, struct cmd_result *out)
{
	int	rc;

	(void)target;
	while (*args == ' ')
		args++;
	if (*args != '\0')
		rc = add_line(out, "QUIT :%s", args);
	else
		rc = add_line(out, "QUIT");
	if (rc == 0)
		out->action = CMD_QUIT;
}

/* /help keys: the keys natter.1 lists, in short. */
#define KEYS_HELP \
	"M-1..M-9, M-0: window 1 to 10; C-n, C-p, M-Left, M-Right: next, " \
	"previous\n" \
	"M-a: the next window with activity; PgUp, PgDn: scroll\n" \
	"Tab: complete a nick, a #room or a /command; Up, Down: lines " \
	"entered before\n" \
	"F7, M-n: show or hide the nick list"

static void
cmd_help(const char *args, const char *target, struct cmd_result *out)
{
	const struct cmd	*c;
	char			 word[64];
	const char		*w;
	size_t			 i, used = 0;
	int			 n;

	(void)target;
	if (next_word(&args, word, sizeof(word)) > 0) {
		for (i = 0; word[i] != '\0'; i++)
			word[i] = (char)tolower((unsigned char)word[i]);
		w = word[0] == '/' ? word + 1 : word;
		if (strcmp(w, "keys") == 0) {
			snprintf(out->msg, sizeof(out->msg), "%s", KEYS_HELP);
			out->action = CMD_INFO;
			return;
		}
		for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
			if (strcmp(aliases[i].alias, w) == 0)
				w = aliases[i].name;
		if ((c = cmd_find(w)) == NULL) {
			set_error(out, "No such command: /%s", w);
			return;
		}
		snprintf(out->msg, sizeof(out->msg), "%s: %s", c->usage,
		    c->help);
		out->action = CMD_INFO;
		return;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		n = snprintf(out->msg + used, sizeof(out->msg) - used,
		    "%s%s  %s", i > 0 ? "\n" : "", cmds[i].usage,
		    cmds[i].help);
		if (n < 0 || (size_t)n >= sizeof(out->msg) - used)
			break;
		used += (size_t)n;
	}
	_Static_assert(sizeof(out->msg) >= 1024, "/help needs 1 KB");
	out->action = CMD_INFO;
}

void
cmd_parse(const char *input, const char *target, struct cmd_result *out)
{
	const struct cmd	*c;
	char			 name[32];
	const char		*s, *args;
	size_t			 n, i;

	memset(out, 0, sizeof(*out));
	out->action = CMD_NONE;
	/* A window name is trusted no more than typed text. */
	if (target != NULL && (target[0] == '\0' ||
	    strpbrk(target, " \r\n") != NULL))
		target = NULL;
	if (input[0] == '\0')
		return;
	if (input[0] != '/' || input[1] == '/') {
		if (target == NULL) {
			set_error(out,
			    "You are not in a room: use /join #room");
			return;
		}
		set_target(out, target);
		add_text(out, target, input[0] == '/' ? input + 1 : input,
		    NULL);
		return;
	}
	s = input + 1;
	n = strcspn(s, " ");
	args = s + n;
	while (*args == ' ')
		args++;
	if (n == 0 || n >= sizeof(name)) {
		set_error(out, "Unknown command: /%.*s (try /help)",
		    (int)(n < 64 ? n : 64), s);
		return;
	}
	for (i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)s[i]);
	name[n] = '\0';
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].alias, name) == 0) {
			snprintf(name, sizeof(name), "%s", aliases[i].name);
			break;
		}
	if ((c = cmd_find(name)) == NULL) {
		set_error(out, "Unknown command: /%.*s (try /help)", (int)n,
		    s);
		return;
	}
	c->fn(args, target, out);
}
