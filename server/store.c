/*
 * store.c: message history in one SQLite file (WAL), for chathistory
 * and JOIN replay.  Knows nothing of clients or rooms: it stores and
 * returns struct store_rec.
 *
 * store_append() only copies the row into the pending ring (indexed by
 * seq) and assigns seq, msgid and time; the writer thread commits every
 * pending row in one transaction (group commit) and publishes
 * committed, which store_wait() waits for.  A commit that fails
 * (another process holds the file, the disk is full, an I/O error)
 * keeps its rows: the writer tries again after a growing pause, rows
 * appended meanwhile joining the next attempt, for as long as it takes.
 * Such an episode is logged once when it starts and once when it ends;
 * while it lasts store_append() holds at most STORE_HOLD_ROWS rows or
 * STORE_HOLD_BYTES.  store_cancel() takes a pending row back, or waits
 * for the outcome of the attempt that holds it, so a row is either
 * committed or never written.
 *
 * The pruner thread applies --history-days and --history-max every
 * STORE_PRUNE_MS (not during an episode), in small chunks on the
 * writer's connection, and checkpoints the WAL on its own connection so
 * the writer never waits for a checkpoint (with --db-sync full it still
 * syncs the WAL at each commit: that is the point).  Queries run on a
 * read connection of their own, which WAL lets read beside the writer.
 * For ":memory:" there is one connection, shared under wlock.
 *
 * Accounts (schema 4) are read once at start-up and written through
 * by account.c, one small transaction per change on the write
 * connection under wlock (store_account_put and friends, at the end).
 *
 * Private history belongs to accounts (schema 5).  A private row keeps
 * its two sides as they were when it was stored: the sender's and the
 * recipient's casefolded nicks (from_key, to_key) and accounts
 * (from_account, to_account; NULL for a side not logged in).  A reader
 * (struct store_view) logged in to account A sees the rows one side of
 * which was A, with the other side's nick as the target, whatever nick
 * A held then; and, by the nick-hold rule, the rows of its nick pair's
 * key stored since it took its nick on which no side holding its nick
 * was logged in.  A row whose reader side was another account is never
 * its.  Rows older than schema 5 have no sides: the nick-hold rule
 * alone.  account_peer lists the nicks each account talked with, for
 * TARGETS, as peer does for nicks.
 *
 * Locks, in the only order they may be taken:
 *   1. store.rlock  guards the read connection and its statements.
 *   2. store.wlock  guards the write connection and its statements
 *                   (and, for ":memory:", the read statements too); the
 *                   writer holds it for a commit attempt, the pruner
 *                   for one chunk, and the WAL hook takes plock under it.
 *   3. store.plock  guards the pruner's wake-up flags.
 * store.qlock guards the pending ring, committed and the writer's
 * state.  It is a leaf: nothing is taken while holding it, and no disk
 * I/O happens under it.  So it is the only lock taken by store_append,
 * store_last_seq, store_committed and store_failing (the last three
 * take none), which alone may be called with server.lock held; every
 * other function here may wait for the disk, a lock, or the writer.
 * No callback runs under any store lock: rows are copied out first.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "casemap.h"
#include "fsutil.h"
#include "log.h"
#include "natterd.h"

#define STORE_SCHEMA		5	/* PRAGMA user_version we write */
#define STORE_RETRY_MS		50	/* pause after a failed commit... */
#define STORE_RETRY_MAX_MS	1000	/* ...doubling up to this */
#define STORE_CLOSE_MS		3000	/* store_close: tries this long */
#define STORE_RING_MIN		1024	/* first size of the pending ring */
#define STORE_PRUNE_MS		60000	/* between retention passes */
#define STORE_PRUNE_FIRST_MS	1000	/* first pass after open */
#define STORE_PRUNE_CHUNK	1000	/* rows per DELETE */
#define STORE_CKPT_PAGES	4000	/* WAL pages: ask for a checkpoint */
#define STORE_CKPT_FORCE_PAGES	16000	/* WAL pages: writer checkpoints */
#define STORE_BUSY_MS		5000	/* opening, reads, checkpoints */
#define STORE_WBUSY_MS		1000	/* commits: a lock held longer
					   starts an episode */
#define STORE_MEMORY		":memory:"
#define STORE_OFF		"off"

_Static_assert(STORE_MSGID_LEN == 20, "msgid is 11 + 9 base32 digits");

/* A pending row: the record, then its params and tags strings. */
struct store_ent {
	struct store_ent	*next;		/* the writer's batch */
	size_t			 size;		/* counted in store.nbytes */
	/* draft/channel-rename: a room's rename (store_rename) rather than
	 * a row; rec.key is the old key, rec.params the new name, rec.tags
	 * the new key, since the room's creation. */
	int			 rename;
	int64_t			 since;
	struct store_rec	 rec;
	char			 text[];
};

/*
 * Only messages count: queries return them, limits and --history-max
 * count them, and only they make a room a target.  Room events (JOIN,
 * PART, TOPIC...) are not history; schema 3 dropped those older files
 * kept, and any other row is skipped (and pruned with the messages
 * around it).
 */
#define STORE_MESSAGES	"command IN ('PRIVMSG', 'NOTICE', 'TAGMSG') "
#define STORE_MESSAGES_NOT "command NOT IN ('PRIVMSG', 'NOTICE', 'TAGMSG')"

/* The multi-row insert: 16 rows of the 12 columns SW_INSERT binds. */
#define STORE_INSERT_MANY	16
#define STORE_ROW	"(?,?,?,?,?,?,?,?,?,?,?,?)"
#define STORE_ROWS4	STORE_ROW "," STORE_ROW "," STORE_ROW "," STORE_ROW
#define STORE_ROWS16	STORE_ROWS4 "," STORE_ROWS4 "," STORE_ROWS4 "," \
			STORE_ROWS4
#define STORE_ROW_COLS	12

/* Statements on the write connection. */
enum {
	SW_BEGIN,
	SW_COMMIT,
	SW_ROLLBACK,
	SW_INSERT,
	SW_INSERT_MANY,
	SW_PEER,
	SW_APEER,
	SW_NEXT_KEY,
	SW_DEL_OLD,
	SW_EDGE,
	SW_DEL_BELOW,
	SW_DEL_PEERS,
	SW_DEL_APEERS,
	SW_ACCT_PUT,
	SW_ACCT_DEL,
	SW_ACCT_DEL_CERTS,
	SW_ACCT_DEL_NICKS,
	SW_ACCT_DEL_SETTINGS,
	SW_ACCT_DEL_MARKERS,
	SW_ACCT_DEL_APEERS,
	SW_CERT_PUT,
	SW_CERT_DEL,
	SW_NICK_PUT,
	SW_NICK_DEL,
	SW_META_GET,
	SW_META_PUT,
	SW_MARKER_PUT,
	SW_MARKER_DEL,
	SW_REDACT,
	/* draft/channel-rename */
	SW_RENAME_DEL,
	SW_RENAME,
	SW_RENAME_MARKERS,
	SW_COUNT
};

static const char *const store_wsql[SW_COUNT] = {
	[SW_BEGIN] = "BEGIN IMMEDIATE",
	[SW_COMMIT] = "COMMIT",
	[SW_ROLLBACK] = "ROLLBACK",
	[SW_INSERT] = "INSERT INTO message (seq, msgid, time_ms, key, "
	    "source, command, params, tags, from_key, to_key, from_account, "
	    "to_account) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11, ?12)",
	/* STORE_INSERT_MANY rows in one statement: a statement's fixed
	 * cost (cursors, its journal, halt) once for all of them. */
	[SW_INSERT_MANY] = "INSERT INTO message (seq, msgid, time_ms, key, "
	    "source, command, params, tags, from_key, to_key, from_account, "
	    "to_account) VALUES " STORE_ROWS16,
	[SW_PEER] = "INSERT OR IGNORE INTO peer (nick, key) VALUES (?1, ?2)",
	[SW_APEER] = "INSERT OR IGNORE INTO account_peer (account, nick) "
	    "VALUES (?1, ?2)",
	[SW_NEXT_KEY] = "SELECT key FROM message WHERE key > ?1 "
	    "ORDER BY key LIMIT 1",
	[SW_DEL_OLD] = "DELETE FROM message WHERE seq IN (SELECT seq FROM "
	    "message WHERE key = ?1 AND time_ms < ?2 LIMIT ?3)",
	[SW_EDGE] = "SELECT seq FROM message WHERE key = ?1 AND "
	    STORE_MESSAGES "ORDER BY seq DESC LIMIT 1 OFFSET ?2",
	[SW_DEL_BELOW] = "DELETE FROM message WHERE seq IN (SELECT seq FROM "
	    "message WHERE key = ?1 AND seq < ?2 LIMIT ?3)",
	[SW_DEL_PEERS] = "DELETE FROM peer WHERE NOT EXISTS (SELECT 1 FROM "
	    "message WHERE message.key = peer.key)",
	[SW_DEL_APEERS] = "DELETE FROM account_peer WHERE NOT EXISTS "
	    "(SELECT 1 FROM message WHERE from_account = account_peer.account "
	    "AND to_key = account_peer.nick) AND NOT EXISTS (SELECT 1 FROM "
	    "message WHERE to_account = account_peer.account AND from_key = "
	    "account_peer.nick)",
	[SW_ACCT_PUT] = "INSERT OR REPLACE INTO account (id, name, key, "
	    "created, flags, uid, hash, scram_salt, scram_iter, scram_stored, "
	    "scram_server) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11)",
	[SW_ACCT_DEL] = "DELETE FROM account WHERE id = ?1",
	[SW_ACCT_DEL_CERTS] = "DELETE FROM account_cert WHERE account = ?1",
	[SW_ACCT_DEL_NICKS] = "DELETE FROM account_nick WHERE account = ?1",
	[SW_ACCT_DEL_SETTINGS] = "DELETE FROM account_setting WHERE "
	    "account = ?1",
	[SW_ACCT_DEL_MARKERS] = "DELETE FROM read_marker WHERE account = ?1",
	[SW_ACCT_DEL_APEERS] = "DELETE FROM account_peer WHERE account = ?1",
	[SW_CERT_PUT] = "INSERT INTO account_cert (fp, account) "
	    "VALUES (?1, ?2)",
	[SW_CERT_DEL] = "DELETE FROM account_cert WHERE fp = ?1",
	[SW_NICK_PUT] = "INSERT INTO account_nick (key, nick, account) "
	    "VALUES (?1, ?2, ?3)",
	[SW_NICK_DEL] = "DELETE FROM account_nick WHERE key = ?1",
	[SW_META_GET] = "SELECT value FROM meta WHERE name = ?1",
	[SW_META_PUT] = "INSERT OR REPLACE INTO meta (name, value) "
	    "VALUES (?1, ?2)",
	[SW_MARKER_PUT] = "INSERT OR REPLACE INTO read_marker (account, "
	    "target, time_ms) VALUES (?1, ?2, ?3)",
	[SW_MARKER_DEL] = "DELETE FROM read_marker WHERE account = ?1 AND "
	    "target = ?2",
	/* message-redaction: a REDACT row takes its message out. */
	[SW_REDACT] = "DELETE FROM message WHERE msgid = ?1",
	/* draft/channel-rename: the rows of an earlier room of the new name
	 * that the renamed room's window would show; then the renamed
	 * room's rows, their target (after any status prefix) the new
	 * name; then its read markers. */
	[SW_RENAME_DEL] = "DELETE FROM message WHERE key = ?1 AND seq > ?2 "
	    "AND seq < ?3",
	[SW_RENAME] = "UPDATE message SET key = ?1, params = "
	    "substr(params, 1, length(params) - length(ltrim(params, '@+'))) "
	    "|| ?2 || substr(params, instr(params, ' ')) WHERE key = ?3 AND "
	    "seq > ?4 AND seq < ?5 AND instr(params, ' ') > 0",
	[SW_RENAME_MARKERS] = "UPDATE OR REPLACE read_marker SET target = ?1 "
	    "WHERE target = ?2",
};

/* Statements on the read connection.  The SR_A* ones read a private
 * conversation for a reader logged in to an account. */
enum {
	SR_ASC,
	SR_DESC,
	SR_AASC,
	SR_ADESC,
	SR_SEEK,
	SR_POINT,
	SR_APOINT,
	SR_LAST,
	SR_ALAST,
	SR_PEERS,
	SR_APEERS,
	SR_FIND,
	SR_COUNT
};

/*
 * The nick-hold rule's rows: no side that held the reader's nick (the
 * parameter p; NULL for a room, where it always holds) was logged in.
 */
#define STORE_UNCLAIMED(p) "(from_key IS NOT " p " OR from_account IS " \
	"NULL) AND (to_key IS NOT " p " OR to_account IS NULL) "
#define STORE_COLS	"seq, msgid, time_ms, source, command, params, tags"
#define STORE_WINDOW	"(time_ms, seq) > (?2, ?3) AND " \
	"(time_ms, seq) < (?4, ?5) AND seq <= ?7 AND " STORE_MESSAGES
#define STORE_RANGE	"FROM message WHERE key = ?1 AND " STORE_WINDOW \
	"AND seq > ?6 AND " STORE_UNCLAIMED("?9")
/* A reader logged in to account ?10, the other side's nick ?11: the
 * nick-hold rows, then those where the sender was the account, then
 * those where the recipient was (a row of both is in the second).
 * Each part reads its own index in order; SQLite merges them. */
#define STORE_ARANGE	"SELECT " STORE_COLS " " STORE_RANGE \
	"UNION ALL SELECT " STORE_COLS " FROM message WHERE " \
	"from_account = ?10 AND to_key = ?11 AND " STORE_WINDOW \
	"UNION ALL SELECT " STORE_COLS " FROM message WHERE " \
	"to_account = ?10 AND from_key = ?11 AND (from_account IS NOT ?10 " \
	"OR to_key IS NOT ?11) AND " STORE_WINDOW
