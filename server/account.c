/*
 * account.c: accounts, in memory, written through to the store.
 *
 * The whole table is loaded at start-up (store_accounts_load), so every
 * question asked while server.lock is held (who owns this nick, which
 * account has this certificate) is a lookup in memory.  A change is
 * written to the store first, by the calling thread (a client's, or
 * main for --add-account) with no other lock held, and applied in
 * memory only once it is on disk; so memory never says what the file
 * does not.  With --db :memory: or off the accounts live only as long
 * as natterd runs.
 *
 * Accounts are objects with a reference count and a stable id that is
 * never reused: a decision made on an account (a password checked, a
 * certificate matched) takes effect on that object, and a deleted
 * account (ACCOUNT_DELETED, gone from every table) can never be
 * mistaken for a new one of the same name.  Name, key, id, created
 * and uid never change; the rest is guarded by accounts.lock.
 *
 * Locks, in the only order they may be taken:
 *   accounts.wlock  serializes changes (check, write to the store,
 *                   apply).  Held across disk I/O, so never taken with
 *                   server.lock (or any other natterd lock) held.
 *   accounts.lock   guards the tables, the counters of failed logins
 *                   and every account's mutable fields.  A leaf: it may
 *                   be taken with server.lock held (after it), nothing
 *                   is taken under it, and no disk I/O or hashing
 *                   happens while it is held.
 * No hashing or store write runs under either lock but wlock.
 *
 * Bounds: at most opts.max accounts (past it, creating one fails with
 * ENOSPC: ACCOUNT CREATE says so, a local login is refused);
 * ACCOUNT_CERTS_MAX certificates and ACCOUNT_NICKS_MAX grouped nicks
 * an account (ENOSPC); opts.limit_slots counters of failed logins per
 * kind (accounts, addresses): when one table is full of counters that
 * have not expired, an account or address it does not know is treated
 * as over its limit until some expire (fail closed, logged).
 */
#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"
#include "tls.h"

#define LOGIN_WINDOW	60	/* seconds a failure counts */
#define REGISTER_WINDOW	3600	/* seconds a registration counts */
#define ACCOUNT_FAKE_SECRET	"scram-fake-salt"

struct account {
	atomic_int	 refs;		/* the table's, plus each holder's */
	int64_t		 id;		/* never reused */
	char		 name[NICK_MAX + 1];
	char		 key[NICK_MAX + 1];
	time_t		 created;
	int64_t		 uid;		/* a local account's uid, or -1 */
	/* Guarded by accounts.lock. */
	unsigned	 flags;		/* ACCOUNT_* */
	char		*hash;		/* argon2id PHC string, or NULL */
	struct scram_keys scram;	/* with ACCOUNT_SCRAM */
	unsigned char	 certs[ACCOUNT_CERTS_MAX][STORE_FP_LEN];
	int		 ncerts;
	char		 nicks[ACCOUNT_NICKS_MAX][NICK_MAX + 1];
	int		 nnicks;
};

/* Failed logins (or registrations) of one account or address in the
 * current window. */
struct fails {
	time_t		 start;
	unsigned	 count;		/* failures since start */
	/* Attempts take tickets in order: those issued and not yet ended
	 * are being checked or waiting (account_attempt_begin). */
	unsigned long	 issued;
	unsigned long	 ended;
};

struct limiter {
	struct map	*m;		/* key -> struct fails */
	unsigned	 per_minute;	/* a window's; 0: no limit */
	time_t		 window;	/* seconds */
	int		 full_logged;
};

/* A login attempt waiting for its turn, on its thread's stack. */
struct waiter {
	pthread_cond_t	 cv;
	struct fails	*fi, *fa;	/* its counters (NULL: none) */
	unsigned long	 ti, ta;	/* its tickets there */
	struct waiter	*next;
};

