/*
 * natterd.h: natterd's one internal header.
 *
 * Threads: the main thread accepts; each client has one detached thread
 * (client.c); one thread waits for signals (natterd.c).  With --user, a
 * root helper process reads files for reloads (privsep.c).
 *
 * Locks, in the only order they may be taken:
 *   1. server.lock   guards struct server, every struct room, and the
 *                    fields of struct client marked [S].
 *   2. client->out_lock  guards that client's output queue and the
 *                    fields marked [O].
 * Never block on a socket, the disk or DNS while holding either lock:
 * sends under them are MSG_DONTWAIT.  Fields marked [T] belong to the
 * client's own thread and are never touched by others.  Fields marked
 * [R] are set before the client is published and never change.
 */
#ifndef NATTERD_H
#define NATTERD_H

#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "casemap.h"
#include "frame.h"
#include "irc.h"
#include "numeric.h"

#define NATTERD_VERSION		"natterd-0.1.0"

#ifndef NATTERD_STACK_SIZE
#define NATTERD_STACK_SIZE	(64 * 1024)
#endif

#define USER_MAX	16	/* USERLEN */
#define HOST_MAX	64	/* a numeric IPv6 address fits */
#define REALNAME_MAX	128
#define TOPIC_MAX	390	/* TOPICLEN */
#define AWAY_MAX	200	/* AWAYLEN */
#define KICK_MAX	390	/* KICKLEN */
#define QUIT_MAX	300	/* a QUIT reason, cut there when longer */
#define KEY_MAX		23	/* channel key */
#define ROOMS_PER_CLIENT 50	/* CHANLIMIT */
#define BAN_LIST_MAX	100	/* MAXLIST */
#define MSG_TARGETS_MAX	4	/* TARGMAX for PRIVMSG and NOTICE */
#define KICK_TARGETS_MAX 4	/* TARGMAX for KICK: users per command */
#define MODES_PER_LINE	4	/* MODES */
#define WHOWAS_MAX	256	/* remembered nicks */
#define OUT_LINE_MAX	1024	/* a formatted outgoing line, CRLF included */
#define MASK_MAX	(NICK_MAX + USER_MAX + HOST_MAX + 3)

/*
 * IRCv3 capabilities natterd offers, in the order CAP LS lists them:
 * X(bit name, wire name, value for CAP LS 302 or NULL).
 */
#define CAP_LIST(X)							\
	X(CAP_AWAY_NOTIFY,	"away-notify",		NULL)		\
	X(CAP_BATCH,		"batch",		NULL)		\
	X(CAP_CAP_NOTIFY,	"cap-notify",		NULL)		\
	X(CAP_CHATHISTORY,	"draft/chathistory",	NULL)		\
	X(CAP_CHGHOST,		"chghost",		NULL)		\
	X(CAP_ECHO_MESSAGE,	"echo-message",		NULL)		\
	X(CAP_EXTENDED_JOIN,	"extended-join",	NULL)		\
	X(CAP_INVITE_NOTIFY,	"invite-notify",	NULL)		\
	X(CAP_LABELED_RESPONSE,	"labeled-response",	NULL)		\
	X(CAP_MESSAGE_TAGS,	"message-tags",		NULL)		\
	X(CAP_MULTI_PREFIX,	"multi-prefix",		NULL)		\
	X(CAP_SERVER_TIME,	"server-time",		NULL)		\
	X(CAP_SETNAME,		"setname",		NULL)		\
	X(CAP_USERHOST_IN_NAMES, "userhost-in-names",	NULL)

#define CAP_ENUM(bit, name, value)	bit,
enum cap_bit {
	CAP_LIST(CAP_ENUM)
	CAP_COUNT
};
#undef CAP_ENUM
#define CAP(bit)	(1u << (bit))

#define CHATHISTORY_MAX	100	/* ISUPPORT CHATHISTORY: most lines a query */

/* --- a reference-counted, formatted line (output.c) --- */
struct buf {
	atomic_int	 refs;
	size_t		 len;
	char		 data[];	/* CRLF-terminated, not NUL-terminated */
};

