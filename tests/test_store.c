/*
 * test_store.c: the history store (server/store.c) against real SQLite
 * files, one temporary folder per test: every chathistory selector,
 * query windows (min_seq, max_seq) and chunked reads, private keys and
 * TARGETS, retention (counting messages only), persistence across close
 * and SIGKILL, schema migration and refusal, unsafe paths, file modes,
 * the sync level, :memory:, "off", concurrent appenders, and commits
 * that fail (a lock held by another connection, a constraint, an I/O
 * error, a full tmpfs): retries, episodes and their log lines,
 * store_cancel (racing the writer too), the hold bound, and closing
 * while failing.  STORE_BENCH_ROWS sets the benchmark's size.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../server/natterd.h"
#include "log.h"

#define GOT_MAX		64
/* store_open's options: retention, and the default sync level. */
#define OPTS(days, max) \
	(&(struct store_opts){ (days), (max), STORE_SYNC_FULL, 0 })
#define NTHREADS	8
#define PER_THREAD	2000

struct fixture {
	char	 dir[256];
	char	 path[320];
	char	 mnt[320];	/* a tmpfs the test mounted, or "" */
	int	 saved_stderr;	/* while capture_begin() redirects it */
	char	 logpath[320];
	int	 fsize_set;	/* RLIMIT_FSIZE lowered: fsize_old */
	struct rlimit fsize_old;
};

/* What a query passed to its callback. */
struct got {
	int	 n;
	int64_t	 seq[GOT_MAX];
	int64_t	 time_ms[GOT_MAX];
	char	 msgid[GOT_MAX][STORE_MSGID_LEN + 1];
	char	 key[GOT_MAX][STORE_KEY_MAX + 1];
	char	 source[GOT_MAX][MASK_MAX + 1];
	char	 command[GOT_MAX][16];
	char	 params[GOT_MAX][128];
	char	 tags[GOT_MAX][64];	/* "(null)" for NULL */
};

struct targets {
	int	 n;
	char	 key[GOT_MAX][STORE_KEY_MAX + 1];
	char	 target[GOT_MAX][STORE_KEY_MAX + 1];
	int64_t	 latest[GOT_MAX];
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int
setup(void **state)
{
	struct fixture	*f;
	const char	*tmp;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] != '/')
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX", tmp);
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/history.db", f->dir);
	f->saved_stderr = -1;
	unsetenv("NATTERD_PRUNE_INTERVAL_MS");
	*state = f;
	return 0;
}