static struct accounts {
	pthread_mutex_t	 wlock;		/* serializes changes */
	pthread_mutex_t	 lock;		/* guards everything below */
	struct map	*names;		/* key -> account */
	struct map	*nicks;		/* grouped nick key -> account */
	struct map	*certs;		/* "AB:CD:..." -> account */
	struct map	*ids;		/* decimal id -> account */
	unsigned	 count;
	int64_t		 next_id;
	struct limiter	 by_account;
	struct limiter	 by_ip;
	struct limiter	 registers;	/* registrations by address */
	struct account_opts opts;
	unsigned char	 fake_key[32];	/* fake SCRAM salts, kept */
	char		 dummy[PASSWD_PHC_MAX];	/* verified for a login
					   that has no hash to check */
	struct waiter	*waiters;	/* login attempts waiting, in order */
	struct waiter	*waiters_tail;
	int		 ready;
} accounts = {
	.wlock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static void	 account_free(struct account *);

/* --- objects --- */

struct account *
account_ref(struct account *a)
{
	if (a != NULL)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

void
account_unref(struct account *a)
{
	if (a != NULL && atomic_fetch_sub(&a->refs, 1) == 1)
		account_free(a);
}

static void
account_free(struct account *a)
{
	if (a->hash != NULL) {
		OPENSSL_cleanse(a->hash, strlen(a->hash));
		free(a->hash);
	}
	OPENSSL_cleanse(&a->scram, sizeof(a->scram));
	free(a);
}

const char *
account_name(const struct account *a)
{
	return a->name;
}

int64_t
account_id(const struct account *a)
{
	return a->id;
}

time_t
account_created(const struct account *a)
{
	return a->created;
}

unsigned
account_flags(struct account *a)
{
	unsigned	 f;

	pthread_mutex_lock(&accounts.lock);
	f = a->flags;
	pthread_mutex_unlock(&accounts.lock);
	return f;
}

/* fp: 32 bytes as "AB:CD:...". */
static void
fp_text(const unsigned char *fp, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int	 i;

	for (i = 0; i < STORE_FP_LEN; i++) {
		out[i * 3] = hex[fp[i] >> 4];
		out[i * 3 + 1] = hex[fp[i] & 15];
		out[i * 3 + 2] = i + 1 < STORE_FP_LEN ? ':' : '\0';
	}
}

/* A fingerprint in any form tls_fingerprint_parse takes, as text and
 * bytes.  -1 if it is not one. */
static int
fp_parse(const char *in, char *text, unsigned char *bin)
{
	int	 i, hi, lo;

	if (tls_fingerprint_parse(in, text, TLS_FP_LEN + 1) == -1)
		return -1;
	for (i = 0; i < STORE_FP_LEN; i++) {
		hi = text[i * 3] <= '9' ? text[i * 3] - '0' :
		    text[i * 3] - 'A' + 10;
		lo = text[i * 3 + 1] <= '9' ? text[i * 3 + 1] - '0' :
		    text[i * 3 + 1] - 'A' + 10;
		bin[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static void
id_text(int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)id);
}

/* Adds a to the tables.  Caller holds lock. */
static int
account_insert_locked(struct account *a)
{
	char	 id[24];

	id_text(a->id, id, sizeof(id));
	if (map_put(accounts.names, a->key, a) == -1)
		return -1;
	if (map_put(accounts.ids, id, a) == -1) {
		map_del(accounts.names, a->key);
		return -1;
	}
	accounts.count++;
	if (a->id >= accounts.next_id)
		accounts.next_id = a->id + 1;
	return 0;
}

/* Takes a out of every table.  Caller holds lock; the caller drops
 * the table's reference afterwards. */
static void
account_remove_locked(struct account *a)
{
	char	 id[24], fp[TLS_FP_LEN + 1], key[NICK_MAX + 1];
	int	 i;

	id_text(a->id, id, sizeof(id));
	for (i = 0; i < a->ncerts; i++) {
		fp_text(a->certs[i], fp);
		map_del(accounts.certs, fp);
	}
	for (i = 0; i < a->nnicks; i++) {
		casemap_fold(key, a->nicks[i], sizeof(key));
		map_del(accounts.nicks, key);
	}
	map_del(accounts.names, a->key);
	map_del(accounts.ids, id);
	accounts.count--;
	a->flags |= ACCOUNT_DELETED;
}

/* The store's row for a, with hash and keys as given.  Caller holds
 * lock (for a's flags) or owns a. */
static void
account_row(const struct account *a, unsigned flags, const char *hash,
    const struct scram_keys *k, struct store_account *r)
{
	memset(r, 0, sizeof(*r));
	r->id = a->id;
	r->name = a->name;
	r->key = a->key;
	r->created = a->created;
	r->flags = flags & ACCOUNT_STORED;
	r->uid = a->uid;
	r->hash = hash;
	if (k != NULL && (flags & ACCOUNT_SCRAM)) {
		r->scram_salt = k->salt;
		r->scram_saltlen = SCRAM_SALT_LEN;
		r->scram_iter = k->iter;
		r->scram_stored = k->stored;
		r->scram_server = k->server;
	}
}

/* --- loading --- */

static void
load_account(const struct store_account *r, void *arg)
{
	struct account	*a;
	char		 key[NICK_MAX + 1];

	(void)arg;
	casemap_fold(key, r->name, sizeof(key));
	if (!casemap_valid_nick(r->name, NICK_MAX) || strcmp(key, r->key) != 0 ||
	    map_get(accounts.names, key) != NULL) {
		log_warnx("accounts: skipping a damaged account row (id %lld)",
		    (long long)r->id);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return;
	atomic_init(&a->refs, 1);
	a->id = r->id;
	snprintf(a->name, sizeof(a->name), "%s", r->name);
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->created = (time_t)r->created;
	a->uid = r->uid;
	a->flags = r->flags & ACCOUNT_STORED & ~ACCOUNT_SCRAM;
	if (r->hash != NULL && (a->hash = strdup(r->hash)) == NULL) {
		free(a);
		return;
	}
	if (r->scram_salt != NULL && r->scram_saltlen == SCRAM_SALT_LEN &&
	    r->scram_iter > 0 && r->scram_stored != NULL &&
	    r->scram_server != NULL) {
		memcpy(a->scram.salt, r->scram_salt, SCRAM_SALT_LEN);
		a->scram.iter = r->scram_iter;
		memcpy(a->scram.stored, r->scram_stored, SCRAM_KEY_LEN);
		memcpy(a->scram.server, r->scram_server, SCRAM_KEY_LEN);
		a->flags |= ACCOUNT_SCRAM;
	}
	if (account_insert_locked(a) == -1)
		account_free(a);
}

static void
load_cert(int64_t id, const unsigned char *fp, void *arg)
{
	struct account	*a;
	char		 ids[24], text[TLS_FP_LEN + 1];

	(void)arg;
	id_text(id, ids, sizeof(ids));
	fp_text(fp, text);
	if ((a = map_get(accounts.ids, ids)) == NULL ||
	    a->ncerts >= ACCOUNT_CERTS_MAX ||
	    map_get(accounts.certs, text) != NULL ||
	    map_put(accounts.certs, text, a) == -1)
		return;
	memcpy(a->certs[a->ncerts++], fp, STORE_FP_LEN);
}

static void
load_nick(int64_t id, const char *key, const char *nick, void *arg)
{
	struct account	*a;
	char		 ids[24];

	(void)arg;
	id_text(id, ids, sizeof(ids));
	if ((a = map_get(accounts.ids, ids)) == NULL ||
	    a->nnicks >= ACCOUNT_NICKS_MAX || !casemap_valid_nick(nick,
	    NICK_MAX) || map_get(accounts.nicks, key) != NULL ||
	    map_get(accounts.names, key) != NULL ||
	    map_put(accounts.nicks, key, a) == -1)
		return;
	snprintf(a->nicks[a->nnicks++], NICK_MAX + 1, "%s", nick);
}

int
account_init(const struct account_opts *o, char *err, size_t errlen)
{
	int64_t	 max_id;
	int	 n;

	accounts.opts = *o;
	if (accounts.opts.limit_slots == 0)
		accounts.opts.limit_slots = LOGIN_LIMIT_SLOTS;
	accounts.by_account.per_minute = o->fails_account;
	accounts.by_ip.per_minute = o->fails_ip;
	accounts.registers.per_minute = o->registers_ip;
	accounts.by_account.window = LOGIN_WINDOW;
	accounts.by_ip.window = LOGIN_WINDOW;
	accounts.registers.window = REGISTER_WINDOW;
	accounts.next_id = 1;
	if ((accounts.names = map_new()) == NULL ||
	    (accounts.nicks = map_new()) == NULL ||
	    (accounts.certs = map_new()) == NULL ||
	    (accounts.ids = map_new()) == NULL ||
	    (accounts.by_account.m = map_new()) == NULL ||
	    (accounts.by_ip.m = map_new()) == NULL ||
	    (accounts.registers.m = map_new()) == NULL) {
		snprintf(err, errlen, "accounts: out of memory");
		return -1;
	}
	if ((n = store_accounts_load(load_account, load_cert, load_nick,
	    NULL, &max_id)) == -1) {
		snprintf(err, errlen, "accounts: cannot read them from the "
		    "database");
		return -1;
	}
	if (max_id >= accounts.next_id)
		accounts.next_id = max_id + 1;
	if (store_meta_secret(ACCOUNT_FAKE_SECRET, accounts.fake_key,
	    sizeof(accounts.fake_key)) == -1) {
		snprintf(err, errlen, "accounts: cannot keep a secret in the "
		    "database");
		return -1;
	}
	/* Made with the current costs, so a login with nothing to check
	 * takes as long as one with a hash. */
	if (passwd_hash("natterd: no such account", &o->cost,
	    accounts.dummy, sizeof(accounts.dummy)) == -1) {
		snprintf(err, errlen, "accounts: argon2id: %s",
		    strerror(errno));
		return -1;
	}
	accounts.ready = 1;
	if (n > 0)
		log_info("accounts: %d loaded", n);
	if ((unsigned)n > o->max)
		log_warnx("accounts: %d accounts, more than --max-accounts "
		    "%u: no new ones can be made", n, o->max);
	return 0;
}

static void
free_entry(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

static void
unref_entry(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	account_unref(val);
}

void
account_shutdown(void)
{
	struct map	**m[] = { &accounts.nicks, &accounts.certs,
	    &accounts.ids };
	size_t		 i;

	pthread_mutex_lock(&accounts.lock);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		map_free(*m[i]);
		*m[i] = NULL;
	}
	if (accounts.names != NULL) {
		map_foreach(accounts.names, unref_entry, NULL);
		map_free(accounts.names);
		accounts.names = NULL;
	}
	if (accounts.by_account.m != NULL) {
		map_foreach(accounts.by_account.m, free_entry, NULL);
		map_free(accounts.by_account.m);
		accounts.by_account.m = NULL;
	}
	if (accounts.by_ip.m != NULL) {
		map_foreach(accounts.by_ip.m, free_entry, NULL);
		map_free(accounts.by_ip.m);
		accounts.by_ip.m = NULL;
	}
	if (accounts.registers.m != NULL) {
		map_foreach(accounts.registers.m, free_entry, NULL);
		map_free(accounts.registers.m);
		accounts.registers.m = NULL;
	}
	accounts.count = 0;
	accounts.ready = 0;
	pthread_mutex_unlock(&accounts.lock);
}

unsigned
account_count(void)
{
	unsigned	 n;

	pthread_mutex_lock(&accounts.lock);
	n = accounts.count;
	pthread_mutex_unlock(&accounts.lock);
	return n;
}

/* --- lookups --- */

/* The casefolded name, or -1 if name is not a valid account name: a
 * valid nick that no service uses. */
static int
account_key(const char *name, char *key)
{
	if (!casemap_valid_nick(name, NICK_MAX) ||
	    casemap_cmp(name, NICKSERV_NICK) == 0)
		return -1;
	casemap_fold(key, name, NICK_MAX + 1);
	return 0;
}

struct account *
account_find(const char *name)
{
	struct account	*a;
	char		 key[NICK_MAX + 1];

	if (account_key(name, key) == -1)
		return NULL;
	pthread_mutex_lock(&accounts.lock);
	a = account_ref(accounts.names != NULL ?
	    map_get(accounts.names, key) : NULL);
	pthread_mutex_unlock(&accounts.lock);
	return a;
}

struct account *
account_nick_owner(const char *nickkey)
{
	struct account	*a = NULL;

	pthread_mutex_lock(&accounts.lock);
	if (accounts.names != NULL &&
	    (a = map_get(accounts.names, nickkey)) == NULL)
		a = map_get(accounts.nicks, nickkey);
	account_ref(a);
	pthread_mutex_unlock(&accounts.lock);
	return a;
}

struct account *
account_cert_owner(const char *fp)
{
	struct account	*a = NULL;
	unsigned char	 bin[STORE_FP_LEN];
	char		 text[TLS_FP_LEN + 1];

	if (fp_parse(fp, text, bin) == -1)
		return NULL;
	pthread_mutex_lock(&accounts.lock);
	if (accounts.certs != NULL)
		a = account_ref(map_get(accounts.certs, text));
	pthread_mutex_unlock(&accounts.lock);
	return a;
}

int
account_usable(struct account *a)
{
	return a != NULL && !(account_flags(a) & ACCOUNT_DELETED);
}

int
account_info(struct account *a, struct account_info *out)
{
	int	 i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&accounts.lock);
	snprintf(out->name, sizeof(out->name), "%s", a->name);
	out->id = a->id;
	out->created = a->created;
	out->uid = a->uid;
	out->flags = a->flags;
	out->ncerts = a->ncerts;
	for (i = 0; i < a->ncerts; i++)
		fp_text(a->certs[i], out->certs[i]);
	out->nnicks = a->nnicks;
	for (i = 0; i < a->nnicks; i++)
		snprintf(out->nicks[i], sizeof(out->nicks[i]), "%s",
		    a->nicks[i]);
	pthread_mutex_unlock(&accounts.lock);
	return 0;
}

/* --- changes --- */

/* The argon2id hash and SCRAM keys of password, in the pool. */
static int
account_secrets(const char *password, char *phc, size_t phclen,
    struct scram_keys *k)
{
	if (passwd_hash(password, &accounts.opts.cost, phc, phclen) == -1 ||
	    passwd_scram(password, accounts.opts.scram_iter, k) == -1)
		return -1;
	return 0;
}

int
account_create(const char *name, const char *password, unsigned flags,
    int64_t uid, struct account **out)
{
	struct store_account	 row;
	struct account		*a = NULL;
	char			 key[NICK_MAX + 1], phc[PASSWD_PHC_MAX];
	int			 err = 0;

	if (out != NULL)
		*out = NULL;
	if (account_key(name, key) == -1 || !accounts.ready) {
		errno = EINVAL;
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	atomic_init(&a->refs, 1);
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->created = time(NULL);
	a->uid = (flags & ACCOUNT_LOCAL) ? uid : -1;
	a->flags = flags & ACCOUNT_LOCAL;
	if (password != NULL) {
		if (account_secrets(password, phc, sizeof(phc),
		    &a->scram) == -1) {
			err = errno;
			goto fail;
		}
		if ((a->hash = strdup(phc)) == NULL) {
			err = ENOMEM;
			goto fail;
		}
		OPENSSL_cleanse(phc, sizeof(phc));
		a->flags |= ACCOUNT_PASSWORD | ACCOUNT_SCRAM;
	}

	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	if (map_get(accounts.names, key) != NULL ||
	    map_get(accounts.nicks, key) != NULL)
		err = EEXIST;
	else if (accounts.count >= accounts.opts.max)
		err = ENOSPC;
	else
		a->id = accounts.next_id++;
	pthread_mutex_unlock(&accounts.lock);
	if (err != 0) {
		pthread_mutex_unlock(&accounts.wlock);
		goto fail;
	}
	account_row(a, a->flags, a->hash, &a->scram, &row);
	if (store_account_put(&row) == -1) {
		pthread_mutex_unlock(&accounts.wlock);
		err = EIO;
		goto fail;
	}
	pthread_mutex_lock(&accounts.lock);
	if (account_insert_locked(a) == -1)
		err = ENOMEM;
	else if (out != NULL)
		*out = account_ref(a);
	pthread_mutex_unlock(&accounts.lock);
	if (err != 0) {
		(void)store_account_delete(a->id);
		pthread_mutex_unlock(&accounts.wlock);
		goto fail;
	}
	pthread_mutex_unlock(&accounts.wlock);
	log_info("accounts: %s created%s", a->name,
	    (flags & ACCOUNT_LOCAL) ? " (local)" : "");
	return 0;

fail:
	OPENSSL_cleanse(phc, sizeof(phc));
	account_free(a);
	errno = err != 0 ? err : EIO;
	return -1;
}

int
account_set_password(struct account *a, const char *password)
{
	struct store_account	 row;
	struct scram_keys	 k;
	char			 phc[PASSWD_PHC_MAX], *copy = NULL;
	unsigned		 flags;
	int			 err = 0;

	memset(&k, 0, sizeof(k));
	phc[0] = '\0';
	if (password != NULL) {
		if (account_secrets(password, phc, sizeof(phc), &k) == -1)
			return -1;
		if ((copy = strdup(phc)) == NULL) {
			err = ENOMEM;
			goto out;
		}
	}
	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	flags = a->flags;
	pthread_mutex_unlock(&accounts.lock);
	if (flags & ACCOUNT_DELETED) {
		pthread_mutex_unlock(&accounts.wlock);
		err = ENOENT;
		goto out;
	}
	if (password != NULL)
		flags |= ACCOUNT_PASSWORD | ACCOUNT_SCRAM;
	else
		flags &= ~(ACCOUNT_PASSWORD | ACCOUNT_SCRAM);
	account_row(a, flags, copy, &k, &row);
	if (store_account_put(&row) == -1) {
		pthread_mutex_unlock(&accounts.wlock);
		err = EIO;
		goto out;
	}
	pthread_mutex_lock(&accounts.lock);
	a->flags = (a->flags & ~(ACCOUNT_PASSWORD | ACCOUNT_SCRAM)) |
	    (flags & (ACCOUNT_PASSWORD | ACCOUNT_SCRAM));
	if (a->hash != NULL)
		OPENSSL_cleanse(a->hash, strlen(a->hash));
	free(a->hash);
	a->hash = copy;
	copy = NULL;
	a->scram = k;
	pthread_mutex_unlock(&accounts.lock);
	pthread_mutex_unlock(&accounts.wlock);
	log_info("accounts: %s: password %s", a->name, password != NULL ?
	    "set" : "removed");
out:
	OPENSSL_cleanse(phc, sizeof(phc));
	OPENSSL_cleanse(&k, sizeof(k));
	free(copy);
	if (err != 0)
		errno = err;
	return err != 0 ? -1 : 0;
}

int
account_delete(struct account *a)
{
	int	 err = 0;

	pthread_mutex_lock(&accounts.wlock);
	if (account_flags(a) & ACCOUNT_DELETED)
		err = ENOENT;
	else if (store_account_delete(a->id) == -1)
		err = EIO;
	else {
		pthread_mutex_lock(&accounts.lock);
		account_remove_locked(a);
		pthread_mutex_unlock(&accounts.lock);
	}
	pthread_mutex_unlock(&accounts.wlock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	/* Its read markers: the store's went with it, memory's go now. */
	marker_forget(a->id);
	log_info("accounts: %s deleted", a->name);
	account_unref(a);	/* the table's */
	return 0;
}

int
account_cert_add(struct account *a, const char *fp)
{
	unsigned char	 bin[STORE_FP_LEN];
	char		 text[TLS_FP_LEN + 1];
	int		 err = 0;

	if (fp_parse(fp, text, bin) == -1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	if (a->flags & ACCOUNT_DELETED)
		err = ENOENT;
	else if (map_get(accounts.certs, text) != NULL)
		err = EEXIST;
	else if (a->ncerts >= ACCOUNT_CERTS_MAX)
		err = ENOSPC;
	pthread_mutex_unlock(&accounts.lock);
	if (err == 0 && store_cert_put(a->id, bin) == -1)
		err = EIO;
	if (err == 0) {
		pthread_mutex_lock(&accounts.lock);
		if (map_put(accounts.certs, text, a) == -1)
			err = ENOMEM;
		else
			memcpy(a->certs[a->ncerts++], bin, STORE_FP_LEN);
		pthread_mutex_unlock(&accounts.lock);
		if (err != 0)
			(void)store_cert_delete(bin);
	}
	pthread_mutex_unlock(&accounts.wlock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	log_info("accounts: %s: certificate %s added", a->name, text);
	return 0;
}

int
account_cert_del(struct account *a, const char *fp)
{
	unsigned char	 bin[STORE_FP_LEN];
	char		 text[TLS_FP_LEN + 1];
	int		 i, err = 0;

	if (fp_parse(fp, text, bin) == -1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	if (map_get(accounts.certs, text) != a)
		err = ENOENT;
	pthread_mutex_unlock(&accounts.lock);
	if (err == 0 && store_cert_delete(bin) == -1)
		err = EIO;
	if (err == 0) {
		pthread_mutex_lock(&accounts.lock);
		map_del(accounts.certs, text);
		for (i = 0; i < a->ncerts; i++)
			if (memcmp(a->certs[i], bin, STORE_FP_LEN) == 0) {
				memmove(a->certs[i], a->certs[i + 1],
				    (size_t)(a->ncerts - i - 1) *
				    STORE_FP_LEN);
				a->ncerts--;
				break;
			}
		pthread_mutex_unlock(&accounts.lock);
	}
	pthread_mutex_unlock(&accounts.wlock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
account_nick_add(struct account *a, const char *nick)
{
	char	 key[NICK_MAX + 1];
	int	 err = 0;

	if (account_key(nick, key) == -1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	if (a->flags & ACCOUNT_DELETED)
		err = ENOENT;
	else if (map_get(accounts.names, key) != NULL ||
	    map_get(accounts.nicks, key) != NULL)
		err = EEXIST;
	else if (a->nnicks >= ACCOUNT_NICKS_MAX)
		err = ENOSPC;
	pthread_mutex_unlock(&accounts.lock);
	if (err == 0 && store_nick_put(a->id, key, nick) == -1)
		err = EIO;
	if (err == 0) {
		pthread_mutex_lock(&accounts.lock);
		if (map_put(accounts.nicks, key, a) == -1)
			err = ENOMEM;
		else
			snprintf(a->nicks[a->nnicks++], NICK_MAX + 1, "%s",
			    nick);
		pthread_mutex_unlock(&accounts.lock);
		if (err != 0)
			(void)store_nick_delete(key);
	}
	pthread_mutex_unlock(&accounts.wlock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
account_nick_del(struct account *a, const char *nick)
{
	char	 key[NICK_MAX + 1], k2[NICK_MAX + 1];
	int	 i, err = 0;

	if (account_key(nick, key) == -1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&accounts.wlock);
	pthread_mutex_lock(&accounts.lock);
	if (map_get(accounts.nicks, key) != a)
		err = ENOENT;
	pthread_mutex_unlock(&accounts.lock);
	if (err == 0 && store_nick_delete(key) == -1)
		err = EIO;
	if (err == 0) {
		pthread_mutex_lock(&accounts.lock);
		map_del(accounts.nicks, key);
		for (i = 0; i < a->nnicks; i++) {
			casemap_fold(k2, a->nicks[i], sizeof(k2));
			if (strcmp(k2, key) == 0) {
				memmove(a->nicks[i], a->nicks[i + 1],
				    (size_t)(a->nnicks - i - 1) *
				    sizeof(a->nicks[0]));
				a->nnicks--;
				break;
			}
		}
		pthread_mutex_unlock(&accounts.lock);
	}
	pthread_mutex_unlock(&accounts.wlock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

struct account *
account_local(int64_t uid, const char *username)
{
	struct account	*a;
	int		 tries;

	for (tries = 0; tries < 2; tries++) {
		if ((a = account_find(username)) != NULL) {
			if ((account_flags(a) & ACCOUNT_LOCAL) && a->uid == uid)
				return a;
			account_unref(a);
			log_info("accounts: %s (uid %lld) has no local "
			    "account: the name belongs to another", username,
			    (long long)uid);
			errno = EEXIST;
			return NULL;
		}
		if (account_create(username, NULL, ACCOUNT_LOCAL, uid,
		    &a) == 0)
			return a;
		if (errno != EEXIST)
			return NULL;
		/* Made meanwhile by another connection of the same user. */
	}
	return NULL;
}

/* --- failed logins --- */

struct sweep {
	const char	**out;
	time_t		 window;
};

static void
sweep_one(const char *key, void *val, void *arg)
{
	struct fails	*f = val;
	struct sweep	*sw = arg;
	time_t		 now = time(NULL);

	if (f->issued == f->ended && (now - f->start >= sw->window ||
	    now < f->start))
		*sw->out++ = key;
}

/* Drops the counters whose window has passed.  Caller holds lock. */
static void
limiter_sweep_locked(struct limiter *l)
{
	struct sweep	  sw;
	const char	**keys, **k;
	char		 *copy;

	if ((keys = calloc(map_count(l->m) + 1, sizeof(*keys))) == NULL)
		return;
	sw.out = keys;
	sw.window = l->window;
	map_foreach(l->m, sweep_one, &sw);
	for (k = keys; k < sw.out; k++) {
		/* map_del frees the key k points into: copy it first. */
		if ((copy = strdup(*k)) == NULL)
			break;
		free(map_del(l->m, copy));
		free(copy);
	}
	free(keys);
}

/* Starts f's window again once it has passed.  Caller holds lock. */
static void
limiter_window_locked(struct limiter *l, struct fails *f, time_t now)
{
	if (now - f->start >= l->window || now < f->start) {
		f->start = now;
		f->count = 0;
	}
}

struct oldest {
	const char	*key;
	time_t		 start;
};

static void
oldest_one(const char *key, void *val, void *arg)
{
	struct fails	*f = val;
	struct oldest	*o = arg;

	if (f->issued == f->ended && (o->key == NULL || f->start < o->start)) {
		o->key = key;
		o->start = f->start;
	}
}

/*
 * A full table makes room by dropping the counter whose window began
 * longest ago (none with attempts under way): -1 if every one has.
 * Filling the table costs a hash a failure, so doing it again and again
 * to wipe one account's counter costs far more than the guesses the
 * counter holds back; refusing everyone instead would let the same
 * flood lock every account out.  Caller holds lock.
 */
static int
limiter_evict_locked(struct limiter *l)
{
	struct oldest	 o = { NULL, 0 };
	char		*copy;

	map_foreach(l->m, oldest_one, &o);
	if (o.key == NULL || (copy = strdup(o.key)) == NULL)
		return -1;
	free(map_del(l->m, copy));
	free(copy);
	return 0;
}

/* key's counter, made if new; NULL if the table is full of
 * attempts under way.  Caller
 * holds lock. */
static struct fails *
limiter_get_locked(struct limiter *l, const char *key, time_t now,
    const char *what)
{
	struct fails	*f;

	if ((f = map_get(l->m, key)) == NULL) {
		if (map_count(l->m) >= accounts.opts.limit_slots)
			limiter_sweep_locked(l);
		if (map_count(l->m) >= accounts.opts.limit_slots &&
		    limiter_evict_locked(l) == -1) {
			if (!l->full_logged) {
				log_warnx("accounts: %u %s counted this "
				    "window, all busy; refusing others",
				    accounts.opts.limit_slots, what);
				l->full_logged = 1;
			}
			return NULL;
		}
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return NULL;
		if (map_put(l->m, key, f) == -1) {
			free(f);
			return NULL;
		}
		l->full_logged = 0;
		f->start = now;
	}
	limiter_window_locked(l, f, now);
	return f;
}

/* 1 if key has had per_minute failures in the current window.  Caller
 * holds lock. */
static int
limiter_over_locked(struct limiter *l, const char *key, time_t now)
{
	struct fails	*f;

	if (l->per_minute == 0)
		return 0;
	if ((f = map_get(l->m, key)) == NULL)
		return 0;	/* a full table makes room for it */
	if (now - f->start >= l->window || now < f->start)
		return 0;
	return f->count >= l->per_minute;
}

/*
 * An attempt on key: its ticket, or NULL if the limit is reached (or
 * there is no room to count it).  Caller holds lock.
 */
static struct fails *
limiter_take_locked(struct limiter *l, const char *key, time_t now,
    const char *what, unsigned long *ticket)
{
	struct fails	*f;

	if (l->per_minute == 0)
		return NULL;
	if ((f = limiter_get_locked(l, key, now, what)) == NULL)
		return NULL;
	if (f->count >= l->per_minute)
		return NULL;
	*ticket = f->issued++;
	return f;
}

/*
 * Where ticket stands: -1 once the limit is reached, 1 when it may go
 * (the attempts before it that are still under way, and the failures
 * so far, cannot reach the limit with it), 0 while it must wait.
 * Tickets go in the order they were taken.  Caller holds lock.
 */
static int
limiter_ready_locked(struct limiter *l, struct fails *f, time_t now,
    unsigned long ticket)
{
	if (f == NULL)
		return 1;
	limiter_window_locked(l, f, now);
	if (f->count >= l->per_minute)
		return -1;
	return ticket - f->ended < l->per_minute - f->count;
}

/* An attempt with a ticket ends, failed or not.  Caller holds lock. */
static void
limiter_end_locked(struct limiter *l, const char *key, time_t now,
    int failed)
{
	struct fails	*f;

	if (l->per_minute == 0 || (f = map_get(l->m, key)) == NULL)
		return;
	if (f->ended < f->issued)
		f->ended++;
	limiter_window_locked(l, f, now);
	if (failed)
		f->count++;
	/* A counter with nothing in it holds no slot. */
	if (f->count == 0 && f->issued == f->ended)
		free(map_del(l->m, key));
}

/* Counts one for key at once (a registration).  Caller holds lock. */
static void
limiter_hit_locked(struct limiter *l, const char *key, time_t now,
    const char *what)
{
	struct fails	*f;

	if (l->per_minute != 0 &&
	    (f = limiter_get_locked(l, key, now, what)) != NULL)
		f->count++;
}

/* The limiter's key for a name: its casefolded form, or the name cut
 * to a nick's length for one that is not valid. */
static void
limit_key(const char *name, char *key)
{
	casemap_fold(key, name, NICK_MAX + 1);
}

int
account_login_limited(const char *name, const char *ipgroup)
{
	char	 key[NICK_MAX + 1];
	time_t	 now = time(NULL);
	int	 over;

	limit_key(name, key);
	pthread_mutex_lock(&accounts.lock);
	over = !accounts.ready ||
	    limiter_over_locked(&accounts.by_ip, ipgroup, now) ||
	    limiter_over_locked(&accounts.by_account, key, now);
	pthread_mutex_unlock(&accounts.lock);
	if (over)
		log_info("login refused: account %s from %s: too many failed "
		    "logins", name, ipgroup);
	return over;
}

/* Whether w can stop waiting now: ready on both, or refused on one. */
static int
waiter_done_locked(struct waiter *w, time_t now)
{
	int	 ri = 1, ra = 1;

	if (w->fi != NULL)
		ri = limiter_ready_locked(&accounts.by_ip, w->fi, now, w->ti);
	if (w->fa != NULL)
		ra = limiter_ready_locked(&accounts.by_account, w->fa, now,
		    w->ta);
	return ri == -1 || ra == -1 || (ri == 1 && ra == 1);
}

/* An attempt ended: wakes the waiters whose turn it may be, and only
 * them (a burst of logins from one address is hundreds of waiters). */
static void
waiters_wake_locked(void)
{
	struct waiter	*w;
	time_t		 now = time(NULL);

	for (w = accounts.waiters; w != NULL; w = w->next)
		if (waiter_done_locked(w, now))
			pthread_cond_signal(&w->cv);
}

int
account_attempt_begin(const char *name, const char *ipgroup)
{
	struct waiter	 w, *p, *prev;
	char		 key[NICK_MAX + 1];
	time_t		 now = time(NULL);
	int		 ri = 1, ra = 1, over = 0, queued = 0;

	memset(&w, 0, sizeof(w));
	limit_key(name, key);
	pthread_mutex_lock(&accounts.lock);
	if (!accounts.ready)
		over = 1;
	else {
		if (accounts.by_ip.per_minute != 0 &&
		    (w.fi = limiter_take_locked(&accounts.by_ip, ipgroup, now,
		    "addresses", &w.ti)) == NULL)
			over = 1;
		if (!over && accounts.by_account.per_minute != 0 &&
		    (w.fa = limiter_take_locked(&accounts.by_account, key,
		    now, "accounts", &w.ta)) == NULL)
			over = 1;
	}
	/*
	 * Bounded: the attempts ahead are hashes or SCRAM proofs being
	 * checked, never waits on a client, and they go in ticket order.
	 * A ticket given back early would let one more attempt run than
	 * the limit allows, so one that is refused on one limit waits for
	 * its turn on the other before giving that ticket back.
	 */
	for (;;) {
		now = time(NULL);
		if (w.fi != NULL && (ri = limiter_ready_locked(
		    &accounts.by_ip, w.fi, now, w.ti)) == -1)
			over = 1;
		if (w.fa != NULL && (ra = limiter_ready_locked(
		    &accounts.by_account, w.fa, now, w.ta)) == -1)
			over = 1;
		if (!over && ri == 1 && ra == 1)
			break;
		if (over) {
			if (w.fi != NULL && ri != 0) {
				limiter_end_locked(&accounts.by_ip, ipgroup,
				    now, 0);
				w.fi = NULL;
				waiters_wake_locked();
			}
			if (w.fa != NULL && ra != 0) {
				limiter_end_locked(&accounts.by_account, key,
				    now, 0);
				w.fa = NULL;
				waiters_wake_locked();
			}
			if (w.fi == NULL && w.fa == NULL)
				break;
		}
		if (!queued) {
			pthread_cond_init(&w.cv, NULL);
			if (accounts.waiters_tail != NULL)
				accounts.waiters_tail->next = &w;
			else
				accounts.waiters = &w;
			accounts.waiters_tail = &w;
			queued = 1;
		}
		pthread_cond_wait(&w.cv, &accounts.lock);
	}
	if (queued) {
		for (prev = NULL, p = accounts.waiters; p != &w;
		    prev = p, p = p->next)
			;
		if (prev == NULL)
			accounts.waiters = w.next;
		else
			prev->next = w.next;
		if (accounts.waiters_tail == &w)
			accounts.waiters_tail = prev;
		pthread_cond_destroy(&w.cv);
	}
	pthread_mutex_unlock(&accounts.lock);
	if (over) {
		log_info("login refused: account %s from %s: too many failed "
		    "logins", name, ipgroup);
		return -1;
	}
	return 0;
}

void
account_attempt_end(const char *name, const char *ipgroup, int failed,
    const char *how)
{
	char	 key[NICK_MAX + 1];
	time_t	 now = time(NULL);

	limit_key(name, key);
	pthread_mutex_lock(&accounts.lock);
	if (accounts.ready) {
		limiter_end_locked(&accounts.by_ip, ipgroup, now, failed);
		limiter_end_locked(&accounts.by_account, key, now, failed);
	}
	waiters_wake_locked();
	pthread_mutex_unlock(&accounts.lock);
	if (failed)
		log_info("login failed: account %s from %s (%s)", name,
		    ipgroup, how);
}

int
account_register_take(const char *ipgroup)
{
	time_t	 now = time(NULL);
	int	 over;

	pthread_mutex_lock(&accounts.lock);
	over = !accounts.ready || limiter_over_locked(&accounts.registers,
	    ipgroup, now);
	if (!over)
		limiter_hit_locked(&accounts.registers, ipgroup, now,
		    "addresses registering");
	pthread_mutex_unlock(&accounts.lock);
	if (over)
		log_info("registration refused: %s registered %u accounts "
		    "this hour", ipgroup, accounts.opts.registers_ip);
	return over ? -1 : 0;
}

enum account_check
account_check_password(const char *name, const char *password,
    const char *ipgroup, const char *how, struct account **out)
{
	struct account	*a = NULL;
	char		 key[NICK_MAX + 1], *phc = NULL;
	int		 rc, e;

	*out = NULL;
	if (account_attempt_begin(name, ipgroup) == -1)
		return ACCOUNT_LIMITED;
	limit_key(name, key);
	pthread_mutex_lock(&accounts.lock);
	if (casemap_valid_nick(name, NICK_MAX) &&
	    (a = map_get(accounts.names, key)) != NULL &&
	    (a->flags & ACCOUNT_PASSWORD) && a->hash != NULL) {
		account_ref(a);
		phc = strdup(a->hash);
	} else
		a = NULL;
	pthread_mutex_unlock(&accounts.lock);
	/* No account, or none with a password: the same work, then no. */
	rc = passwd_verify(phc != NULL ? phc : accounts.dummy, password);
	if (phc != NULL) {
		OPENSSL_cleanse(phc, strlen(phc));
		free(phc);
	}
	if (rc == 1 && a != NULL && account_usable(a)) {
		account_attempt_end(name, ipgroup, 0, NULL);
		*out = a;
		return ACCOUNT_OK;
	}
	account_unref(a);
	if (rc == -1 && errno != EINVAL) {
		e = errno;
		account_attempt_end(name, ipgroup, 0, NULL);
		log_warnx("login: account %s from %s: cannot check the "
		    "password now: %s", name, ipgroup, strerror(e));
		return ACCOUNT_BAD;
	}
	account_attempt_end(name, ipgroup, 1, how);
	return ACCOUNT_BAD;
}

enum account_check
account_scram_keys(const char *name, const char *ipgroup,
    struct scram_keys *k, struct account **out)
{
	struct account	*a;
	unsigned char	 mac[32];
	unsigned int	 n = sizeof(mac);
	char		 key[NICK_MAX + 1];

	*out = NULL;
	if (account_login_limited(name, ipgroup))
		return ACCOUNT_LIMITED;
	limit_key(name, key);
	pthread_mutex_lock(&accounts.lock);
	if (casemap_valid_nick(name, NICK_MAX) &&
	    (a = map_get(accounts.names, key)) != NULL &&
	    (a->flags & ACCOUNT_SCRAM)) {
		*k = a->scram;
		*out = account_ref(a);
	}
	pthread_mutex_unlock(&accounts.lock);
	if (*out != NULL)
		return ACCOUNT_OK;
	/* No such account (or no SCRAM keys): a salt that is the same
	 * every time for this name, across restarts, and keys nothing
	 * matches, so the exchange looks like a real one. */
	HMAC(EVP_sha256(), accounts.fake_key, sizeof(accounts.fake_key),
	    (const unsigned char *)key, strlen(key), mac, &n);
	memcpy(k->salt, mac, SCRAM_SALT_LEN);
	k->iter = accounts.opts.scram_iter;
	if (getrandom(k->stored, sizeof(k->stored), 0) !=
	    (ssize_t)sizeof(k->stored))
		memset(k->stored, 0xa5, sizeof(k->stored));
	memset(k->server, 0, sizeof(k->server));
	return ACCOUNT_OK;
}