/* --- per-client output queue (output.c), guarded by out_lock --- */
struct outq {
	struct buf	**ring;		/* NULL while empty */
	unsigned	 head;
	unsigned	 count;
	unsigned	 cap;
	size_t		 off;		/* bytes of ring[head] already sent */
	size_t		 bytes;		/* unsent bytes queued */
};

struct room;
struct ssl_st;

struct client {
	atomic_int	 refs;		/* own thread 1, plus each holder */
	int		 fd;				/* [R] */
	struct ssl_st	*ssl;		/* [T] NULL on a plain connection */
	int		 tls;		/* [R] accepted on a TLS port */
	pthread_t	 thread;			/* [S] set at accept */
	char		 ip[HOST_MAX];			/* [R] numeric */
	char		 host[HOST_MAX];		/* [R] shown host */
	time_t		 signon;			/* [S] wall clock */

	/* Identity: written by the own thread under server.lock. */
	char		 nick[NICK_MAX + 1];		/* [S] "*" until NICK */
	char		 nickkey[NICK_MAX + 1];		/* [S] casefolded */
	char		 user[USER_MAX + 1];		/* [S] */
	char		 realname[REALNAME_MAX + 1];	/* [S] */
	char		*away;				/* [S] NULL if here */
	unsigned	 caps;		/* [S] CAP(...) bits it enabled */
	unsigned	 flags;				/* [S] */
#define CLIENT_REGISTERED	0x01
#define CLIENT_INVISIBLE	0x02	/* +i */
#define CLIENT_OPER		0x04	/* +o */
#define CLIENT_WALLOPS		0x08	/* +w */
	time_t		 last_spoke;			/* [S] for WHOIS idle */

	struct room	**rooms;			/* [S] joined rooms */
	int		 nrooms;			/* [S] */
	int		 roomcap;			/* [S] */
	unsigned long	 mark;				/* [S] broadcast dedup */
	struct client	*next;				/* [S] server.clients */
	struct client	*prev;				/* [S] */

	pthread_mutex_t	 out_lock;
	struct outq	 q;				/* [O] */
	int		 want_out;	/* [O] owner polls POLLOUT or is woken */
	int		 writing;	/* [O] a thread is in writev() for c */
	int		 closing;			/* [O] */
	char		*close_reason;			/* [O] set by others */

	/* Own thread only. */
	struct frame	 frame;				/* [T] */
	unsigned	 reg;				/* [T] */
#define REG_PASS	0x01	/* a correct PASS came, or none needed */
#define REG_NICK	0x02
#define REG_USER	0x04
#define REG_CAP		0x08	/* CAP LS/REQ seen, END not yet */
	int		 cap_version;			/* [T] 0, or 302 */
	struct timespec	 connected;			/* [T] monotonic */
	struct timespec	 last_read;			/* [T] monotonic */
	int		 ping_sent;			/* [T] awaiting PONG */
	int		 tls_want_write;	/* [T] SSL_read needs POLLOUT */
	/* Flood control: a token bucket of lines, and the input it has
	 * not let through yet (the receive queue), heap only while used. */
	double		 tokens;			/* [T] */
	long long	 tokens_ms;	/* [T] monotonic ms of last refill */
	char		*rq;				/* [T] */
	size_t		 rqlen;				/* [T] */
	int		 eof;		/* [T] peer closed; rq still to do */
	char		*quit_reason;			/* [T] set by QUIT */
};

/* A member of a room, and its prefix modes. */
struct member {
	struct client	*c;
	unsigned	 modes;
#define MEMBER_OP	0x01	/* @ */
#define MEMBER_VOICE	0x02	/* + */
};

struct ban {
	char		*mask;
	char		*setter;
	time_t		 when;
};

/* All fields guarded by server.lock.  Membership changes only through
 * room_add_locked()/room_remove_locked(), which keep client->rooms in
 * step and free the room when its last member leaves. */
struct room {
	char		 name[ROOM_NAME_MAX + 1];
	char		 key_folded[ROOM_NAME_MAX + 1];
	time_t		 created;
	char		*topic;		/* NULL if none */
	char		*topic_who;	/* nick!user@host of the setter */
	time_t		 topic_time;
	unsigned	 modes;
#define ROOM_INVITE	0x01	/* +i */
#define ROOM_MODERATED	0x02	/* +m */
#define ROOM_NOEXTERNAL	0x04	/* +n */
#define ROOM_TOPICLOCK	0x08	/* +t */
	char		 key[KEY_MAX + 1];	/* +k, "" if unset */
	unsigned	 limit;			/* +l, 0 if unset */
	struct ban	*bans;
	int		 nbans;
	char		**invites;	/* casefolded nicks invited */
	int		 ninvites;
	struct member	*members;
	int		 nmembers;
	int		 memcap;
};