#define STORE_ALAST(me, them) "SELECT time_ms, source, params, seq " \
	"FROM message WHERE " me "_account = ?1 AND " them "_key = ?2 AND " \
	"time_ms > ?3 AND time_ms < ?4 AND " STORE_MESSAGES

static const char *const store_rsql[SR_COUNT] = {
	[SR_ASC] = "SELECT " STORE_COLS " " STORE_RANGE
	    "ORDER BY time_ms, seq LIMIT ?8",
	[SR_DESC] = "SELECT " STORE_COLS " " STORE_RANGE
	    "ORDER BY time_ms DESC, seq DESC LIMIT ?8",
	[SR_AASC] = STORE_ARANGE "ORDER BY time_ms, seq LIMIT ?8",
	[SR_ADESC] = STORE_ARANGE "ORDER BY time_ms DESC, seq DESC LIMIT ?8",
	[SR_SEEK] = "SELECT time_ms, seq FROM message WHERE key = ?1 AND "
	    "seq > ?2 AND seq <= ?3 AND " STORE_MESSAGES
	    "ORDER BY time_ms DESC, seq DESC LIMIT ?4",
	[SR_POINT] = "SELECT time_ms, seq FROM message "
	    "WHERE msgid = ?1 AND key = ?2 AND seq > ?3 AND seq <= ?4 AND "
	    STORE_UNCLAIMED("?5"),
	[SR_APOINT] = "SELECT time_ms, seq FROM message "
	    "WHERE msgid = ?1 AND seq <= ?4 AND ((key = ?2 AND seq > ?3 AND "
	    STORE_UNCLAIMED("?5") ") OR (from_account = ?6 AND to_key = ?7) "
	    "OR (to_account = ?6 AND from_key = ?7))",
	[SR_LAST] = "SELECT time_ms, source, params FROM message "
	    "WHERE key = ?1 AND time_ms > ?2 AND time_ms < ?3 AND seq > ?4 "
	    "AND " STORE_MESSAGES "AND " STORE_UNCLAIMED("?5")
	    "ORDER BY time_ms DESC, seq DESC LIMIT 1",
	[SR_ALAST] = STORE_ALAST("from", "to") "UNION ALL "
	    STORE_ALAST("to", "from")
	    "ORDER BY time_ms DESC, seq DESC LIMIT 1",
	[SR_PEERS] = "SELECT key FROM peer WHERE nick = ?1",
	[SR_APEERS] = "SELECT nick FROM account_peer WHERE account = ?1",
	/* message-redaction: a message by its msgid (the UNIQUE index). */
	[SR_FIND] = "SELECT seq, time_ms, key, source, tags, from_key, "
	    "to_key, from_account, to_account FROM message WHERE msgid = ?1 "
	    "AND " STORE_MESSAGES,
};

/*
 * Schema migrations: migration[v] takes a file from user_version v to
 * v + 1.  A new file runs them all, so the upgrade path is always the
 * one tested.  Version 1 had no tags column and no peer table; version
 * 2 kept room events beside the messages.
 */
static const char *const store_migration[STORE_SCHEMA] = {
	/* 0 -> 1 */
	"CREATE TABLE message ("
	" seq INTEGER PRIMARY KEY,"
	" msgid TEXT NOT NULL UNIQUE,"
	" time_ms INTEGER NOT NULL,"
	" key TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" command TEXT NOT NULL,"
	" params TEXT NOT NULL);"
	"CREATE INDEX message_key_seq ON message (key, seq);"
	"CREATE INDEX message_key_time ON message (key, time_ms);"
	"PRAGMA user_version = 1;",
	/* 1 -> 2: tags, and peer: nick -> private keys, for TARGETS. */
	"ALTER TABLE message ADD COLUMN tags TEXT;"
	"CREATE INDEX IF NOT EXISTS message_key_seq ON message (key, seq);"
	"CREATE INDEX IF NOT EXISTS message_key_time ON message "
	"(key, time_ms);"
	"CREATE TABLE peer ("
	" nick TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" PRIMARY KEY (nick, key)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO peer (nick, key)"
	" SELECT DISTINCT substr(key, 1, instr(key, ' ') - 1), key"
	" FROM message WHERE instr(key, ' ') > 0;"
	"INSERT OR IGNORE INTO peer (nick, key)"
	" SELECT DISTINCT substr(key, instr(key, ' ') + 1), key"
	" FROM message WHERE instr(key, ' ') > 0;"
	"PRAGMA user_version = 2;",
	/* 2 -> 3: room events are no longer history; drop them, and the
	 * private keys they left without a message. */
	"DELETE FROM message WHERE " STORE_MESSAGES_NOT ";"
	"DELETE FROM peer WHERE NOT EXISTS (SELECT 1 FROM message WHERE"
	" message.key = peer.key);"
	"PRAGMA user_version = 3;",
	/* 3 -> 4: accounts (account.c keeps them in memory and writes them
	 * through): the account, its certificate fingerprints and grouped
	 * nicks, per-account settings and read markers for later parts,
	 * and meta, the server's own secrets (the fake SCRAM salt key). */
	"CREATE TABLE account ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL,"
	" key TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" uid INTEGER,"
	" hash TEXT,"
	" scram_salt BLOB,"
	" scram_iter INTEGER,"
	" scram_stored BLOB,"
	" scram_server BLOB);"
	"CREATE TABLE account_cert ("
	" fp BLOB PRIMARY KEY,"
	" account INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX account_cert_account ON account_cert (account);"
	"CREATE TABLE account_nick ("
	" key TEXT PRIMARY KEY,"
	" nick TEXT NOT NULL,"
	" account INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX account_nick_account ON account_nick (account);"
	"CREATE TABLE account_setting ("
	" account INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" value TEXT,"
	" PRIMARY KEY (account, name)) WITHOUT ROWID;"
	"CREATE TABLE read_marker ("
	" account INTEGER NOT NULL,"
	" target TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" PRIMARY KEY (account, target)) WITHOUT ROWID;"
	"CREATE TABLE meta ("
	" name TEXT PRIMARY KEY,"
	" value BLOB) WITHOUT ROWID;"
	"PRAGMA user_version = 4;",
	/* 4 -> 5: private history belongs to accounts (see the top): the
	 * two sides of a private row, and account_peer for TARGETS.  Older
	 * rows have no sides, which reads as nobody logged in. */
	"ALTER TABLE message ADD COLUMN from_key TEXT;"
	"ALTER TABLE message ADD COLUMN to_key TEXT;"
	"ALTER TABLE message ADD COLUMN from_account INTEGER;"
	"ALTER TABLE message ADD COLUMN to_account INTEGER;"
	"CREATE INDEX message_from_account ON message"
	" (from_account, to_key, time_ms) WHERE from_account IS NOT NULL;"
	"CREATE INDEX message_to_account ON message"
	" (to_account, from_key, time_ms) WHERE to_account IS NOT NULL;"
	"CREATE TABLE account_peer ("
	" account INTEGER NOT NULL,"
	" nick TEXT NOT NULL,"
	" PRIMARY KEY (account, nick)) WITHOUT ROWID;"
	"PRAGMA user_version = 5;",
};

/* An exclusive bound in (time_ms, seq) order, the order of results. */
struct store_pos {
	int64_t		 t;
	int64_t		 s;
};

/* The seqs a query may see: lo < seq <= hi. */
struct store_span {
	int64_t		 lo;
	int64_t		 hi;
};

/* Rows copied out of a query, handed to the callback after unlocking. */
struct store_rows {
	struct store_rec	*v;
	int			 n;
	int			 cap;
};

struct store_target {
	char		 key[STORE_KEY_MAX + 1];
	char		 target[STORE_KEY_MAX + 1];
	int64_t		 latest;
};

/* TARGETS: the best cap targets so far, the oldest (or the newest) by
 * latest message; one entry a key. */
struct store_top {
	struct store_target	*v;
	int			 n;
	int			 cap;
	int			 newest;
};

static struct store {
	/* Set by store_open before the threads start, cleared by
	 * store_close after they stop; read-only in between. */
	char		 path[PATH_MAX];
	int		 opened;
	int		 memory;	/* one shared connection */
	int		 off;		/* no database: numbering only */
	int		 lockfd;	/* flock: one natterd per file */
	int		 days;
	int		 max;
	int		 sync;		/* STORE_SYNC_* */
	int		 hold_ms;	/* store_find's wait for a pending row */
	long		 prune_ms;
	uint64_t	 rnd;		/* msgid prefix, new each open */
	sqlite3		*ckdb;		/* pruner thread only: checkpoints */
	pthread_t	 writer;
	pthread_t	 pruner;
	int		 threads;	/* 1 writer, 2 both started */

	pthread_mutex_t	 qlock;		/* guards the ring and below */
	pthread_cond_t	 qcond;		/* wakes the writer */
	pthread_cond_t	 ccond;		/* committed moved, an attempt
					   ended, or the writer exited */
	struct store_ent **ring;	/* pending row seq at
					   ring[seq & (ringcap - 1)] */
	size_t		 ringcap;	/* a power of two; 0: no ring */
	int64_t		 base;		/* lowest seq neither committed nor
					   cancelled, its slot never NULL;
					   last_seq + 1 when none */
	int64_t		 inflight;	/* an attempt holds base..inflight;
					   0: none */
	int		 nrows;		/* rows pending, in flight too */
	size_t		 nbytes;	/* their struct store_ent bytes */
	int		 accepting;	/* store_append queues */
	int		 stopping;	/* writer: exit when nothing pends */
	int		 writer_idle;	/* writer waits on qcond */
	int		 wdone;		/* writer exited: rows from base on
					   were never stored */
	_Atomic int64_t	 last_seq;	/* written under qlock */
	_Atomic int64_t	 committed;	/* base - 1, written under qlock */
	atomic_int	 failing;	/* an episode; written under qlock */

	pthread_mutex_t	 wlock;		/* guards wdb and wst */
	sqlite3		*wdb;		/* NULL while the writer reopens */
	sqlite3_stmt	*wst[SW_COUNT];

	pthread_mutex_t	 rlock;		/* guards rdb and rst */
	sqlite3		*rdb;		/* == wdb for ":memory:" */
	sqlite3_stmt	*rst[SR_COUNT];

	pthread_mutex_t	 plock;		/* guards ckpt_wanted, and pstop's
					   writes */
	pthread_cond_t	 pcond;		/* wakes the pruner */
	atomic_int	 pstop;		/* read between prune chunks */
	int		 ckpt_wanted;
} store = {
	.lockfd = -1,
	.qlock = PTHREAD_MUTEX_INITIALIZER,
	.wlock = PTHREAD_MUTEX_INITIALIZER,
	.rlock = PTHREAD_MUTEX_INITIALIZER,
	.plock = PTHREAD_MUTEX_INITIALIZER,
};

/* Makes the condition variables, which wait on CLOCK_MONOTONIC. */
static pthread_once_t	 store_once = PTHREAD_ONCE_INIT;

static void	 store_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 store_lock(pthread_mutex_t *);
static void	 store_unlock(pthread_mutex_t *);
static int64_t	 store_now_ms(void);
static void	 store_msgid(int64_t, char *);
static void	 store_init(void);
static void	 store_deadline(struct timespec *, long);
static int	 store_past(const struct timespec *);
static int	 store_cond_wait(pthread_cond_t *, pthread_mutex_t *,
		    const struct timespec *);
static struct store_ent **store_slot(int64_t);
static int	 store_ring_fit_locked(int64_t);
static void	 store_advance_locked(void);
static struct store_ent *store_batch_locked(int *);
static void	 store_committed_locked(void);
static int64_t	 store_append_ent(struct store_rec *, int, int64_t);
static int	 store_drop_locked(void);
static void	 store_user(uid_t, char *, size_t);
static int	 store_check_one(const char *, int, char *, size_t);
static int	 store_check_path(const char *, char *, size_t);
static int	 store_create_file(const char *, char *, size_t);
static int	 store_connect(const char *, int, sqlite3 **, char *, size_t);
static int	 store_set_sync(sqlite3 *);
static int	 store_schema(char *, size_t);
static int	 store_insert_run(struct store_ent **, int *);
static int	 store_prepare(sqlite3 *, const char *const *, sqlite3_stmt **,
		    int, char *, size_t);
static void	 store_finalize(sqlite3_stmt **, int);
static void	 store_teardown(void);
static int	 store_wal_hook(void *, sqlite3 *, const char *, int);
static int	 store_step_done(sqlite3_stmt *);
static void	 store_bind_side(sqlite3_stmt *, int, const char *, int64_t);
static int	 store_apeer(sqlite3_stmt *, int64_t, const char *);
static int	 store_rename_rows(const struct store_ent *);
static int	 store_commit_locked(struct store_ent *, int *, char *,
		    size_t);
static int	 store_unusable(int);
static int	 store_wopen_locked(char *, size_t);
static int	 store_attempt(struct store_ent *, char *, size_t);
static void	*store_writer_main(void *);
static void	 store_checkpoint(void);
static int	 store_next_key(char *, size_t);
static int64_t	 store_delete_chunks(int, const char *, int64_t);
static void	 store_prune(void);
static void	*store_pruner_main(void *);
static int	 store_read_begin(void);
static void	 store_read_end(void);
static void	 store_copy(char *, size_t, const unsigned char *);
static struct store_span store_span(int64_t, int64_t);
static int	 store_private(const struct store_view *);
static struct store_view store_key_view(const char *, int64_t, int64_t);
static void	 store_bind_nick(sqlite3_stmt *, int, const char *);
static int	 store_point_locked(const struct store_view *,
		    const struct store_sel *, int, const struct store_span *,
		    struct store_pos *);
static int	 store_range_locked(const struct store_view *,
		    const struct store_pos *, const struct store_pos *, int,
		    int, const struct store_span *, struct store_rows *);
