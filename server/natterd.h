/*
 * natterd.h: natterd's one internal header.
 *
 * Threads: the main thread accepts; each client has one detached thread
 * (client.c); one thread waits for signals (natterd.c); the store has a
 * writer and a pruner (store.c).  With --user, a root helper process
 * reads files for reloads (privsep.c).
 *
 * Locks, in the only order they may be taken:
 *   0. client->act   a person's: held while one of its connections runs
 *                    a command, so that its devices act one at a time
 *                    and a handler may read its own person's [S]
 *                    fields without server.lock (only its own commands
 *                    write most of them, and others only under 1).
 *   1. server.lock   guards struct server, every struct room, and the
 *                    fields of struct client and struct conn marked
 *                    [S].  A read-write lock: everything that changes
 *                    them takes it to write; a message to a room takes
 *                    it to read (command.c message), so rooms' messages
 *                    run side by side.
 *   1a. a room's post_lock  taken with server.lock held to read, around
 *                    what a message changes: its store seq, its post
 *                    and recipients, the room's count (room.c).
 *   2. outbox.lock   guards the order of posts (turn.c).
 *   3. client->out_lock  guards that client's output queue and the
 *                    fields marked [O].
 * outbox.drain (turn.c) is taken with none of them held, and is held
 * while taking 2 and 3.  accounts.lock (account.c) and markers.lock
 * (marker.c) are leaves that may be taken under server.lock;
 * accounts.wlock, markers.wlock and the hashing pool's waits
 * (passwd.c) are never entered with any of these held.  Never block on
 * a socket, the disk or DNS while holding any of them: sends under them
 * are MSG_DONTWAIT.  Fields marked [T] belong to the client's own
 * thread and are never touched by others.  Fields marked [R] are set
 * before the client is published and never change.  How a line travels from one client to others is told
 * at the top of turn.c.
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
#include "netaddr.h"
#include "numeric.h"
#include "sockpath.h"

#define NATTERD_VERSION		"natterd-0.1.0"

#ifndef NATTERD_STACK_SIZE
#define NATTERD_STACK_SIZE	(64 * 1024)
#endif

#define USER_MAX	16	/* USERLEN */
#define USER_STOCK	"user"	/* for a USER with no character we keep */
#define HOST_MAX	64	/* a numeric IPv6 address fits */
#define REALNAME_MAX	128
#define TOPIC_MAX	390	/* TOPICLEN */
#define AWAY_MAX	200	/* AWAYLEN */
#define KICK_MAX	390	/* KICKLEN */
#define QUIT_MAX	300	/* a QUIT reason, cut there when longer */
#define KEY_MAX		23	/* channel key */
#define ROOMS_PER_CLIENT 50	/* CHANLIMIT */
#define BAN_LIST_MAX	100	/* MAXLIST: each of +b, +e and +I */
#define MSG_TARGETS_MAX	4	/* TARGMAX for PRIVMSG and NOTICE */
#define KICK_TARGETS_MAX 4	/* TARGMAX for KICK: users per command */
#define MODES_PER_LINE	4	/* MODES */
#define WHOWAS_MAX	256	/* remembered nicks */
#define OUT_LINE_MAX	1024	/* a formatted outgoing line, CRLF included */
#define MASK_MAX	(NICK_MAX + USER_MAX + HOST_MAX + 3)
#define PEER_NAME_MAX	33	/* a Unix user name (32) and its NUL */

/* The user modes, as 004 lists them: +B (a bot, bot-mode), +i, +o, +r
 * (logged in to an account; only natterd sets it) and +w. */
#define USER_MODES	"Biorw"

/* The SASL mechanisms (sasl.c), the value of the sasl capability. */
#define SASL_MECHS	"PLAIN,EXTERNAL,SCRAM-SHA-256"

/* draft/multiline (multiline.c): the most a batch may hold, as the
 * spec counts (the texts, plus one for each line feed joining two
 * lines), and its most lines; the cap's value says both. */
#define MULTILINE_MAX_BYTES	4096
#define MULTILINE_MAX_LINES	100
#define MULTILINE_STR(x)	#x
#define MULTILINE_XSTR(x)	MULTILINE_STR(x)
#define MULTILINE_CAP_VALUE	"max-bytes=" MULTILINE_XSTR(MULTILINE_MAX_BYTES) \
	",max-lines=" MULTILINE_XSTR(MULTILINE_MAX_LINES)

/*
 * IRCv3 capabilities natterd offers, in the order CAP LS lists them:
 * X(bit name, wire name, value for CAP LS 302 or NULL).  The value of
 * draft/account-registration depends on the flags (cap.c).
 */
#define CAP_LIST(X)							\
	X(CAP_ACCOUNT_NOTIFY,	"account-notify",	NULL)		\
	X(CAP_ACCOUNT_TAG,	"account-tag",		NULL)		\
	X(CAP_ACCOUNT_REGISTRATION, "draft/account-registration", NULL)	\
	X(CAP_AWAY_NOTIFY,	"away-notify",		NULL)		\
	X(CAP_BATCH,		"batch",		NULL)		\
	X(CAP_CAP_NOTIFY,	"cap-notify",		NULL)		\
	X(CAP_CHANNEL_RENAME,	"draft/channel-rename",	NULL)		\
	X(CAP_CHATHISTORY,	"draft/chathistory",	NULL)		\
	X(CAP_CHGHOST,		"chghost",		NULL)		\
	X(CAP_ECHO_MESSAGE,	"echo-message",		NULL)		\
	X(CAP_EXTENDED_JOIN,	"extended-join",	NULL)		\
	X(CAP_EXTENDED_MONITOR,	"extended-monitor",	NULL)		\
	X(CAP_INVITE_NOTIFY,	"invite-notify",	NULL)		\
	X(CAP_LABELED_RESPONSE,	"labeled-response",	NULL)		\
	X(CAP_MESSAGE_REDACTION, "draft/message-redaction", NULL)	\
	X(CAP_MESSAGE_TAGS,	"message-tags",		NULL)		\
	X(CAP_MULTI_PREFIX,	"multi-prefix",		NULL)		\
	X(CAP_MULTILINE,	"draft/multiline",	MULTILINE_CAP_VALUE) \
	X(CAP_READ_MARKER,	"draft/read-marker",	NULL)		\
	X(CAP_SASL,		"sasl",			SASL_MECHS)	\
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

#define INVITES_MAX	100	/* invites a room remembers; the oldest goes */
#define GEN_CHUNK	16384	/* bytes a generator adds at a time */
#define GEN_COST	1024	/* what a waiting generator counts
				   against its client's SendQ */
#define LABEL_MAX	64	/* a labeled-response label, unescaped */
/* --store-hold: seconds a message waits for the store by default. */
#define STORE_HOLD_DEFAULT	5
#define STORE_HOLD_MAX		3600

/* --- a reference-counted, formatted line (output.c) --- */
struct client;
struct conn;
struct web;
struct outlist;
struct gen;

struct buf {
	atomic_int	 refs;
	size_t		 len;
	struct gen	*gen;		/* a generator in a queue (len 0) */
	char		 data[];	/* CRLF-terminated, not NUL-terminated */
};

/*
 * A long reply produced as the socket drains (a JOIN replay, CHATHISTORY,
 * NAMES of many rooms).  It waits in the client's queue like a line;
 * when it reaches the head, the client's own thread calls step with no
 * lock held (it may read the store), which appends the next lines, up to
 * about GEN_CHUNK bytes, to out and returns 1 once it is done.
 */
struct gen {
	int		(*step)(struct gen *, struct conn *,
			    struct outlist *);
	void		(*free)(struct gen *);
	char		 parent[32];	/* "batch=L1": the labeled-response
					   batch its lines belong to, or "" */
};

/*
 * Output for one client on its way to the queue: lines, generators, and
 * echoes (the actor's copy of a post, resolved when the post is
 * delivered: the line in the actor's variant, or a FAIL if the store
 * could not keep it).
 */
struct item {
	struct buf	*b;		/* a line (or lines, or a generator) */
	struct post	*echo;		/* or an echo of this post, or with
					   ack the command's first post */
	char		*tag;		/* a tag to put on the echo, or NULL */
	unsigned char	 var;		/* the echo's variant; with ack, how
					   many posts the command made */
	unsigned char	 show;		/* ITEM_* */
#define ITEM_FAIL_ONLY	0	/* echo: nothing, unless a FAIL */
#define ITEM_SHOW	1	/* echo: the line itself */
#define ITEM_SILENT	2	/* echo: nothing; an ack answers for it */
#define ITEM_ACK	3	/* labeled ACK, or its posts' FAILs */
};

struct outlist {
	struct item	*v;
	int		 n;
	int		 cap;
	size_t		 bytes;
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
struct post;
struct mlbatch;
struct ssl_st;
struct conn;

/*
 * A person on the server: a nick, its rooms and modes.  It has one or
 * more connections (struct conn): one, unless several devices of one
 * account are attached to it.  It lives while it has a connection.
 */
struct client {
	atomic_int	 refs;		/* each conn 1, plus each holder */
	pthread_mutex_t	 act;		/* held by the connection whose
					   command runs: a person does one
					   thing at a time */
	uint64_t	 id;				/* [R] never reused */
	char		 host[HOST_MAX];		/* [S] shown host */
	time_t		 signon;			/* [S] wall clock */

	/* Identity: written under server.lock. */
	char		 nick[NICK_MAX + 1];		/* [S] "*" until NICK */
	char		 nickkey[NICK_MAX + 1];		/* [S] casefolded */
	int64_t		 nick_seq;	/* [S] store seq when it took the
					   nick: what it says or hears
					   logged out is its private
					   history after it (struct
					   store_view) */
	char		 user[USER_MAX + 1];		/* [S] */
	char		 realname[REALNAME_MAX + 1];	/* [S] */
	char		*away;				/* [S] NULL if here */
	unsigned	 flags;				/* [S] */
#define CLIENT_REGISTERED	0x01
#define CLIENT_INVISIBLE	0x02	/* +i */
#define CLIENT_OPER		0x04	/* +o */
#define CLIENT_WALLOPS		0x08	/* +w */
#define CLIENT_GONE		0x10	/* left every table (teardown) */
/* Bot mode (issue 13 §2): set by the user, shown in WHO and WHOIS, and
 * the bot tag on what it says (IRCv3 bot-mode). */
#define CLIENT_BOT		0x20	/* +B */
	/* For WHOIS idle.  Atomic: each of a person's devices sets it
	 * as it speaks in a room, under server.lock held only to read
	 * (command.c message), maybe two at once. */
	_Atomic time_t	 last_spoke;