/* One operator block: name and either a crypt(3) hash or a plain
 * password given with --oper. */
struct oper {
	char		*name;
	char		*secret;
	int		 hashed;
};

struct config {
	const char	*listen;	/* NULL: all interfaces */
	const char	*port;
	char		 server_name[64];
	const char	*network;
	char		*password;	/* NULL: none */
	const char	*oper_file;
	struct oper	*cli_opers;	/* from --oper */
	int		 ncli_opers;
	const char	*motd_file;
	unsigned	 max_clients;
	unsigned	 max_per_ip;	/* 0: no limit */
	size_t		 sendq;
	int		 reg_timeout;
	int		 ping_interval;
	int		 ping_timeout;
	const char	*db_path;	/* NULL: the default under XDG_STATE_HOME */
	int		 history;	/* what --db means, set at start-up */
#define HISTORY_FILE	0	/* a database file */
#define HISTORY_MEMORY	1	/* ":memory:": kept until natterd stops */
#define HISTORY_OFF	2	/* "off": nothing kept */
	int		 history_lines;	/* replayed on JOIN */
	int		 history_days;	/* 0: keep forever */
	int		 history_max;	/* rows per target, 0: no limit */
	const char	*tls_port;	/* NULL: no TLS listener */
	const char	*tls_cert;
	const char	*tls_key;
	int		 sts_duration;	/* seconds; 0: no sts cap */
	const char	*user;		/* --user: drop to it after binding */
	unsigned	 flood_burst;	/* lines at once; 0: no flood control */
	unsigned	 flood_rate;	/* lines a second after that */
	size_t		 recvq;		/* bytes held back before Excess Flood */
	unsigned	 throttle;	/* new connections per IP a minute */
};

struct whowas {
	char		 nick[NICK_MAX + 1];
	char		 user[USER_MAX + 1];
	char		 host[HOST_MAX];
	char		 realname[REALNAME_MAX + 1];
	time_t		 when;
};

struct map;

struct server {
	pthread_mutex_t	 lock;		/* guards everything below */
	pthread_cond_t	 drained;	/* signalled when nclients hits 0 */
	struct map	*nicks;		/* casefolded nick -> struct client */
	struct map	*rooms;		/* casefolded name -> struct room */
	struct map	*ips;		/* ip -> connection count (uintptr_t) */
	struct client	*clients;	/* every connection */
	unsigned	 nclients;	/* connections */
	unsigned	 nusers;	/* registered */
	unsigned	 ninvisible;	/* registered and +i */
	unsigned	 nopers;
	unsigned	 max_users;	/* peak of nusers */
	unsigned long	 gen;		/* broadcast generation */
	struct whowas	 whowas[WHOWAS_MAX];
	unsigned	 whowas_next;
	char		**motd;		/* lines, NULL if none */
	int		 nmotd;
	struct oper	*file_opers;	/* from --oper-file */
	int		 nfile_opers;
	int		 stopping;
	time_t		 started;
	char		 created[64];	/* for 003 */
};

extern struct server	 server;
extern struct config	 config;	/* read-only once threads run */

/* map.c: string-keyed hash map; keys are copied, values borrowed. */
struct map	*map_new(void);
void		 map_free(struct map *);
void		*map_get(struct map *, const char *key);
int		 map_put(struct map *, const char *key, void *val);
void		*map_del(struct map *, const char *key);
size_t		 map_count(struct map *);
/* Calls fn for every entry; fn must not change the map. */
void		 map_foreach(struct map *, void (*fn)(const char *key,
		    void *val, void *arg), void *arg);

/* output.c */
struct buf	*buf_new(size_t len);
/* Formats one line, appends CRLF.  Never fails: a line longer than
 * OUT_LINE_MAX - 2 is cut at a UTF-8 boundary (never happens for lines
 * built from a 512-byte input). */