static void	 store_rows_reverse(struct store_rows *, int);
static int	 store_rows_emit(struct store_rows *, store_cb *, void *);
static void	 store_rows_free(struct store_rows *);
static int	 store_last_locked(sqlite3_stmt *, const char *,
		    struct store_target *);
static int	 store_target_cmp(const void *, const void *);
static int	 store_top_better(const struct store_top *,
		    const struct store_target *, const struct store_target *);
static void	 store_top_add(struct store_top *, const struct store_target *);
static int	 store_target_locked(struct store_top *, const char *, int64_t,
		    const char *, const char *, int64_t, int64_t, int64_t);
static int	 store_step_end(sqlite3_stmt *, int);

static const struct store_pos store_first = { INT64_MIN, INT64_MIN };
static const struct store_pos store_end = { INT64_MAX, INT64_MAX };

static void
store_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Only a broken program fails these; carrying on would corrupt state. */
static void
store_lock(pthread_mutex_t *m)
{
	int	 rc;

	if ((rc = pthread_mutex_lock(m)) != 0)
		fatalx("store: pthread_mutex_lock: %s", strerror(rc));
}

static void
store_unlock(pthread_mutex_t *m)
{
	int	 rc;

	if ((rc = pthread_mutex_unlock(m)) != 0)
		fatalx("store: pthread_mutex_unlock: %s", strerror(rc));
}

static int64_t
store_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * 11 base32 digits of the per-open random value, then 9 of seq (45
 * bits): unique within a run, unique across runs unless two opens draw
 * the same 55 bits.  Rising within a run, so the UNIQUE index grows at
 * one edge instead of touching a random page per row.
 */
static void
store_msgid(int64_t seq, char *out)
{
	static const char	 digits[] = "0123456789abcdefghjkmnpqrstvwxyz";
	uint64_t		 r = store.rnd, s = (uint64_t)seq;
	int			 i;

	for (i = 10; i >= 0; i--) {
		out[i] = digits[r & 31];
		r >>= 5;
	}
	for (i = 19; i >= 11; i--) {
		out[i] = digits[s & 31];
		s >>= 5;
	}
	out[STORE_MSGID_LEN] = '\0';
}

/*
 * A msgid and time for a line that is never stored (TAGMSG): the same
 * per-open prefix, then 'u' (not a base32 digit, so never a stored
 * msgid) and 9 digits of a counter of its own.  Any thread.
 */
void
store_stamp(char *msgid, int64_t *time_ms)
{
	static const char	 digits[] = "0123456789abcdefghjkmnpqrstvwxyz";
	static _Atomic uint64_t	 n;
	uint64_t		 r = store.rnd, s;
	int			 i;

	s = atomic_fetch_add_explicit(&n, 1, memory_order_relaxed) + 1;
	for (i = 10; i >= 0; i--) {
		msgid[i] = digits[r & 31];
		r >>= 5;
	}
	msgid[11] = 'u';
	for (i = 20; i >= 12; i--) {
		msgid[i] = digits[s & 31];
		s >>= 5;
	}
	msgid[STORE_STAMP_LEN] = '\0';
	*time_ms = store_now_ms();
}

/* The condition variables time out on CLOCK_MONOTONIC; made once. */
static void
store_init(void)
{
	pthread_condattr_t	 ca;
	int			 rc;

	if ((rc = pthread_condattr_init(&ca)) != 0 ||
	    (rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (rc = pthread_cond_init(&store.qcond, &ca)) != 0 ||
	    (rc = pthread_cond_init(&store.ccond, &ca)) != 0 ||
	    (rc = pthread_cond_init(&store.pcond, &ca)) != 0)
		fatalx("store: pthread_cond_init: %s", strerror(rc));
	pthread_condattr_destroy(&ca);
}

/* ms milliseconds from now, on CLOCK_MONOTONIC. */
static void
store_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += ms % 1000 * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int
store_past(const struct timespec *ts)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec &&
	    now.tv_nsec >= ts->tv_nsec);
}

/* Waits on cond until signalled, or until `until' (NULL: no limit).
 * Returns 0 or ETIMEDOUT. */
static int
store_cond_wait(pthread_cond_t *cond, pthread_mutex_t *m,
    const struct timespec *until)
{
	int	 rc;

	rc = until == NULL ? pthread_cond_wait(cond, m) :
	    pthread_cond_timedwait(cond, m, until);
	if (rc != 0 && rc != ETIMEDOUT)
		fatalx("store: pthread_cond_wait: %s", strerror(rc));
	return rc;
}

/* Where pending row seq lives.  Caller holds qlock; the ring exists. */
static struct store_ent **
store_slot(int64_t seq)
{
	return &store.ring[(uint64_t)seq & (store.ringcap - 1)];
}

/* Makes room for seq, the next row, beside base..seq - 1.  Caller
 * holds qlock. */
static int
store_ring_fit_locked(int64_t seq)
{
	struct store_ent	**v;
	size_t			 cap;
	int64_t			 s;

	if (store.ringcap != 0 && (uint64_t)(seq - store.base) <
	    store.ringcap)
		return 0;
	cap = store.ringcap != 0 ? store.ringcap * 2 : STORE_RING_MIN;
	while ((uint64_t)(seq - store.base) >= cap)
		cap *= 2;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return -1;
	for (s = store.base; s < seq; s++)
		v[(uint64_t)s & (cap - 1)] = *store_slot(s);
	free(store.ring);
	store.ring = v;
	store.ringcap = cap;
	return 0;
}

/* Moves base past the rows no longer pending (committed or cancelled)
 * and publishes committed.  Caller holds qlock. */
static void
store_advance_locked(void)
{
	int64_t	 last;

	last = atomic_load_explicit(&store.last_seq, memory_order_relaxed);
	while (store.base <= last && *store_slot(store.base) == NULL)
		store.base++;
	atomic_store_explicit(&store.committed, store.base - 1,
	    memory_order_release);
	pthread_cond_broadcast(&store.ccond);
}

/* Chains every pending row, oldest first, into one attempt, and marks
 * them in flight.  Caller holds qlock; at least one row is pending. */
static struct store_ent *
store_batch_locked(int *n)
{
	struct store_ent	*list = NULL, **tail = &list, *e;
	int64_t			 s, last;

	last = atomic_load_explicit(&store.last_seq, memory_order_relaxed);
	*n = 0;
	for (s = store.base; s <= last; s++) {
		if ((e = *store_slot(s)) == NULL)
			continue;
		e->next = NULL;
		*tail = e;
		tail = &e->next;
		(*n)++;
	}
	store.inflight = last;
	return list;
}

/* The attempt holding base..inflight committed: takes its rows out of
 * the ring (the writer frees them) and moves base.  Caller holds
 * qlock. */
static void
store_committed_locked(void)
{
	struct store_ent	**slot;
	int64_t			 s;

	for (s = store.base; s <= store.inflight; s++) {
		slot = store_slot(s);
		if (*slot == NULL)
			continue;
		store.nrows--;
		store.nbytes -= (*slot)->size;
		*slot = NULL;
	}
	store.base = store.inflight + 1;
	store.inflight = 0;
	store_advance_locked();
}

int
store_default_path(char *buf, size_t len)
{
	const char	*xdg, *home;
	int		 n;

	xdg = getenv("XDG_STATE_HOME");
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/natterd/history.db", xdg);
	else {
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0') {
			errno = ENOENT;
			return -1;
		}
		n = snprintf(buf, len, "%s/.local/state/natterd/history.db",
		    home);
	}
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* uid's login name, else the number. */
static void
store_user(uid_t uid, char *buf, size_t len)
{
	struct passwd	 pw, *res = NULL;
	char		 tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)uid);
}

/*
 * One entry of store_check_path: the folder (folder 1), the database
 * (0) or a companion file SQLite makes beside it (2).  A file that is
 * not there yet is fine: store_open creates it 0600.
 */