	struct room	**rooms;			/* [S] joined rooms */
	int		 nrooms;			/* [S] */
	int		 roomcap;			/* [S] */
	unsigned long	 mark;				/* [S] fan-out dedup */
	struct account	*account;	/* [S] logged in to (a reference),
					   or NULL; set by its own thread,
					   cleared by ACCOUNT DELETE too */
	struct client	*next;				/* [S] server.clients */
	struct client	*prev;				/* [S] */
	struct conn	*conns;		/* [S] its connections, newest first */
	int		 nconns;			/* [S] */
	/* Nick ownership (owner.c): the grace of a registered person
	 * holding a nick an account owns without being logged in to it. */
	struct account	*grace_owner;	/* [S] that account (a reference),
					   or NULL: no grace running */
	char		 grace_key[NICK_MAX + 1];	/* [S] for this nick */
	atomic_llong	 grace_ms;	/* monotonic ms it ends, 0: none;
					   written under server.lock, read
					   by each of its connections'
					   threads for their timers */
};

/*
 * One connection: a socket, its thread, its output queue and what was
 * negotiated on it (caps, registration).  Its person is cl.
 */
struct conn {
	atomic_int	 refs;		/* own thread 1, plus each holder */
	atomic_int	 ahead;		/* its posts left to the deliverer,
					   not yet out (turn.c turn_leave) */
	int64_t		 left_fail_id;	/* [T] the last of them that may
					   answer with a FAIL */
	uint64_t	 id;				/* [R] never reused */
	struct client	*cl;		/* [S] its person; changed only by
					   its own thread (so [T] to read) */
	struct conn	*cnext;				/* [S] cl->conns */
	struct conn	*next;				/* [S] server.conns */
	struct conn	*prev;				/* [S] */
	int		 fd;				/* [R] */
	struct ssl_st	*ssl;		/* [T] NULL on a plain connection */
	int		 tls;		/* [R] accepted on a TLS port */
	struct web	*web;		/* [R] the web port's HTTP and
					   WebSocket state (web.c; its
					   content [T]), or NULL */
	pthread_t	 thread;	/* [O] valid once started is set;
					   changed by its thread handing c
					   to a fresh one (client_renew);
					   read under out_lock to wake it */
	int		 started;	/* [O] its thread exists (accept) */
	int		 wake_missed;	/* [O] woken before it existed */
	int		 left;		/* [O] its thread left its loop:
					   no wake-up needed any more */
	char		*stack_lo;	/* [O] the lowest address of the
					   stack of the thread client_renew
					   made, for its stack_trim */
	char		 ip[HOST_MAX];			/* [R] numeric */
	char		 ipgroup[NETADDR_GROUP_MAX];	/* [R] key in server.ips */
	/* A connection on the Unix socket: who is on the other end, from
	 * SO_PEERCRED at accept.  It shows as "localhost", counts against
	 * --max-per-ip and --throttle as "uid:N" (each local user is one
	 * address), and its USER name is the Unix user's name. */
	int		 local;				/* [R] */
	uid_t		 peer_uid;			/* [R] */
	gid_t		 peer_gid;			/* [R] */
	pid_t		 peer_pid;			/* [R] */
	char		 peer_name[PEER_NAME_MAX];	/* [T] Unix user name,
					   "" if the uid has none (unix_login) */
	unsigned	 caps;		/* [S] CAP(...) bits it enabled */
	unsigned long	 mark;				/* [S] fan-out dedup */

	pthread_mutex_t	 out_lock;
	struct outq	 q;				/* [O] */
	long long	 drained_ms;	/* [O] monotonic ms the queue last
					   shrank or was empty */
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
	unsigned	 batch_seq;	/* [T] batch ids on this connection */
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
	struct sasl	*sasl;		/* [T] an AUTHENTICATE exchange in
					   progress (heap), or NULL */
	double		 flood_need;	/* [T] tokens the line at the head
					   of rq needs (multiline_cost) */
	struct mlbatch	*ml;		/* [T] the draft/multiline batch it
					   has open (heap), or NULL */