static void
dump_file(const char *path)
{
	char	 buf[4096];
	size_t	 n;
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(fp);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	if (f->fsize_set) {
		setrlimit(RLIMIT_FSIZE, &f->fsize_old);
		signal(SIGXFSZ, SIG_DFL);
	}
	store_close();
	log_init("test_store", LOG_LVL_WARN);
	if (f->mnt[0] != '\0')
		umount2(f->mnt, MNT_DETACH);
	if (f->saved_stderr != -1) {
		/* The test failed while capturing: show what it caught. */
		dup2(f->saved_stderr, STDERR_FILENO);
		close(f->saved_stderr);
		fprintf(stderr, "--- log captured by the test:\n");
		dump_file(f->logpath);
	}
	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
open_ok(const char *path, int days, int max)
{
	char	 err[512] = "";

	if (store_open(path, OPTS(days, max), err, sizeof(err)) != 0)
		fail_msg("store_open %s: %s", path, err);
}

/* Appends one row and waits for its commit; returns its seq. */
static int64_t
add_full(const char *key, const char *source, const char *command,
    const char *params, const char *tags, int64_t time_ms, char *msgid)
{
	struct store_rec	 r;
	int64_t			 seq;

	memset(&r, 0, sizeof(r));
	snprintf(r.key, sizeof(r.key), "%s", key);
	snprintf(r.source, sizeof(r.source), "%s", source);
	snprintf(r.command, sizeof(r.command), "%s", command);
	r.params = (char *)params;
	r.tags = (char *)tags;
	r.time_ms = time_ms;
	seq = store_append(&r);
	assert_true(seq > 0);
	assert_int_equal(r.seq, seq);
	assert_int_equal(strlen(r.msgid), STORE_MSGID_LEN);
	assert_int_equal(strspn(r.msgid,
	    "0123456789abcdefghijklmnopqrstuvwxyz"), STORE_MSGID_LEN);
	assert_true(r.time_ms > 0);
	if (time_ms != 0)
		assert_int_equal(r.time_ms, time_ms);
	assert_int_equal(store_wait(seq, -1), 0);
	if (msgid != NULL)
		memcpy(msgid, r.msgid, sizeof(r.msgid));
	return seq;
}

static int64_t
add(const char *key, const char *params, int64_t time_ms)
{
	return add_full(key, "nick!user@host", "PRIVMSG", params, NULL,
	    time_ms, NULL);
}

static void
got_cb(const struct store_rec *r, void *arg)
{
	struct got	*g = arg;

	if (g->n >= GOT_MAX)
		fail_msg("more than %d rows", GOT_MAX);
	g->seq[g->n] = r->seq;
	g->time_ms[g->n] = r->time_ms;
	snprintf(g->msgid[g->n], sizeof(g->msgid[0]), "%s", r->msgid);
	snprintf(g->key[g->n], sizeof(g->key[0]), "%s", r->key);
	snprintf(g->source[g->n], sizeof(g->source[0]), "%s", r->source);
	snprintf(g->command[g->n], sizeof(g->command[0]), "%s", r->command);
	snprintf(g->params[g->n], sizeof(g->params[0]), "%s", r->params);
	snprintf(g->tags[g->n], sizeof(g->tags[0]), "%s",
	    r->tags != NULL ? r->tags : "(null)");
	g->n++;
}

static void
count_cb(const struct store_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static void
targets_cb(const char *key, const char *target, int64_t latest, void *arg)
{
	struct targets	*t = arg;

	if (t->n >= GOT_MAX)
		fail_msg("more than %d targets", GOT_MAX);
	snprintf(t->key[t->n], sizeof(t->key[0]), "%s", key);
	snprintf(t->target[t->n], sizeof(t->target[0]), "%s", target);
	t->latest[t->n] = latest;
	t->n++;
}

/* Checks that a query returned rows[from..to] of want, in order. */
#define EXPECT(what, rc, g, want, from, to) \
	expect_rows(what, __LINE__, rc, g, want, from, to)

static void
expect_rows(const char *what, int line, int rc, const struct got *g,
    const int64_t *want, int from, int to)
{
	int	 i, n = to - from + 1;

	if (to < from)
		n = 0;
	if (rc != n || g->n != n)
		fail_msg("line %d, %s: rc %d, %d rows, want %d", line, what, rc,
		    g->n, n);
	for (i = 0; i < n; i++)
		if (g->seq[i] != want[from + i])
			fail_msg("line %d, %s: row %d is seq %lld, want %lld",
			    line, what, i, (long long)g->seq[i],
			    (long long)want[from + i]);
}

static struct store_sel
sel_msgid(const char *msgid)
{
	struct store_sel	 s;

	memset(&s, 0, sizeof(s));
	s.kind = SEL_MSGID;
	snprintf(s.msgid, sizeof(s.msgid), "%s", msgid);
	return s;
}

static struct store_sel
sel_time(int64_t t)
{
	struct store_sel	 s;

	memset(&s, 0, sizeof(s));
	s.kind = SEL_TIME;
	s.time_ms = t;
	return s;
}

static int
count_rows(const char *key)
{
	int	 n = 0;

	assert_true(store_latest(key, NULL, INT_MAX, 0, 0, count_cb, &n) >= 0);
	return n;
}

/* Waits up to 10 s for the pruner to bring key to n rows. */
static void
wait_rows(const char *key, int n)
{
	struct timespec	 ts = { 0, 20 * 1000000 };
	int		 i, got = -1;

	for (i = 0; i < 500; i++) {
		if ((got = count_rows(key)) == n)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("%s: %d rows, want %d", key, got, n);
}

static void
make_file(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", path, msg);
	sqlite3_close(db);
}

static int
file_user_version(const char *path)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The one integer sql yields on path, read beside the store. */
static int64_t
file_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
test_default_path(void **state)
{
	char	 buf[PATH_MAX], *home, *xdg;

	(void)state;
	home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
	xdg = getenv("XDG_STATE_HOME") != NULL ?
	    strdup(getenv("XDG_STATE_HOME")) : NULL;

	setenv("HOME", "/home/u", 1);
	setenv("XDG_STATE_HOME", "/st", 1);
	assert_int_equal(store_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/st/natterd/history.db");
	/* Relative or empty: ignored, as the XDG spec says. */
	setenv("XDG_STATE_HOME", "rel", 1);
	assert_int_equal(store_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/home/u/.local/state/natterd/history.db");
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(store_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/home/u/.local/state/natterd/history.db");
	assert_int_equal(store_default_path(buf, 10), -1);
	unsetenv("HOME");
	assert_int_equal(store_default_path(buf, sizeof(buf)), -1);

	if (home != NULL)
		setenv("HOME", home, 1);
	if (xdg != NULL)
		setenv("XDG_STATE_HOME", xdg, 1);
	free(home);
	free(xdg);
}

static void
test_fields(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	char		 id1[STORE_MSGID_LEN + 1], id2[STORE_MSGID_LEN + 1];
	int64_t		 s1, s2, before, after;
	struct timespec	 ts;

	open_ok(f->path, 0, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	s1 = add_full("#r", "Al!a@h", "PRIVMSG", "#R :hello there",
	    "+draft/react=x;+a=b", 0, id1);
	s2 = add_full("#r", "Al!a@h", "NOTICE", "#R :notice", NULL, 42, id2);
	add_full("#r", "Al!a@h", "TOPIC", "#R :events are not returned", NULL,
	    0, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	after = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_true(s2 > s1);
	assert_string_not_equal(id1, id2);
	assert_int_equal(store_last_seq(), s2 + 1);

	/* Oldest first is by time: the NOTICE row says 42 ms. */
	assert_int_equal(store_latest("#r", NULL, 10, 0, 0, got_cb, &g), 2);
	assert_int_equal(g.seq[0], s2);
	assert_int_equal(g.time_ms[0], 42);
	assert_string_equal(g.msgid[0], id2);
	assert_string_equal(g.command[0], "NOTICE");
	assert_string_equal(g.tags[0], "(null)");
	assert_int_equal(g.seq[1], s1);
	assert_string_equal(g.msgid[1], id1);
	assert_string_equal(g.key[1], "#r");
	assert_string_equal(g.source[1], "Al!a@h");
	assert_string_equal(g.command[1], "PRIVMSG");
	assert_string_equal(g.params[1], "#R :hello there");
	assert_string_equal(g.tags[1], "+draft/react=x;+a=b");
	assert_true(g.time_ms[1] >= before && g.time_ms[1] <= after);

	/* Other keys see nothing; limit 0 and unknown keys give 0. */
	assert_int_equal(count_rows("#other"), 0);
	assert_int_equal(store_latest("#r", NULL, 0, 0, 0, count_cb, &g.n), 0);
	assert_int_equal(store_wait(0, 0), 0);
	assert_int_equal(store_committed(), s2 + 1);
	errno = 0;
	assert_int_equal(store_wait(s2 + 100, -1), -1);
	assert_int_equal(errno, EINVAL);
	/* TAGMSG is a message too. */
	add_full("#r", "Al!a@h", "TAGMSG", "#R", "+typing=active", 0, NULL);
	assert_int_equal(count_rows("#r"), 3);
}

static void
test_selectors(void **state)
{
	struct fixture		*f = *state;
	struct store_sel	 s, a, b;
	struct got		 g;
	char			 id[20][STORE_MSGID_LEN + 1];
	char			 other[STORE_MSGID_LEN + 1];
	char			 ev[20][STORE_MSGID_LEN + 1];
	int64_t			 r[20], t[20];
	int			 i;

	open_ok(f->path, 0, 0);
	/* 20 messages in #r at 1000, 2000, ..., each followed by an event,
	 * interleaved with #o rows.  Events never count. */
	for (i = 0; i < 20; i++) {
		t[i] = 1000 * (i + 1);
		r[i] = add_full("#r", "n!u@h", "PRIVMSG", "#r :x", NULL, t[i],
		    id[i]);
		add_full("#r", "n!u@h", "JOIN", "#r", NULL, t[i] + 500, ev[i]);
		add_full("#o", "n!u@h", "PRIVMSG", "#o :y", NULL, t[i] + 1,
		    other);
	}

#define Q(call) (memset(&g, 0, sizeof(g)), (call))
	/* LATEST */
	EXPECT("latest *", Q(store_latest("#r", NULL, 5, 0, 0, got_cb, &g)), &g,
	    r, 15, 19);
	EXPECT("latest * all", Q(store_latest("#r", NULL, 100, 0, 0, got_cb,
	    &g)), &g, r, 0, 19);
	s.kind = SEL_NONE;
	EXPECT("latest SEL_NONE", Q(store_latest("#r", &s, 3, 0, 0, got_cb,
	    &g)), &g, r, 17, 19);
	s = sel_msgid(id[16]);
	EXPECT("latest msgid", Q(store_latest("#r", &s, 10, 0, 0, got_cb, &g)),
	    &g, r, 17, 19);
	EXPECT("latest msgid limit", Q(store_latest("#r", &s, 2, 0, 0, got_cb,
	    &g)), &g, r, 18, 19);
	s = sel_time(t[16]);
	EXPECT("latest time", Q(store_latest("#r", &s, 10, 0, 0, got_cb, &g)),
	    &g, r, 17, 19);
	EXPECT("latest max_seq", Q(store_latest("#r", NULL, 5, 0, r[9], got_cb,
	    &g)), &g, r, 5, 9);

	/* BEFORE */
	s = sel_msgid(id[10]);
	EXPECT("before msgid", Q(store_before("#r", &s, 3, 0, 0, got_cb, &g)),
	    &g, r, 7, 9);
	s = sel_time(t[10]);
	EXPECT("before time", Q(store_before("#r", &s, 3, 0, 0, got_cb, &g)),
	    &g, r, 7, 9);
	EXPECT("before time all", Q(store_before("#r", &s, 50, 0, 0, got_cb,
	    &g)), &g, r, 0, 9);
	s = sel_time(t[10] + 1);
	EXPECT("before time+1", Q(store_before("#r", &s, 3, 0, 0, got_cb, &g)),
	    &g, r, 8, 10);
	s = sel_msgid(id[0]);
	EXPECT("before first", Q(store_before("#r", &s, 3, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);

	/* AFTER */
	s = sel_msgid(id[10]);
	EXPECT("after msgid", Q(store_after("#r", &s, 3, 0, 0, got_cb, &g)), &g,
	    r, 11, 13);
	s = sel_time(t[10]);
	EXPECT("after time", Q(store_after("#r", &s, 3, 0, 0, got_cb, &g)), &g,
	    r, 11, 13);
	s = sel_time(t[10] - 1);
	EXPECT("after time-1", Q(store_after("#r", &s, 3, 0, 0, got_cb, &g)),
	    &g, r, 10, 12);
	s = sel_msgid(id[18]);
	EXPECT("after near end", Q(store_after("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 19, 19);

	/* AROUND */
	s = sel_msgid(id[10]);
	EXPECT("around msgid 5", Q(store_around("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 8, 12);
	EXPECT("around msgid 4", Q(store_around("#r", &s, 4, 0, 0, got_cb, &g)),
	    &g, r, 9, 12);
	EXPECT("around msgid 1", Q(store_around("#r", &s, 1, 0, 0, got_cb, &g)),
	    &g, r, 10, 10);
	s = sel_msgid(id[1]);
	EXPECT("around near start", Q(store_around("#r", &s, 7, 0, 0, got_cb,
	    &g)), &g, r, 0, 4);
	s = sel_time(t[10]);
	EXPECT("around time", Q(store_around("#r", &s, 4, 0, 0, got_cb, &g)),
	    &g, r, 8, 11);
	/* Around an event: the messages on each side, not the event. */
	s = sel_msgid(ev[10]);
	EXPECT("around event", Q(store_around("#r", &s, 4, 0, 0, got_cb, &g)),
	    &g, r, 10, 12);
	EXPECT("after event", Q(store_after("#r", &s, 2, 0, 0, got_cb, &g)), &g,
	    r, 11, 12);

	/* BETWEEN, both orders; the limit counts from the first point. */
	a = sel_msgid(id[3]);
	b = sel_msgid(id[8]);
	EXPECT("between", Q(store_between("#r", &a, &b, 100, 0, 0, got_cb, &g)),
	    &g, r, 4, 7);
	EXPECT("between limit", Q(store_between("#r", &a, &b, 2, 0, 0, got_cb,
	    &g)), &g, r, 4, 5);
	EXPECT("between reversed", Q(store_between("#r", &b, &a, 100, 0, 0,
	    got_cb, &g)), &g, r, 4, 7);
	EXPECT("between reversed limit", Q(store_between("#r", &b, &a, 2, 0, 0,
	    got_cb, &g)), &g, r, 6, 7);
	a = sel_time(t[3]);
	b = sel_time(t[8]);
	EXPECT("between times", Q(store_between("#r", &a, &b, 100, 0, 0, got_cb,
	    &g)), &g, r, 4, 7);
	EXPECT("between times reversed", Q(store_between("#r", &b, &a, 3, 0, 0,
	    got_cb, &g)), &g, r, 5, 7);
	a = sel_msgid(id[3]);
	EXPECT("between msgid and time", Q(store_between("#r", &a, &b, 100, 0,
	    0, got_cb, &g)), &g, r, 4, 7);
	EXPECT("between time and msgid", Q(store_between("#r", &b, &a, 1, 0, 0,
	    got_cb, &g)), &g, r, 7, 7);
	EXPECT("between same", Q(store_between("#r", &a, &a, 10, 0, 0, got_cb,
	    &g)), &g, r, 0, -1);

	/* A msgid that does not exist, or belongs to another key: none. */
	s = sel_msgid("00000000000000000000");
	EXPECT("latest missing", Q(store_latest("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);
	EXPECT("before missing", Q(store_before("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);
	EXPECT("after missing", Q(store_after("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);
	EXPECT("around missing", Q(store_around("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);
	a = sel_msgid(id[3]);
	EXPECT("between missing", Q(store_between("#r", &a, &s, 5, 0, 0, got_cb,
	    &g)), &g, r, 0, -1);
	s = sel_msgid(other);
	EXPECT("after other key", Q(store_after("#r", &s, 5, 0, 0, got_cb, &g)),
	    &g, r, 0, -1);
	assert_int_equal(count_rows("#o"), 20);
#undef Q
}

/* min_seq (exclusive) and max_seq (inclusive) on every query. */
static void
test_bounds(void **state)
{
	struct fixture		*f = *state;
	struct store_sel	 s, a, b;
	struct store_key	 keys[2];
	struct targets		 t;
	struct got		 g;
	char			 id[10][STORE_MSGID_LEN + 1];
	int64_t			 r[10], lo, hi, p1;
	int			 i;

	open_ok(f->path, 0, 0);
	for (i = 0; i < 10; i++) {
		r[i] = add_full("#r", "n!u@h", "PRIVMSG", "#r :x", NULL,
		    1000 * (i + 1), id[i]);
		add("#o", "#o :y", 1000 * (i + 1));
	}
	add_full("#s", "n!u@h", "PRIVMSG", "#s :z", NULL, 20000, NULL);
	p1 = add_full("alice bob", "Bob!u@h", "PRIVMSG", "alice :p", NULL,
	    30000, NULL);
	/* The window r[3]..r[7]. */
	lo = r[2];
	hi = r[7];

#define Q(call) (memset(&g, 0, sizeof(g)), (call))
	EXPECT("latest", Q(store_latest("#r", NULL, 10, lo, hi, got_cb, &g)),
	    &g, r, 3, 7);
	EXPECT("latest limit", Q(store_latest("#r", NULL, 2, lo, hi, got_cb,
	    &g)), &g, r, 6, 7);
	EXPECT("latest min only", Q(store_latest("#r", NULL, 100, r[7], 0,
	    got_cb, &g)), &g, r, 8, 9);
	EXPECT("latest max only", Q(store_latest("#r", NULL, 100, 0, r[1],
	    got_cb, &g)), &g, r, 0, 1);
	EXPECT("latest empty window", Q(store_latest("#r", NULL, 100, r[5],
	    r[5], got_cb, &g)), &g, r, 0, -1);
	s = sel_msgid(id[4]);
	EXPECT("latest after msgid", Q(store_latest("#r", &s, 10, lo, hi,
	    got_cb, &g)), &g, r, 5, 7);
	/* A msgid outside the window is one that is not there. */
	s = sel_msgid(id[1]);
	EXPECT("latest after msgid below", Q(store_latest("#r", &s, 10, lo,
	    hi, got_cb, &g)), &g, r, 0, -1);
	s = sel_msgid(id[2]);
	EXPECT("after msgid == min_seq", Q(store_after("#r", &s, 10, lo, hi,
	    got_cb, &g)), &g, r, 0, -1);
	s = sel_msgid(id[8]);
	EXPECT("before msgid above", Q(store_before("#r", &s, 10, lo, hi,
	    got_cb, &g)), &g, r, 0, -1);
	s = sel_msgid(id[7]);
	EXPECT("before msgid == max_seq", Q(store_before("#r", &s, 10, lo,
	    hi, got_cb, &g)), &g, r, 3, 6);
	s = sel_msgid(id[6]);
	EXPECT("before msgid", Q(store_before("#r", &s, 10, lo, hi, got_cb,
	    &g)), &g, r, 3, 5);
	s = sel_time(10000);
	EXPECT("before time", Q(store_before("#r", &s, 10, lo, hi, got_cb,
	    &g)), &g, r, 3, 7);
	s = sel_msgid(id[3]);
	EXPECT("after msgid", Q(store_after("#r", &s, 10, lo, hi, got_cb,
	    &g)), &g, r, 4, 7);
	s = sel_time(0);
	EXPECT("after time", Q(store_after("#r", &s, 10, lo, hi, got_cb,
	    &g)), &g, r, 3, 7);
	s = sel_msgid(id[5]);
	EXPECT("around", Q(store_around("#r", &s, 3, lo, hi, got_cb, &g)),
	    &g, r, 4, 6);
	s = sel_msgid(id[3]);
	EXPECT("around the first", Q(store_around("#r", &s, 5, lo, hi, got_cb,
	    &g)), &g, r, 3, 5);
	s = sel_msgid(id[9]);
	EXPECT("around outside", Q(store_around("#r", &s, 5, lo, hi, got_cb,
	    &g)), &g, r, 0, -1);
	s = sel_time(9000);
	EXPECT("around time", Q(store_around("#r", &s, 4, lo, hi, got_cb,
	    &g)), &g, r, 6, 7);
	EXPECT("around *", Q(store_around("#r", NULL, 2, lo, hi, got_cb,
	    &g)), &g, r, 6, 7);
	a = sel_msgid(id[3]);
	b = sel_msgid(id[7]);
	EXPECT("between", Q(store_between("#r", &a, &b, 10, lo, hi, got_cb,
	    &g)), &g, r, 4, 6);
	EXPECT("between reversed", Q(store_between("#r", &b, &a, 10, lo, hi,
	    got_cb, &g)), &g, r, 4, 6);
	a = sel_msgid(id[1]);
	EXPECT("between from outside", Q(store_between("#r", &a, &b, 10, lo,
	    hi, got_cb, &g)), &g, r, 0, -1);
	a = sel_time(0);
	b = sel_time(100000);
	EXPECT("between times", Q(store_between("#r", &a, &b, 10, lo, hi,
	    got_cb, &g)), &g, r, 3, 7);
#undef Q

	/* TARGETS: each room from its own min_seq, private ones from the
	 * nick's. */
	keys[0].key = "#r";
	keys[0].min_seq = 0;
	keys[1].key = "#s";
	keys[1].min_seq = 0;
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, keys, 2, 0, 100000, 10,
	    targets_cb, &t), 3);
	assert_string_equal(t.key[0], "#r");
	assert_int_equal(t.latest[0], 10000);
	assert_string_equal(t.key[1], "#s");
	assert_string_equal(t.key[2], "alice bob");
	assert_string_equal(t.target[2], "Bob");
	keys[0].min_seq = r[9];
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, keys, 2, 0, 100000, 10,
	    targets_cb, &t), 2);
	assert_string_equal(t.key[0], "#s");
	assert_string_equal(t.key[1], "alice bob");
	/* The latest message in (0, 6500) after r[4] is r[5], at 6000;
	 * after r[5] there is none. */
	keys[0].min_seq = r[4];
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, keys, 1, 0, 6500, 10,
	    targets_cb, &t), 1);
	assert_int_equal(t.latest[0], 6000);
	keys[0].min_seq = r[5];
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, keys, 1, 0, 6500, 10,
	    targets_cb, &t), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", p1, 0, NULL, 0, 0, 100000, 10,
	    targets_cb, &t), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("bob", p1 - 1, 0, NULL, 0, 0, 100000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "alice");
}

/* Appends a private row from one side to the other (nick, account id
 * or 0 each) and waits for its commit; returns its seq. */
static int64_t
add_private(const char *from, int64_t from_account, const char *to,
    int64_t to_account, const char *text, int64_t time_ms, char *msgid)
{
	struct store_rec	 r;
	char			 params[128];
	int64_t			 seq;

	memset(&r, 0, sizeof(r));
	if (strcmp(from, to) <= 0)
		snprintf(r.key, sizeof(r.key), "%s %s", from, to);
	else
		snprintf(r.key, sizeof(r.key), "%s %s", to, from);
	snprintf(r.source, sizeof(r.source), "%s!u@h", from);
	snprintf(r.command, sizeof(r.command), "PRIVMSG");
	snprintf(params, sizeof(params), "%s :%s", to, text);
	r.params = params;
	r.time_ms = time_ms;
	snprintf(r.from_key, sizeof(r.from_key), "%s", from);
	snprintf(r.to_key, sizeof(r.to_key), "%s", to);
	r.from_account = from_account;
	r.to_account = to_account;
	assert_true((seq = store_append(&r)) > 0);
	assert_int_equal(store_wait(seq, -1), 0);
	if (msgid != NULL)
		memcpy(msgid, r.msgid, sizeof(r.msgid));
	return seq;
}

/* A private view: nick (holding it since min_seq) and account read
 * their conversation with other. */
static struct store_view
pview(const char *nick, int64_t account, int64_t min_seq, const char *other,
    char *key, size_t len)
{
	struct store_view	 v;

	if (strcmp(nick, other) <= 0)
		snprintf(key, len, "%s %s", nick, other);
	else
		snprintf(key, len, "%s %s", other, nick);
	memset(&v, 0, sizeof(v));
	v.key = key;
	v.min_seq = min_seq;
	v.nick = nick;
	v.other = other;
	v.account = account;
	return v;
}

/* The seqs a view's query returned, as "1,2,3". */
static const char *
pseqs(enum store_what what, const struct store_view *v,
    const struct store_sel *a, const struct store_sel *b, int limit)
{
	static char	 out[256];
	struct got	 g;
	size_t		 len = 0;
	int		 i, n;

	memset(&g, 0, sizeof(g));
	n = store_query(what, v, a, b, limit, got_cb, &g);
	assert_int_equal(n, g.n);
	out[0] = '\0';
	for (i = 0; i < g.n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%lld",
		    i > 0 ? "," : "", (long long)g.seq[i]);
	return out;
}

/*
 * Private history belongs to accounts (schema 5): an account reads its
 * rows under every nick it held, another account never, even inside
 * its nick-hold window; a side with no account keeps the nick-hold
 * rule; TARGETS counts both and lists each conversation once.
 */
static void
test_private_accounts(void **state)
{
	struct fixture		*f = *state;
	struct store_view	 v;
	struct store_sel	 a, b;
	struct targets		 t;
	char			 key[STORE_KEY_MAX + 1], id[7][STORE_MSGID_LEN + 1];

	open_ok(f->path, 0, 0);
	/* Accounts 1 (alice, later alice2), 2 (bob), 3 (another). */
	assert_int_equal(add_private("alice", 1, "bob", 2, "one", 1000,
	    id[1]), 1);
	assert_int_equal(add_private("bob", 2, "alice", 1, "two", 2000,
	    id[2]), 2);
	assert_int_equal(add_private("alice2", 1, "bob", 2, "three", 3000,
	    id[3]), 3);
	/* Somebody logged out holds "alice", then account 3 does, while
	 * bob is logged out. */
	assert_int_equal(add_private("alice", 0, "bob", 2, "four", 4000,
	    id[4]), 4);
	assert_int_equal(add_private("alice", 3, "bob", 0, "five", 5000,
	    id[5]), 5);
	assert_int_equal(add_private("carol", 0, "alice", 1, "six", 6000,
	    id[6]), 6);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM "
	    "account_peer"), 5);

	/* Account 1 as alice2, its nick-hold window empty: its rows under
	 * both nicks. */
	v = pview("alice2", 1, 6, "bob", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10), "1,2,3");
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 2), "2,3");
	a = sel_msgid(id[3]);
	assert_string_equal(pseqs(STORE_BEFORE, &v, &a, NULL, 10), "1,2");
	a = sel_msgid(id[1]);
	assert_string_equal(pseqs(STORE_AFTER, &v, &a, NULL, 10), "2,3");
	a = sel_msgid(id[2]);
	assert_string_equal(pseqs(STORE_AROUND, &v, &a, NULL, 3), "1,2,3");
	a = sel_msgid(id[1]);
	b = sel_msgid(id[3]);
	assert_string_equal(pseqs(STORE_BETWEEN, &v, &b, &a, 10), "2");
	/* Not another account's row, by msgid either. */
	a = sel_msgid(id[5]);
	assert_string_equal(pseqs(STORE_AFTER, &v, &a, NULL, 10), "");
	/* As alice since the start: the logged-out holder's row too (the
	 * nick-hold rule), never account 3's. */
	v = pview("alice", 1, 0, "bob", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10),
	    "1,2,3,4");
	/* Account 3 holding alice the whole time: what it sent, and the
	 * logged-out holder's row, never account 1's. */
	v = pview("alice", 3, 0, "bob", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10), "4,5");
	a = sel_msgid(id[1]);
	assert_string_equal(pseqs(STORE_AFTER, &v, &a, NULL, 10), "");
	a = sel_time(0);
	b = sel_time(10000);
	assert_string_equal(pseqs(STORE_BETWEEN, &v, &a, &b, 10), "4,5");
	/* Bob (2) from a new nick-hold window: every row he was in as
	 * bob, with alice; the logged-out bob's row after it. */
	v = pview("bob", 2, 3, "alice", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10),
	    "1,2,4,5");
	/* Bob logged out: the row his side had no account on, only. */
	v = pview("bob", 0, 0, "alice", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10), "5");
	v = pview("bob", 0, 5, "alice", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10), "");
	/* The old way in, by key alone, sees every row of the key. */
	assert_int_equal(count_rows("alice bob"), 4);

	/* TARGETS of account 1 as alice2: bob and carol, once each. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice2", 6, 1, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 2);
	assert_string_equal(t.key[0], "alice2 bob");
	assert_string_equal(t.target[0], "bob");
	assert_int_equal(t.latest[0], 3000);
	assert_string_equal(t.key[1], "alice2 carol");
	assert_string_equal(t.target[1], "carol");
	assert_int_equal(t.latest[1], 6000);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice2", 6, 1, NULL, 0, 10000, 0, 1,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "carol");
	/* As alice: bob from both sides of the rule, counted as one. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 1, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 2);
	assert_string_equal(t.key[0], "alice bob");
	assert_int_equal(t.latest[0], 4000);
	assert_string_equal(t.key[1], "alice carol");
	assert_int_equal(t.latest[1], 6000);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 1, NULL, 0, 0, 10000, 1,
	    targets_cb, &t), 1);
	assert_string_equal(t.key[0], "alice bob");
	/* Account 3 as alice: bob, from its own row and the logged-out
	 * one; never carol, whom account 1 talked with. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 3, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "bob");
	assert_int_equal(t.latest[0], 5000);
	/* Logged out as bob: only the row with no account on his side. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("bob", 0, 0, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "alice");
	assert_int_equal(t.latest[0], 5000);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice2", 6, 0, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 0);

	/* The sides and the peers survive a reopen. */
	store_close();
	open_ok(f->path, 0, 0);
	v = pview("alice2", 1, 6, "bob", key, sizeof(key));
	assert_string_equal(pseqs(STORE_LATEST, &v, NULL, NULL, 10), "1,2,3");
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message "
	    "WHERE from_account IS NULL AND from_key = 'carol'"), 1);
}

/* Reads key through seek_latest and store_read, chunk rows at a time. */
static int
read_chunked(const char *key, int limit, int64_t min_seq, int64_t max_seq,
    int chunk, struct got *g)
{
	struct store_cursor	 cur;
	int			 n, rounds = 0, want;

	memset(g, 0, sizeof(*g));
	want = store_seek_latest(key, limit, min_seq, max_seq, &cur);
	assert_true(want >= 0);
	while ((n = store_read(key, &cur, min_seq, max_seq, chunk, got_cb,
	    g)) > 0) {
		assert_true(n <= chunk);
		if (++rounds > GOT_MAX)
			fail_msg("store_read does not end");
	}
	assert_int_equal(n, 0);
	assert_int_equal(g->n, want);
	return want;
}

/* Chunked reads give exactly what store_latest gives. */
static void
test_cursor(void **state)
{
	struct fixture		*f = *state;
	struct store_cursor	 cur;
	struct got		 g, want;
	int64_t			 r[40], windows[3][2];
	int			 limits[] = { 1, 5, 10, 39, 40, 50 };
	int			 chunks[] = { 1, 3, 7, 100 };
	int			 i, w, l, c, n;

	open_ok(f->path, 0, 0);
	/* Times repeat in threes (order falls back to seq), and the last
	 * rows carry older times than the first. */
	for (i = 0; i < 40; i++) {
		r[i] = add("#c", "#c :x", i < 36 ? 1000 + i / 3 * 10 : 500 + i);
		add_full("#c", "n!u@h", "JOIN", "#c", NULL, 0, NULL);
		add("#o", "#o :y", 1000 + i);
	}
	windows[0][0] = 0;
	windows[0][1] = 0;
	windows[1][0] = r[4];
	windows[1][1] = r[37];
	windows[2][0] = r[10];
	windows[2][1] = 0;
	for (w = 0; w < 3; w++)
		for (l = 0; l < (int)(sizeof(limits) / sizeof(limits[0])); l++)
			for (c = 0; c < (int)(sizeof(chunks) /
			    sizeof(chunks[0])); c++) {
				memset(&want, 0, sizeof(want));
				n = store_latest("#c", NULL, limits[l],
				    windows[w][0], windows[w][1], got_cb,
				    &want);
				assert_true(n > 0);
				assert_int_equal(read_chunked("#c", limits[l],
				    windows[w][0], windows[w][1], chunks[c],
				    &g), n);
				for (i = 0; i < n; i++)
					if (g.seq[i] != want.seq[i])
						fail_msg("window %d limit %d "
						    "chunk %d row %d: seq %lld,"
						    " want %lld", w, limits[l],
						    chunks[c], i,
						    (long long)g.seq[i],
						    (long long)want.seq[i]);
			}
	/* Time order, then seq: the newest five end with three rows of
	 * one millisecond; the last four rows are the oldest. */
	assert_int_equal(read_chunked("#c", 5, 0, 0, 2, &g), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(g.seq[i], r[31 + i]);
	assert_int_equal(read_chunked("#c", 40, 0, 0, 3, &g), 40);
	for (i = 0; i < 4; i++)
		assert_int_equal(g.seq[i], r[36 + i]);
	assert_int_equal(g.seq[4], r[0]);
	assert_int_equal(g.seq[39], r[35]);

	/* Nothing there: past the end, and reads find nothing. */
	assert_int_equal(store_seek_latest("#none", 10, 0, 0, &cur), 0);
	assert_int_equal(store_read("#none", &cur, 0, 0, 10, got_cb, &g), 0);
	assert_int_equal(store_seek_latest("#c", 0, 0, 0, &cur), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_read("#c", &cur, 0, 0, 10, got_cb, &g), 0);

	/* With no max_seq, a row stored after the seek is read too. */
	assert_int_equal(store_seek_latest("#c", 2, 0, 0, &cur), 2);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_read("#c", &cur, 0, 0, 10, got_cb, &g), 2);
	r[0] = add("#c", "#c :late", 0);
	assert_int_equal(store_read("#c", &cur, 0, 0, 10, got_cb, &g), 1);
	assert_int_equal(g.seq[2], r[0]);
	assert_int_equal(store_read("#c", &cur, 0, 0, 10, got_cb, &g), 0);
}

static void
test_private_targets(void **state)
{
	struct fixture	*f = *state;
	struct targets	 t;
	struct got	 g = { 0 };
	const struct store_key rooms[] = {
		{ "#room", 0 }, { "#s", 0 }, { "#empty", 0 }
	};

	open_ok(f->path, 0, 0);
	add_full("alice bob", "Alice!a@h", "PRIVMSG", "Bob :hi", NULL, 1000,
	    NULL);
	add_full("#room", "x!x@h", "PRIVMSG", "#Room :hello", NULL, 1500, NULL);
	add_full("alice dave", "alice!a@h", "PRIVMSG", "DAVE :psst", NULL,
	    2000, NULL);
	add_full("bob carol", "Carol!c@h", "PRIVMSG", "bob :hey", NULL, 2500,
	    NULL);
	add_full("alice carol", "Carol!c@h", "NOTICE", "alice :yo", NULL,
	    3000, NULL);
	add_full("#t", "x!x@h", "PRIVMSG", "#t :not alice's", NULL, 4000,
	    NULL);
	add_full("#s", "x!x@h", "PRIVMSG", "#S :late", NULL, 5000, NULL);
	add_full("#room", "x!x@h", "QUIT", ":gone", NULL, 1400, NULL);
	add_full("#room", "x!x@h", "PART", "#room :later", NULL, 6000, NULL);
	add_full("#empty", "x!x@h", "JOIN", "#empty", NULL, 1200, NULL);

	assert_int_equal(store_latest("alice bob", NULL, 10, 0, 0, got_cb, &g),
	    1);
	assert_string_equal(g.params[0], "Bob :hi");

	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, rooms, 3, 0, 10000, 100,
	    targets_cb, &t), 5);
	assert_string_equal(t.key[0], "alice bob");
	assert_string_equal(t.target[0], "Bob");
	assert_int_equal(t.latest[0], 1000);
	assert_string_equal(t.key[1], "#room");
	assert_string_equal(t.target[1], "#Room");
	assert_int_equal(t.latest[1], 1500);
	assert_string_equal(t.key[2], "alice dave");
	assert_string_equal(t.target[2], "DAVE");
	assert_string_equal(t.key[3], "alice carol");
	assert_string_equal(t.target[3], "Carol");
	assert_int_equal(t.latest[3], 3000);
	assert_string_equal(t.key[4], "#s");
	assert_string_equal(t.target[4], "#S");
	assert_int_equal(t.latest[4], 5000);

	/* limit from the first timestamp's side, still ascending. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, rooms, 3, 0, 10000, 2,
	    targets_cb, &t), 2);
	assert_string_equal(t.target[0], "Bob");
	assert_string_equal(t.target[1], "#Room");
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, rooms, 3, 10000, 0, 2,
	    targets_cb, &t), 2);
	assert_string_equal(t.target[0], "Carol");
	assert_string_equal(t.target[1], "#S");

	/* Exclusive window: latest message in (1200, 2600). */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, rooms, 3, 1200, 2600, 10,
	    targets_cb, &t), 2);
	assert_string_equal(t.target[0], "#Room");
	assert_string_equal(t.target[1], "DAVE");
	/* Only events in (1000, 1500): no target. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("alice", 0, 0, rooms, 3, 1000, 1500, 10,
	    targets_cb, &t), 0);

	/* The second word of a key counts too. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("bob", 0, 0, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 2);
	assert_string_equal(t.key[0], "alice bob");
	assert_string_equal(t.target[0], "Alice");
	assert_string_equal(t.key[1], "bob carol");
	assert_string_equal(t.target[1], "Carol");
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("nobody", 0, 0, NULL, 0, 0, 10000, 10,
	    targets_cb, &t), 0);
}

static void
test_retention_days(void **state)
{
	struct fixture	*f = *state;
	struct targets	 t = { 0 };
	struct timespec	 ts;
	int64_t		 now, old;
	int		 i;

	setenv("NATTERD_PRUNE_INTERVAL_MS", "50", 1);
	open_ok(f->path, 1, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	old = now - 3 * 86400000LL;
	for (i = 0; i < 2500; i++)	/* more than one DELETE chunk */
		add("#a", "#a :old", old + i);
	for (i = 0; i < 3; i++)
		add("#a", "#a :new", 0);
	add("alice bob", "bob :old", old);
	add("#b", "#b :recent", now - 3600000);
	wait_rows("#a", 3);
	wait_rows("alice bob", 0);
	assert_int_equal(count_rows("#b"), 1);
	assert_int_equal(store_targets("alice", 0, 0, NULL, 0, 0, now + 1000, 10,
	    targets_cb, &t), 0);
}

static void
test_retention_count(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	int64_t		 s[2100];
	int		 i;

	setenv("NATTERD_PRUNE_INTERVAL_MS", "50", 1);
	open_ok(f->path, 0, 5);
	for (i = 0; i < 2100; i++)
		s[i] = add("#a", "#a :x", 0);
	for (i = 0; i < 3; i++)
		add("#b", "#b :x", 0);
	wait_rows("#a", 5);
	assert_int_equal(count_rows("#b"), 3);
	assert_int_equal(store_latest("#a", NULL, 100, 0, 0, got_cb, &g), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(g.seq[i], s[2095 + i]);
}

/*
 * --history-max counts messages only: a burst of JOIN/PART rows (as an
 * older natterd stored) never pushes a message out.
 */
static void
test_retention_messages_only(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	char		 sql[256];
	int64_t		 s[7];
	int		 i;

	setenv("NATTERD_PRUNE_INTERVAL_MS", "50", 1);
	open_ok(f->path, 0, 5);
	add_full("#a", "n!u@h", "JOIN", "#a", NULL, 0, NULL);
	add_full("#a", "n!u@h", "PART", "#a :x", NULL, 0, NULL);
	for (i = 0; i < 5; i++)
		s[i] = add("#a", "#a :m", 0);
	for (i = 0; i < 6; i++) {
		add_full("#a", "n!u@h", "JOIN", "#a", NULL, 0, NULL);
		add_full("#a", "n!u@h", "PART", "#a :bye", NULL, 0, NULL);
	}
	for (i = 5; i < 7; i++)
		s[i] = add("#a", "#a :m", 0);
	wait_rows("#a", 5);
	assert_int_equal(store_latest("#a", NULL, 100, 0, 0, got_cb, &g), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(g.seq[i], s[2 + i]);
	/* Older events went with m0 and m1; the twelve after m2 stay. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM message WHERE seq < "
	    "%lld", (long long)s[2]);
	assert_int_equal(file_int(f->path, sql), 0);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message "
	    "WHERE command IN ('JOIN', 'PART')"), 12);
}

static void
test_persistence(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	char		 ids[8][STORE_MSGID_LEN + 1];
	int		 i, j;

	open_ok(f->path, 0, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(add_full("#a", "n!u@h", "PRIVMSG", "#a :x",
		    NULL, 0, ids[i]), i + 1);
	store_close();
	store_close();		/* twice is harmless */

	open_ok(f->path, 0, 0);
	assert_int_equal(store_last_seq(), 5);
	assert_int_equal(add_full("#a", "n!u@h", "PRIVMSG", "#a :y", NULL, 0,
	    ids[5]), 6);
	store_close();
	open_ok(f->path, 0, 0);
	assert_int_equal(add_full("#a", "n!u@h", "PRIVMSG", "#a :z", NULL, 0,
	    ids[6]), 7);
	assert_int_equal(store_latest("#a", NULL, 100, 0, 0, got_cb, &g), 7);
	for (i = 0; i < 7; i++) {
		assert_int_equal(g.seq[i], i + 1);
		assert_string_equal(g.msgid[i], ids[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}

	/* Closed: appends and queries refuse, nothing hangs. */
	store_close();
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_latest("#a", NULL, 10, 0, 0, got_cb, &g), -1);
	{
		struct store_rec	 r;

		memset(&r, 0, sizeof(r));
		snprintf(r.key, sizeof(r.key), "#a");
		assert_int_equal(store_append(&r), -1);
	}
	assert_int_equal(store_wait(7, -1), 0);
	errno = 0;
	assert_int_equal(store_wait(8, -1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(store_cancel(7), 1);
}

/* --- commits that fail: episodes, cancel, the hold bound --- */

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Appends a row without waiting for its commit; returns its seq. */
static int64_t
append(const char *key, const char *params)
{
	struct store_rec	 r;
	int64_t			 seq;

	memset(&r, 0, sizeof(r));
	snprintf(r.key, sizeof(r.key), "%s", key);
	snprintf(r.source, sizeof(r.source), "n!u@h");
	snprintf(r.command, sizeof(r.command), "PRIVMSG");
	r.params = (char *)params;
	seq = store_append(&r);
	if (seq <= 0)
		fail_msg("store_append: %s", strerror(errno));
	return seq;
}

/* store_wait_past: at once when committed is past seen, the time out
 * when nothing commits (and once the store is closed), else the new
 * committed. */
static void
test_wait_past(void **state)
{
	struct fixture	*f = *state;
	int64_t		 seq, t0;

	open_ok(f->path, 0, 0);
	seq = add("#a", "#a :one", 0);
	assert_int_equal(store_wait_past(seq - 1, 5000), seq);
	t0 = now_us();
	assert_int_equal(store_wait_past(seq, 200), seq);
	assert_true(now_us() - t0 >= 150 * 1000);
	seq = append("#a", "#a :two");
	assert_true(store_wait_past(seq - 1, 10000) >= seq);
	store_close();
	t0 = now_us();
	assert_int_equal(store_wait_past(seq, 100), seq);
	assert_true(now_us() - t0 >= 50 * 1000);
}

/* Another connection takes the write lock, as another process would. */
static sqlite3 *
lock_file(const char *path)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("BEGIN IMMEDIATE: %s", sqlite3_errmsg(db));
	return db;
}

static void
unlock_file(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}

/* Waits up to ms for store_failing() to say want. */
static void
wait_failing(int want, long ms)
{
	int64_t	 until = now_us() + ms * 1000;

	while (store_failing() != want) {
		if (now_us() > until)
			fail_msg("store_failing() is not %d after %ld ms", want,
			    ms);
		sleep_ms(10);
	}
}

/* Sends stderr (the store's log) to a file until capture_end(). */
static void
capture_begin(struct fixture *f)
{
	int	 fd;

	snprintf(f->logpath, sizeof(f->logpath), "%s/captured.log", f->dir);
	fflush(stderr);
	assert_true((f->saved_stderr = dup(STDERR_FILENO)) != -1);
	assert_true((fd = open(f->logpath, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Restores stderr; returns what was logged (the caller frees it). */
static char *
capture_end(struct fixture *f)
{
	char	*buf;
	FILE	*fp;
	long	 n;

	fflush(stderr);
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	f->saved_stderr = -1;
	assert_non_null(fp = fopen(f->logpath, "r"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static int
count_str(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * Another process holds the write lock for about 1.5 s while rows come
 * in: store_wait times out, store_failing() says so within about a
 * second, nothing is lost, and every row lands in order once the lock
 * goes; one warning when it starts, one line when it ends.
 */
static void
test_episode_busy(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	sqlite3		*db;
	char		 params[10][32], *log;
	int64_t		 s0, seq[10], t0;
	int		 i;

	log_init("test_store", LOG_LVL_INFO);
	capture_begin(f);
	open_ok(f->path, 0, 0);
	s0 = add("#a", "#a :before", 0);
	for (i = 0; i < 10; i++)
		snprintf(params[i], sizeof(params[i]), "#a :during %d", i);

	t0 = now_us();
	db = lock_file(f->path);
	for (i = 0; i < 5; i++)
		seq[i] = append("#a", params[i]);
	errno = 0;
	assert_int_equal(store_wait(seq[4], 300), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(store_committed(), s0);
	wait_failing(1, 5000);
	assert_true(now_us() - t0 < 3000000);
	for (i = 5; i < 10; i++)
		seq[i] = append("#a", params[i]);
	errno = 0;
	assert_int_equal(store_wait(seq[9], 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(store_committed(), s0);
	assert_int_equal(store_failing(), 1);
	/* Reads go on beside it. */
	assert_int_equal(count_rows("#a"), 1);
	while (now_us() - t0 < 1500000)
		sleep_ms(10);
	unlock_file(db);

	assert_int_equal(store_wait(seq[9], 10000), 0);
	assert_int_equal(store_failing(), 0);
	assert_int_equal(store_committed(), seq[9]);
	assert_int_equal(store_latest("#a", NULL, 100, 0, 0, got_cb, &g), 11);
	assert_int_equal(g.seq[0], s0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(g.seq[i + 1], seq[i]);
		assert_string_equal(g.params[i + 1], params[i]);
	}
	store_close();
	log = capture_end(f);
	if (count_str(log, ": cannot commit: database is locked; keeping ") !=
	    1 || count_str(log, "cannot commit") != 1 ||
	    count_str(log, ": commits work again after ") != 1)
		fail_msg("want one warning and one recovery line, got:\n%s",
		    log);
	free(log);
}

/*
 * A commit that fails for another reason (a row with the next seq put
 * in behind natterd's back): the same episode, over when the cause is
 * gone.
 */
static void
test_commit_failure(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db;
	char		 sql[256];
	int64_t		 seq, next;

	open_ok(f->path, 0, 0);
	add("#a", "#a :fine", 0);
	next = store_last_seq() + 1;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof(sql), "INSERT INTO message (seq, msgid, time_ms, "
	    "key, source, command, params) VALUES (%lld, 'x', 1, '#a', 's', "
	    "'PRIVMSG', 'p')", (long long)next);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);

	seq = append("#a", "#a :kept");
	assert_int_equal(seq, next);
	wait_failing(1, 5000);
	errno = 0;
	assert_int_equal(store_wait(seq, 200), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(count_rows("#a"), 2);

	snprintf(sql, sizeof(sql), "DELETE FROM message WHERE msgid = 'x'");
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_wait(seq, 10000), 0);
	assert_int_equal(store_failing(), 0);
	assert_int_equal(count_rows("#a"), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM message WHERE seq = "
	    "%lld AND params = '#a :kept'", (long long)seq);
	assert_int_equal(file_int(f->path, sql), 1);
}

/* Cancelled rows never reach the file; committed ones say so. */
static void
test_cancel(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db;
	char		 sql[256];
	int64_t		 c0, s1, s2, s3, s4, s5;

	open_ok(f->path, 0, 0);
	c0 = add("#a", "#a :c0", 0);
	assert_int_equal(store_cancel(c0), 1);
	errno = 0;
	assert_int_equal(store_cancel(0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(store_cancel(c0 + 1), -1);
	assert_int_equal(errno, EINVAL);

	db = lock_file(f->path);
	s1 = append("#a", "#a :s1");
	s2 = append("#a", "#a :s2");
	s3 = append("#a", "#a :s3");
	wait_failing(1, 5000);
	assert_int_equal(store_cancel(s2), 0);
	assert_int_equal(store_committed(), c0);
	/* With s1 gone too, committed moves past both to s3. */
	assert_int_equal(store_cancel(s1), 0);
	assert_int_equal(store_committed(), s2);
	assert_int_equal(store_wait(s2, 0), 0);
	errno = 0;
	assert_int_equal(store_wait(s3, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	s4 = append("#a", "#a :s4");
	unlock_file(db);
	assert_int_equal(store_wait(s4, 10000), 0);
	assert_int_equal(store_committed(), s4);
	assert_int_equal(store_cancel(s3), 1);
	assert_int_equal(store_cancel(s4), 1);
	snprintf(sql, sizeof(sql), "SELECT group_concat(params, ',') = "
	    "'#a :c0,#a :s3,#a :s4' FROM (SELECT params FROM message WHERE "
	    "key = '#a' ORDER BY seq)");
	assert_int_equal(file_int(f->path, sql), 1);

	/* Everything pending cancelled: nothing left to wait for, and the
	 * episode still ends when the lock goes (an empty transaction
	 * finds out). */
	db = lock_file(f->path);
	s5 = append("#a", "#a :s5");
	wait_failing(1, 5000);
	assert_int_equal(store_cancel(s5), 0);
	assert_int_equal(store_committed(), s5);
	assert_int_equal(store_wait(s5, 0), 0);
	assert_int_equal(store_failing(), 1);
	unlock_file(db);
	wait_failing(0, 5000);
	store_close();
	assert_int_equal(store_cancel(s5), 1);	/* below base: said once */
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message"), 3);
}

struct canceller {
	pthread_t	 th;
	int64_t		 seq;
	int		 rc;
	atomic_int	 done;
};

static void *
canceller_main(void *arg)
{
	struct canceller	*c = arg;

	c->rc = store_cancel(c->seq);
	atomic_store(&c->done, 1);
	return NULL;
}

static void
cancel_start(struct canceller *c, int64_t seq)
{
	c->seq = seq;
	c->rc = -2;
	atomic_store(&c->done, 0);
	assert_int_equal(pthread_create(&c->th, NULL, canceller_main, c), 0);
}

/* A cancel that finds its row in a commit attempt waits for the
 * outcome: 1 if the attempt commits, 0 if it fails. */
static void
test_cancel_inflight(void **state)
{
	struct fixture		*f = *state;
	struct canceller	 c;
	sqlite3			*db;
	char			 sql[256];
	int64_t			 s1, s2, s3;

	open_ok(f->path, 0, 0);
	add("#a", "#a :first", 0);

	/* The writer's attempt waits up to a second for the lock: cancel
	 * waits with it, and the lock goes before the second is up. */
	db = lock_file(f->path);
	s1 = append("#a", "#a :s1");
	sleep_ms(200);
	cancel_start(&c, s1);
	sleep_ms(200);
	assert_int_equal(atomic_load(&c.done), 0);
	unlock_file(db);
	assert_int_equal(pthread_join(c.th, NULL), 0);
	assert_int_equal(c.rc, 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM message WHERE seq = "
	    "%lld", (long long)s1);
	assert_int_equal(file_int(f->path, sql), 1);

	/* This time the attempt fails: the row is taken back. */
	db = lock_file(f->path);
	s2 = append("#a", "#a :s2");
	sleep_ms(200);
	cancel_start(&c, s2);
	sleep_ms(200);
	assert_int_equal(atomic_load(&c.done), 0);
	assert_int_equal(pthread_join(c.th, NULL), 0);
	assert_int_equal(c.rc, 0);
	unlock_file(db);
	s3 = add("#a", "#a :s3", 0);
	assert_int_equal(store_committed(), s3);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM message WHERE seq = "
	    "%lld", (long long)s2);
	assert_int_equal(file_int(f->path, sql), 0);
	assert_int_equal(count_rows("#a"), 3);
}

#define RACE_ROWS	3000

struct race {
	int64_t		 seq[RACE_ROWS];
	atomic_int	 n;
};

static void *
race_appender(void *arg)
{
	struct race	*r = arg;
	int		 i;

	for (i = 0; i < RACE_ROWS; i++) {
		r->seq[i] = append("#race", "#race :x");
		atomic_store(&r->n, i + 1);
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* Cancels racing the writer's commits: every answer matches the file. */
static void
test_cancel_race(void **state)
{
	struct fixture	*f = *state;
	struct race	*r;
	sqlite3		*db;
	sqlite3_stmt	*st;
	pthread_t	 th;
	unsigned char	*in;
	int		 rc[RACE_ROWS], i, ones = 0, zeros = 0;

	open_ok(f->path, 0, 0);
	assert_non_null(r = calloc(1, sizeof(*r)));
	assert_int_equal(pthread_create(&th, NULL, race_appender, r), 0);
	for (i = 0; i < RACE_ROWS; i++) {
		while (atomic_load(&r->n) <= i)
			sched_yield();
		rc[i] = i % 2 == 0 ? store_cancel(r->seq[i]) : -2;
		assert_true(rc[i] == 0 || rc[i] == 1 || rc[i] == -2);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(store_wait(store_last_seq(), 10000), 0);
	assert_int_equal(store_committed(), store_last_seq());

	assert_non_null(in = calloc(RACE_ROWS, 1));
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq FROM message "
	    "WHERE key = '#race'", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		i = (int)(sqlite3_column_int64(st, 0) - r->seq[0]);
		assert_true(i >= 0 && i < RACE_ROWS);
		in[i] = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (i = 0; i < RACE_ROWS; i++) {
		assert_int_equal(r->seq[i], r->seq[0] + i);
		if (rc[i] == 0 && in[i])
			fail_msg("row %d cancelled and in the file", i);
		if (rc[i] != 0 && !in[i])
			fail_msg("row %d (cancel said %d) not in the file", i,
			    rc[i]);
		ones += rc[i] == 1;
		zeros += rc[i] == 0;
	}
	print_message("cancel race: %d taken back, %d already committed\n",
	    zeros, ones);
	free(in);
	free(r);
}

/* While commits fail, appends stop at STORE_HOLD_ROWS rows or
 * STORE_HOLD_BYTES bytes, and work again once they commit. */
static void
test_hold_bound(void **state)
{
	struct fixture		*f = *state;
	struct store_rec	 r;
	sqlite3			*db;
	char			*big;
	int64_t			 first, last;
	size_t			 plen = 100000;
	int			 i, n;

	open_ok(f->path, 0, 0);
	db = lock_file(f->path);
	first = append("#a", "#a :first");
	wait_failing(1, 5000);
	for (i = 1; i < STORE_HOLD_ROWS; i++)
		append("#a", "#a :held");
	last = store_last_seq();
	assert_int_equal(last, first + STORE_HOLD_ROWS - 1);
	memset(&r, 0, sizeof(r));
	snprintf(r.key, sizeof(r.key), "#a");
	r.params = (char *)"#a :one too many";
	errno = 0;
	assert_int_equal(store_append(&r), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(store_last_seq(), last);	/* no seq used up */
	/* Taking one back makes room for one. */
	assert_int_equal(store_cancel(first), 0);
	append("#a", "#a :room again");
	errno = 0;
	assert_int_equal(store_append(&r), -1);
	assert_int_equal(errno, EAGAIN);
	unlock_file(db);
	assert_int_equal(store_wait(store_last_seq(), 30000), 0);
	assert_int_equal(store_failing(), 0);
	add("#a", "#a :after", 0);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message"),
	    STORE_HOLD_ROWS + 1);

	/* The bytes: rows of 100 kB, of which 83 fit in 8 MiB. */
	assert_non_null(big = malloc(plen));
	memset(big, 'x', plen - 1);
	big[plen - 1] = '\0';
	db = lock_file(f->path);
	append("#b", big);
	wait_failing(1, 5000);
	for (n = 1; n < 1000; n++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.key, sizeof(r.key), "#b");
		snprintf(r.command, sizeof(r.command), "PRIVMSG");
		r.params = big;
		if (store_append(&r) == -1)
			break;
	}
	assert_int_equal(errno, EAGAIN);
	print_message("hold: %d rows of %zu bytes\n", n, plen);
	assert_true((size_t)n <= STORE_HOLD_BYTES / plen);
	assert_true((size_t)n >= STORE_HOLD_BYTES / (plen + 1024));
	unlock_file(db);
	assert_int_equal(store_wait(store_last_seq(), 30000), 0);
	assert_int_equal(count_rows("#b"), n);
	free(big);
}

/* store_close while commits fail: gives up after a few seconds, says
 * how many rows were lost, and they are neither waited for nor kept. */
static void
test_close_failing(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db;
	char		*log;
	int64_t		 s0, s1, s3, t0, took;

	log_init("test_store", LOG_LVL_INFO);
	capture_begin(f);
	open_ok(f->path, 0, 0);
	s0 = add("#a", "#a :kept", 0);
	db = lock_file(f->path);
	s1 = append("#a", "#a :lost 1");
	append("#a", "#a :lost 2");
	s3 = append("#a", "#a :lost 3");
	wait_failing(1, 5000);
	t0 = now_us();
	store_close();
	took = now_us() - t0;
	errno = 0;
	assert_int_equal(store_wait(s3, 0), -1);
	assert_int_equal(errno, EIO);
	errno = 0;
	assert_int_equal(store_wait(s1, -1), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(store_wait(s0, -1), 0);
	assert_int_equal(store_committed(), s0);
	assert_int_equal(store_cancel(s1), 0);
	assert_int_equal(store_cancel(s0), 1);
	unlock_file(db);
	log = capture_end(f);
	if (count_str(log, ": closing while commits fail (database is "
	    "locked): 3 rows lost") != 1)
		fail_msg("no line about the rows lost:\n%s", log);
	free(log);
	print_message("close while failing took %.1f s\n", took / 1e6);
	assert_true(took >= 1000000 && took < 10000000);

	open_ok(f->path, 0, 0);
	assert_int_equal(count_rows("#a"), 1);
	assert_int_equal(store_last_seq(), s0);
}

/*
 * An I/O error (a write past RLIMIT_FSIZE fails with EFBIG, which
 * SQLite reports as SQLITE_IOERR_WRITE) closes the write connection;
 * the writer opens a new one for each try, and commits once writes work.
 */
static void
test_reopen(void **state)
{
	struct fixture	*f = *state;
	struct rlimit	 low;
	struct stat	 sb;
	char		 wal[400], params[20000], *log;
	int64_t		 last = 0;
	int		 i;

	log_init("test_store", LOG_LVL_DEBUG);
	capture_begin(f);
	open_ok(f->path, 0, 0);
	for (i = 0; i < 3; i++)
		add("#a", "#a :before", 0);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 8192);
	/* New WAL frames go past the end: past the limit too. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &f->fsize_old), 0);
	f->fsize_set = 1;
	low = f->fsize_old;
	low.rlim_cur = (rlim_t)sb.st_size / 2;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);

	memset(params, 'p', sizeof(params) - 1);
	params[sizeof(params) - 1] = '\0';
	for (i = 0; i < 2; i++)
		last = append("#a", params);
	wait_failing(1, 5000);
	errno = 0;
	assert_int_equal(store_wait(last, 300), -1);
	assert_int_equal(errno, ETIMEDOUT);
	sleep_ms(500);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &f->fsize_old), 0);
	f->fsize_set = 0;
	signal(SIGXFSZ, SIG_DFL);

	assert_int_equal(store_wait(last, 10000), 0);
	assert_int_equal(store_failing(), 0);
	store_close();
	log_init("test_store", LOG_LVL_WARN);
	log = capture_end(f);
	if (count_str(log, ": cannot commit: disk I/O error; keeping ") != 1 ||
	    count_str(log, ": write connection closed after: disk I/O "
	    "error") < 1 ||
	    count_str(log, ": write connection opened again") < 1 ||
	    count_str(log, ": commits work again after ") != 1)
		fail_msg("want a closed and reopened connection:\n%s", log);
	free(log);
	open_ok(f->path, 0, 0);
	assert_int_equal(count_rows("#a"), 5);
}

/* A full disk (a small tmpfs, when root may mount one): held, then
 * committed once there is room again. */
static void
test_disk_full(void **state)
{
	struct fixture	*f = *state;
	char		 path[400], filler[400], params[2100], block[4096];
	int64_t		 last = 0;
	int		 fd, i;

	if (geteuid() != 0)
		skip();
	snprintf(f->mnt, sizeof(f->mnt), "%s/tmpfs", f->dir);
	assert_int_equal(mkdir(f->mnt, 0700), 0);
	if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=1m,mode=0700") == -1) {
		print_message("cannot mount a tmpfs (%s): skipped\n",
		    strerror(errno));
		f->mnt[0] = '\0';
		skip();
	}
	snprintf(path, sizeof(path), "%s/history.db", f->mnt);
	snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
	open_ok(path, 0, 0);
	add("#a", "#a :before", 0);

	assert_true((fd = open(filler, O_WRONLY | O_CREAT, 0600)) != -1);
	memset(block, 'f', sizeof(block));
	while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block))
		;
	close(fd);
	memset(params, 'p', sizeof(params) - 1);
	params[sizeof(params) - 1] = '\0';
	for (i = 0; i < 100; i++)
		last = append("#a", params);
	wait_failing(1, 10000);
	errno = 0;
	assert_int_equal(store_wait(last, 100), -1);
	assert_int_equal(errno, ETIMEDOUT);

	assert_int_equal(unlink(filler), 0);
	assert_int_equal(store_wait(last, 15000), 0);
	assert_int_equal(store_failing(), 0);
	assert_int_equal(count_rows("#a"), 101);
	store_close();
	assert_int_equal(umount2(f->mnt, 0), 0);
	f->mnt[0] = '\0';
}

/* A message any client received survives SIGKILL: store_wait returned. */
static void
test_sigkill(void **state)
{
	struct fixture	*f = *state;
	pid_t		 pid;
	int		 status, i;
	char		 err[512];

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct store_rec	 r;

		if (store_open(f->path, OPTS(0, 0), err, sizeof(err)) != 0)
			_exit(2);
		for (i = 0; i < 100; i++) {
			memset(&r, 0, sizeof(r));
			snprintf(r.key, sizeof(r.key), "#k");
			snprintf(r.source, sizeof(r.source), "n!u@h");
			snprintf(r.command, sizeof(r.command), "PRIVMSG");
			r.params = (char *)"#k :survive";
			if (store_append(&r) == -1)
				_exit(3);
		}
		if (store_wait(r.seq, -1) != 0)
			_exit(4);
		raise(SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	open_ok(f->path, 0, 0);
	assert_int_equal(count_rows("#k"), 100);
	assert_int_equal(store_last_seq(), 100);
}

static void
test_migration_v1(void **state)
{
	struct fixture	*f = *state;
	struct got	 g = { 0 };
	struct targets	 t = { 0 };
	char		 sql[2048];

	/* What natterd with schema 1 wrote. */
	snprintf(sql, sizeof(sql),
	    "PRAGMA journal_mode = WAL;"
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
	    "INSERT INTO message VALUES (1, 'oldid1', 1000, '#a', 'n!u@h',"
	    " 'PRIVMSG', '#a :one');"
	    "INSERT INTO message VALUES (2, 'oldid2', 2000, 'amy bo', "
	    " 'Bo!u@h', 'PRIVMSG', 'amy :two');"
	    "PRAGMA user_version = 1;");
	make_file(f->path, sql);
	assert_int_equal(file_user_version(f->path), 1);

	open_ok(f->path, 0, 0);
	assert_int_equal(store_last_seq(), 2);
	assert_int_equal(store_latest("#a", NULL, 10, 0, 0, got_cb, &g), 1);
	assert_string_equal(g.msgid[0], "oldid1");
	assert_string_equal(g.params[0], "#a :one");
	assert_string_equal(g.tags[0], "(null)");
	assert_int_equal(add_full("#a", "n!u@h", "PRIVMSG", "#a :three",
	    "+x=y", 3000, NULL), 3);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_latest("#a", NULL, 10, 0, 0, got_cb, &g), 2);
	assert_string_equal(g.tags[1], "+x=y");
	/* Old private rows are found by TARGETS, for either nick. */
	assert_int_equal(store_targets("amy", 0, 0, NULL, 0, 0, 5000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "Bo");
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_targets("bo", 0, 0, NULL, 0, 0, 5000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "amy");
	store_close();
	assert_int_equal(file_user_version(f->path), 5);

	open_ok(f->path, 0, 0);		/* already current */
	assert_int_equal(store_last_seq(), 3);
}

/* Schema 2 kept room events; 3 drops them and keeps every message. */
static void
test_migration_v2(void **state)
{
	struct fixture	*f = *state;
	struct targets	 t = { 0 };
	struct got	 g = { 0 };

	/* What natterd with schema 2 wrote. */
	make_file(f->path,
	    "PRAGMA journal_mode = WAL;"
	    "CREATE TABLE message ("
	    " seq INTEGER PRIMARY KEY,"
	    " msgid TEXT NOT NULL UNIQUE,"
	    " time_ms INTEGER NOT NULL,"
	    " key TEXT NOT NULL,"
	    " source TEXT NOT NULL,"
	    " command TEXT NOT NULL,"
	    " params TEXT NOT NULL,"
	    " tags TEXT);"
	    "CREATE INDEX message_key_seq ON message (key, seq);"
	    "CREATE INDEX message_key_time ON message (key, time_ms);"
	    "CREATE TABLE peer ("
	    " nick TEXT NOT NULL,"
	    " key TEXT NOT NULL,"
	    " PRIMARY KEY (nick, key)) WITHOUT ROWID;"
	    "INSERT INTO message VALUES (1, 'i1', 1000, '#a', 'n!u@h', 'JOIN',"
	    " '#a', NULL);"
	    "INSERT INTO message VALUES (2, 'i2', 2000, '#a', 'n!u@h',"
	    " 'PRIVMSG', '#a :one', '+x=y');"
	    "INSERT INTO message VALUES (3, 'i3', 3000, '#a', 'n!u@h', 'NICK',"
	    " 'm', NULL);"
	    "INSERT INTO message VALUES (4, 'i4', 4000, '#a', 'm!u@h',"
	    " 'NOTICE', '#a :two', NULL);"
	    "INSERT INTO message VALUES (5, 'i5', 5000, '#a', 'm!u@h', 'TOPIC',"
	    " '#a :t', NULL);"
	    "INSERT INTO message VALUES (6, 'i6', 6000, '#a', 'm!u@h', 'PART',"
	    " '#a :p', NULL);"
	    "INSERT INTO message VALUES (7, 'i7', 7000, '#a', 'm!u@h', 'KICK',"
	    " '#a x :k', NULL);"
	    "INSERT INTO message VALUES (8, 'i8', 8000, '#a', 'x!u@h', 'QUIT',"
	    " ':q', NULL);"
	    "INSERT INTO message VALUES (9, 'i9', 9000, '#a', 'm!u@h',"
	    " 'TAGMSG', '#a', '+typing=active');"
	    "INSERT INTO message VALUES (10, 'i10', 10000, 'amy bo', 'Bo!u@h',"
	    " 'PRIVMSG', 'amy :three', NULL);"
	    "INSERT INTO message VALUES (11, 'i11', 11000, '#b', 'n!u@h', "
	    " 'JOIN', '#b', NULL);"
	    "INSERT INTO peer VALUES ('amy', 'amy bo'), ('bo', 'amy bo'),"
	    " ('cy', 'cy dee'), ('dee', 'cy dee');"
	    "PRAGMA user_version = 2;");
	assert_int_equal(file_user_version(f->path), 2);

	open_ok(f->path, 0, 0);
	assert_int_equal(file_user_version(f->path), 5);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message"), 4);
	assert_int_equal(file_int(f->path, "SELECT group_concat(seq, ',') = "
	    "'2,4,9,10' FROM (SELECT seq FROM message ORDER BY seq)"), 1);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM peer"), 2);
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM peer WHERE "
	    "key = 'amy bo'"), 2);
	/* The newest row was an event: numbering goes on from 10. */
	assert_int_equal(store_last_seq(), 10);
	assert_int_equal(store_latest("#a", NULL, 10, 0, 0, got_cb, &g), 3);
	assert_int_equal(g.seq[0], 2);
	assert_string_equal(g.msgid[0], "i2");
	assert_string_equal(g.params[0], "#a :one");
	assert_string_equal(g.tags[0], "+x=y");
	assert_string_equal(g.command[1], "NOTICE");
	assert_string_equal(g.command[2], "TAGMSG");
	assert_int_equal(count_rows("#b"), 0);
	assert_int_equal(store_targets("bo", 0, 0, NULL, 0, 0, 20000, 10,
	    targets_cb, &t), 1);
	assert_string_equal(t.target[0], "amy");
	assert_int_equal(store_targets("cy", 0, 0, NULL, 0, 0, 20000, 10,
	    targets_cb, &t), 0);
	assert_int_equal(add("#a", "#a :four", 0), 11);
	store_close();

	open_ok(f->path, 0, 0);		/* already current: nothing dropped */
	assert_int_equal(file_int(f->path, "SELECT count(*) FROM message"), 5);
	assert_int_equal(store_last_seq(), 11);
}

static void
test_newer_schema(void **state)
{
	struct fixture	*f = *state;
	char		 err[512] = "", want[512];

	make_file(f->path, "CREATE TABLE message (seq INTEGER PRIMARY KEY);"
	    "PRAGMA user_version = 7;");
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: schema version 7 is newer than this "
	    "natterd (5); upgrade natterd", f->path);
	assert_string_equal(err, want);
	assert_int_equal(file_user_version(f->path), 7);	/* untouched */
	/* The store can still open another file afterwards. */
	open_ok(":memory:", 0, 0);
}

static void
test_corrupt(void **state)
{
	struct fixture	*f = *state;
	char		 err[512] = "", prefix[512];
	unsigned char	 junk[8192];
	uint32_t	 x = 12345;
	size_t		 i;
	FILE		*fp;

	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	assert_non_null(fp = fopen(f->path, "w"));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s: ", f->path);
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strchr(err, '\n') != NULL)
		fail_msg("error: %s", err);
	print_message("corrupt: %s\n", err);

	/* A SQLite file that natterd did not write. */
	unlink(f->path);
	make_file(f->path, "CREATE TABLE t (x);");
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s: not a natterd history file",
	    f->path);
	assert_string_equal(err, prefix);
}

static void
test_unwritable(void **state)
{
	struct fixture	*f = *state;
	char		 err[512], path[512], file[512], fresh[512];
	FILE		*fp;

	snprintf(fresh, sizeof(fresh), "%s/new/history.db", f->dir);
	/* A folder in the way is a file: fails as root too. */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	snprintf(path, sizeof(path), "%s/plain/sub/history.db", f->dir);
	err[0] = '\0';
	assert_int_equal(store_open(path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	print_message("not a folder: %s\n", err);
	snprintf(path, sizeof(path), "%s/plain/history.db", f->dir);
	assert_int_equal(store_open(path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, path, strlen(path)) == 0);

	if (geteuid() == 0) {
		print_message("root: skipping the read-only folder case\n");
		return;
	}
	assert_int_equal(chmod(f->dir, 0500), 0);
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, f->path, strlen(f->path)) == 0);
	print_message("read-only folder: %s\n", err);
	/* The file is writable but its -wal cannot be created. */
	assert_int_equal(chmod(f->dir, 0700), 0);
	open_ok(f->path, 0, 0);
	add("#a", "#a :x", 0);
	store_close();
	assert_int_equal(chmod(f->dir, 0500), 0);
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, f->path, strlen(f->path)) == 0);
	print_message("read-only folder, file exists: %s\n", err);
	/* A read-only file. */
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(store_open(f->path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, f->path, strlen(f->path)) == 0);
	print_message("read-only file: %s\n", err);
	assert_int_equal(chmod(f->dir, 0500), 0);
	assert_int_equal(store_open(fresh, OPTS(0, 0), err, sizeof(err)), -1);
	assert_true(strncmp(err, fresh, strlen(fresh)) == 0);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

/* store_open refuses err_want (one line, exactly) for path. */
static void
refused(const char *path, const char *fmt, ...)
{
	char	 err[1024] = "", want[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_int_equal(store_open(path, OPTS(0, 0), err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

/* Symbolic links, and files or folders others could write or own. */
static void
test_unsafe_paths(void **state)
{
	struct fixture	*f = *state;
	struct passwd	*pw;
	char		 real[512], link[512], side[512], dir[512], dlink[512];
	char		 path2[600];
	int		 fd, i;
	static const char *const ext[] = { "-wal", "-shm" };

	/* The database itself a link: refused, the target untouched. */
	snprintf(real, sizeof(real), "%s/real.db", f->dir);
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_true((fd = open(real, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	assert_int_equal(symlink(real, link), 0);
	refused(link, "%s: is a symbolic link; give the file's real path",
	    link);
	/* A dangling link: refused before anything is created there. */
	assert_int_equal(unlink(real), 0);
	refused(link, "%s: is a symbolic link; give the file's real path",
	    link);
	assert_int_equal(access(real, F_OK), -1);

	/* A -wal or -shm planted as a link beside a real database. */
	open_ok(f->path, 0, 0);
	add("#a", "#a :x", 0);
	store_close();
	for (i = 0; i < 2; i++) {
		snprintf(side, sizeof(side), "%s%s", f->path, ext[i]);
		unlink(side);
		assert_int_equal(symlink(real, side), 0);
		refused(f->path, "%s: is a symbolic link; it must be a plain "
		    "file", side);
		assert_int_equal(unlink(side), 0);
	}
	assert_int_equal(access(real, F_OK), -1);

	/* Writable by the group or by everyone. */
	assert_int_equal(chmod(f->path, 0620), 0);
	refused(f->path, "%s: file is writable by others (mode 0620); "
	    "chmod go-w %s", f->path, f->path);
	assert_int_equal(chmod(f->path, 0606), 0);
	refused(f->path, "%s: file is writable by others (mode 0606); "
	    "chmod go-w %s", f->path, f->path);
	assert_int_equal(chmod(f->path, 0644), 0);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	assert_true((fd = open(side, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	assert_int_equal(chmod(side, 0666), 0);
	refused(f->path, "%s: file is writable by others (mode 0666); "
	    "chmod go-w %s", side, side);
	assert_int_equal(unlink(side), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	refused(f->path, "%s: folder is writable by others (mode 0777); "
	    "chmod go-w %s", f->dir, f->dir);
	assert_int_equal(chmod(f->dir, 01777), 0);
	refused(f->path, "%s: folder is writable by others (mode 1777); "
	    "chmod go-w %s", f->dir, f->dir);
	assert_int_equal(chmod(f->dir, 0770), 0);
	refused(f->path, "%s: folder is writable by others (mode 0770); "
	    "chmod go-w %s", f->dir, f->dir);
	assert_int_equal(chmod(f->dir, 0755), 0);

	/* The folder a link: the real path is wanted there too. */
	snprintf(dir, sizeof(dir), "%s/sub", f->dir);
	snprintf(dlink, sizeof(dlink), "%s/sublink", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(symlink(dir, dlink), 0);
	snprintf(path2, sizeof(path2), "%s/history.db", dlink);
	refused(path2, "%s: is a symbolic link; give the folder's real path",
	    dlink);
	snprintf(path2, sizeof(path2), "%s/history.db", dir);
	open_ok(path2, 0, 0);		/* the real path is fine */
	store_close();

	/* A safe path opens, and keeps what it had. */
	open_ok(f->path, 0, 0);
	assert_int_equal(count_rows("#a"), 1);
	store_close();

	/* Owned by someone else: only root can arrange that. */
	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL ||
	    pw->pw_uid == 0) {
		print_message("not root, or no user nobody: skipping the "
		    "owner cases\n");
		return;
	}
	assert_int_equal(chown(f->path, pw->pw_uid, (gid_t)-1), 0);
	refused(f->path, "%s: file is owned by another user (nobody); chown "
	    "root %s", f->path, f->path);
	assert_int_equal(chown(f->path, 0, (gid_t)-1), 0);
	assert_int_equal(chown(f->dir, pw->pw_uid, (gid_t)-1), 0);
	refused(f->path, "%s: folder is owned by another user (nobody); chown "
	    "root %s", f->dir, f->dir);
	assert_int_equal(chown(f->dir, 0, (gid_t)-1), 0);
	open_ok(f->path, 0, 0);
	assert_int_equal(count_rows("#a"), 1);
}

static void
test_memory(void **state)
{
	struct targets	 t = { 0 };
	struct got	 g = { 0 };
	char		 id1[STORE_MSGID_LEN + 1], id2[STORE_MSGID_LEN + 1];
	const struct store_key rooms[] = { { "#m", 0 } };
	char		 err[512];

	(void)state;
	open_ok(":memory:", 0, 0);
	assert_int_equal(store_open(":memory:", OPTS(0, 0), err, sizeof(err)),
	    -1);
	assert_int_equal(add_full("#m", "n!u@h", "PRIVMSG", "#m :x", NULL, 0,
	    id1), 1);
	add("a b", "b :y", 0);
	assert_int_equal(store_latest("#m", NULL, 10, 0, 0, got_cb, &g), 1);
	assert_int_equal(store_targets("a", 0, 0, rooms, 1, 0, INT64_MAX, 10,
	    targets_cb, &t), 2);
	store_close();

	open_ok(":memory:", 0, 0);
	assert_int_equal(store_last_seq(), 0);
	assert_int_equal(count_rows("#m"), 0);
	assert_int_equal(add_full("#m", "n!u@h", "PRIVMSG", "#m :x", NULL, 0,
	    id2), 1);
	/* Same seq, new run: still a new msgid. */
	assert_string_not_equal(id1, id2);
}

/* "off": numbering without a database; every query finds nothing. */
static void
test_off(void **state)
{
	struct targets	 t = { 0 };
	struct got	 g = { 0 };
	char		 id1[STORE_MSGID_LEN + 1], id2[STORE_MSGID_LEN + 1];
	const struct store_key rooms[] = { { "#o", 0 } };

	(void)state;
	open_ok("off", 0, 0);
	assert_int_equal(add_full("#o", "n!u@h", "PRIVMSG", "#o :x", NULL, 0,
	    id1), 1);
	assert_int_equal(add_full("#o", "n!u@h", "PRIVMSG", "#o :y", NULL, 0,
	    id2), 2);
	assert_string_not_equal(id1, id2);
	assert_int_equal(store_wait(2, 0), 0);
	assert_int_equal(store_committed(), 2);
	assert_int_equal(store_cancel(2), 0);	/* nothing is ever stored */
	assert_int_equal(store_last_seq(), 2);
	assert_int_equal(store_latest("#o", NULL, 10, 0, 0, got_cb, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(store_targets("n", 0, 0, rooms, 1, 0, INT64_MAX, 10,
	    targets_cb, &t), 0);
	assert_int_equal(access("off", F_OK), -1);
	store_close();
	/* A real store opens after it. */
	open_ok(":memory:", 0, 0);
	assert_int_equal(store_last_seq(), 0);
}

/* --db-sync: the write connection runs with the level asked for. */
static void
test_sync_level(void **state)
{
	struct fixture		*f = *state;
	struct store_opts	 o = { 0, 0, 0, 0 };
	char			 err[512] = "", want[512];
	int			 level;

	for (level = STORE_SYNC_OFF; level <= STORE_SYNC_FULL; level++) {
		o.sync = level;
		if (store_open(f->path, &o, err, sizeof(err)) != 0)
			fail_msg("level %d: %s", level, err);
		assert_int_equal(store_sync_level(), level);
		add("#a", "#a :x", 0);
		store_close();
		assert_int_equal(store_sync_level(), -1);
	}
	o.sync = 3;
	assert_int_equal(store_open(f->path, &o, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: bad sync level 3", f->path);
	assert_string_equal(err, want);
	open_ok("off", 0, 0);
	assert_int_equal(store_sync_level(), -1);
	store_close();
	open_ok(f->path, 0, 0);
	assert_int_equal(store_sync_level(), STORE_SYNC_FULL);
	assert_int_equal(count_rows("#a"), 3);
}

static void
test_modes(void **state)
{
	struct fixture	*f = *state;
	struct stat	 sb;
	char		 path[512], dir[520];
	mode_t		 old;

	old = umask(022);
	snprintf(path, sizeof(path), "%s/x/y/history.db", f->dir);
	open_ok(path, 0, 0);
	add("#a", "#a :x", 0);
	umask(old);

	snprintf(dir, sizeof(dir), "%s/x", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(dir, sizeof(dir), "%s/x/y", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s-wal", path);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

struct worker {
	int	 id;
	int64_t	*seqs;
	int	 bad;
};

static void *
appender(void *arg)
{
	struct worker		*w = arg;
	struct store_rec	 r;
	char			 params[64];
	int			 i;

	for (i = 0; i < PER_THREAD; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.key, sizeof(r.key), "#c%d", i % 3);
		snprintf(r.source, sizeof(r.source), "t%d!u@h", w->id);
		snprintf(r.command, sizeof(r.command), "PRIVMSG");
		snprintf(params, sizeof(params), "#c%d :%d %d", i % 3, w->id,
		    i);
		r.params = params;
		if ((w->seqs[i] = store_append(&r)) <= 0 ||
		    store_wait(w->seqs[i], -1) != 0)
			w->bad++;
	}
	return NULL;
}

static atomic_int	 readers_stop;

static void *
reader(void *arg)
{
	int	*queries = arg;
	int	 n;

	while (!atomic_load(&readers_stop)) {
		n = 0;
		if (store_latest("#c1", NULL, 50, 0, 0, count_cb, &n) < 0)
			return NULL;
		(*queries)++;
	}
	return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
check_order_cb(const struct store_rec *r, void *arg)
{
	int64_t	*last = arg;

	if (r->seq <= *last)
		fail_msg("seq %lld after %lld", (long long)r->seq,
		    (long long)*last);
	*last = r->seq;
}

static void
test_concurrency(void **state)
{
	struct fixture	*f = *state;
	struct worker	 w[NTHREADS];
	pthread_t	 th[NTHREADS], rd;
	int64_t		*all, last = 0;
	int		 i, queries = 0, total = 0, n;

	open_ok(f->path, 0, 0);
	assert_non_null(all = calloc(NTHREADS * PER_THREAD, sizeof(*all)));
	atomic_store(&readers_stop, 0);
	assert_int_equal(pthread_create(&rd, NULL, reader, &queries), 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].seqs = all + i * PER_THREAD;
		w[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, appender, &w[i]),
		    0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	atomic_store(&readers_stop, 1);
	assert_int_equal(pthread_join(rd, NULL), 0);
	assert_true(queries > 0);

	/* Every seq handed out once: 1..N. */
	qsort(all, NTHREADS * PER_THREAD, sizeof(*all), cmp_i64);
	for (i = 0; i < NTHREADS * PER_THREAD; i++)
		assert_int_equal(all[i], i + 1);
	free(all);
	for (i = 0; i < 3; i++) {
		char	 key[16];

		snprintf(key, sizeof(key), "#c%d", i);
		last = 0;
		n = store_after(key, NULL, INT_MAX, 0, 0, check_order_cb,
		    &last);
		assert_true(n > 0);
		total += n;
	}
	assert_int_equal(total, NTHREADS * PER_THREAD);
}

/* Not a pass/fail test: prints append+commit rows per second. */
static void
test_bench(void **state)
{
	struct fixture		*f = *state;
	struct store_rec	 r;
	const char		*env;
	char			 params[128];
	int64_t			 t0, t1, seq = 0, app;
	long			 rows = 100000, i;

	if ((env = getenv("STORE_BENCH_ROWS")) != NULL)
		rows = strtol(env, NULL, 10);
	if (rows <= 0)
		skip();
	open_ok(f->path, 0, 0);
	t0 = now_us();
	for (i = 0; i < rows; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.key, sizeof(r.key), "#room%ld", i % 50);
		snprintf(r.source, sizeof(r.source), "nick%ld!user@host",
		    i % 200);
		snprintf(r.command, sizeof(r.command), "PRIVMSG");
		snprintf(params, sizeof(params), "#room%ld :message number "
		    "%ld with some ordinary text in it", i % 50, i);
		r.params = params;
		assert_true((seq = store_append(&r)) > 0);
	}
	app = now_us();
	assert_int_equal(store_wait(seq, -1), 0);
	t1 = now_us();
	print_message("bench: %ld rows: append %.0f ns/row, append+commit "
	    "%.0f rows/s\n", rows, (double)(app - t0) * 1000 / rows,
	    (double)rows * 1e6 / (double)(t1 - t0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_past, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_private_accounts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_private_targets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retention_days, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retention_count, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retention_messages_only,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_episode_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_inflight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hold_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_failing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_paths, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_level, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bench, setup, teardown),
	};

	log_init("test_store", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