static int
store_check_one(const char *path, int folder, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*what = folder == 1 ? "folder" : "file";
	char		 owner[64], me[64];

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT && folder != 1)
			return 0;
		store_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb.st_mode)) {
		if (folder == 2)
			store_errf(err, errlen, "%s: is a symbolic link; it "
			    "must be a plain file", path);
		else
			store_errf(err, errlen, "%s: is a symbolic link; give "
			    "the %s's real path", path, what);
		return -1;
	}
	/* A file in the way of the folder: opening says so. */
	if (folder == 1 && !S_ISDIR(sb.st_mode))
		return 0;
	if (folder != 1 && !S_ISREG(sb.st_mode)) {
		store_errf(err, errlen, "%s: is not a plain file", path);
		return -1;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		store_errf(err, errlen, "%s: %s is writable by others (mode "
		    "%04o); chmod go-w %s", path, what,
		    (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	/* Root may own the folder: it can do anything anyway. */
	if (sb.st_uid != geteuid() && !(folder == 1 && sb.st_uid == 0)) {
		store_user(sb.st_uid, owner, sizeof(owner));
		store_user(geteuid(), me, sizeof(me));
		store_errf(err, errlen, "%s: %s is owned by another user (%s); "
		    "chown %s %s", path, what, owner, me, path);
		return -1;
	}
	return 0;
}

/*
 * Refuses a database others could tamper with, before anything opens
 * it: the folder holding it, the file, and its -wal and -shm if they
 * exist must not be symbolic links, writable by group or others, or
 * owned by another user.  With the folder safe, nobody else can swap
 * its entries after the check.
 */
static int
store_check_path(const char *path, char *err, size_t errlen)
{
	static const char *const side[] = { "-wal", "-shm" };
	char			 buf[PATH_MAX + 8], *slash;
	size_t			 i;
	int			 n;

	n = snprintf(buf, sizeof(buf), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		store_errf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((slash = strrchr(buf, '/')) == NULL)
		snprintf(buf, sizeof(buf), ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
	if (store_check_one(buf, 1, err, errlen) == -1 ||
	    store_check_one(path, 0, err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", path, side[i]);
		if (store_check_one(buf, 2, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * Creates the file 0600 if missing (SQLite gives -wal and -shm the same
 * mode) and holds an flock on it: two servers on one file would hand
 * out the same seq.  Returns the descriptor, kept until every
 * connection is closed (closing a descriptor of the file drops SQLite's
 * POSIX locks).
 */
static int
store_create_file(const char *path, char *err, size_t errlen)
{
	int	 fd;

	/* O_NOFOLLOW: store_check_path looked, this makes sure. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		store_errf(err, errlen, "%s: cannot open for writing: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			store_errf(err, errlen, "%s: in use by another natterd",
			    path);
		else
			store_errf(err, errlen, "%s: flock: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
store_connect(const char *path, int flags, sqlite3 **dbp, char *err,
    size_t errlen)
{
	int	 rc;

	*dbp = NULL;
	rc = sqlite3_open_v2(path, dbp, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "%s: cannot open: %s", path,
		    *dbp != NULL ? sqlite3_errmsg(*dbp) : sqlite3_errstr(rc));
		sqlite3_close(*dbp);
		*dbp = NULL;
		return -1;
	}
	sqlite3_extended_result_codes(*dbp, 1);
	sqlite3_busy_timeout(*dbp, STORE_BUSY_MS);
	return 0;
}

/*
 * PRAGMA synchronous, on every connection that writes the file (the
 * writer's, and the pruner's, which checkpoints).  In WAL mode FULL
 * syncs the WAL at each commit, NORMAL only at checkpoints, OFF never.
 */
static int
store_set_sync(sqlite3 *db)
{
	static const char *const sql[] = {
		[STORE_SYNC_OFF] = "PRAGMA synchronous = OFF",
		[STORE_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
		[STORE_SYNC_FULL] = "PRAGMA synchronous = FULL",
	};

	return sqlite3_exec(db, sql[store.sync], NULL, NULL, NULL) ==
	    SQLITE_OK ? 0 : -1;
}

/* Sets WAL and brings the schema to STORE_SCHEMA, on store.wdb. */
static int
store_schema(char *err, size_t errlen)
{
	sqlite3		*db = store.wdb;
	sqlite3_stmt	*st = NULL;
	const char	*mode;
	int		 version, objects, v;

	/* Reading the header here is what finds a corrupt file. */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		switch (sqlite3_errcode(db) & 0xff) {
		case SQLITE_NOTADB:
		case SQLITE_CORRUPT:
			store_errf(err, errlen, "%s: corrupt or not a "
			    "database: %s", store.path, sqlite3_errmsg(db));
			break;
		case SQLITE_READONLY:
		case SQLITE_CANTOPEN:
		case SQLITE_PERM:
			store_errf(err, errlen, "%s: cannot write (the file "
			    "and its folder must be writable): %s", store.path,
			    sqlite3_errmsg(db));
			break;
		default:
			store_errf(err, errlen, "%s: cannot read: %s",
			    store.path, sqlite3_errmsg(db));
			break;
		}
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (!store.memory && (mode == NULL || strcmp(mode, "wal") != 0))
		log_warnx("store: %s: journal mode %s, not wal", store.path,
		    mode != NULL ? mode : "unknown");
	sqlite3_finalize(st);
	st = NULL;
	if (store_set_sync(db) == -1 ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_errf(err, errlen, "%s: cannot write: %s", store.path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM "
	    "pragma_user_version), (SELECT count(*) FROM sqlite_schema)", -1,
	    &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		store_errf(err, errlen, "%s: cannot read: %s", store.path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	version = sqlite3_column_int(st, 0);
	objects = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	if (version > STORE_SCHEMA) {
		store_errf(err, errlen, "%s: schema version %d is newer than "
		    "this natterd (%d); upgrade natterd", store.path, version,
		    STORE_SCHEMA);
		goto fail;
	}
	if (version < 0 || (version == 0 && objects > 0)) {
		store_errf(err, errlen, "%s: not a natterd history file",
		    store.path);
		goto fail;
	}
	for (v = version; v < STORE_SCHEMA; v++) {
		if (sqlite3_exec(db, store_migration[v], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			store_errf(err, errlen, "%s: cannot upgrade schema "
			    "%d to %d: %s", store.path, v, v + 1,
			    sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_errf(err, errlen, "%s: cannot write: %s", store.path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (version > 0 && version < STORE_SCHEMA)
		log_info("store: %s: schema upgraded from version %d to %d",
		    store.path, version, STORE_SCHEMA);
	return 0;

fail:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
store_prepare(sqlite3 *db, const char *const *sql, sqlite3_stmt **st, int n,
    char *err, size_t errlen)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK) {
			store_errf(err, errlen, "%s: cannot read: %s",
			    store.path, sqlite3_errmsg(db));
			return -1;
		}
	}
	return 0;
}

static void
store_finalize(sqlite3_stmt **st, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
}

/* Frees every pending row (the store closed while commits failed, or
 * never started); returns how many there were.  Caller holds qlock.
 * base stays: the rows from it on were never stored. */
static int
store_drop_locked(void)
{
	struct store_ent	**slot;
	int64_t			 s, last;
	int			 n = 0;

	last = atomic_load_explicit(&store.last_seq, memory_order_relaxed);
	for (s = store.base; store.ringcap != 0 && s <= last; s++) {
		slot = store_slot(s);
		if (*slot == NULL)
			continue;
		free(*slot);
		*slot = NULL;
		n++;
	}
	store.nrows = 0;
	store.nbytes = 0;
	return n;
}

/* Closes what store_open opened; the threads have stopped. */
static void
store_teardown(void)
{
	int	 rc;

	store_lock(&store.rlock);
	store_finalize(store.rst, SR_COUNT);
	if (store.rdb != store.wdb)
		sqlite3_close(store.rdb);
	store.rdb = NULL;
	store_unlock(&store.rlock);

	store_lock(&store.wlock);
	store_finalize(store.wst, SW_COUNT);
	if (store.wdb != NULL && (rc = sqlite3_close(store.wdb)) != SQLITE_OK)
		log_warnx("store: %s: close: %s", store.path,
		    sqlite3_errstr(rc));
	store.wdb = NULL;
	store_unlock(&store.wlock);

	sqlite3_close(store.ckdb);
	store.ckdb = NULL;
	if (store.lockfd != -1) {
		close(store.lockfd);
		store.lockfd = -1;
	}
	/* Only if store_open failed with rows pending, which it cannot. */
	store_lock(&store.qlock);
	(void)store_drop_locked();
	free(store.ring);
	store.ring = NULL;
	store.ringcap = 0;
	store_unlock(&store.qlock);
	store.opened = 0;
}

int
store_open(const char *path, const struct store_opts *o, char *err,
    size_t errlen)
{
	sqlite3_stmt		*st = NULL;
	const char		*env;
	char			*end;
	int64_t			 maxseq;
	long			 ms;
	int			 rc, n;

	if ((rc = pthread_once(&store_once, store_init)) != 0)
		fatalx("store: pthread_once: %s", strerror(rc));
	if (store.opened) {
		store_errf(err, errlen, "%s: a store is already open", path);
		return -1;
	}
	n = snprintf(store.path, sizeof(store.path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(store.path)) {
		store_errf(err, errlen, "%s: path too long", path);
		return -1;
	}
	store.memory = strcmp(path, STORE_MEMORY) == 0;
	store.off = strcmp(path, STORE_OFF) == 0;
	if (store.off) {
		/* Messages still get a seq, a time and a msgid; nothing
		 * keeps them, and every query finds nothing. */
		atomic_store(&store.committed, 0);
		atomic_store(&store.last_seq, 0);
		atomic_store(&store.failing, 0);
		store.accepting = 1;
		store.opened = 1;
		log_debug("store: off (no history)");
		return 0;
	}
	if (o->sync != STORE_SYNC_OFF && o->sync != STORE_SYNC_NORMAL &&
	    o->sync != STORE_SYNC_FULL) {
		store_errf(err, errlen, "%s: bad sync level %d", path, o->sync);
		return -1;
	}
	store.days = o->history_days > 0 ? o->history_days : 0;
	store.max = o->history_max > 0 ? o->history_max : 0;
	store.sync = o->sync;
	store.hold_ms = o->hold_ms > 0 ? o->hold_ms :
	    STORE_HOLD_DEFAULT * 1000;
	store.prune_ms = STORE_PRUNE_MS;
	if ((env = getenv("NATTERD_PRUNE_INTERVAL_MS")) != NULL) {
		errno = 0;
		ms = strtol(env, &end, 10);
		if (errno == 0 && end != env && *end == '\0' && ms > 0)
			store.prune_ms = ms;
	}
	if (getrandom(&store.rnd, sizeof(store.rnd), 0) !=
	    (ssize_t)sizeof(store.rnd))
		store.rnd = ((uint64_t)store_now_ms() *
		    6364136223846793005ULL) ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)(uintptr_t)&st;
	store.opened = 1;

	if (!store.memory) {
		if (fs_mkparents(path, err, errlen) == -1 ||
		    store_check_path(path, err, errlen) == -1)
			goto fail;
		if ((store.lockfd = store_create_file(path, err, errlen)) == -1)
			goto fail;
	}
	if (store_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    &store.wdb, err, errlen) == -1)
		goto fail;
	if (store_schema(err, errlen) == -1)
		goto fail;
	if (store_prepare(store.wdb, store_wsql, store.wst, SW_COUNT, err,
	    errlen) == -1)
		goto fail;
	if (store.memory)
		store.rdb = store.wdb;
	else {
		if (store_connect(path, SQLITE_OPEN_READWRITE, &store.rdb, err,
		    errlen) == -1 ||
		    store_connect(path, SQLITE_OPEN_READWRITE, &store.ckdb, err,
		    errlen) == -1)
			goto fail;
		sqlite3_exec(store.rdb, "PRAGMA query_only = 1", NULL, NULL,
		    NULL);
		if (store_set_sync(store.ckdb) == -1) {
			store_errf(err, errlen, "%s: cannot set synchronous: "
			    "%s", path, sqlite3_errmsg(store.ckdb));
			goto fail;
		}
		/* Checkpoints run on the pruner's connection instead. */
		sqlite3_wal_hook(store.wdb, store_wal_hook, NULL);
	}
	if (store_prepare(store.rdb, store_rsql, store.rst, SR_COUNT, err,
	    errlen) == -1)
		goto fail;

	if (sqlite3_prepare_v2(store.wdb, "SELECT max(seq) FROM message", -1,
	    &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		store_errf(err, errlen, "%s: cannot read: %s", path,
		    sqlite3_errmsg(store.wdb));
		goto fail;
	}
	maxseq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	/* Opening waited longer for a lock; from now on a lock held past
	 * STORE_WBUSY_MS fails the commit and starts an episode. */
	sqlite3_busy_timeout(store.wdb, STORE_WBUSY_MS);

	store_lock(&store.plock);
	atomic_store(&store.pstop, 0);
	store.ckpt_wanted = 0;
	store_unlock(&store.plock);
	store_lock(&store.qlock);
	atomic_store(&store.last_seq, maxseq);
	atomic_store(&store.committed, maxseq);
	atomic_store(&store.failing, 0);
	store.base = maxseq + 1;
	store.inflight = 0;
	store.nrows = 0;
	store.nbytes = 0;
	store.wdone = 0;
	store.stopping = 0;
	store.writer_idle = 0;
	store.accepting = 1;
	store_unlock(&store.qlock);
	if ((rc = pthread_create(&store.writer, NULL, store_writer_main,
	    NULL)) != 0) {
		store_lock(&store.qlock);
		store.accepting = 0;
		store_unlock(&store.qlock);
		store_errf(err, errlen, "%s: pthread_create: %s", path,
		    strerror(rc));
		goto fail;
	}
	store.threads = 1;
	if ((rc = pthread_create(&store.pruner, NULL, store_pruner_main,
	    NULL)) != 0) {
		store_errf(err, errlen, "%s: pthread_create: %s", path,
		    strerror(rc));
		store_close();
		return -1;
	}
	store.threads = 2;
	log_debug("store: %s: %lld rows%s", store.memory ? "memory" : path,
	    (long long)maxseq, store.memory ? " (nothing is kept)" : "");
	return 0;

fail:
	sqlite3_finalize(st);
	store_teardown();
	return -1;
}

void
store_close(void)
{
	int	 rc;

	if (store.off) {
		store.accepting = 0;
		store.off = 0;
		store.opened = 0;
		return;
	}

	if (store.threads == 0)
		return;
	if (store.threads == 2) {
		store_lock(&store.plock);
		atomic_store(&store.pstop, 1);
		pthread_cond_signal(&store.pcond);
		store_unlock(&store.plock);
		if ((rc = pthread_join(store.pruner, NULL)) != 0)
			log_warnx("store: pthread_join: %s", strerror(rc));
	}

	/* The writer commits what is pending; if commits are failing it
	 * keeps trying for STORE_CLOSE_MS, then drops the rest. */
	store_lock(&store.qlock);
	store.accepting = 0;
	store.stopping = 1;
	pthread_cond_signal(&store.qcond);
	store_unlock(&store.qlock);
	if ((rc = pthread_join(store.writer, NULL)) != 0)
		log_warnx("store: pthread_join: %s", strerror(rc));
	store.threads = 0;

	store_teardown();
	log_debug("store: %s: closed at seq %lld",
	    store.memory ? "memory" : store.path,
	    (long long)atomic_load(&store.committed));
}

int64_t
store_append(struct store_rec *rec)
{
	return store_append_ent(rec, 0, 0);
}

int64_t
store_rename(const char *old_key, const char *new_key, const char *new_name,
    int64_t since)
{
	struct store_rec	 rec;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.key, sizeof(rec.key), "%s", old_key);
	snprintf(rec.command, sizeof(rec.command), "RENAME");
	rec.params = (char *)new_name;
	rec.tags = (char *)new_key;
	return store_append_ent(&rec, 1, since);
}

static int64_t
store_append_ent(struct store_rec *rec, int rename, int64_t since)
{
	struct store_ent	*e;
	size_t			 plen, tlen, size;
	int64_t			 seq, t;
	int			 saved;

	if (store.off) {
		store_lock(&store.qlock);
		seq = atomic_load_explicit(&store.last_seq,
		    memory_order_relaxed) + 1;
		atomic_store_explicit(&store.last_seq, seq,
		    memory_order_relaxed);
		if (rec->time_ms == 0)
			rec->time_ms = store_now_ms();
		/* Under qlock: rooms' messages take seqs side by side, and
		 * committed never goes back. */
		atomic_store_explicit(&store.committed, seq,
		    memory_order_release);
		store_unlock(&store.qlock);
		rec->seq = seq;
		store_msgid(seq, rec->msgid);
		return seq;
	}
	plen = rec->params != NULL ? strlen(rec->params) + 1 : 1;
	tlen = rec->tags != NULL ? strlen(rec->tags) + 1 : 0;
	size = sizeof(*e) + plen + tlen;
	if ((e = malloc(size)) == NULL)
		return -1;
	e->next = NULL;
	e->size = size;
	e->rename = rename;
	e->since = since;
	e->rec = *rec;
	e->rec.params = e->text;
	if (rec->params != NULL)
		memcpy(e->text, rec->params, plen);
	else
		e->text[0] = '\0';
	if (rec->tags != NULL) {
		e->rec.tags = e->text + plen;
		memcpy(e->rec.tags, rec->tags, tlen);
	}

	store_lock(&store.qlock);
	if (!store.accepting) {
		saved = EINVAL;
		goto refuse;
	}
	/* While commits fail, hold only so much. */
	if (atomic_load_explicit(&store.failing, memory_order_relaxed) &&
	    (store.nrows >= STORE_HOLD_ROWS ||
	    store.nbytes + size > STORE_HOLD_BYTES)) {
		saved = EAGAIN;
		goto refuse;
	}
	/* Inside the lock, so that times rise with seq. */
	seq = atomic_load_explicit(&store.last_seq, memory_order_relaxed) + 1;
	if (store_ring_fit_locked(seq) == -1) {
		saved = ENOMEM;
		goto refuse;
	}
	*store_slot(seq) = e;
	store.nrows++;
	store.nbytes += size;
	atomic_store_explicit(&store.last_seq, seq, memory_order_relaxed);
	e->rec.seq = seq;
	if (e->rec.time_ms == 0)
		e->rec.time_ms = store_now_ms();
	t = e->rec.time_ms;
	store_msgid(seq, e->rec.msgid);
	if (store.writer_idle)
		pthread_cond_signal(&store.qcond);
	store_unlock(&store.qlock);

	/* e belongs to the writer now. */
	rec->seq = seq;
	rec->time_ms = t;
	store_msgid(seq, rec->msgid);
	return seq;

refuse:
	store_unlock(&store.qlock);
	free(e);
	errno = saved;
	return -1;
}

int
store_wait(int64_t seq, int timeout_ms)
{
	struct timespec	 until;
	int		 rc = 0;

	if (seq <= atomic_load_explicit(&store.committed,
	    memory_order_acquire))
		return 0;
	if (seq > atomic_load(&store.last_seq)) {
		errno = EINVAL;
		return -1;
	}
	if (timeout_ms > 0)
		store_deadline(&until, timeout_ms);
	store_lock(&store.qlock);
	while (atomic_load(&store.committed) < seq && !store.wdone &&
	    rc == 0) {
		if (timeout_ms == 0)
			rc = ETIMEDOUT;
		else
			rc = store_cond_wait(&store.ccond, &store.qlock,
			    timeout_ms < 0 ? NULL : &until);
	}
	if (atomic_load(&store.committed) >= seq)
		rc = 0;
	else if (store.wdone)
		rc = EIO;	/* closed: the rest is lost */
	else
		rc = ETIMEDOUT;
	store_unlock(&store.qlock);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

int64_t
store_wait_past(int64_t seen, int timeout_ms)
{
	struct timespec	 until;
	int64_t		 now;

	if ((now = atomic_load_explicit(&store.committed,
	    memory_order_acquire)) > seen)
		return now;
	store_deadline(&until, timeout_ms);
	store_lock(&store.qlock);
	while ((now = atomic_load(&store.committed)) <= seen &&
	    store_cond_wait(&store.ccond, &store.qlock, &until) == 0)
		;
	store_unlock(&store.qlock);
	return now;
}

int64_t
store_committed(void)
{
	return atomic_load_explicit(&store.committed, memory_order_acquire);
}

int
store_cancel(int64_t seq)
{
	struct store_ent	*e = NULL, **slot;
	int			 rc;

	if (seq <= 0 || seq > atomic_load(&store.last_seq)) {
		errno = EINVAL;
		return -1;
	}
	if (store.off)
		return 0;	/* nothing is ever stored */
	store_lock(&store.qlock);
	for (;;) {
		if (seq < store.base) {
			rc = 1;		/* committed (or cancelled before) */
			break;
		}
		if (store.wdone || store.ringcap == 0) {
			rc = 0;		/* lost when the store closed */
			break;
		}
		/* An attempt holds it: its outcome decides. */
		if (store.inflight != 0 && seq <= store.inflight) {
			(void)store_cond_wait(&store.ccond, &store.qlock, NULL);
			continue;
		}
		slot = store_slot(seq);
		if ((e = *slot) != NULL) {
			*slot = NULL;
			store.nrows--;
			store.nbytes -= e->size;
			if (seq == store.base)
				store_advance_locked();
		}
		rc = 0;
		break;
	}
	store_unlock(&store.qlock);
	free(e);
	return rc;
}

int
store_failing(void)
{
	return atomic_load_explicit(&store.failing, memory_order_relaxed);
}

int64_t
store_last_seq(void)
{
	return atomic_load(&store.last_seq);
}

int
store_sync_level(void)
{
	sqlite3_stmt	*st;
	int		 level = -1;

	store_lock(&store.wlock);
	if (store.wdb != NULL && sqlite3_prepare_v2(store.wdb,
	    "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			level = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	store_unlock(&store.wlock);
	if (level == -1)
		errno = EINVAL;
	return level;
}

/*
 * Runs on the connection that just committed, under wlock.  Asks the
 * pruner thread to checkpoint; checkpoints here only if the WAL keeps
 * growing because the pruner's passive checkpoints never catch up with
 * a busy writer.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)arg;
	if (pages < STORE_CKPT_PAGES)
		return SQLITE_OK;
	store_lock(&store.plock);
	if (!store.ckpt_wanted) {
		store.ckpt_wanted = 1;
		pthread_cond_signal(&store.pcond);
	}
	store_unlock(&store.plock);
	if (pages >= STORE_CKPT_FORCE_PAGES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	return SQLITE_OK;
}

static int
store_step_done(sqlite3_stmt *st)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * One transaction for the whole list (none: an empty one, which only
 * finds out whether the file can be written).  Caller holds wlock.  On
 * failure, code and why say what SQLite said, and nothing of the list
 * is in the file.
 */
static int
store_commit_locked(struct store_ent *list, int *code, char *why,
    size_t len)
{
	struct store_ent	*e, *run[STORE_INSERT_MANY];
	const struct store_rec	*r;
	int			 nrun = 0;

	if (store_step_done(store.wst[SW_BEGIN]) == -1)
		goto fail;
	for (e = list; e != NULL; e = e->next) {
		r = &e->rec;
		if (e->rename || strcmp(r->command, STORE_REDACT) == 0) {
			/* In seq order: the rows before it go in first. */
			if (store_insert_run(run, &nrun) == -1)
				goto fail;
		}
		if (e->rename) {
			if (store_rename_rows(e) == -1)
				goto fail;
			continue;
		}
		if (strcmp(r->command, STORE_REDACT) == 0) {
			/* In seq order: a message still pending went in
			 * above, earlier in this batch or before it. */
			sqlite3_bind_text(store.wst[SW_REDACT], 1, r->params,
			    -1, SQLITE_STATIC);
			if (store_step_done(store.wst[SW_REDACT]) == -1)
				goto fail;
			continue;
		}
		run[nrun++] = e;
		if (nrun == STORE_INSERT_MANY &&
		    store_insert_run(run, &nrun) == -1)
			goto fail;
	}
	if (store_insert_run(run, &nrun) == -1)
		goto fail;
	if (store_step_done(store.wst[SW_COMMIT]) == -1)
		goto fail;
	return 0;

fail:
	*code = sqlite3_extended_errcode(store.wdb);
	snprintf(why, len, "%s", sqlite3_errmsg(store.wdb));
	if (!sqlite3_get_autocommit(store.wdb))
		store_step_done(store.wst[SW_ROLLBACK]);
	return -1;
}

/* Binds r to the 12 parameters of st from base + 1 (SW_INSERT's). */
static void
store_bind_row(sqlite3_stmt *st, int base, const struct store_rec *r)
{
	sqlite3_bind_int64(st, base + 1, r->seq);
	sqlite3_bind_text(st, base + 2, r->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, base + 3, r->time_ms);
	sqlite3_bind_text(st, base + 4, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 5, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 6, r->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 7, r->params, -1, SQLITE_STATIC);
	if (r->tags != NULL)
		sqlite3_bind_text(st, base + 8, r->tags, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, base + 8);
	store_bind_side(st, base + 9, r->from_key, r->from_account);
	store_bind_side(st, base + 10, r->to_key, r->to_account);
}

/*
 * Inserts the run of message rows run[0..*n), in order: a full run as
 * one statement, a shorter one row by row; then each row's peers.
 * Caller holds wlock, in the writer's transaction.
 */
static int
store_insert_run(struct store_ent **run, int *n)
{
	sqlite3_stmt		*ins = store.wst[SW_INSERT];
	sqlite3_stmt		*many = store.wst[SW_INSERT_MANY];
	sqlite3_stmt		*peer = store.wst[SW_PEER];
	sqlite3_stmt		*apeer = store.wst[SW_APEER];
	const struct store_rec	*r;
	const char		*sp;
	int			 i, rc = -1;

	if (*n == STORE_INSERT_MANY) {
		for (i = 0; i < *n; i++)
			store_bind_row(many, i * STORE_ROW_COLS,
			    &run[i]->rec);
		if (store_step_done(many) == -1)
			goto done;
	} else
		for (i = 0; i < *n; i++) {
			store_bind_row(ins, 0, &run[i]->rec);
			if (store_step_done(ins) == -1)
				goto done;
		}
	for (i = 0; i < *n; i++) {
		r = &run[i]->rec;
		/* An account's side: the other nick is one of its peers. */
		if (r->from_key[0] != '\0' && r->to_key[0] != '\0' &&
		    (store_apeer(apeer, r->from_account, r->to_key) == -1 ||
		    store_apeer(apeer, r->to_account, r->from_key) == -1))
			goto done;
		/* A private key "a b": remember it under both nicks. */
		if ((sp = strchr(r->key, ' ')) == NULL)
			continue;
		sqlite3_bind_text(peer, 1, r->key, (int)(sp - r->key),
		    SQLITE_STATIC);
		sqlite3_bind_text(peer, 2, r->key, -1, SQLITE_STATIC);
		if (store_step_done(peer) == -1)
			goto done;
		sqlite3_bind_text(peer, 1, sp + 1, -1, SQLITE_STATIC);
		if (store_step_done(peer) == -1)
			goto done;
	}
	rc = 0;
done:
	*n = 0;
	return rc;
}

/*
 * draft/channel-rename, in the writer's transaction in seq order: every
 * row of the room sequenced before the rename (those of this batch
 * before it included) moves to the new key.  Caller holds wlock.
 */
static int
store_rename_rows(const struct store_ent *e)
{
	const struct store_rec	*r = &e->rec;
	sqlite3_stmt		*st;

	if (strcmp(r->key, r->tags) != 0) {
		st = store.wst[SW_RENAME_DEL];
		sqlite3_bind_text(st, 1, r->tags, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, e->since);
		sqlite3_bind_int64(st, 3, r->seq);
		if (store_step_done(st) == -1)
			return -1;
		st = store.wst[SW_RENAME_MARKERS];
		sqlite3_bind_text(st, 1, r->tags, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
		if (store_step_done(st) == -1)
			return -1;
	}
	st = store.wst[SW_RENAME];
	sqlite3_bind_text(st, 1, r->tags, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->params, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, e->since);
	sqlite3_bind_int64(st, 5, r->seq);
	return store_step_done(st);
}

/* Binds one side of a private row, key at i and its account at i + 2
 * (NULL for none, and both for a room's row). */
static void
store_bind_side(sqlite3_stmt *st, int i, const char *key, int64_t account)
{
	if (key[0] != '\0')
		sqlite3_bind_text(st, i, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
	if (key[0] != '\0' && account > 0)
		sqlite3_bind_int64(st, i + 2, account);
	else
		sqlite3_bind_null(st, i + 2);
}

/* Remembers that account (0: none, nothing to do) talked with nick. */
static int
store_apeer(sqlite3_stmt *st, int64_t account, const char *nick)
{
	if (account <= 0)
		return 0;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_text(st, 2, nick, -1, SQLITE_STATIC);
	return store_step_done(st);
}

/*
 * Whether an error may have left the write connection unusable, so the
 * next attempt should open a new one.  Lock contention, a full disk or
 * a constraint leave it as it was.
 */
static int
store_unusable(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_CONSTRAINT:
	case SQLITE_INTERRUPT:
		return 0;
	default:
		return 1;
	}
}

/* Opens the write connection again after store_attempt closed it.
 * Caller holds wlock. */
static int
store_wopen_locked(char *why, size_t len)
{
	sqlite3	*db;

	if (store_connect(store.path, SQLITE_OPEN_READWRITE, &db, why,
	    len) == -1)
		return -1;
	sqlite3_busy_timeout(db, STORE_WBUSY_MS);
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL) != SQLITE_OK || store_set_sync(db) == -1) {
		snprintf(why, len, "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	if (store_prepare(db, store_wsql, store.wst, SW_COUNT, why,
	    len) == -1) {
		store_finalize(store.wst, SW_COUNT);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_wal_hook(db, store_wal_hook, NULL);
	store.wdb = db;
	log_debug("store: %s: write connection opened again", store.path);
	return 0;
}

/*
 * One try at committing list.  Returns 1 if it is in the file; else 0
 * and why says what failed.  After an error that may have left the
 * connection unusable (or stuck in a transaction) the connection is
 * closed, and the next attempt opens a new one (never for ":memory:",
 * whose rows live in it).
 */
static int
store_attempt(struct store_ent *list, char *why, size_t len)
{
	int	 ok = 0, code = SQLITE_OK;

	store_lock(&store.wlock);
	if (store.wdb == NULL && store_wopen_locked(why, len) == -1)
		goto done;
	if (store_commit_locked(list, &code, why, len) == 0)
		ok = 1;
	else if (!store.memory && (store_unusable(code) ||
	    !sqlite3_get_autocommit(store.wdb))) {
		store_finalize(store.wst, SW_COUNT);
		sqlite3_close(store.wdb);
		store.wdb = NULL;
		log_debug("store: %s: write connection closed after: %s",
		    store.path, why);
	}

done:
	store_unlock(&store.wlock);
	return ok;
}

/*
 * The writer: commits every pending row in one transaction, then
 * publishes them.  A failed attempt leaves the rows pending (rows
 * appended meanwhile join the next attempt) and starts or continues an
 * episode: the next try comes after a pause that doubles from
 * STORE_RETRY_MS up to STORE_RETRY_MAX_MS, for as long as it takes, and
 * while nothing is pending an empty transaction finds out when the
 * file can be written again.  Once stopping, it exits when nothing is
 * pending, or when commits still fail STORE_CLOSE_MS later, dropping
 * the rows.
 */
static void *
store_writer_main(void *arg)
{
	struct store_ent	*list, *e, *next;
	struct timespec		 since = { 0, 0 }, stop_by, until, now;
	char			 why[256] = "";
	long			 pause = 0;
	int			 n, ok, was, stop_set = 0, lost = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "natterd-store");
	store_lock(&store.qlock);
	for (;;) {
		while (store.nrows == 0 && !store.stopping &&
		    !atomic_load(&store.failing)) {
			store.writer_idle = 1;
			(void)store_cond_wait(&store.qcond, &store.qlock, NULL);
			store.writer_idle = 0;
		}
		if (store.nrows == 0 && store.stopping)
			break;
		if (store.stopping && !stop_set) {
			store_deadline(&stop_by, STORE_CLOSE_MS);
			stop_set = 1;
		}
		n = 0;
		list = store.nrows > 0 ? store_batch_locked(&n) : NULL;
		store_unlock(&store.qlock);

		ok = store_attempt(list, why, sizeof(why));

		store_lock(&store.qlock);
		if (ok && n > 0)
			store_committed_locked();
		else if (n > 0) {
			store.inflight = 0;
			pthread_cond_broadcast(&store.ccond);
		}
		was = atomic_load(&store.failing);
		atomic_store(&store.failing, !ok);
		store_unlock(&store.qlock);

		if (ok) {
			for (e = list; e != NULL; e = next) {
				next = e->next;
				free(e);
			}
			if (was) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				log_info("store: %s: commits work again after "
				    "%.1f s; %d rows committed", store.path,
				    (double)(now.tv_sec - since.tv_sec) +
				    (double)(now.tv_nsec - since.tv_nsec) / 1e9,
				    n);
			}
			pause = 0;
		} else if (!was) {
			clock_gettime(CLOCK_MONOTONIC, &since);
			log_warnx("store: %s: cannot commit: %s; keeping %d "
			    "rows and trying again", store.path, why, n);
		} else
			log_debug("store: %s: commit failed again: %s (%d "
			    "rows)", store.path, why, n);

		store_lock(&store.qlock);
		if (ok)
			continue;
		if (store.stopping && stop_set && store_past(&stop_by)) {
			lost = store_drop_locked();
			break;
		}
		pause = pause == 0 ? STORE_RETRY_MS : pause * 2;
		if (pause > STORE_RETRY_MAX_MS)
			pause = STORE_RETRY_MAX_MS;
		/* store_close's signal cuts the pause short. */
		store_deadline(&until, pause);
		(void)store_cond_wait(&store.qcond, &store.qlock, &until);
	}
	store.wdone = 1;
	pthread_cond_broadcast(&store.ccond);
	store_unlock(&store.qlock);
	if (lost > 0)
		log_warnx("store: %s: closing while commits fail (%s): %d "
		    "rows lost", store.path, why, lost);
	return NULL;
}

static void
store_checkpoint(void)
{
	int	 rc;

	if (store.ckdb == NULL)
		return;
	rc = sqlite3_wal_checkpoint_v2(store.ckdb, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: %s: checkpoint: %s", store.path,
		    sqlite3_errmsg(store.ckdb));
}

/* The first key after key (in place).  1 found, 0 none, -1 error. */
static int
store_next_key(char *key, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	store_lock(&store.wlock);
	if (store.wdb == NULL) {
		store_unlock(&store.wlock);
		return -1;	/* the writer is reopening it */
	}
	st = store.wst[SW_NEXT_KEY];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_copy(key, len, sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		log_warnx("store: %s: prune: %s", store.path,
		    sqlite3_errmsg(store.wdb));
	sqlite3_reset(st);
	store_unlock(&store.wlock);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Deletes key's rows older than arg (SW_DEL_OLD) or with seq below it
 * (SW_DEL_BELOW), a chunk per transaction so the writer never waits
 * long.  Returns the rows deleted, or -1.
 */
static int64_t
store_delete_chunks(int which, const char *key, int64_t arg)
{
	static const struct timespec	 pause = { 0, 1000000 };
	sqlite3_stmt			*st;
	int64_t				 total = 0;
	int				 n, rc;

	for (;;) {
		store_lock(&store.wlock);
		if (store.wdb == NULL) {
			store_unlock(&store.wlock);
			return -1;
		}
		st = store.wst[which];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, arg);
		sqlite3_bind_int(st, 3, STORE_PRUNE_CHUNK);
		rc = sqlite3_step(st);
		n = sqlite3_changes(store.wdb);
		if (rc != SQLITE_DONE)
			log_warnx("store: %s: prune: %s", store.path,
			    sqlite3_errmsg(store.wdb));
		sqlite3_reset(st);
		store_unlock(&store.wlock);
		if (rc != SQLITE_DONE)
			return -1;
		total += n;
		if (n < STORE_PRUNE_CHUNK || atomic_load(&store.pstop))
			return total;
		nanosleep(&pause, NULL);
	}
}

/* One retention pass over every key; none while commits fail. */
static void
store_prune(void)
{
	sqlite3_stmt	*edge;
	char		 key[STORE_KEY_MAX + 1] = "";
	int64_t		 total = 0, n, below;
	int		 rc;

	if (store.days == 0 && store.max == 0)
		return;
	while (!atomic_load(&store.pstop) && !store_failing() &&
	    (rc = store_next_key(key, sizeof(key))) == 1) {
		if (store.days > 0) {
			n = store_delete_chunks(SW_DEL_OLD, key,
			    store_now_ms() - (int64_t)store.days * 86400000);
			if (n == -1)
				return;
			total += n;
		}
		if (store.max == 0)
			continue;
		store_lock(&store.wlock);
		if (store.wdb == NULL) {
			store_unlock(&store.wlock);
			return;
		}
		edge = store.wst[SW_EDGE];
		sqlite3_bind_text(edge, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int(edge, 2, store.max - 1);
		rc = sqlite3_step(edge);
		below = rc == SQLITE_ROW ? sqlite3_column_int64(edge, 0) : 0;
		sqlite3_reset(edge);
		store_unlock(&store.wlock);
		if (below > 0) {
			if ((n = store_delete_chunks(SW_DEL_BELOW, key,
			    below)) == -1)
				return;
			total += n;
		}
	}
	if (total == 0)
		return;
	store_lock(&store.wlock);
	if (store.wdb != NULL &&
	    (store_step_done(store.wst[SW_DEL_PEERS]) == -1 ||
	    store_step_done(store.wst[SW_DEL_APEERS]) == -1))
		log_warnx("store: %s: prune: %s", store.path,
		    sqlite3_errmsg(store.wdb));
	store_unlock(&store.wlock);
	log_info("store: pruned %lld rows", (long long)total);
}

static void *
store_pruner_main(void *arg)
{
	struct timespec	 due;
	int		 ckpt, prune;

	(void)arg;
	pthread_setname_np(pthread_self(), "natterd-prune");
	store_deadline(&due, store.prune_ms < STORE_PRUNE_FIRST_MS ?
	    store.prune_ms : STORE_PRUNE_FIRST_MS);

	store_lock(&store.plock);
	while (!atomic_load(&store.pstop)) {
		prune = store_past(&due);
		ckpt = store.ckpt_wanted;
		if (!prune && !ckpt) {
			(void)store_cond_wait(&store.pcond, &store.plock, &due);
			continue;
		}
		store.ckpt_wanted = 0;
		store_unlock(&store.plock);
		if (ckpt)
			store_checkpoint();
		if (prune) {
			store_prune();
			store_deadline(&due, store.prune_ms);
		}
		store_lock(&store.plock);
	}
	store_unlock(&store.plock);
	return NULL;
}

/* Takes the read side; -1 (nothing held) if the store is closed. */
static int
store_read_begin(void)
{
	store_lock(&store.rlock);
	if (store.rdb == NULL) {
		store_unlock(&store.rlock);
		errno = EINVAL;
		return -1;
	}
	if (store.memory)
		store_lock(&store.wlock);
	return 0;
}

static void
store_read_end(void)
{
	if (store.memory)
		store_unlock(&store.wlock);
	store_unlock(&store.rlock);
}

static void
store_copy(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src != NULL ? (const char *)src : "");
}

/* The window of a query's min_seq (exclusive) and max_seq (inclusive;
 * 0: no bound). */
static struct store_span
store_span(int64_t min_seq, int64_t max_seq)
{
	struct store_span	 sp;

	sp.lo = min_seq > 0 ? min_seq : 0;
	sp.hi = max_seq > 0 ? max_seq : INT64_MAX;
	return sp;
}

/* Whether v reads a private conversation as an account. */
static int
store_private(const struct store_view *v)
{
	return v->nick != NULL && v->other != NULL && v->account > 0;
}

/* The reader's nick for STORE_UNCLAIMED: NULL for a room. */
static void
store_bind_nick(sqlite3_stmt *st, int i, const char *nick)
{
	if (nick != NULL)
		sqlite3_bind_text(st, i, nick, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/*
 * Where sel is, as an exclusive bound: a msgid is its row's position; a
 * time T as a lower bound means time_ms > T, as an upper one time_ms < T.
 * Returns 1, 0 for a msgid not in key or outside sp, or -1.
 */
static int
store_point_locked(const struct store_view *v, const struct store_sel *sel,
    int upper, const struct store_span *sp, struct store_pos *p)
{
	sqlite3_stmt	*st = store.rst[store_private(v) ? SR_APOINT :
			    SR_POINT];
	int		 rc;

	switch (sel != NULL ? sel->kind : SEL_NONE) {
	case SEL_NONE:
		*p = upper ? store_end : store_first;
		return 1;
	case SEL_TIME:
		p->t = sel->time_ms;
		p->s = upper ? INT64_MIN : INT64_MAX;
		return 1;
	case SEL_MSGID:
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	sqlite3_bind_text(st, 1, sel->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, sp->lo);
	sqlite3_bind_int64(st, 4, sp->hi);
	store_bind_nick(st, 5, v->nick);
	if (store_private(v)) {
		sqlite3_bind_int64(st, 6, v->account);
		sqlite3_bind_text(st, 7, v->other, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->t = sqlite3_column_int64(st, 0);
		p->s = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		log_warnx("store: %s: query: %s", store.path,
		    sqlite3_errmsg(store.rdb));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Appends to rows the messages v sees strictly between lo and hi, in
 * sp. */
static int
store_range_locked(const struct store_view *vw, const struct store_pos *lo,
    const struct store_pos *hi, int desc, int limit,
    const struct store_span *sp, struct store_rows *rows)
{
	sqlite3_stmt		*st;
	struct store_rec	*r, *v;
	int			 rc, cap, n = 0;

	if (limit <= 0)
		return 0;
	if (store_private(vw))
		st = store.rst[desc ? SR_ADESC : SR_AASC];
	else
		st = store.rst[desc ? SR_DESC : SR_ASC];
	sqlite3_bind_text(st, 1, vw->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo->t);
	sqlite3_bind_int64(st, 3, lo->s);
	sqlite3_bind_int64(st, 4, hi->t);
	sqlite3_bind_int64(st, 5, hi->s);
	sqlite3_bind_int64(st, 6, sp->lo);
	sqlite3_bind_int64(st, 7, sp->hi);
	sqlite3_bind_int(st, 8, limit);
	store_bind_nick(st, 9, vw->nick);
	if (store_private(vw)) {
		sqlite3_bind_int64(st, 10, vw->account);
		sqlite3_bind_text(st, 11, vw->other, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows->n == rows->cap) {
			cap = rows->cap == 0 ? 16 : rows->cap * 2;
			if ((v = reallocarray(rows->v, cap, sizeof(*v))) ==
			    NULL)
				goto fail;
			rows->v = v;
			rows->cap = cap;
		}
		r = &rows->v[rows->n];
		memset(r, 0, sizeof(*r));
		r->seq = sqlite3_column_int64(st, 0);
		store_copy(r->msgid, sizeof(r->msgid),
		    sqlite3_column_text(st, 1));
		r->time_ms = sqlite3_column_int64(st, 2);
		store_copy(r->key, sizeof(r->key),
		    (const unsigned char *)vw->key);
		store_copy(r->source, sizeof(r->source),
		    sqlite3_column_text(st, 3));
		store_copy(r->command, sizeof(r->command),
		    sqlite3_column_text(st, 4));
		r->params = strdup(sqlite3_column_text(st, 5) != NULL ?
		    (const char *)sqlite3_column_text(st, 5) : "");
		if (r->params == NULL)
			goto fail;
		if (sqlite3_column_type(st, 6) != SQLITE_NULL &&
		    (r->tags = strdup((const char *)sqlite3_column_text(st,
		    6))) == NULL) {
			free(r->params);
			goto fail;
		}
		rows->n++;
		n++;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: %s: query: %s", store.path,
		    sqlite3_errmsg(store.rdb));
		goto fail;
	}
	sqlite3_reset(st);
	return n;

fail:
	sqlite3_reset(st);
	return -1;
}

/* Reverses rows[from..n), which a DESC query filled newest first. */
static void
store_rows_reverse(struct store_rows *rows, int from)
{
	struct store_rec	 tmp;
	int			 i, j;

	for (i = from, j = rows->n - 1; i < j; i++, j--) {
		tmp = rows->v[i];
		rows->v[i] = rows->v[j];
		rows->v[j] = tmp;
	}
}

/* Hands rows to cb (no lock held) and frees them; returns the count. */
static int
store_rows_emit(struct store_rows *rows, store_cb *cb, void *arg)
{
	int	 i;

	for (i = 0; i < rows->n; i++)
		cb(&rows->v[i], arg);
	i = rows->n;
	store_rows_free(rows);
	return i;
}

static void
store_rows_free(struct store_rows *rows)
{
	int	 i;

	for (i = 0; i < rows->n; i++) {
		free(rows->v[i].params);
		free(rows->v[i].tags);
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = rows->cap = 0;
}

/* Ends a read: drops the read side, then emits rows (or, when rc is -1,
 * frees them and fails). */
static int
store_read_done(int rc, struct store_rows *rows, store_cb *cb, void *arg)
{
	store_read_end();
	if (rc == -1) {
		store_rows_free(rows);
		return -1;
	}
	return store_rows_emit(rows, cb, arg);
}

/*
 * The messages of key on one side of sel (excluded): towards the oldest
 * (upper: sel bounds from above) or the newest.  desc takes the limit
 * rows nearest the bound going backwards; they are emitted oldest first.
 */
static int
store_side(const struct store_view *v, const struct store_sel *sel,
    int upper, int desc, int limit, store_cb *cb, void *arg)
{
	struct store_rows	 rows = { NULL, 0, 0 };
	struct store_span	 sp = store_span(v->min_seq, v->max_seq);
	struct store_pos	 p;
	int			 rc;

	if (limit <= 0)
		return 0;
	if (store.off)
		return 0;	/* no history: nothing to find */
	if (store_read_begin() == -1)
		return -1;
	if ((rc = store_point_locked(v, sel, upper, &sp, &p)) == 1) {
		rc = store_range_locked(v, upper ? &store_first : &p,
		    upper ? &p : &store_end, desc, limit, &sp, &rows);
		if (rc >= 0 && desc)
			store_rows_reverse(&rows, 0);
	}
	return store_read_done(rc, &rows, cb, arg);
}

static int
store_around_view(const struct store_view *v, const struct store_sel *sel,
    int limit, store_cb *cb, void *arg)
{
	struct store_rows	 rows = { NULL, 0, 0 };
	struct store_span	 sp = store_span(v->min_seq, v->max_seq);
	struct store_pos	 p, lo, hi;
	int			 rc, nbefore, nafter;

	if (limit <= 0)
		return 0;
	if (sel == NULL || sel->kind == SEL_NONE)
		return store_side(v, NULL, 0, 1, limit, cb, arg);
	if (store.off)
		return 0;	/* no history: nothing to find */
	if (store_read_begin() == -1)
		return -1;
	if ((rc = store_point_locked(v, sel, 1, &sp, &p)) != 1)
		goto done;
	if (sel->kind == SEL_MSGID) {
		/* The row itself, then (limit - 1) split around it. */
		nbefore = (limit - 1) / 2;
		nafter = limit - 1 - nbefore;
	} else {
		nbefore = limit / 2;
		nafter = limit - nbefore;
	}
	if ((rc = store_range_locked(v, &store_first, &p, 1, nbefore, &sp,
	    &rows)) == -1)
		goto done;
	store_rows_reverse(&rows, 0);
	if (sel->kind == SEL_MSGID) {
		/* The row itself, if it is a message. */
		lo.t = hi.t = p.t;
		lo.s = p.s - 1;
		hi.s = p.s + 1;
		if ((rc = store_range_locked(v, &lo, &hi, 0, 1, &sp,
		    &rows)) == -1)
			goto done;
	}
	/* For a time, p (T, INT64_MIN) as a lower bound: time_ms >= T. */
	rc = store_range_locked(v, &p, &store_end, 0, nafter, &sp, &rows);

done:
	return store_read_done(rc, &rows, cb, arg);
}

static int
store_between_view(const struct store_view *v, const struct store_sel *a,
    const struct store_sel *b, int limit, store_cb *cb, void *arg)
{
	struct store_rows	 rows = { NULL, 0, 0 };
	struct store_span	 sp = store_span(v->min_seq, v->max_seq);
	struct store_pos	 pa, pb;
	int			 rc, forward;

	if (limit <= 0)
		return 0;
	if (a == NULL || b == NULL || a->kind == SEL_NONE ||
	    b->kind == SEL_NONE) {
		errno = EINVAL;
		return -1;
	}
	if (store.off)
		return 0;	/* no history: nothing to find */
	if (store_read_begin() == -1)
		return -1;
	/* Try a as the lower bound; if it is later than b, swap roles. */
	if ((rc = store_point_locked(v, a, 0, &sp, &pa)) != 1 ||
	    (rc = store_point_locked(v, b, 1, &sp, &pb)) != 1)
		goto done;
	forward = pa.t < pb.t || (pa.t == pb.t && pa.s <= pb.s);
	if (forward)
		rc = store_range_locked(v, &pa, &pb, 0, limit, &sp, &rows);
	else if ((rc = store_point_locked(v, a, 1, &sp, &pa)) == 1 &&
	    (rc = store_point_locked(v, b, 0, &sp, &pb)) == 1 &&
	    (rc = store_range_locked(v, &pb, &pa, 1, limit, &sp,
	    &rows)) >= 0)
		store_rows_reverse(&rows, 0);

done:
	return store_read_done(rc, &rows, cb, arg);
}

int
store_query(enum store_what what, const struct store_view *v,
    const struct store_sel *a, const struct store_sel *b, int limit,
    store_cb *cb, void *arg)
{
	switch (what) {
	case STORE_LATEST:
		return store_side(v, a, 0, 1, limit, cb, arg);
	case STORE_BEFORE:
		return store_side(v, a, 1, 1, limit, cb, arg);
	case STORE_AFTER:
		return store_side(v, a, 0, 0, limit, cb, arg);
	case STORE_AROUND:
		return store_around_view(v, a, limit, cb, arg);
	case STORE_BETWEEN:
		return store_between_view(v, a, b, limit, cb, arg);
	}
	errno = EINVAL;
	return -1;
}

/* A view of key's rows with min_seq < seq <= max_seq, as a room's. */
static struct store_view
store_key_view(const char *key, int64_t min_seq, int64_t max_seq)
{
	struct store_view	 v;

	memset(&v, 0, sizeof(v));
	v.key = key;
	v.min_seq = min_seq;
	v.max_seq = max_seq;
	return v;
}

int
store_latest(const char *key, const struct store_sel *after, int limit,
    int64_t min_seq, int64_t max_seq, store_cb *cb, void *arg)
{
	struct store_view	 v = store_key_view(key, min_seq, max_seq);

	return store_query(STORE_LATEST, &v, after, NULL, limit, cb, arg);
}

int
store_before(const char *key, const struct store_sel *sel, int limit,
    int64_t min_seq, int64_t max_seq, store_cb *cb, void *arg)
{
	struct store_view	 v = store_key_view(key, min_seq, max_seq);

	return store_query(STORE_BEFORE, &v, sel, NULL, limit, cb, arg);
}

int
store_after(const char *key, const struct store_sel *sel, int limit,
    int64_t min_seq, int64_t max_seq, store_cb *cb, void *arg)
{
	struct store_view	 v = store_key_view(key, min_seq, max_seq);

	return store_query(STORE_AFTER, &v, sel, NULL, limit, cb, arg);
}

int
store_around(const char *key, const struct store_sel *sel, int limit,
    int64_t min_seq, int64_t max_seq, store_cb *cb, void *arg)
{
	struct store_view	 v = store_key_view(key, min_seq, max_seq);

	return store_query(STORE_AROUND, &v, sel, NULL, limit, cb, arg);
}

int
store_between(const char *key, const struct store_sel *a,
    const struct store_sel *b, int limit, int64_t min_seq, int64_t max_seq,
    store_cb *cb, void *arg)
{
	struct store_view	 v = store_key_view(key, min_seq, max_seq);

	return store_query(STORE_BETWEEN, &v, a, b, limit, cb, arg);
}

int
store_seek_latest(const char *key, int limit, int64_t min_seq,
    int64_t max_seq, struct store_cursor *cur)
{
	struct store_span	 sp = store_span(min_seq, max_seq);
	sqlite3_stmt		*st;
	int64_t			 t = 0, s = 0;
	int			 rc, n = 0;

	/* Nothing in the window: a cursor past everything. */
	cur->time_ms = INT64_MAX;
	cur->seq = INT64_MAX;
	if (limit <= 0 || store.off)
		return 0;
	if (store_read_begin() == -1)
		return -1;
	st = store.rst[SR_SEEK];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, sp.lo);
	sqlite3_bind_int64(st, 3, sp.hi);
	sqlite3_bind_int(st, 4, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_int64(st, 0);
		s = sqlite3_column_int64(st, 1);
		n++;
	}
	if (rc != SQLITE_DONE)
		log_warnx("store: %s: query: %s", store.path,
		    sqlite3_errmsg(store.rdb));
	sqlite3_reset(st);
	store_read_end();
	if (rc != SQLITE_DONE)
		return -1;
	if (n > 0) {
		/* Just before the oldest: seqs are unique, so (t, s - 1)
		 * lets (t, s) through and nothing older. */
		cur->time_ms = t;
		cur->seq = s - 1;
	}
	return n;
}

int
store_read(const char *key, struct store_cursor *cur, int64_t min_seq,
    int64_t max_seq, int limit, store_cb *cb, void *arg)
{
	struct store_rows	 rows = { NULL, 0, 0 };
	struct store_span	 sp = store_span(min_seq, max_seq);
	struct store_pos	 p = { cur->time_ms, cur->seq };
	struct store_view	 v = store_key_view(key, min_seq, max_seq);
	int			 rc;

	if (limit <= 0 || store.off)
		return 0;
	if (store_read_begin() == -1)
		return -1;
	rc = store_range_locked(&v, &p, &store_end, 0, limit, &sp, &rows);
	if (rc > 0) {
		cur->time_ms = rows.v[rows.n - 1].time_ms;
		cur->seq = rows.v[rows.n - 1].seq;
	}
	return store_read_done(rc, &rows, cb, arg);
}

/*
 * message-redaction: the seq a msgid of this run names (store_msgid),
 * or 0 for any other string.
 */
static int64_t
store_msgid_seq(const char *msgid)
{
	char	 mine[STORE_MSGID_LEN + 1];
	int64_t	 seq = 0;
	int	 i;
	const char *d;

	if (strlen(msgid) != STORE_MSGID_LEN)
		return 0;
	store_msgid(0, mine);
	if (memcmp(mine, msgid, 11) != 0)
		return 0;
	for (i = 11; i < STORE_MSGID_LEN; i++) {
		if ((d = strchr("0123456789abcdefghjkmnpqrstvwxyz",
		    msgid[i])) == NULL || *d == '\0')
			return 0;
		seq = seq * 32 + (d - "0123456789abcdefghjkmnpqrstvwxyz");
	}
	return seq;
}

int
store_find(const char *msgid, struct store_ref *ref)
{
	sqlite3_stmt	*st;
	const char	*tags, *semi;
	int64_t		 seq;
	int		 rc;

	memset(ref, 0, sizeof(*ref));
	if (store.off || strlen(msgid) != STORE_MSGID_LEN)
		return 0;	/* no history, or never a msgid of ours */
	/* A message of this run still on its way to the file: wait for
	 * it (the REDACT would find nothing, then see it stored). */
	seq = store_msgid_seq(msgid);
	if (seq > 0 && seq <= atomic_load(&store.last_seq))
		(void)store_wait(seq, store.hold_ms);
	if (store_read_begin() == -1)
		return -1;
	st = store.rst[SR_FIND];
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ref->seq = sqlite3_column_int64(st, 0);
		ref->time_ms = sqlite3_column_int64(st, 1);
		store_copy(ref->key, sizeof(ref->key),
		    sqlite3_column_text(st, 2));
		store_copy(ref->source, sizeof(ref->source),
		    sqlite3_column_text(st, 3));
		/* tags_stored: "account=x" first, when it had one. */
		tags = (const char *)sqlite3_column_text(st, 4);
		if (tags != NULL && strncmp(tags, "account=", 8) == 0) {
			tags += 8;
			semi = strchr(tags, ';');
			snprintf(ref->account, sizeof(ref->account), "%.*s",
			    (int)(semi != NULL ? (size_t)(semi - tags) :
			    strlen(tags)), tags);
		}
		store_copy(ref->from_key, sizeof(ref->from_key),
		    sqlite3_column_text(st, 5));
		store_copy(ref->to_key, sizeof(ref->to_key),
		    sqlite3_column_text(st, 6));
		ref->from_account = sqlite3_column_int64(st, 7);
		ref->to_account = sqlite3_column_int64(st, 8);
		snprintf(ref->msgid, sizeof(ref->msgid), "%s", msgid);
	} else if (rc != SQLITE_DONE)
		log_warnx("store: %s: query: %s", store.path,
		    sqlite3_errmsg(store.rdb));
	sqlite3_reset(st);
	store_read_end();
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The latest message st (bound, SR_LAST or SR_ALAST) finds into t, if
 * it is later than t's.  other: for a private conversation, the other
 * nick (casefolded); NULL for a room.  Returns 1 if t changed, 0 or -1.
 */
static int
store_last_locked(sqlite3_stmt *st, const char *other, struct store_target *t)
{
	const char	*source, *params, *want;
	char		 word[STORE_KEY_MAX + 1];
	size_t		 n;
	int		 rc;

	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			log_warnx("store: %s: query: %s", store.path,
			    sqlite3_errmsg(store.rdb));
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	if (sqlite3_column_int64(st, 0) <= t->latest) {
		sqlite3_reset(st);
		return 0;
	}
	t->latest = sqlite3_column_int64(st, 0);
	source = (const char *)sqlite3_column_text(st, 1);
	params = (const char *)sqlite3_column_text(st, 2);
	want = other != NULL ? other : t->key;
	store_copy(t->target, sizeof(t->target), (const unsigned char *)want);
	/* As last written: the other nick as the source, else the room or
	 * the other nick as params' first word (the target); else the key. */
	if (other != NULL && source != NULL &&
	    (n = strcspn(source, "!@")) < sizeof(word)) {
		memcpy(word, source, n);
		word[n] = '\0';
		if (casemap_cmp(word, other) == 0) {
			store_copy(t->target, sizeof(t->target),
			    (const unsigned char *)word);
			goto done;
		}
	}
	if (params != NULL && (n = strcspn(params, " ")) < sizeof(word)) {
		memcpy(word, params, n);
		word[n] = '\0';
		if (casemap_cmp(word, want) == 0)
			store_copy(t->target, sizeof(t->target),
			    (const unsigned char *)word);
	}

done:
	sqlite3_reset(st);
	return 1;
}

/* In the order TARGETS answers: by latest, then key. */
static int
store_target_cmp(const void *a, const void *b)
{
	const struct store_target	*x = a, *y = b;

	if (x->latest != y->latest)
		return x->latest < y->latest ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Whether top would rather keep a than b. */
static int
store_top_better(const struct store_top *top, const struct store_target *a,
    const struct store_target *b)
{
	int	 c = store_target_cmp(a, b);

	return top->newest ? c > 0 : c < 0;
}

/*
 * Keeps t if it is among the best top->cap so far.  What one drops is
 * worse than all it keeps from then on, so a target met again (from
 * its other side, with the same latest) is never taken back.
 */
static void
store_top_add(struct store_top *top, const struct store_target *t)
{
	int	 i, worst = 0;

	if (top->n < top->cap) {
		top->v[top->n++] = *t;
		return;
	}
	for (i = 1; i < top->n; i++)
		if (store_top_better(top, &top->v[worst], &top->v[i]))
			worst = i;
	if (store_top_better(top, t, &top->v[worst]))
		top->v[worst] = *t;
}

/*
 * One target into top: key, a room (other NULL) with rows seq >
 * min_seq, or the private conversation of nick with other, read as a
 * store_view of nick, other and account reads it.  Its latest message
 * in (lo, hi) counts both sides of that view.  Returns 0 or -1.
 */
static int
store_target_locked(struct store_top *top, const char *key,
    int64_t min_seq, const char *nick, const char *other, int64_t account,
    int64_t lo, int64_t hi)
{
	struct store_target	 t;
	sqlite3_stmt		*st;
	int			 i;

	for (i = 0; i < top->n; i++)
		if (strcmp(top->v[i].key, key) == 0)
			return 0;	/* counted already, both sides */
	memset(&t, 0, sizeof(t));
	t.latest = INT64_MIN;
	store_copy(t.key, sizeof(t.key), (const unsigned char *)key);
	st = store.rst[SR_LAST];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, min_seq > 0 ? min_seq : 0);
	store_bind_nick(st, 5, nick);
	if (store_last_locked(st, other, &t) == -1)
		return -1;
	if (nick != NULL && other != NULL && account > 0) {
		st = store.rst[SR_ALAST];
		sqlite3_bind_int64(st, 1, account);
		sqlite3_bind_text(st, 2, other, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, lo);
		sqlite3_bind_int64(st, 4, hi);
		if (store_last_locked(st, other, &t) == -1)
			return -1;
	}
	if (t.latest != INT64_MIN)
		store_top_add(top, &t);
	return 0;
}

/* Ends stepping st: 0 if it ran to its end, else -1 (logged). */
static int
store_step_end(sqlite3_stmt *st, int rc)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		log_warnx("store: %s: query: %s", store.path,
		    sqlite3_errmsg(store.rdb));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_targets(const char *nickkey, int64_t nick_min_seq, int64_t account,
    const struct store_key *keys, int nkeys, int64_t from_ms, int64_t to_ms,
    int limit, store_target_cb *cb, void *arg)
{
	struct store_top	 top;
	sqlite3_stmt		*st;
	const char		*key, *sp, *other;
	char			 word[STORE_KEY_MAX + 1];
	char			 pair[STORE_KEY_MAX + 1];
	int64_t			 lo, hi;
	int			 i, rc = 0, step;
	size_t			 len;

	if (limit <= 0 || store.off)
		return 0;	/* no history: nothing to find */
	lo = from_ms < to_ms ? from_ms : to_ms;
	hi = from_ms < to_ms ? to_ms : from_ms;
	memset(&top, 0, sizeof(top));
	top.cap = limit;
	/* From the first point's side, as for BETWEEN. */
	top.newest = to_ms < from_ms;
	if ((top.v = calloc((size_t)limit, sizeof(*top.v))) == NULL)
		return -1;
	if (store_read_begin() == -1) {
		free(top.v);
		return -1;
	}
	for (i = 0; rc == 0 && i < nkeys; i++)
		rc = store_target_locked(&top, keys[i].key, keys[i].min_seq,
		    NULL, NULL, 0, lo, hi);

	/* The conversations of nickkey, by the keys naming it. */
	st = store.rst[SR_PEERS];
	sqlite3_bind_text(st, 1, nickkey, -1, SQLITE_STATIC);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		key = (const char *)sqlite3_column_text(st, 0);
		if (key == NULL || (sp = strchr(key, ' ')) == NULL)
			continue;
		len = (size_t)(sp - key);
		if (len == strlen(nickkey) && strncmp(key, nickkey, len) == 0)
			other = sp + 1;
		else {
			if (len >= sizeof(word))
				continue;
			memcpy(word, key, len);
			word[len] = '\0';
			other = word;
		}
		rc = store_target_locked(&top, key, nick_min_seq, nickkey,
		    other, account, lo, hi);
	}
	if (rc == 0)
		rc = store_step_end(st, step);
	else
		sqlite3_reset(st);

	/* And the account's, by the nicks it talked with. */
	st = store.rst[SR_APEERS];
	sqlite3_bind_int64(st, 1, account);
	while (rc == 0 && account > 0 &&
	    (step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((other = (const char *)sqlite3_column_text(st, 0)) == NULL ||
		    strlen(other) > NICK_MAX)
			continue;
		if (strcmp(nickkey, other) <= 0)
			snprintf(pair, sizeof(pair), "%s %s", nickkey, other);
		else
			snprintf(pair, sizeof(pair), "%s %s", other, nickkey);
		rc = store_target_locked(&top, pair, nick_min_seq, nickkey,
		    other, account, lo, hi);
	}
	if (rc == 0 && account > 0)
		rc = store_step_end(st, step);
	else
		sqlite3_reset(st);
	store_read_end();

	if (rc == 0) {
		qsort(top.v, (size_t)top.n, sizeof(*top.v), store_target_cmp);
		for (i = 0; i < top.n; i++)
			cb(top.v[i].key, top.v[i].target, top.v[i].latest,
			    arg);
		rc = top.n;
	}
	free(top.v);
	return rc;
}

/* --- accounts (schema 4) --- */

/*
 * Account writes: one small transaction on the write connection, under
 * wlock, so they wait for a group commit in progress (never call them
 * with server.lock held).  With "off" there is no file: they do
 * nothing and succeed, and the accounts live in account.c's memory
 * only.  Returns 0 if the transaction could begin (wlock is then held
 * and store_acct_end must follow), 1 for "off", -1 on failure.
 */
static int
store_acct_begin(void)
{
	char	 why[256];

	if (store.off || !store.opened)
		return store.off ? 1 : -1;
	store_lock(&store.wlock);
	if (store.wdb == NULL && store_wopen_locked(why, sizeof(why)) == -1) {
		log_warnx("store: %s: account write: %s", store.path, why);
		store_unlock(&store.wlock);
		return -1;
	}
	if (store_step_done(store.wst[SW_BEGIN]) == -1) {
		log_warnx("store: %s: account write: %s", store.path,
		    sqlite3_errmsg(store.wdb));
		store_unlock(&store.wlock);
		return -1;
	}
	return 0;
}

/* Commits (ok) or rolls back, and releases wlock.  Returns 0 if
 * committed. */
static int
store_acct_end(int ok)
{
	if (ok && store_step_done(store.wst[SW_COMMIT]) == -1)
		ok = 0;
	if (!ok) {
		log_warnx("store: %s: account write failed: %s", store.path,
		    sqlite3_errmsg(store.wdb));
		if (!sqlite3_get_autocommit(store.wdb))
			store_step_done(store.wst[SW_ROLLBACK]);
	}
	store_unlock(&store.wlock);
	return ok ? 0 : -1;
}

static void
store_bind_blob(sqlite3_stmt *st, int i, const void *p, int n)
{
	if (p == NULL || n <= 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_blob(st, i, p, n, SQLITE_STATIC);
}

int
store_account_put(const struct store_account *a)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_ACCT_PUT];
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->created);
	sqlite3_bind_int64(st, 5, a->flags);
	if (a->uid >= 0)
		sqlite3_bind_int64(st, 6, a->uid);
	else
		sqlite3_bind_null(st, 6);
	if (a->hash != NULL)
		sqlite3_bind_text(st, 7, a->hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	store_bind_blob(st, 8, a->scram_salt, a->scram_saltlen);
	if (a->scram_iter > 0)
		sqlite3_bind_int(st, 9, a->scram_iter);
	else
		sqlite3_bind_null(st, 9);
	store_bind_blob(st, 10, a->scram_stored, a->scram_stored != NULL ?
	    STORE_SCRAM_KEY_LEN : 0);
	store_bind_blob(st, 11, a->scram_server, a->scram_server != NULL ?
	    STORE_SCRAM_KEY_LEN : 0);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_account_delete(int64_t id)
{
	static const int which[] = { SW_ACCT_DEL_CERTS, SW_ACCT_DEL_NICKS,
	    SW_ACCT_DEL_SETTINGS, SW_ACCT_DEL_MARKERS, SW_ACCT_DEL_APEERS,
	    SW_ACCT_DEL };
	size_t	 i;
	int	 rc, ok = 1;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	for (i = 0; ok && i < sizeof(which) / sizeof(which[0]); i++) {
		sqlite3_bind_int64(store.wst[which[i]], 1, id);
		ok = store_step_done(store.wst[which[i]]) == 0;
	}
	return store_acct_end(ok);
}

int
store_cert_put(int64_t id, const unsigned char *fp)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_CERT_PUT];
	sqlite3_bind_blob(st, 1, fp, STORE_FP_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_cert_delete(const unsigned char *fp)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_CERT_DEL];
	sqlite3_bind_blob(st, 1, fp, STORE_FP_LEN, SQLITE_STATIC);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_nick_put(int64_t id, const char *key, const char *nick)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_NICK_PUT];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, nick, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_nick_delete(const char *key)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_NICK_DEL];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_meta_secret(const char *name, unsigned char *out, size_t len)
{
	sqlite3_stmt	*st;
	const void	*p;
	int		 rc, ok = 1, found = 0;

	if ((rc = store_acct_begin()) == -1)
		return -1;
	if (rc == 0) {
		st = store.wst[SW_META_GET];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (size_t)sqlite3_column_bytes(st, 0) == len &&
		    (p = sqlite3_column_blob(st, 0)) != NULL) {
			memcpy(out, p, len);
			found = 1;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	if (!found) {
		if (getrandom(out, len, 0) != (ssize_t)len) {
			if (rc == 0)
				(void)store_acct_end(0);
			return -1;
		}
		if (rc == 0) {
			st = store.wst[SW_META_PUT];
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, out, (int)len, SQLITE_STATIC);
			ok = store_step_done(st) == 0;
			sqlite3_clear_bindings(st);
		}
	}
	return rc == 0 ? store_acct_end(ok) : 0;
}

/* The bytes of a blob column if it has exactly n, else NULL. */
static const unsigned char *
store_blob_n(sqlite3_stmt *st, int col, int n)
{
	if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, col) != n)
		return NULL;
	return sqlite3_column_blob(st, col);
}

int
store_accounts_load(store_account_cb *acb, store_cert_cb *ccb,
    store_nick_cb *ncb, void *arg, int64_t *max_id)
{
	static const char *const sql[4] = {
		"SELECT id, name, key, created, flags, uid, hash, scram_salt, "
		"scram_iter, scram_stored, scram_server FROM account ORDER BY id",
		"SELECT fp, account FROM account_cert",
		"SELECT key, nick, account FROM account_nick",
		/* AUTOINCREMENT remembers the highest id ever used, so the
		 * id of a deleted account is never given again. */
		"SELECT seq FROM sqlite_sequence WHERE name = 'account'",
	};
	struct store_account	 a;
	sqlite3_stmt		*st = NULL;
	int			 i, rc, n = 0;

	*max_id = 0;
	if (store.off)
		return 0;
	if (!store.opened)
		return -1;
	store_lock(&store.wlock);
	for (i = 0; i < 4; i++) {
		if (sqlite3_prepare_v2(store.wdb, sql[i], -1, &st, NULL) !=
		    SQLITE_OK)
			goto fail;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (i == 0) {
				memset(&a, 0, sizeof(a));
				a.id = sqlite3_column_int64(st, 0);
				a.name = (const char *)sqlite3_column_text(st,
				    1);
				a.key = (const char *)sqlite3_column_text(st, 2);
				a.created = sqlite3_column_int64(st, 3);
				a.flags = (unsigned)sqlite3_column_int64(st, 4);
				a.uid = sqlite3_column_type(st, 5) ==
				    SQLITE_NULL ? -1 : sqlite3_column_int64(st,
				    5);
				a.hash = (const char *)sqlite3_column_text(st,
				    6);
				a.scram_salt = sqlite3_column_blob(st, 7);
				a.scram_saltlen = sqlite3_column_bytes(st, 7);
				a.scram_iter = sqlite3_column_int(st, 8);
				a.scram_stored = store_blob_n(st, 9,
				    STORE_SCRAM_KEY_LEN);
				a.scram_server = store_blob_n(st, 10,
				    STORE_SCRAM_KEY_LEN);
				if (a.name == NULL || a.key == NULL)
					continue;
				acb(&a, arg);
				n++;
			} else if (i == 1) {
				const unsigned char *fp = store_blob_n(st, 0,
				    STORE_FP_LEN);

				if (fp != NULL)
					ccb(sqlite3_column_int64(st, 1), fp,
					    arg);
			} else if (i == 3)
				*max_id = sqlite3_column_int64(st, 0);
			else if (sqlite3_column_text(st, 0) != NULL &&
			    sqlite3_column_text(st, 1) != NULL)
				ncb(sqlite3_column_int64(st, 2),
				    (const char *)sqlite3_column_text(st, 0),
				    (const char *)sqlite3_column_text(st, 1),
				    arg);
		}
		if (rc != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	store_unlock(&store.wlock);
	return n;

fail:
	log_warnx("store: %s: cannot read accounts: %s", store.path,
	    sqlite3_errmsg(store.wdb));
	sqlite3_finalize(st);
	store_unlock(&store.wlock);
	return -1;
}

/* --- read markers (schema 4's read_marker) --- */

int
store_marker_put(int64_t id, const char *key, int64_t time_ms,
    const char *evict)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_MARKER_PUT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time_ms);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	if (ok && evict != NULL) {
		st = store.wst[SW_MARKER_DEL];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, evict, -1, SQLITE_STATIC);
		ok = store_step_done(st) == 0;
		sqlite3_clear_bindings(st);
	}
	return store_acct_end(ok);
}

int
store_markers_delete(int64_t id)
{
	sqlite3_stmt	*st;
	int		 rc, ok;

	if ((rc = store_acct_begin()) != 0)
		return rc == 1 ? 0 : -1;
	st = store.wst[SW_ACCT_DEL_MARKERS];
	sqlite3_bind_int64(st, 1, id);
	ok = store_step_done(st) == 0;
	sqlite3_clear_bindings(st);
	return store_acct_end(ok);
}

int
store_markers_load(store_marker_cb *cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	const char	*key;
	int		 rc, n = 0;

	if (store.off)
		return 0;
	if (!store.opened)
		return -1;
	store_lock(&store.wlock);
	/* Newest first within an account: a loader that keeps a bounded
	 * number keeps the latest. */
	if (sqlite3_prepare_v2(store.wdb, "SELECT account, target, time_ms "
	    "FROM read_marker ORDER BY account, time_ms DESC", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((key = (const char *)sqlite3_column_text(st, 1)) == NULL)
			continue;
		cb(sqlite3_column_int64(st, 0), key,
		    sqlite3_column_int64(st, 2), arg);
		n++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	store_unlock(&store.wlock);
	return n;

fail:
	log_warnx("store: %s: cannot read read markers: %s", store.path,
	    sqlite3_errmsg(store.wdb));
	sqlite3_finalize(st);
	store_unlock(&store.wlock);
	return -1;
}