	/* MONITOR (monitor.c): the nicks this connection watches, each
	 * an entry of the server's index; heap only while used. */
	struct monitor_entry **mon;			/* [S] */
	int		 nmon;				/* [S] */
	int		 moncap;			/* [S] */
};

/* A member of a room, and its prefix modes. */
struct member {
	struct client	*c;
	unsigned	 modes;
#define MEMBER_OP	0x01	/* @ */
#define MEMBER_VOICE	0x02	/* + */
};

/*
 * One line for many recipients (turn.c formats it once per variant):
 * the text, an alternative for clients with alt_cap (extended-join), the
 * tags a stored message carries, and the person it comes from.
 */
struct line {
	const char	*text;		/* ":source CMD params", no CRLF */
	int64_t		 seq;		/* its store row; 0: not stored */
	const char	*alt;		/* or NULL */
	unsigned	 alt_cap;
	int64_t		 time_ms;	/* server-time; 0: none */
	const char	*msgid;		/* NULL: none */
	const char	*ctags;		/* client-only tags, or NULL */
	const char	*multi;		/* a draft/multiline message's body
					   (multiline.c), text then being
					   ":source PRIVMSG target"; or NULL */
	struct client	*src;		/* the person whose line it is (its
					   source), or NULL for the server's:
					   it carries the account src is
					   logged in to when the post is made
					   (account-tag) */
	/* draft/channel-rename */
	int		 keep;		/* with seq: a change already made,
					   delivered even if the store has
					   not kept seq in time (no FAIL);
					   seq stays queued, never taken
					   back */
};

/*
 * The work of one read of a client's socket: everything the commands in
 * it said, to whom, and in what order.  Made on the client's own stack
 * by client.c, handed to every handler, ended by turn_end().  turn.c
 * tells the whole path.
 */
struct pushlist {
	struct conn	**v;
	int		 n;
	int		 cap;
	struct conn	*inl[16];
};

struct turn {
	struct client	*c;		/* the person acting */
	struct conn	*conn;		/* the connection it read from */
	/* Replies gathered on the stack, then in out. */
	char		*chunk;
	size_t		 chunklen;
	size_t		 chunkcap;
	struct outlist	 out;		/* c's output not yet in a post */
	/* This turn's posts, oldest first. */
	struct post	*posts;
	struct post	*last;
	struct post	*cmd_first;	/* the command's first post */
	int64_t		 wait_seq;	/* the store must keep up to here */
	/* labeled-response for the command being handled */
	char		 label[LABEL_MAX * 2 + 8];	/* "label=x", or "" */
	struct post	*mark_post;	/* its output starts in this post's */
	int		 mark_idx;	/* ... payload, or t->out, here */
	size_t		 attached;	/* bytes given to posts this turn */
	size_t		 backlog;	/* c's queue when the turn began */
	struct pushlist	 push;		/* clients to write at the end */
	/* turn_end may leave the turn's posts to the deliverer (set by the
	 * client's read loop), unless one carries output for the actor
	 * (must_wait, found at each command's end). */
	int		 may_leave;
	int		 nposts;	/* in posts */
	int		 must_wait;
};

/* Who a room broadcast reaches (room_fanout_locked). */
#define FAN_SELF	0x01	/* the actor too, in order */
#define FAN_OPS		0x02	/* only the room's operators */
/* STATUSMSG (issue 13 section 2): only members with one of the member
 * modes m (MEMBER_OP, MEMBER_VOICE); room_status_target() makes it. */
#define FAN_STATUS(m)	((unsigned)(m) << 8)
#define FAN_STATUS_OF(f) ((f) >> 8)
/* A message target as shown: a room with a STATUSMSG prefix, or a nick. */
#define MSG_NAME_MAX	(ROOM_NAME_MAX + 1)

/* One operator block: name and either a crypt(3) hash or a plain
 * password given with --oper. */
struct oper {
	char		*name;
	char		*secret;
	int		 hashed;
};

/* argon2id costs: memory in KiB, passes, lanes (computed on one
 * thread). */
struct passwd_cost {
	uint32_t	 memory_kib;
	uint32_t	 time;
	uint32_t	 lanes;
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
	/* HELP (help.c): the help file, NULL for none. */
	const char	*help_file;
	unsigned	 max_clients;
	unsigned	 max_per_ip;	/* 0: no limit */
	size_t		 sendq;		/* a queue may pass it while draining */
	int		 sendq_timeout;	/* seconds over sendq without draining */
	int		 invite_ttl;	/* seconds an invite lasts */
	int		 max_devices;	/* connections of one account's user */
	int		 nick_grace;	/* seconds to log in for an owned nick */
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
	int		 history_max;	/* messages per target, 0: no limit */
	/* draft/channel-rename */
	int		 rename_max;	/* RENAME: most messages a room's
					   history may hold */
	int		 db_sync;	/* --db-sync: STORE_SYNC_* */
	int		 store_hold;	/* --store-hold: seconds a message
					   waits for the store, then FAILs */
	const char	*tls_port;	/* NULL: no TLS listener */
	const char	*tls_cert;
	const char	*tls_key;
	/* The web listener (web.c): the page and IRC over WebSocket. */
	const char	*web_port;	/* NULL: none */
	int		 web_plain;	/* plain HTTP even with a certificate */
	const char	*web_origin;	/* --web-origin list, or NULL */
	int		 sts_duration;	/* seconds; 0: no sts cap */
	const char	*user;		/* --user: drop to it after binding */
	unsigned	 flood_burst;	/* lines at once; 0: no flood control */
	unsigned	 flood_rate;	/* lines a second after that */
	size_t		 recvq;		/* bytes held back before Excess Flood */
	unsigned	 throttle;	/* new connections per IP a minute */
	int		 ipv6_prefix;	/* bits of an IPv6 address that group it */
	unsigned	 max_accounts;
	int		 hash_threads;	/* --hash-threads */
	struct passwd_cost argon2;	/* for new hashes */
	int		 scram_iter;	/* for new SCRAM keys */
	unsigned	 fails_account;	/* failed logins a minute, 0: none */
	unsigned	 fails_ip;
	int		 no_multiline;	/* --no-multiline: draft/multiline
					   not offered */
	int		 registration;	/* REGISTER and NickServ REGISTER */
#define REGISTRATION_OPEN	0
#define REGISTRATION_CLOSED	1
	unsigned	 register_per_ip;	/* accounts an IP address may
					   register an hour, 0: no limit */
	/* message-redaction */
	int		 redact_window;	/* --redact-window: seconds an author
					   may REDACT its message, 0: never */
	const char	*unix_path;	/* --unix; NULL: the default */
	int		 unix_mode;
#define UNIX_ALSO	0	/* the Unix socket beside the TCP ports */
#define UNIX_NONE	1	/* --no-unix */
#define UNIX_ONLY	2	/* --unix-only: no TCP port at all */
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
	/* Guards everything below.  Taken to write by every command but
	 * a message to a room, which reads under it and takes the room's
	 * post lock (room.c) for what it changes. */
	pthread_rwlock_t lock;
	pthread_mutex_t	 drain_lock;	/* with drained, nothing else */
	pthread_cond_t	 drained;	/* signalled when nclients hits 0 */
	struct map	*nicks;		/* casefolded nick -> struct client */
	struct map	*people;	/* account id -> its registered person
					   (the one its devices attach to) */
	struct map	*rooms;		/* casefolded name -> struct room */
	struct map	*ips;		/* ipgroup -> connection count (uintptr_t) */
	struct client	*clients;	/* every person */
	struct conn	*conns;		/* every connection */
	unsigned	 nclients;	/* connections */
	unsigned	 nusers;	/* registered */
	unsigned	 ninvisible;	/* registered and +i */
	unsigned	 nopers;
	unsigned	 max_users;	/* peak of nusers */
	unsigned long	 gen;		/* fan-out generation */
	uint64_t	 next_id;	/* client ids */
	unsigned long	 guest_next;	/* the last Guest<N> handed out */
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
/* buf_printf("%s", s) and buf_printf_long("@%s %s", tags, text), for the
 * message path: copies, without printf's cost. */
struct buf	*buf_str(const char *s);
struct buf	*buf_tagged(const char *tags, const char *text);
/* A queue entry for g, which it owns; it counts GEN_COST bytes until it
 * is done, so that a client cannot queue generators without end. */
struct buf	*buf_gen(struct gen *g);
struct buf	*buf_ref(struct buf *);
void		 buf_unref(struct buf *);
/* A copy of b (one or more lines) with tag ("key=value") added to the
 * tags of each line. */
struct buf	*buf_add_tag(const struct buf *b, const char *tag);
/* The same, the tag on the first line only. */
struct buf	*buf_add_tag_first(const struct buf *b, const char *tag);
/* A copy of b's lines, each tagged with tag unless it is in a batch. */
struct buf	*buf_tag_unbatched(const struct buf *b, const char *tag);
/* Appends b (taking the caller's reference) or an echo to l. */
void		 outlist_add(struct outlist *l, struct buf *b);
void		 outlist_add_echo(struct outlist *l, struct post *p, int var,
		    int show);
void		 outlist_free(struct outlist *l);
/* Moves everything from src to the end of dst. */
void		 outlist_move(struct outlist *dst, struct outlist *src);
/* The bytes c's queue holds, and the limit past which it is dropped
 * at once (the soft limit is config.sendq, with config.sendq_timeout). */
size_t		 conn_backlog(struct conn *c);
size_t		 sendq_hard(void);
/*
 * Queues b on c (taking its own reference); own: c's own output, which
 * a closing client still gets.  Every byte counts against c's SendQ:
 * past sendq_hard(), or past config.sendq while c has not drained
 * anything for config.sendq_timeout seconds, c is dropped.  Returns 1
 * if c's queue was empty (the caller then pushes c), else 0.  Never
 * writes; safe from any thread, with or without server.lock.
 */
int		 conn_enqueue(struct conn *c, struct buf *b, int own);
/* Another thread's write to c: what the socket takes now; wakes c's
 * thread for the rest. */
void		 conn_push(struct conn *c);
void		 pushlist_add(struct pushlist *pl, struct conn *c);
/* Pushes and releases every client in pl. */
void		 pushlist_flush(struct pushlist *pl);
/* Own thread: writes what the socket takes and expands generators that
 * reach the head.  Returns -1 on a write error. */
int		 conn_flush(struct conn *c);
/* At teardown: writes what is queued, after any write in progress by
 * another thread.  Returns 1 if nothing is left. */
int		 conn_flush_final(struct conn *c);
/* Own thread: sends what is on the stack straight to the socket when
 * nothing is queued before it; queues what it does not take.  Returns
 * 1 if c's queue is now non-empty. */
int		 conn_send_direct(struct conn *c, const char *p, size_t n);
/* Monotonic ms past which c is dropped for not draining, or 0. */
long long	 conn_stall_deadline(struct conn *c);
void		 outq_clear(struct outq *q);
struct conn	*conn_ref(struct conn *c);
/* Closes the socket and frees c with the last reference. */
void		 conn_unref(struct conn *c);
long long	 mono_ms(void);

/* turn.c: the path a line takes; see the comment at its top. */
void		 turn_begin(struct turn *t, struct conn *c, char *chunk,
		    size_t chunkcap);
/* Waits for the store where the crash rule needs it, delivers every
 * post of the turn, applies nothing more, writes. */
void		 turn_end(struct turn *t);
/* The deliverer thread, with a history file: started before the first
 * client, stopped when the last is gone (natterd.c). */
void		 outbox_start(void);
void		 outbox_stop(void);
/* Around each command: label is the labeled-response label or NULL. */
void		 turn_command_begin(struct turn *t, const char *label);
void		 turn_command_end(struct turn *t);
/* Output for t->c itself, in order. */
void		 turn_send(struct turn *t, struct buf *b);
void		 turn_sendf(struct turn *t, const char *, ...)
		    __attribute__((format(printf, 2, 3), nonnull(2)));
/* Numeric reply: see numeric.h. */
void		 reply(struct turn *t, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 turn_gen(struct turn *t, struct gen *g);
/* Moves the output t gathered (a turn with no posts, made by a
 * generator to reuse the reply functions) to out. */
void		 turn_take(struct turn *t, struct outlist *out);
/* Bytes t has produced for t->c that are not queued yet. */
size_t		 turn_pending(struct turn *t);
/*
 * A new post of l, ordered after everything posted before it.
 * Recipients are fixed now, with post_add_locked(), while server.lock
 * is held; post_reserve_locked() sizes for n of them.
 */
struct post	*post_new_locked(struct turn *t, const struct line *l);
/* The same, with room made for n recipients at once. */
struct post	*post_new_for_locked(struct turn *t, const struct line *l,
		    int n);
void		 post_reserve_locked(struct post *p, int n);
/* Every connection of to with caps but the post's own (the actor's
 * other devices get their copy so); post_add_conn_locked: one. */
void		 post_add_locked(struct post *p, struct client *to,
		    unsigned caps);
void		 post_add_conn_locked(struct post *p, struct conn *to);
/* draft/channel-rename: posts of lines made for to alone (the output
 * of a turn of to's own that never posts, taken with turn_take, its
 * generators included), in their place among the posts; lines is
 * emptied.  Returns the last, or NULL if lines was empty. */
struct post	*post_lines_locked(struct turn *t, struct conn *to,
		    struct outlist *lines);
/* t->c's own copy of p, in its place: the line itself if show, and in
 * any case a FAIL if the store could not keep p. */
void		 turn_echo_locked(struct turn *t, struct post *p, int show);
/* A labeled-response batch id for c, "L1". */
void		 batch_id(struct conn *c, char prefix, char *buf,
		    size_t len);

/* privsep.c */
/* The files reloaded on SIGHUP and REHASH, by index (never by path). */
enum priv_file {
	PRIV_MOTD,		/* --motd */
	PRIV_OPER_FILE,		/* --oper-file */
	PRIV_TLS_CERT,		/* --tls-cert */
	PRIV_TLS_KEY,		/* --tls-key */
	PRIV_HELP		/* --help-file */
};
#define PRIV_FILE_MAX	(1024 * 1024)	/* bigger is EFBIG */
/* Forks the root helper that reads them for a server about to drop
 * root (--user).  Start-up only, one thread.  -1 with errno set. */
int		 priv_start(uid_t uid, gid_t gid);
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

/*
 * unixsock.c: the local listener (--unix), opened and closed by the
 * main thread alone.  Opens path in a folder natterd owns (made 0755
 * when missing; refused when it belongs to someone else, is writable
 * by group or others, is a symbolic link or sits below folders others
 * can change), owned by uid/gid (natterd's user after --user); a dead
 * server's socket is replaced, a live one refused ("another natterd is
 * listening on PATH").  The listening fd, or -1 with one line in why.
 */
int		 unixsock_open(const char *path, uid_t uid, gid_t gid,
		    char *why, size_t whylen);
/* The socket's path while open, else NULL. */
const char	*unixsock_path(void);
/* 1 if unixsock_open() removed a dead server's socket. */
int		 unixsock_replaced_stale(void);
/* Closes the listener and unlinks the socket if it is still ours. */
void		 unixsock_close(void);

/* client.c */
void		*client_main(void *);
void		 client_teardown(struct conn *);

/* web.c: the web listener.  All on the connection's own thread. */
void		 web_init(void);
int		 web_open(struct conn *);
void		 web_free(struct conn *);
int		 web_input(struct conn *, const char *, size_t, const char **,
		    size_t *);
int		 web_closed(struct conn *, const char **);
long long	 web_deadline(struct conn *);
void		 web_timer(struct conn *, long long);
int		 web_want_write(struct conn *);
int		 web_held(struct conn *);
int		 web_send(struct conn *);
int		 web_framing(struct conn *);
int		 web_queue_line(struct conn *, const char *, size_t);
int		 web_finished(struct conn *);
void		 web_final(struct conn *, const char *, size_t, const char *);
const char	*web_refusal(const char *);
/* natterd.c: seconds c's address must wait before another connection
 * counts against --throttle; 0: it counted now. */
int		 conn_throttled(const struct conn *);
/* A new connection and its person (caller holds server.lock). */
struct conn	*client_new(int fd, const char *ip, int tls);
/* Frees a connection never published (its fd stays open). */
void		 conn_discard(struct conn *c);
void		 conn_free(struct conn *c);
struct client	*client_ref(struct client *cl);
/* Frees cl with the last reference. */
void		 client_unref(struct client *cl);
/* The USER name a local client gets: its Unix user name, or "uidN"
 * when the uid has no name that fits a USER field. */
void		 client_local_user(const struct conn *c, char *out,
		    size_t len);
/* Asks c's thread to close the connection with reason (ERROR line,
 * QUIT to shared rooms if it is its person's last).  Safe from any
 * thread; the first reason wins. */
void		 conn_kill(struct conn *c, const char *reason);
/* The same, for a caller that holds c->out_lock. */
void		 conn_kill_locked(struct conn *c, const char *reason);
/* Takes tokens from c's flood control (c's own thread): what a
 * multiline batch costs beyond its lines. */
void		 conn_flood_charge(struct conn *c, double tokens);
/* conn_kill on every connection of cl (caller holds server.lock). */
void		 client_kill_locked(struct client *cl, const char *reason);
/* Wakes c's thread from ppoll().  Caller holds c->out_lock. */
void		 conn_wake_locked(struct conn *c);
struct client	*client_find_locked(const char *nick);
/* nick!user@host */
void		 client_mask(struct client *c, char *buf, size_t len);
/* Registration completes once NICK, USER, PASS and CAP END are in. */
void		 client_try_register(struct turn *t);
/* Makes t's connection another device of to (see client.c); -1 if to
 * has --max-devices already.  Caller holds server.lock. */
int		 client_attach_locked(struct turn *t, struct client *to);
/* server.people: the person an account's devices attach to, kept as
 * logins and logouts happen (caller holds server.lock). */
void		 client_people_add_locked(struct client *cl);
void		 client_people_del_locked(struct client *cl);
/* The person a's devices attach to, or NULL if a is not online. */
struct client	*client_people_find_locked(const struct account *a);
void		 whowas_add_locked(struct client *c);

/* room.c: struct room is its own; everything runs under server.lock. */
struct room	*room_find_locked(const char *name);
struct room	*room_create_locked(const char *name);
const char	*room_name(const struct room *r);
/* draft/channel-rename: r is called name from now on (the caller made
 * sure no other room holds it), its history moving with it in the
 * store; returns the seq of that move.  -1 with errno EBUSY when r was
 * renamed less than RENAME_INTERVAL seconds ago, EFBIG when its history
 * holds more than --rename-max messages, EAGAIN when the store cannot
 * take it now, ENOMEM; r unchanged then. */
#define RENAME_INTERVAL	30
int64_t		 room_rename_locked(struct room *r, const char *name);
/* A message to r was stored: a rename rewrites it (--rename-max).
 * Caller holds server.lock to write, or to read and r's post lock. */
void		 room_stored_locked(struct room *r);
/* r's post lock (lock 1a): a message to r stored and posted while
 * server.lock is held only to read. */
void		 room_post_lock(struct room *r);
void		 room_post_unlock(struct room *r);
/* The casefolded name, the store's key. */
const char	*room_key(const struct room *r);
/* Store seq when this room was made: its history starts after it. */
int64_t		 room_since(const struct room *r);
int		 room_count(const struct room *r);
const struct member *room_member_at(const struct room *r, int i);
struct member	*room_member_locked(struct room *r, struct client *c);
int		 room_add_locked(struct room *r, struct client *c,
		    unsigned modes);
/* Removes c; frees r and returns 1 when it became empty. */
int		 room_remove_locked(struct room *r, struct client *c);
/* 0 if c may join r with key, else the numeric was sent and -1. */
int		 room_join_check_locked(struct turn *t, struct room *r,
		    const char *key);
/* 0 if t->c may speak in r (members, +n, +m, +b unless +e). */
int		 room_can_send_locked(struct room *r, struct client *c);
/* Remembers an operator's invite of c (past +i, +b, +k and +l) for
 * config.invite_ttl seconds. */
void		 room_invite_locked(struct room *r, struct client *c);
int		 room_invite_only(const struct room *r);
int		 room_secret(const struct room *r);	/* +s */
/* Sends the topic numerics (332 and 333, or 331 if ask and none). */
void		 room_send_topic_locked(struct turn *t, struct room *r,
		    int ask);
/* Sets the topic (NULL clears) if c may; the numeric otherwise. */
int		 room_topic_set_locked(struct turn *t, struct room *r,
		    char **text, char **who);
const char	*room_topic(const struct room *r);
/* When r was made, and when its topic was set (0: no topic). */
time_t		 room_created(const struct room *r);
/* Which room r is: never the same for two rooms, whatever their names
 * (a room renamed keeps it, a new room of its old name has another). */
uint64_t	 room_id(const struct room *r);
time_t		 room_topic_time(const struct room *r);
/*
 * STATUSMSG (issue 13 section 2): skips target's leading PREFIX
 * characters ("@#room", "+#room") and returns the rest; *fan is
 * FAN_STATUS of the member modes it reaches (0 for none), *status the
 * prefix shown ('\0' for none).  Of several, the widest wins ("@+#r"
 * reaches voiced members too).
 */
const char	*room_status_target(const char *target, unsigned *fan,
		    char *status);
/* MODE #room ...: the room half of MODE. */
void		 room_mode_locked(struct turn *t, struct room *r,
		    struct irc_msg *m);
/*
 * The one fan-out for a room: l to every member of r (r NULL: to
 * everyone who shares a room with t->c) but t->c and except, only to
 * those with every cap in caps, only to chanops with FAN_OPS; with
 * FAN_SELF t->c gets its copy in order too, if it has caps.  Returns
 * the post.
 */
struct post	*room_fanout_locked(struct turn *t, struct room *r,
		    const struct line *l, unsigned flags, unsigned caps,
		    struct client *except);
/* Adds to p who's connections and everyone who shares a room with who,
 * each once, with every cap in caps, but except (and p's actor, as
 * post_add_locked); returns 1 if t->c is among them (t->c != who), so
 * that the caller can give t->conn its copy in order. */
int		 post_add_shared_locked(struct turn *t, struct post *p,
		    struct client *who, unsigned caps, struct client *except);
/* ISUPPORT and 004 words, from the one table of room modes. */
const char	*room_modes_chanmodes(void);	/* "b,k,l,imnt" */
const char	*room_modes_prefix(void);	/* "(ov)@+" */
const char	*room_modes_statusmsg(void);	/* "@+", STATUSMSG */
const char	*room_modes_all(void);		/* "biklmnotv" */
const char	*room_modes_with_param(void);	/* "bklov" */
/* '@', '+' or 0: the highest prefix of m. */
int		 member_prefix(const struct member *m);
/* All of m's prefixes, highest first ("@+" or "@" or ""), for
 * multi-prefix; into buf of at least 3 bytes. */
void		 member_prefixes(const struct member *m, char *buf);

/* cap.c */
/* "2026-11-26T02:20:00.123Z" */
void		 tag_time(int64_t ms, char *buf, size_t len);
int		 tag_time_parse(const char *s, int64_t *ms);
/* The client-only (+) tags of a raw tag string, into out; -1 if they
 * do not fit. */
int		 tags_client_only(const char *tags, char *out, size_t len);
/* The tags of a line as one string, "time=...;msgid=...;account=...;
 * bot;+a=b", for a client with caps (turn.c and history.c agree through
 * it); account is the sender's account name (escaped here), or NULL;
 * bot: the sender was +B (the bot tag, with message-tags). */
void		 line_tags(char *out, size_t len, unsigned caps, int64_t time_ms,
		    const char *msgid, const char *account, int bot,
		    const char *ctags);
/* The tags the store keeps with a message: "account=..." for a sender
 * logged in to an account, "bot" for a +B one, then the client-only
 * tags; "" if none.  -1 if they do not fit in len. */
int		 tags_stored(char *out, size_t len, const char *account,
		    int bot, const char *ctags);
/* Of tags as the store keeps them (or NULL): the sender's account
 * (unescaped, into account, "" if none) and whether it was a bot;
 * returns the client-only tags (a pointer into tags) or NULL. */
const char	*tags_stored_split(const char *tags, char *account,
		    size_t alen, int *bot);

/* history.c: JOIN replay and CHATHISTORY, as generators. */
/* 0 with --db off: no replay, no CHATHISTORY, and neither advertised. */
int		 history_enabled(void);
/* 1 when messages wait for a commit before anyone receives them. */
int		 history_durable(void);
/* The store key of a private conversation between nicks a and b. */
void		 history_key(const char *a, const char *b, char *key,
		    size_t len);
/* The last --history-lines messages of room r up to seq max_seq,
 * produced as the socket drains; NULL if there is nothing to do. */
struct gen	*history_replay_gen(struct room *r, int64_t max_seq);
/* draft/channel-rename: the rows of the room old_key made at seq since
 * move to new_key when seq commits; a replay or CHATHISTORY asked for
 * before follows them.  Takes a leaf lock: may run under server.lock. */
void		 history_renamed(const char *old_key, const char *new_key,
		    int64_t since, int64_t seq);
void		 cmd_chathistory(struct turn *, struct irc_msg *);

/* command.c */
void		 command_dispatch(struct turn *t, struct irc_msg *m);
/* Gives t->c the nick (key: casefolded), free in server.nicks: a NICK
 * line to everyone sharing a room once registered.  Caller holds
 * server.lock; -1 when out of memory. */
int		 client_nick_set_locked(struct turn *t, const char *nick,
		    const char *key);
/* "n!u@h" from a mask like "n", "n!u", "*@h": completes missing parts
 * with '*'. */
void		 mask_normalize(const char *in, char *out, size_t len);
void		 cmd_cap(struct turn *, struct irc_msg *);
void		 cmd_pass(struct turn *, struct irc_msg *);
void		 cmd_nick(struct turn *, struct irc_msg *);
void		 cmd_user(struct turn *, struct irc_msg *);
void		 cmd_ping(struct turn *, struct irc_msg *);
void		 cmd_pong(struct turn *, struct irc_msg *);
void		 cmd_quit(struct turn *, struct irc_msg *);
void		 cmd_join(struct turn *, struct irc_msg *);
void		 cmd_part(struct turn *, struct irc_msg *);
void		 cmd_privmsg(struct turn *, struct irc_msg *);
void		 cmd_notice(struct turn *, struct irc_msg *);
void		 cmd_tagmsg(struct turn *, struct irc_msg *);
/* A draft/multiline message (its body: multiline.c) to target, checked
 * as a PRIVMSG to it is (404, 401, away...), stored and posted as one
 * message.  ctags: client-only tags, "" if none.  to_id:
 * message_target_id() when the batch opened: a nick that changed
 * hands since, or a room name that now leads to another room (renamed
 * away, and made again by someone else), is refused, never delivered
 * to the new holder. */
void		 message_multiline(struct turn *t, const char *target,
		    const char *body, const char *ctags, uint64_t to_id);
/* The id of the person holding nick target now, or of the room called
 * target (after any STATUSMSG prefix, room_id); 0 for no one. */
uint64_t	 message_target_id(const char *target);
/* The LUSERS counts, read under server.lock and sent after it. */
struct lusers {
	unsigned	 users;		/* registered */
	unsigned	 invisible;
	unsigned	 opers;
	unsigned	 unknown;	/* connected, not registered */
	unsigned	 rooms;
	unsigned	 max_users;
};
/* Sends the welcome burst: 001-005, LUSERS, MOTD.  send_welcome()
 * takes mask (client_mask) and lu as they were when t->c registered,
 * and server.lock only for the MOTD, so registrations do not wait for
 * one another's formatting. */
void		 send_welcome(struct turn *t, const char *mask,
		    const struct lusers *lu);
void		 send_welcome_locked(struct turn *t);

/* command_query.c */
void		 cmd_who(struct turn *, struct irc_msg *);
void		 cmd_whois(struct turn *, struct irc_msg *);
void		 cmd_whowas(struct turn *, struct irc_msg *);
void		 cmd_list(struct turn *, struct irc_msg *);
void		 cmd_names(struct turn *, struct irc_msg *);
void		 cmd_lusers(struct turn *, struct irc_msg *);
void		 cmd_motd(struct turn *, struct irc_msg *);
void		 cmd_ison(struct turn *, struct irc_msg *);
void		 cmd_userhost(struct turn *, struct irc_msg *);
void		 cmd_version(struct turn *, struct irc_msg *);
void		 cmd_time(struct turn *, struct irc_msg *);
void		 cmd_admin(struct turn *, struct irc_msg *);
void		 cmd_info(struct turn *, struct irc_msg *);
void		 cmd_away(struct turn *, struct irc_msg *);
/* 353/366 for r as seen by t->c: a +i user is listed only to other
 * members of r. */
void		 send_names_locked(struct turn *t, struct room *r);
void		 send_lusers_locked(struct turn *t);
void		 lusers_get_locked(struct lusers *lu);
void		 send_lusers(struct turn *t, const struct lusers *lu);
void		 send_motd_locked(struct turn *t);
void		 send_isupport(struct turn *t);

/* command_chan.c */
void		 cmd_mode(struct turn *, struct irc_msg *);
void		 cmd_topic(struct turn *, struct irc_msg *);
void		 cmd_kick(struct turn *, struct irc_msg *);
void		 cmd_rename(struct turn *, struct irc_msg *);	/* channel-rename */
void		 cmd_invite(struct turn *, struct irc_msg *);

/* command_v3.c */
void		 cmd_setname(struct turn *, struct irc_msg *);

/* command_oper.c */
void		 cmd_oper(struct turn *, struct irc_msg *);
void		 cmd_kill(struct turn *, struct irc_msg *);
void		 cmd_wallops(struct turn *, struct irc_msg *);
void		 cmd_rehash(struct turn *, struct irc_msg *);
void		 cmd_die(struct turn *, struct irc_msg *);
/* help.c: HELP and HELPOP from --help-file. */
void		 cmd_help(struct turn *, struct irc_msg *);
/* Reads --help-file again (with no lock held; takes server.lock to
 * swap).  -1, logged, if it cannot: the old topics stay. */
int		 help_reload(void);
/* Frees the topics; at exit. */
void		 help_unload(void);

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
 * pruner applies --history-days and --history-max.  A commit that
 * fails keeps its rows and is retried until it works (an episode);
 * meanwhile the store holds a bounded number of rows.  Only
 * store_append(), store_last_seq(), store_committed() and
 * store_failing() may be called with server.lock held: they never wait
 * for the disk.  Every other function may wait (for the disk, a commit
 * or a lock): never call those while holding server.lock.
 */
#define STORE_MSGID_LEN	20
#define STORE_KEY_MAX	(2 * NICK_MAX + 2)	/* "a b" pair of nicks */
/* While commits fail, store_append() refuses a row once this many rows,
 * or this many bytes of them, wait for a commit: about a minute of a
 * busy server's lines, in memory a small machine can spare. */
#define STORE_HOLD_ROWS		10000
#define STORE_HOLD_BYTES	(8 * 1024 * 1024)

struct store_rec {
	int64_t		 seq;		/* set by store_append, increasing */
	char		 msgid[STORE_MSGID_LEN + 1];	/* set by store_append */
	int64_t		 time_ms;	/* set by store_append if 0 */
	/* What queries match: a casefolded room name, or for a private
	 * message the two casefolded nicks, sorted, joined by a space. */
	char		 key[STORE_KEY_MAX + 1];
	char		 source[MASK_MAX + 1];		/* nick!user@host */
	char		 command[16];	/* PRIVMSG NOTICE TAGMSG; rows with
					   any other are never returned */
	char		*params;	/* the line after the command, e.g.
					   "#room :hi", ":bye", "newnick";
					   a multiline message's text is its
					   body (LF and CR in it: multiline.c) */
	char		*tags;		/* its tags (tags_stored: the sender's
					   "account=x", then client-only tags
					   "+a=b"), or NULL */
	/* A private message's two sides when it was stored: casefolded
	 * nicks, and accounts (ids; 0: not logged in).  "" and 0 for a
	 * room's message; not filled in by queries. */
	char		 from_key[NICK_MAX + 1];
	char		 to_key[NICK_MAX + 1];
	int64_t		 from_account;
	int64_t		 to_account;
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

/* --db-sync: PRAGMA synchronous, with SQLite's own numbers.  In WAL
 * mode FULL syncs the WAL at every commit (a committed row survives a
 * power loss), NORMAL at checkpoints (survives a crash of natterd),
 * OFF never (the same, but a power loss may also corrupt the file). */
#define STORE_SYNC_OFF		0
#define STORE_SYNC_NORMAL	1
#define STORE_SYNC_FULL		2

struct store_opts {
	int		 history_days;	/* 0: keep forever */
	int		 history_max;	/* messages per key, 0: no limit */
	int		 sync;		/* STORE_SYNC_* */
	int		 hold_ms;	/* store_find waits at most this long;
					   0: STORE_HOLD_DEFAULT seconds */
};

/* Opens (creating 0700 folders and a 0600 file) or migrates path
 * (":memory:" keeps nothing); starts the writer and pruner threads.
 * Returns -1 with one line in err for a file that cannot be opened,
 * created or written, is corrupt, or has a newer schema; and, before
 * opening anything, when the file, its -wal or -shm, or the folder
 * holding them is a symbolic link, writable by group or others, or
 * owned by another user (root may own the folder). */
int		 store_open(const char *path, const struct store_opts *o,
		    char *err, size_t errlen);
/* The write connection's PRAGMA synchronous (STORE_SYNC_*, as SQLite
 * reports it), or -1 when no database is open ("off", or closed). */
int		 store_sync_level(void);
/* Commits everything queued, stops the threads, closes.  While commits
 * fail it keeps trying for a few seconds, then logs how many rows were
 * lost (store_wait() then says EIO for them, store_cancel() 0). */
void		 store_close(void);
/* The default path: $XDG_STATE_HOME/natterd/history.db, else
 * ~/.local/state/natterd/history.db. */
int		 store_default_path(char *buf, size_t len);
/* Queues rec (copied) for the writer; fills rec->seq, rec->msgid and,
 * if zero, rec->time_ms, and returns seq.  Never waits.  -1 with errno
 * EAGAIN while commits fail and STORE_HOLD_ROWS rows or STORE_HOLD_BYTES
 * are already held, ENOMEM, or EINVAL when the store is closed; no seq
 * is used up then. */
int64_t		 store_append(struct store_rec *rec);
/*
 * message-redaction.  A row with command STORE_REDACT and params the
 * msgid of a message is never stored: its commit deletes that message
 * (in seq order, so a message still pending goes in first and out
 * again).  store_find reads a message by msgid, after waiting (at most
 * store_opts.hold_ms) for one of this run still on its way to the
 * file: 1 with ref filled, 0 when there is none (or no history), -1.
 * Not under server.lock.
 */
#define STORE_REDACT	"REDACT"
struct store_ref {
	int64_t		 seq;
	int64_t		 time_ms;
	char		 msgid[STORE_MSGID_LEN + 1];
	char		 key[STORE_KEY_MAX + 1];
	char		 source[MASK_MAX + 1];
	char		 account[NICK_MAX + 1];	/* its sender's, or "" */
	char		 from_key[NICK_MAX + 1];	/* private: the sides */
	char		 to_key[NICK_MAX + 1];
	int64_t		 from_account;
	int64_t		 to_account;
};
int		 store_find(const char *msgid, struct store_ref *ref);
/* draft/channel-rename: queues, in the order of rows, the move of the
 * rows of the room old_key made at seq since (those sequenced before
 * this) to new_key with new_name as their target, with its read
 * markers, removing what an earlier room of new_key left in that
 * window.  Like store_append: never waits; returns the seq that the
 * move commits with (store_wait, store_cancel), or -1. */
int64_t		 store_rename(const char *old_key, const char *new_key,
		    const char *new_name, int64_t since);
/* A msgid (STORE_STAMP_LEN + 1 bytes, never one store_append gives)
 * and the time now, for a line that is not stored. */
#define STORE_STAMP_LEN	(STORE_MSGID_LEN + 1)
void		 store_stamp(char *msgid, int64_t *time_ms);
/* Waits until every row up to seq is committed or cancelled, at most
 * timeout_ms (0: only looks; -1: no limit).  Returns 0, or -1 with
 * errno ETIMEDOUT, EIO when the store closed with some of those rows
 * never stored, or EINVAL when seq was never handed out. */
int		 store_wait(int64_t seq, int timeout_ms);
/* The highest seq such that every row up to it is committed or
 * cancelled (store_wait(seq) would return at once).  Atomic, cheap. */
int64_t		 store_committed(void);
/* Waits until store_committed() passes seen, at most timeout_ms (also
 * once the store has closed: it never moves then); returns it. */
int64_t		 store_wait_past(int64_t seen, int timeout_ms);
/* The last seq handed out. */
int64_t		 store_last_seq(void);
/* Takes row seq back, once.  0: it was removed and will never be
 * stored (or it was lost at store_close, or history is off); 1: it is
 * already committed.  If a commit attempt holds the row, waits for its
 * outcome, so never both.  A cancelled row lets store_committed() move
 * past it.  -1 with EINVAL for a seq never handed out.  A seq already
 * cancelled gives 0 while rows before it are pending, else 1. */
int		 store_cancel(int64_t seq);
/* 1 while commits are failing (an episode), else 0.  Atomic, cheap. */
int		 store_failing(void);
/*
 * Queries: messages (PRIVMSG, NOTICE, TAGMSG) of key, oldest first, at
 * most limit; return the row count or -1.  Selector bounds are
 * exclusive.  Every query sees only rows with min_seq < seq <= max_seq
 * (max_seq 0: no bound): a room's history starts at its creation.
 * (A private conversation is read through store_query, below, which
 * knows whose each line is.)  A msgid selector
 * naming a row outside that window behaves as a msgid that is not
 * there (nothing is returned).
 * latest: the newest rows, after sel if given.
 */
int		 store_latest(const char *key, const struct store_sel *after,
		    int limit, int64_t min_seq, int64_t max_seq, store_cb *cb,
		    void *arg);
int		 store_before(const char *key, const struct store_sel *sel,
		    int limit, int64_t min_seq, int64_t max_seq, store_cb *cb,
		    void *arg);
int		 store_after(const char *key, const struct store_sel *sel,
		    int limit, int64_t min_seq, int64_t max_seq, store_cb *cb,
		    void *arg);
/* About limit/2 rows on each side of sel, sel's own row included. */
int		 store_around(const char *key, const struct store_sel *sel,
		    int limit, int64_t min_seq, int64_t max_seq, store_cb *cb,
		    void *arg);
/* Between two points in either order, oldest first, at most limit
 * (from the first point's side). */
int		 store_between(const char *key, const struct store_sel *a,
		    const struct store_sel *b, int limit, int64_t min_seq,
		    int64_t max_seq, store_cb *cb, void *arg);

/*
 * What one reader may see of one target.  A room: the rows of key with
 * min_seq < seq.  A private conversation (nick set): private history
 * belongs to accounts.  The reader sees the rows of key (its nick
 * paired with other) with min_seq < seq (when it took its nick) on
 * which no side holding its nick was logged in; and, with account, the
 * rows on which one side was that account and the other side had the
 * nick other, whatever nick the account held then.  Never a row whose
 * reader side was another account.  Every row: seq <= max_seq (0: no
 * bound).
 */
struct store_view {
	const char	*key;
	int64_t		 min_seq;
	int64_t		 max_seq;
	const char	*nick;		/* the reader's casefolded nick, or
					   NULL for a room */
	const char	*other;		/* the other side's, casefolded */
	int64_t		 account;	/* the reader's account id, or 0 */
};
enum store_what {
	STORE_LATEST,		/* a: after it, or NULL */
	STORE_BEFORE,
	STORE_AFTER,
	STORE_AROUND,
	STORE_BETWEEN		/* a and b */
};
/* The query `what' (as the functions above) on what v may see. */
int		 store_query(enum store_what what, const struct store_view *v,
		    const struct store_sel *a, const struct store_sel *b,
		    int limit, store_cb *cb, void *arg);

/* A room for TARGETS, and where its history starts for the asker. */
struct store_key {
	const char	*key;
	int64_t		 min_seq;	/* exclusive */
};
/* Targets with a message in (from_ms, to_ms) among keys (the rooms the
 * user is in, each counting rows with seq > its min_seq) and the
 * private conversations nickkey may see (struct store_view: those of
 * nickkey since nick_min_seq, and account's, if not 0); target is the
 * room name or the other nick as last stored, key the room's key or
 * nickkey's pair key with that nick.  At most limit, the oldest (the
 * newest if to_ms < from_ms), by latest message; memory for limit. */
int		 store_targets(const char *nickkey, int64_t nick_min_seq,
		    int64_t account, const struct store_key *keys, int nkeys,
		    int64_t from_ms, int64_t to_ms, int limit,
		    store_target_cb *cb, void *arg);

/*
 * Chunked reads, for a replay produced as the client's socket drains.
 * A cursor is an exclusive lower bound in result order (time, then
 * seq); rows stored after a seek with seq <= max_seq (or any, with
 * max_seq 0) are read too, so wait for max_seq before seeking.
 */
struct store_cursor {
	int64_t		 time_ms;
	int64_t		 seq;
};
/* Sets cur just before the oldest of the newest limit messages of key
 * with min_seq < seq <= max_seq (past everything when there are none);
 * returns how many that window holds (0..limit), or -1. */
int		 store_seek_latest(const char *key, int limit, int64_t min_seq,
		    int64_t max_seq, struct store_cursor *cur);
/* Up to limit messages of key after cur with min_seq < seq <= max_seq,
 * oldest first; moves cur past the last one returned.  Returns the
 * count (0: nothing more) or -1. */
int		 store_read(const char *key, struct store_cursor *cur,
		    int64_t min_seq, int64_t max_seq, int limit, store_cb *cb,
		    void *arg);

/*
 * Accounts in the store (schema 4): what account.c loads at start and
 * writes through.  Each write is one small transaction on the write
 * connection (it waits for a group commit in progress, and for the
 * disk): never with server.lock held.  With --db off there is no file:
 * writes do nothing and return 0, loading finds nothing.  Return 0, or
 * -1 when the file could not take the write (logged).
 */
#define STORE_SCRAM_KEY_LEN	32	/* SHA-256 */
#define STORE_FP_LEN		32	/* a certificate's SHA-256 */
struct store_account {
	int64_t		 id;
	const char	*name;		/* as given */
	const char	*key;		/* casefolded, unique */
	int64_t		 created;	/* unix seconds */
	unsigned	 flags;		/* ACCOUNT_* (account.c) */
	int64_t		 uid;		/* a local account's uid, or -1 */
	const char	*hash;		/* argon2id PHC string, or NULL */
	const unsigned char *scram_salt;	/* or NULL */
	int		 scram_saltlen;
	int		 scram_iter;
	const unsigned char *scram_stored;	/* STORE_SCRAM_KEY_LEN, or NULL */
	const unsigned char *scram_server;
};
/* Inserts or replaces the row with a->id. */
int		 store_account_put(const struct store_account *a);
/* The account and everything that hangs off it (certificates, nicks,
 * settings, read markers), in one transaction. */
int		 store_account_delete(int64_t id);
int		 store_cert_put(int64_t id, const unsigned char *fp);
int		 store_cert_delete(const unsigned char *fp);
int		 store_nick_put(int64_t id, const char *key, const char *nick);
int		 store_nick_delete(const char *key);
/* The len-byte secret called name, made at random and kept the first
 * time (with --db off, a new one each run). */
int		 store_meta_secret(const char *name, unsigned char *out,
		    size_t len);
typedef void	 store_account_cb(const struct store_account *, void *);
typedef void	 store_cert_cb(int64_t id, const unsigned char *fp, void *);
typedef void	 store_nick_cb(int64_t id, const char *key, const char *nick,
		    void *);
/* Calls acb for every account (by id), then ccb for every certificate
 * and ncb for every grouped nick; *max_id gets the highest id ever
 * used (deleted accounts' too).  Start-up only: the callbacks run
 * under the store's write lock and must not call the store.  Returns
 * the number of accounts, or -1. */
int		 store_accounts_load(store_account_cb *acb, store_cert_cb *ccb,
		    store_nick_cb *ncb, void *arg, int64_t *max_id);
/* Read markers (draft/read-marker; marker.c keeps them in memory):
 * the account's marker for key (a casefolded room or nick) set to
 * time_ms, and, when evict is not NULL, its marker for evict removed,
 * in one transaction. */
int		 store_marker_put(int64_t id, const char *key, int64_t time_ms,
		    const char *evict);
/* Every read marker of account id. */
int		 store_markers_delete(int64_t id);
typedef void	 store_marker_cb(int64_t id, const char *key, int64_t time_ms,
		    void *);
/* Calls cb for every read marker, by account, newest first.  Start-up
 * only, as store_accounts_load.  Returns the number, or -1. */
int		 store_markers_load(store_marker_cb *cb, void *arg);

/*
 * passwd.c: argon2id hashes (PHC strings) and SCRAM-SHA-256 keys, made
 * by a bounded pool of hashing threads.  The three blocking calls wait
 * in the caller's thread, in FIFO order, until a hashing thread did the
 * work: call them with no lock held.  Without a pool (not started) the
 * work runs in the caller's thread.  They return -1 with errno EAGAIN
 * when queue_max requests already wait, ECANCELED when the pool
 * stopped, EINVAL for a PHC string they cannot read.
 */
#define PASSWD_PHC_MAX		192
#define PASSWD_MEMORY_MAX	(4u * 1024 * 1024)	/* KiB: 4 GiB */
#define PASSWD_TIME_MAX		100
#define PASSWD_LANES_MAX	16
#define SCRAM_SALT_LEN		16
#define SCRAM_KEY_LEN		STORE_SCRAM_KEY_LEN
#define SCRAM_ITER_MIN		4096	/* RFC 7677 */

/* What SCRAM keeps instead of the password (RFC 5802 section 3). */
struct scram_keys {
	unsigned char	 salt[SCRAM_SALT_LEN];
	int		 iter;
	unsigned char	 stored[SCRAM_KEY_LEN];		/* H(ClientKey) */
	unsigned char	 server[SCRAM_KEY_LEN];		/* ServerKey */
};

int		 passwd_pool_start(int threads, int queue_max);
/* Fails the requests still queued, waits for those in progress. */
void		 passwd_pool_stop(void);
/* Tests: while paused, hashing threads take no new request. */
void		 passwd_pool_pause(int on);
int		 passwd_pool_queued(void);
/* A new argon2id PHC string for password, with a random salt. */
int		 passwd_hash(const char *password, const struct passwd_cost *c,
		    char *phc, size_t len);
/* 1 if password matches phc, 0 if not, -1 (errno) if it cannot tell.
 * The costs come from the string, so changing the flags never breaks
 * a stored hash. */
int		 passwd_verify(const char *phc, const char *password);
/* SCRAM keys for password with a new random salt and iter rounds. */
int		 passwd_scram(const char *password, int iter,
		    struct scram_keys *k);
/* The same with the salt given; pure, on the caller's thread. */
int		 scram_keys_derive(const char *password, size_t pwlen,
		    const unsigned char *salt, int iter, struct scram_keys *k);

/* scram.c: the server side of one SCRAM-SHA-256 exchange. */
struct scram {
	char		 gs2[128];	/* "n,," or "n,a=name," */
	char		 nonce[128];	/* client nonce, then ours */
	size_t		 cnonce_len;
	char		 first_bare[1024];
	char		 server_first[256];
	struct scram_keys keys;
};
/* Parses the client-first-message (len bytes, no NUL needed) into s,
 * the username into user.  -1 if malformed, if it asks for channel
 * binding ("p="), a mandatory extension, or an authzid other than the
 * user. */
int		 scram_client_first(struct scram *s, const char *msg,
		    size_t len, char *user, size_t userlen);
/* The server-first-message for keys k and our nonce (random when
 * snonce is NULL; tests give one). */
int		 scram_server_first(struct scram *s, const struct scram_keys *k,
		    const char *snonce, char *out, size_t outlen);
/* Checks the client-final-message: 1 and the server-final-message
 * ("v=...") in out if the proof is right, 0 if it is wrong, -1 if the
 * message is malformed or its nonce or binding is not this
 * exchange's. */
int		 scram_client_final(struct scram *s, const char *msg,
		    size_t len, char *out, size_t outlen);

/*
 * account.c: accounts, in memory, written through to the store.  The
 * top of account.c has the whole contract; in short:
 *   - An account is a struct account with a reference count and an id
 *     never reused.  Functions returning one return a new reference
 *     (account_unref it); a deleted account keeps existing for its
 *     holders, with ACCOUNT_DELETED, and never matches a lookup again.
 *   - Lookups (account_find, account_nick_owner, account_cert_owner,
 *     account_flags, account_usable, account_info) take accounts.lock,
 *     a leaf, and never touch the disk: fine with server.lock held.
 *   - Changes (create, set_password, delete, cert and nick add/del,
 *     account_local) and password checks hash and write the store:
 *     call them with no lock held, from a client thread or main.  They
 *     return -1 with errno EINVAL (bad name or fingerprint), EEXIST
 *     (taken), ENOSPC (a bound reached), ENOENT (deleted, or not the
 *     account's), EIO (the store could not take it), EAGAIN (the
 *     hashing queue is full).
 */
#define ACCOUNT_CERTS_MAX	16	/* certificates an account */
#define ACCOUNT_NICKS_MAX	16	/* grouped nicks an account */
#define LOGIN_LIMIT_SLOTS	4096	/* failure counters of each kind */

#define ACCOUNT_LOCAL		0x01	/* made for a Unix user (uid) */
#define ACCOUNT_PASSWORD	0x02	/* has an argon2id hash */
#define ACCOUNT_SCRAM		0x04	/* has SCRAM keys */
#define ACCOUNT_STORED		0xff	/* the flags the store keeps */
#define ACCOUNT_DELETED		0x100	/* gone: memory only */

struct account;

struct account_opts {
	unsigned	 max;		/* --max-accounts */
	unsigned	 fails_account;	/* failed logins a minute; 0: none */
	unsigned	 fails_ip;
	unsigned	 registers_ip;	/* registrations an hour; 0: none */
	unsigned	 limit_slots;	/* 0: LOGIN_LIMIT_SLOTS */
	struct passwd_cost cost;	/* for new hashes */
	int		 scram_iter;	/* for new SCRAM keys */
};

/* What ACCOUNT INFO shows, copied out under the lock. */
struct account_info {
	char		 name[NICK_MAX + 1];
	int64_t		 id;
	time_t		 created;
	int64_t		 uid;
	unsigned	 flags;
	int		 ncerts;
	char		 certs[ACCOUNT_CERTS_MAX][96];	/* "AB:CD:..." */
	int		 nnicks;
	char		 nicks[ACCOUNT_NICKS_MAX][NICK_MAX + 1];
};

enum account_check {
	ACCOUNT_OK,
	ACCOUNT_BAD,		/* wrong password, or no such account */
	ACCOUNT_LIMITED		/* too many failures: not even checked */
};

/* Loads every account from the store (after store_open); start-up. */
int		 account_init(const struct account_opts *o, char *err,
		    size_t errlen);
/* Drops the table's references; at exit. */
void		 account_shutdown(void);
unsigned	 account_count(void);
struct account	*account_ref(struct account *a);
void		 account_unref(struct account *a);
/* Never change: valid as long as a reference is held. */
const char	*account_name(const struct account *a);
int64_t		 account_id(const struct account *a);
time_t		 account_created(const struct account *a);
unsigned	 account_flags(struct account *a);
/* 1 unless deleted. */
int		 account_usable(struct account *a);
int		 account_info(struct account *a, struct account_info *out);
struct account	*account_find(const char *name);
/* The owner of a casefolded nick: the account of that name, or the one
 * that grouped it; NULL if none. */
struct account	*account_nick_owner(const char *nickkey);
/* The account a certificate fingerprint (any form
 * tls_fingerprint_parse takes) is linked to, or NULL. */
struct account	*account_cert_owner(const char *fp);
/* A new account; password NULL: none (no PLAIN or SCRAM login).
 * flags: ACCOUNT_LOCAL with uid, or 0.  *out (if not NULL) gets a
 * reference. */
int		 account_create(const char *name, const char *password,
		    unsigned flags, int64_t uid, struct account **out);
/* Sets (NULL: removes) the password and SCRAM keys. */
int		 account_set_password(struct account *a, const char *password);
/* Deletes a and everything linked to it; holders keep a deleted
 * object. */
int		 account_delete(struct account *a);
int		 account_cert_add(struct account *a, const char *fp);
int		 account_cert_del(struct account *a, const char *fp);
/* Groups nick (a valid nick no account owns) to a, or ungroups it. */
int		 account_nick_add(struct account *a, const char *nick);
int		 account_nick_del(struct account *a, const char *nick);
/* The local account of Unix user username (uid): found, or made
 * (ACCOUNT_LOCAL, no password) on first use.  NULL with EEXIST when
 * the name belongs to an account that is not this uid's. */
struct account	*account_local(int64_t uid, const char *username);
/*
 * Checks a password (blocks for the hash: no lock held).  ACCOUNT_OK
 * with a reference in *out; ACCOUNT_BAD for a wrong password, an
 * unknown account or one without a password, after the same work;
 * ACCOUNT_LIMITED without hashing when name or ipgroup had too many
 * failures this minute.  Failures are counted and logged (how: the
 * way in, "PLAIN" or "NickServ").
 */
enum account_check account_check_password(const char *name,
		    const char *password, const char *ipgroup,
		    const char *how, struct account **out);
/* SCRAM: the keys of name (a reference in *out), or for an unknown
 * account fake ones with a salt derived from the name (*out NULL), so
 * both exchanges look the same; ACCOUNT_LIMITED as above. */
enum account_check account_scram_keys(const char *name, const char *ipgroup,
		    struct scram_keys *k, struct account **out);
/* 1 (and logged) if name or ipgroup is over its failed-login limit. */
int		 account_login_limited(const char *name, const char *ipgroup);
/*
 * One login attempt on name from ipgroup, counted against both limits:
 * begin waits while the failures so far and the attempts under way
 * could reach a limit (so parallel attempts cannot outrun it), and is
 * -1 (logged) once one is reached.  end gives the place back, counting
 * (and logging, how: the mechanism) a failure.
 */
int		 account_attempt_begin(const char *name, const char *ipgroup);
void		 account_attempt_end(const char *name, const char *ipgroup,
		    int failed, const char *how);
/* Counts one registration from ipgroup (it is about to cost a hash):
 * 0, or -1 without counting it when ipgroup has made registers_ip
 * this hour. */
int		 account_register_take(const char *ipgroup);

/* sasl.c: AUTHENTICATE (IRCv3 sasl 3.1 and 3.2). */
struct sasl;
void		 cmd_authenticate(struct turn *, struct irc_msg *);
/* Registration completed while an exchange was going on: 906. */
void		 sasl_abort(struct turn *t);
void		 sasl_free(struct sasl *s);

/*
 * owner.c: nicks belong to accounts (the top of owner.c tells how).
 * Everything _locked runs under server.lock, on a person.
 */
enum owner_state {
	OWNER_FREE,		/* no account owns the nick */
	OWNER_MINE,		/* its owner is the account logged in to */
	OWNER_GRACE,		/* owned by another: a grace starts now */
	OWNER_GRACE_KEPT	/* ... the grace already running goes on */
};
/* After cl took a nick or logged in: starts (waking its connections'
 * threads), keeps or ends its grace; none before registration. */
enum owner_state owner_check_locked(struct client *cl);
/* Ends cl's grace, if any. */
void		 owner_clear_locked(struct client *cl);
/* 1 if key (casefolded) is owned by an account other than cl's whose
 * person is online: nobody else may take it then. */
int		 owner_online_locked(struct client *cl, const char *key);
/* 1 if cl is logged in and holds a nick another account owns. */
int		 owner_other_locked(struct client *cl);
/* Renames t->c to the next free Guest<N> (a NICK line once
 * registered) and ends its grace; -1 if that failed. */
int		 owner_guest_locked(struct turn *t);
/* The NOTICE that starts a grace, and the one after a rename. */
void		 owner_grace_notice(struct turn *t);
/* nick has just become an account's: its holder, if not logged in to
 * it, starts a grace (no lock held). */
void		 owner_claimed(struct turn *t, const char *nick);
void		 owner_renamed_notice(struct turn *t, const char *old);
/* A connection's timer: its person's grace is due (grace_ms). */
void		 owner_timer(struct conn *c);

/* login.c: every way in to an account and out of it (see there). */
/* Logs t->c in to a (taking the caller's reference): 900 (and 903 if
 * sasl); -1 if it was logged in already or a is gone, nothing sent. */
int		 login_account(struct turn *t, struct account *a,
		    const char *how, int sasl);
/* Logs c out: 901 to its connections but t's; 1 if it was logged in. */
int		 logout_locked(struct turn *t, struct client *c);

/* command_account.c */
void		 cmd_account(struct turn *, struct irc_msg *);
/* Logs out every person logged in to a (a deleted account): 901 to
 * each of their connections, t's included. */
void		 account_logout_everyone(struct turn *t, struct account *a);
/* The FAIL code and text for errno e after an account change failed. */
const char	*account_errno_code(int e, const char **why);

/*
 * register.c: IRCv3 draft/account-registration (REGISTER, VERIFY), and
 * the checks and steps NickServ REGISTER shares with it.
 */
#define REGISTER_PASSWORD_MIN	8	/* bytes */
#define REGISTER_PASSWORD_MAX	300	/* fits a PRIVMSG to NickServ */
void		 cmd_register(struct turn *, struct irc_msg *);
void		 cmd_verify(struct turn *, struct irc_msg *);
/* The cap's value: before-connect only without a server password. */
const char	*register_cap_value(void);
/* 1 if the Unix socket is on and name (as given or in lower case) is a
 * login name on this machine: its user's local account, which nobody
 * else may register or group.  May ask a directory service: no lock
 * held. */
int		 register_unix_name(const char *name);
/* NULL if password will do for account name, else the FAIL code
 * (WEAK_PASSWORD or UNACCEPTABLE_PASSWORD) with the reason in *why. */
const char	*register_password_bad(const char *name, const char *password,
		    const char **why);
/*
 * Makes account name with password for t->c and logs it in (900), no
 * lock held; how names the way (for the log).  0, or -1 with the FAIL
 * code in *code and its text in *why (nothing sent).
 */
int		 register_account(struct turn *t, const char *name,
		    const char *password, const char *how, const char **code,
		    const char **why);

/*
 * nickserv.c: the NickServ service, a nick nobody can take that
 * answers PRIVMSG NickServ (and the NICKSERV and NS commands) with
 * NOTICEs from NICKSERV_MASK.
 */
#define NICKSERV_NICK	"NickServ"
#define NICKSERV_HOST	"services."
#define NICKSERV_MASK	NICKSERV_NICK "!" NICKSERV_NICK "@" NICKSERV_HOST
/* 1 if nick (any case) is a service's: nobody may use it. */
int		 nickserv_reserved(const char *nick);
/* A PRIVMSG to NickServ: text is the command line. */
void		 nickserv_privmsg(struct turn *t, const char *text);
void		 cmd_nickserv(struct turn *, struct irc_msg *);
/* WHOIS NickServ: 311, 312 (caller sends 318). */
void		 nickserv_whois(struct turn *t);

/*
 * marker.c: read markers (draft/read-marker), per account, in memory
 * and written through to the store.  markers.wlock serializes changes
 * (check, write, apply) and is held across the disk write, so never
 * with server.lock or accounts.wlock held; markers.lock is a leaf like
 * accounts.lock: marker_get may run under server.lock.
 */
#define MARKERS_MAX	1024	/* an account's markers; past it, the one
				   with the oldest time goes */
#define MARKER_KEY_MAX	ROOM_NAME_MAX	/* a casefolded room or nick */
/* Loads the markers from the store (after account_init); -1 if it
 * cannot read them. */
int		 marker_init(void);
void		 marker_shutdown(void);
/* a's marker for key, in ms, or 0 if none (or a is NULL). */
int64_t		 marker_get(struct account *a, const char *key);
/*
 * Moves a's marker for key to *ms if that is later (a time in the
 * future counts as now): 1 and *ms the new value, or 0 and *ms the
 * stored one, which is as late or later.  -1 with errno ENOENT (a was
 * deleted), EINVAL (key too long), ENOMEM or EIO (the store failed;
 * nothing changed).
 */
int		 marker_set(struct account *a, const char *key, int64_t *ms);
/* Forgets every marker of a deleted account, in memory and store. */
void		 marker_forget(int64_t id);
/* draft/channel-rename: every account's marker for room key old_key is
 * now for new_key, in memory (the store moves them with the room's rows,
 * store_rename).  Takes markers.lock only: may run under server.lock. */
void		 marker_rename(const char *old_key, const char *new_key);

/* redact.c: REDACT (draft/message-redaction). */
void		 cmd_redact(struct turn *, struct irc_msg *);

/* command_v3.c: MARKREAD, and the markers a JOIN sends. */
void		 cmd_markread(struct turn *, struct irc_msg *);
/* After t->c joined r (its JOIN posted): MARKREAD r to t's connection
 * and t->c's other devices, those with draft/read-marker. */
void		 markread_join_locked(struct turn *t, struct room *r);
/* The MARKREAD line of a room for c's account: into buf. */
void		 markread_line_locked(struct client *c, struct room *r,
		    char *buf, size_t len);

/*
 * multiline.c: IRCv3 draft/multiline, from a client and to clients (the
 * top of multiline.c tells the body's form and the bounds).
 */
#define MULTILINE_TIMEOUT_MS	30000	/* a batch open longer is dropped */
#define MULTILINE_REF_MAX	64	/* a client's batch reference */
#define MULTILINE_FLOOD_BYTES	512	/* a closed batch costs one line of
					   flood control for each of these
					   (its texts, each plus one) */
#define MULTILINE_LINE_WIRE	192	/* what a line of a batch adds to its
					   text: tags, PRIVMSG, target */
#define MULTILINE_WIRE_MAX	(MULTILINE_MAX_BYTES + \
				 (MULTILINE_MAX_LINES + 2) * MULTILINE_LINE_WIRE)
					/* a whole batch as a client sends it:
					   the --recvq slack of a client with
					   the cap */
/* A line c's thread has parsed: 1 if it was part of draft/multiline
 * (BATCH, or a line of a batch) and is done with, 0 if it is for the
 * dispatcher (it may have ended c's open batch).  label: its
 * labeled-response label or NULL; valid: it is UTF-8. */
int		 multiline_line(struct turn *t, struct irc_msg *m,
		    const char *label, int valid);
/* Tokens of flood control the raw line (or its first len bytes) costs
 * c: 0 for a line of its open batch, 1 + the batch's size for the
 * BATCH that closes it, else 1. */
double		 multiline_cost(struct conn *c, const char *line, size_t len);
/* Monotonic ms when c's open batch times out, or 0. */
long long	 multiline_deadline(struct conn *c);
/* c's timer: drops its open batch once it timed out (FAIL). */
void		 multiline_timer(struct conn *c, long long now);
/* Frees c's open batch, if any (teardown). */
void		 multiline_free(struct conn *c);
/*
 * The wire lines of a multiline message: head is ":source CMD target",
 * body its lines (LF and CR joins).  With ref, a draft/multiline batch
 * of that reference whose BATCH line carries tags; without, the
 * non-blank lines alone, the first with tags and the others with more.
 * outer: the batch all of it is in, or NULL.  tags and more may be "".
 */
struct buf	*multiline_lines(const char *head, const char *body,
		    const char *tags, const char *more, const char *ref,
		    const char *outer);
/* 1 if a stored message's text (after " :") is a multiline body. */
int		 multiline_is_body(const char *text);

/*
 * monitor.c: IRCv3 MONITOR and extended-monitor (the top of monitor.c
 * tells the index, its bounds and the order of notifications).  All
 * _locked functions run under server.lock.
 */
#define MONITOR_MAX	100	/* ISUPPORT MONITOR: nicks a connection
				   may watch */
struct monitor_entry;
void		 cmd_monitor(struct turn *, struct irc_msg *);
/* c has just come online with its nick (registration, NICK): 730 to
 * every connection watching it. */
void		 monitor_online_locked(struct turn *t, struct client *c);
/* nick (casefolded key) has just gone (QUIT, KILL, drop, NICK): 731 to
 * every connection watching it. */
void		 monitor_offline_locked(struct turn *t, const char *nick,
		    const char *key);
/* Forgets everything k watches (MONITOR C, teardown). */
void		 monitor_conn_gone_locked(struct conn *k);
/*
 * extended-monitor: adds to p every connection with extended-monitor
 * and cap that watches who and was not reached by the
 * post_add_shared_locked() on who just before (its person is not
 * marked with server.gen), each once.  Returns 1 if t->conn is one of
 * them: the caller gives it its copy in order (turn_echo_locked).
 */
int		 monitor_fanout_locked(struct turn *t, struct post *p,
		    struct client *who, unsigned cap);

/* natterd.c */
/* Starts shutdown as SIGTERM does: stop accepting, ERROR to all. */
void		 server_stop(const char *why);

#endif