struct buf	*buf_printf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Like buf_printf, for a line with message tags: up to IRC_TAGS_MAX
 * more bytes. */
struct buf	*buf_printf_long(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
struct buf	*buf_ref(struct buf *);
void		 buf_unref(struct buf *);
/*
 * Queues b on c (taking its own reference).  Disconnects c at the SendQ
 * limit.  Safe from any thread, with or without server.lock.  Inside a
 * batch the write happens at batch_end(); outside one, at once.
 */
void		 client_send(struct client *c, struct buf *b);
/* client_send without gathering the thread's own client's output on
 * its stack: for lines whose order among all threads' lines matters
 * (stored messages, delivered in store order). */
void		 client_send_queued(struct client *c, struct buf *b);
/*
 * A batch gathers the clients a thread queued output for, so that each
 * gets one writev() for everything one read of input produced, made
 * after server.lock is released.  Per thread; batches do not nest.
 */
void		 batch_begin(void);
/* A batch whose output to c (the thread's own client) is gathered in
 * out (outcap bytes, on the caller's stack) and written at batch_end()
 * without allocating. */
void		 batch_begin_self(struct client *c, char *out, size_t outcap);
void		 batch_end(void);
/* labeled-response: marks where a labeled command's replies start in
 * the thread's gathered output; -1 if it cannot be labeled. */
long		 batch_mark(void);
/* Tags everything gathered since mark with label: one line gets the
 * tag, several go in a labeled-response batch, none gets an ACK. */
void		 batch_label(struct client *c, long mark, const char *label,
		    int quiet_ok);
/* A copy of b with tag ("key=value") added to its tags. */
struct buf	*buf_add_tag(const struct buf *b, const char *tag);
struct client	*client_ref(struct client *c);
/* Closes the socket and frees c with the last reference. */
void		 client_unref(struct client *c);
void		 client_sendf(struct client *c, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Numeric reply: see numeric.h. */
void		 reply(struct client *c, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Writes as much queued output as the socket takes.  Own thread only.
 * Returns -1 on a write error. */
int		 client_flush(struct client *c);
/* At teardown: writes what is queued, after any write in progress by
 * another thread.  Returns 1 if nothing is left. */
int		 client_flush_final(struct client *c);
void		 outq_clear(struct outq *q);

/* privsep.c */
/* The files reloaded on SIGHUP and REHASH, by index (never by path). */
enum priv_file {
	PRIV_MOTD,		/* --motd */
	PRIV_OPER_FILE,		/* --oper-file */
	PRIV_TLS_CERT,		/* --tls-cert */
	PRIV_TLS_KEY		/* --tls-key */
};
#define PRIV_FILE_MAX	(1024 * 1024)	/* bigger is EFBIG */
/* Forks the root helper that reads them for a server about to drop
 * root (--user).  Start-up only, one thread.  -1 with errno set. */
int		 priv_start(void);
/* The file which, whole, in a new buffer with a NUL after its *len
 * bytes: through the helper if there is one, else read directly.
 * Blocks on the disk: never with server.lock held.  -1 with errno. */
int		 priv_read(int which, char **buf, size_t *len);
/* Clears and frees what priv_read() returned. */
void		 priv_free(char *buf, size_t len);

/* natterd.c */
/* A new server-side SSL for fd from the current certificate, or NULL. */
struct ssl_st	*tls_accept_new(int fd);
/* Loads --tls-cert and --tls-key again; the old pair stays on error. */
int		 tls_reload(void);

/* client.c */
/* The client the calling thread serves, NULL on other threads. */
extern _Thread_local struct client *client_self;
void		*client_main(void *);
struct client	*client_new(int fd, const char *ip, int tls);
void		 client_free(struct client *c);
/* Asks c's thread to close the connection with reason (ERROR line,
 * QUIT to shared rooms).  Safe from any thread; the first reason wins. */
void		 client_kill(struct client *c, const char *reason);
/* The same, for a caller that holds c->out_lock. */
void		 client_kill_locked(struct client *c, const char *reason);
/* Wakes c's thread from ppoll().  Caller holds c->out_lock. */
void		 client_wake_locked(struct client *c);
struct client	*client_find_locked(const char *nick);
/* nick!user@host */
void		 client_mask(struct client *c, char *buf, size_t len);
/* Sends b once to everyone who shares a room with c, and to c itself
 * if self. */
void		 client_send_common_locked(struct client *c, struct buf *b,
		    int self);
/* The same, only to those who enabled cap (CAP() bits; 0: everyone),
 * c itself included only if it did. */
void		 cap_send_common_locked(struct client *c, struct buf *b,
		    unsigned cap, int self);
/* Registration completes once NICK, USER, PASS and CAP END are in. */
void		 client_try_register(struct client *c);
void		 whowas_add_locked(struct client *c);

/* room.c */
struct room	*room_find_locked(const char *name);
struct room	*room_create_locked(const char *name);
struct member	*room_member_locked(struct room *r, struct client *c);
int		 room_add_locked(struct room *r, struct client *c,
		    unsigned modes);
/* Removes c; frees r and returns 1 when it became empty. */
int		 room_remove_locked(struct room *r, struct client *c);
/* Sends b to every member except except (may be NULL). */
void		 room_send_locked(struct room *r, struct buf *b,
		    struct client *except);
int		 room_banned_locked(struct room *r, struct client *c);
int		 room_invited_locked(struct room *r, struct client *c);
void		 room_invite_add_locked(struct room *r, const char *nickkey);
void		 room_invite_del_locked(struct room *r, const char *nickkey);
/* 0 added, 1 already there, -1 list full. */
int		 room_ban_add_locked(struct room *r, const char *mask,
		    const char *setter);
/* 0 removed, 1 not there. */
int		 room_ban_del_locked(struct room *r, const char *mask);
/* "+nt", "+ntk key", "+ntkl key 10" for 324; with_key 0 hides the key. */
void		 room_modes_string(struct room *r, char *buf, size_t len,
		    int with_key);
/* '@', '+' or 0: the highest prefix of m. */
int		 member_prefix(const struct member *m);
/* All of m's prefixes, highest first ("@+" or "@" or ""), for
 * multi-prefix; into buf of at least 3 bytes. */
void		 member_prefixes(const struct member *m, char *buf);

/* cap.c */
/* One line for many recipients, formatted lazily once per variant of
 * tags (none, server-time, msgid and client tags, both). */
struct msgvar {
	const char	*line;		/* without tags or CRLF */
	int64_t		 time_ms;	/* 0: no time tag */
	const char	*msgid;		/* NULL: none */
	const char	*ctags;		/* client-only tags, or NULL */
	struct buf	*v[4];
};
void		 msgvar_init(struct msgvar *, const char *line, int64_t time_ms,
		    const char *msgid, const char *ctags);
/* The variant for a client with caps; borrowed, freed by msgvar_free. */
struct buf	*msgvar_get(struct msgvar *, unsigned caps);
void		 msgvar_free(struct msgvar *);
/* "2026-11-26T02:20:00.123Z" */
void		 tag_time(int64_t ms, char *buf, size_t len);
int		 tag_time_parse(const char *s, int64_t *ms);
/* The client-only (+) tags of a raw tag string, into out. */
int		 tags_client_only(const char *tags, char *out, size_t len);

/* history.c */
/* 0 with --db off: no replay, no CHATHISTORY, and neither advertised. */
int		 history_enabled(void);
/* The store key of a private conversation between nicks a and b. */
void		 history_key(const char *a, const char *b, char *key,
		    size_t len);
/* The label of the command being handled (labeled-response), for the
 * echo of a message; NULL when none. */
void		 history_set_label(const char *label);
/* Stores a PRIVMSG/NOTICE from c to target and queues its delivery
 * for history_deliver(); -1 if it cannot (out of memory). */
int		 history_message_locked(struct client *c, const char *key,
		    const char *target, const char *cmd, const char *text,
		    const char *ctags);
/* Waits for the store to keep the messages this thread queued, then
 * delivers every queued message up to them, in store order.  Takes
 * server.lock. */
void		 history_deliver(struct client *c);
/* Stores a room event (JOIN, PART, QUIT, NICK, TOPIC, KICK). */
void		 history_event_locked(const char *key, struct client *c,
		    const char *cmd, const char *params);
/* The last --history-lines lines of room with seq <= max_seq, to c. */
void		 history_replay_join(struct client *c, const char *room,
		    const char *key, int64_t max_seq);
void		 cmd_chathistory(struct client *, struct irc_msg *);

/* command.c */
void		 command_dispatch(struct client *c, struct irc_msg *m);
/* "n!u@h" from a mask like "n", "n!u", "*@h": completes missing parts
 * with '*'. */
void		 mask_normalize(const char *in, char *out, size_t len);
void		 cmd_cap(struct client *, struct irc_msg *);
void		 cmd_pass(struct client *, struct irc_msg *);
void		 cmd_nick(struct client *, struct irc_msg *);
void		 cmd_user(struct client *, struct irc_msg *);
void		 cmd_ping(struct client *, struct irc_msg *);
void		 cmd_pong(struct client *, struct irc_msg *);
void		 cmd_quit(struct client *, struct irc_msg *);
void		 cmd_join(struct client *, struct irc_msg *);
void		 cmd_part(struct client *, struct irc_msg *);
void		 cmd_privmsg(struct client *, struct irc_msg *);
void		 cmd_notice(struct client *, struct irc_msg *);
void		 cmd_tagmsg(struct client *, struct irc_msg *);
/* Sends the welcome burst: 001-005, LUSERS, MOTD. */
void		 send_welcome(struct client *c);

/* command_query.c */
void		 cmd_who(struct client *, struct irc_msg *);
void		 cmd_whois(struct client *, struct irc_msg *);
void		 cmd_whowas(struct client *, struct irc_msg *);
void		 cmd_list(struct client *, struct irc_msg *);
void		 cmd_names(struct client *, struct irc_msg *);
void		 cmd_lusers(struct client *, struct irc_msg *);
void		 cmd_motd(struct client *, struct irc_msg *);
void		 cmd_ison(struct client *, struct irc_msg *);
void		 cmd_userhost(struct client *, struct irc_msg *);
void		 cmd_version(struct client *, struct irc_msg *);
void		 cmd_time(struct client *, struct irc_msg *);
void		 cmd_admin(struct client *, struct irc_msg *);
void		 cmd_info(struct client *, struct irc_msg *);
void		 cmd_away(struct client *, struct irc_msg *);
/* 353/366 for r as seen by c: a +i user is listed only to other
 * members of r. */
void		 send_names_locked(struct client *c, struct room *r);
void		 send_lusers_locked(struct client *c);
void		 send_motd_locked(struct client *c);
void		 send_isupport(struct client *c);

/* command_chan.c */
void		 cmd_mode(struct client *, struct irc_msg *);
void		 cmd_topic(struct client *, struct irc_msg *);
void		 cmd_kick(struct client *, struct irc_msg *);
void		 cmd_invite(struct client *, struct irc_msg *);

/* command_v3.c */
void		 cmd_setname(struct client *, struct irc_msg *);
/* For JOIN (away-notify): tells the other members of r who enabled
 * away-notify that c, who just joined r, is away.  Nothing if c is
 * here. */
void		 away_notify_join_locked(struct client *c, struct room *r);

/* command_oper.c */
void		 cmd_oper(struct client *, struct irc_msg *);
void		 cmd_kill(struct client *, struct irc_msg *);
void		 cmd_wallops(struct client *, struct irc_msg *);
void		 cmd_rehash(struct client *, struct irc_msg *);
void		 cmd_die(struct client *, struct irc_msg *);
/* Loads --motd and --oper-file into server (takes server.lock).
 * Returns -1 and logs when a file cannot be read (old data kept). */
int		 config_reload(void);
/* Frees what config_reload() loaded; at exit, after the clients are gone. */
void		 config_unload(void);
/* 1 if password matches o (crypt_r on the heap for hashed secrets,
 * constant-time compare for plain ones). */
int		 oper_check(const struct oper *o, const char *password);
/* A new yescrypt (or SHA-512 if unavailable) crypt(3) hash of password
 * into out.  Returns 0, or -1 with errno set. */
int		 oper_hash(const char *password, char *out, size_t outlen);

/*
 * store.c: room and private message history in SQLite (one file, WAL).
 * One writer thread commits what store_append() queues, in groups; a
 * pruner applies --history-days and --history-max.  Every function may
 * block on the disk except store_append() and store_last_seq(): never
 * call the others while holding server.lock.
 */
#define STORE_MSGID_LEN	20
#define STORE_KEY_MAX	(2 * NICK_MAX + 2)	/* "a b" pair of nicks */

struct store_rec {
	int64_t		 seq;		/* set by store_append, increasing */
	char		 msgid[STORE_MSGID_LEN + 1];	/* set by store_append */
	int64_t		 time_ms;	/* set by store_append if 0 */
	/* What queries match: a casefolded room name, or for a private
	 * message the two casefolded nicks, sorted, joined by a space. */
	char		 key[STORE_KEY_MAX + 1];
	char		 source[MASK_MAX + 1];		/* nick!user@host */
	char		 command[16];	/* PRIVMSG NOTICE TAGMSG JOIN PART
					   QUIT NICK TOPIC KICK */
	char		*params;	/* the line after the command, e.g.
					   "#room :hi", ":bye", "newnick" */
	char		*tags;		/* client-only tags ("+a=b"), or NULL */
};

/* Selects a point in history: a msgid or a time. */
struct store_sel {
	enum {
		SEL_NONE,	/* "*": no bound */
		SEL_MSGID,
		SEL_TIME
	}		 kind;
	char		 msgid[STORE_MSGID_LEN + 1];
	int64_t		 time_ms;
};

/* Called once per row, oldest first; rec is valid during the call. */
typedef void	 store_cb(const struct store_rec *rec, void *arg);
/* TARGETS: one call per target, ordered by latest activity. */
typedef void	 store_target_cb(const char *key, const char *target,
		    int64_t latest_ms, void *arg);

/* Opens (creating 0700 folders and a 0600 file) or migrates path
 * (":memory:" keeps nothing); starts the writer and pruner threads.
 * Returns -1 with one line in err for a file that cannot be opened,
 * created or written, is corrupt, or has a newer schema. */
int		 store_open(const char *path, int history_days, int history_max,
		    char *err, size_t errlen);
/* Commits everything queued, stops the threads, closes. */
void		 store_close(void);
/* The default path: $XDG_STATE_HOME/natterd/history.db, else
 * ~/.local/state/natterd/history.db. */
int		 store_default_path(char *buf, size_t len);
/* Queues rec (copied) for the writer; fills rec->seq, rec->msgid and,
 * if zero, rec->time_ms.  Never waits for the disk. */
int64_t		 store_append(struct store_rec *rec);
/* Waits until every row up to seq is committed.  Returns 0, or -1 if
 * the store failed (logged). */
int		 store_wait(int64_t seq);
int64_t		 store_last_seq(void);
/* Messages (PRIVMSG, NOTICE, TAGMSG; events are stored but not
 * returned) of key, oldest first, at most limit, with seq <= max_seq (0: no
 * bound).  Bounds are exclusive.  Return the row count or -1.
 * latest: the newest rows, after sel if given. */
int		 store_latest(const char *key, const struct store_sel *after,
		    int limit, int64_t max_seq, store_cb *cb, void *arg);
int		 store_before(const char *key, const struct store_sel *sel,
		    int limit, store_cb *cb, void *arg);
int		 store_after(const char *key, const struct store_sel *sel,
		    int limit, store_cb *cb, void *arg);
/* About limit/2 rows on each side of sel, sel's own row included. */
int		 store_around(const char *key, const struct store_sel *sel,
		    int limit, store_cb *cb, void *arg);
/* Between two points in either order, oldest first, at most limit
 * (from the first point's side). */
int		 store_between(const char *key, const struct store_sel *a,
		    const struct store_sel *b, int limit, store_cb *cb,
		    void *arg);
/* Targets with activity in (from_ms, to_ms) among keys (the rooms
 * the user is in) and the private conversations of nickkey; target is
 * the room name or the other nick as last stored. */
int		 store_targets(const char *nickkey, const char *const *keys,
		    int nkeys, int64_t from_ms, int64_t to_ms, int limit,
		    store_target_cb *cb, void *arg);

/* natterd.c */
/* Starts shutdown as SIGTERM does: stop accepting, ERROR to all. */
void		 server_stop(const char *why);

#endif
