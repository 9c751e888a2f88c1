/*
 * marker.c: read markers (IRCv3 draft/read-marker): for each account,
 * the time of the last message read in each room and private
 * conversation, keyed by the casefolded room name or nick.  The whole
 * table is loaded at start-up, so a JOIN (under server.lock) reads it
 * in memory; a change is written to the store first and applied in
 * memory only once it is on disk, as account.c does.
 *
 * A marker only moves forward, and never past now: a client cannot
 * pin one in the future, where no later read could move it again.
 *
 * Bounds: MARKERS_MAX markers an account.  Setting one more drops the
 * marker with the oldest time (the conversation read longest ago), in
 * the same transaction.  Keys are at most MARKER_KEY_MAX bytes.  A file
 * holding more for an account (written with a larger bound) loads the
 * newest MARKERS_MAX.
 *
 * An account's markers go with it: the store deletes them with the
 * account, and marker_forget() drops them from memory and deletes again
 * whatever a set that raced with the deletion wrote.
 *
 * Locks, in the only order they may be taken:
 *   markers.wlock  serializes changes (check, write to the store,
 *                  apply).  Held across disk I/O, so never taken with
 *                  server.lock (or any lock natterd.h lists) held.
 *   markers.lock   guards the table.  A leaf: it may be taken with
 *                  server.lock held, nothing is taken under it, and no
 *                  disk I/O happens while it is held.
 * accounts.lock (account_usable) is taken under markers.wlock, never
 * the other way.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"

_Static_assert(MARKER_KEY_MAX >= NICK_MAX && MARKER_KEY_MAX >= ROOM_NAME_MAX,
    "a marker's key holds a room name or a nick");

struct marker {
	int64_t		 ms;
	char		 key[MARKER_KEY_MAX + 1];
};

/* One account's markers, sorted by key. */
struct marker_set {
	struct marker	*v;
	int		 n;
	int		 cap;
};

static struct markers {
	pthread_mutex_t	 wlock;		/* serializes changes */
	pthread_mutex_t	 lock;		/* guards ids and every set */
	struct map	*ids;		/* decimal account id -> marker_set */
} markers = {
	.wlock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static void
marker_id(int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)id);
}

/* The index of key in s, or -(where it would go) - 1. */
static int
marker_find(const struct marker_set *s, const char *key)
{
	int	 lo = 0, hi = s->n - 1, mid, cmp;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(s->v[mid].key, key)) == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

/* Room for one more in s.  Caller holds lock. */
static int
marker_grow_locked(struct marker_set *s)
{
	struct marker	*v;
	int		 cap;

	if (s->n < s->cap)
		return 0;
	cap = s->cap == 0 ? 8 : s->cap * 2;
	if (cap > MARKERS_MAX)
		cap = MARKERS_MAX;
	if (cap <= s->n || (v = reallocarray(s->v, (size_t)cap,
	    sizeof(*v))) == NULL)
		return -1;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* The set of account id, made empty if make and there is none.  Caller
 * holds lock. */
static struct marker_set *
marker_set_locked(int64_t id, int make)
{
	struct marker_set	*s;
	char			 ids[24];

	marker_id(id, ids, sizeof(ids));
	if ((s = map_get(markers.ids, ids)) != NULL || !make)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (map_put(markers.ids, ids, s) == -1) {
		free(s);
		return NULL;
	}
	return s;
}

/* Puts key at ms in s, which has room.  Caller holds lock. */
static void
marker_put_locked(struct marker_set *s, const char *key, int64_t ms)
{
	int	 i;

	if ((i = marker_find(s, key)) >= 0) {
		s->v[i].ms = ms;
		return;
	}
	i = -i - 1;
	memmove(&s->v[i + 1], &s->v[i], (size_t)(s->n - i) * sizeof(*s->v));
	s->v[i].ms = ms;
	snprintf(s->v[i].key, sizeof(s->v[i].key), "%s", key);
	s->n++;
}

static void
marker_del_locked(struct marker_set *s, const char *key)
{
	int	 i;

	if ((i = marker_find(s, key)) < 0)
		return;
	memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) *
	    sizeof(*s->v));
	s->n--;
}

/* A key as only a casefolded room name or nick can be. */
static int
marker_key_valid(const char *key)
{
	char	 folded[MARKER_KEY_MAX + 1];

	if (strlen(key) > MARKER_KEY_MAX || (!casemap_valid_room(key,
	    ROOM_NAME_MAX) && !casemap_valid_nick(key, NICK_MAX)))
		return 0;
	casemap_fold(folded, key, sizeof(folded));
	return strcmp(folded, key) == 0;
}

static void
marker_load(int64_t id, const char *key, int64_t ms, void *arg)
{
	struct marker_set	*s;
	int			*skipped = arg;

	/* Under the store's lock: markers.lock is a leaf, fine there. */
	pthread_mutex_lock(&markers.lock);
	/* Rows come newest first: the first MARKERS_MAX are kept. */
	if (ms <= 0 || !marker_key_valid(key) ||
	    (s = marker_set_locked(id, 1)) == NULL || s->n >= MARKERS_MAX ||
	    marker_find(s, key) >= 0 || marker_grow_locked(s) == -1)
		(*skipped)++;
	else
		marker_put_locked(s, key, ms);
	pthread_mutex_unlock(&markers.lock);
}

int
marker_init(void)
{
	int	 n, skipped = 0;

	pthread_mutex_lock(&markers.lock);
	if (markers.ids == NULL && (markers.ids = map_new()) == NULL) {
		pthread_mutex_unlock(&markers.lock);
		return -1;
	}
	pthread_mutex_unlock(&markers.lock);
	if ((n = store_markers_load(marker_load, &skipped)) == -1)
		return -1;
	if (skipped > 0)
		log_warnx("read markers: %d of %d not loaded (damaged, or past "
		    "%d an account)", skipped, n, MARKERS_MAX);
	return 0;
}

static void
marker_free_entry(const char *key, void *val, void *arg)
{
	struct marker_set	*s = val;

	(void)key;
	(void)arg;
	free(s->v);
	free(s);
}

void
marker_shutdown(void)
{
	pthread_mutex_lock(&markers.lock);
	if (markers.ids != NULL) {
		map_foreach(markers.ids, marker_free_entry, NULL);
		map_free(markers.ids);
		markers.ids = NULL;
	}
	pthread_mutex_unlock(&markers.lock);
}

int64_t
marker_get(struct account *a, const char *key)
{
	struct marker_set	*s;
	int64_t			 ms = 0;
	int			 i;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&markers.lock);
	if (markers.ids != NULL &&
	    (s = marker_set_locked(account_id(a), 0)) != NULL &&
	    (i = marker_find(s, key)) >= 0)
		ms = s->v[i].ms;
	pthread_mutex_unlock(&markers.lock);
	return ms;
}

static int64_t
marker_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
marker_set(struct account *a, const char *key, int64_t *ms)
{
	struct marker_set	*s;
	char			 evict[MARKER_KEY_MAX + 1];
	int64_t			 now, cur = 0;
	int			 i, err = 0;

	if (strlen(key) > MARKER_KEY_MAX) {
		errno = EINVAL;
		return -1;
	}
	now = marker_now_ms();
	if (*ms > now)
		*ms = now;
	evict[0] = '\0';

	pthread_mutex_lock(&markers.wlock);
	if (!account_usable(a)) {
		pthread_mutex_unlock(&markers.wlock);
		errno = ENOENT;
		return -1;
	}
	pthread_mutex_lock(&markers.lock);
	/* Made (and given room) before the write, so that applying it
	 * cannot fail once it is on disk. */
	if (markers.ids == NULL ||
	    (s = marker_set_locked(account_id(a), 1)) == NULL)
		err = ENOMEM;
	else if ((i = marker_find(s, key)) >= 0)
		cur = s->v[i].ms;
	else if (s->n >= MARKERS_MAX) {
		/* The oldest goes; the first of equals, by key. */
		for (i = 0; i < s->n; i++)
			if (evict[0] == '\0' || s->v[i].ms < cur) {
				cur = s->v[i].ms;
				snprintf(evict, sizeof(evict), "%s",
				    s->v[i].key);
			}
		cur = 0;
	} else if (marker_grow_locked(s) == -1)
		err = ENOMEM;
	pthread_mutex_unlock(&markers.lock);
	if (err == 0 && cur >= *ms) {
		*ms = cur;
		pthread_mutex_unlock(&markers.wlock);
		return 0;
	}
	if (err == 0 && store_marker_put(account_id(a), key, *ms,
	    evict[0] != '\0' ? evict : NULL) == -1)
		err = EIO;
	if (err != 0) {
		pthread_mutex_unlock(&markers.wlock);
		errno = err;
		return -1;
	}
	pthread_mutex_lock(&markers.lock);
	if (evict[0] != '\0')
		marker_del_locked(s, evict);
	marker_put_locked(s, key, *ms);
	pthread_mutex_unlock(&markers.lock);
	pthread_mutex_unlock(&markers.wlock);
	return 1;
}

void
marker_forget(int64_t id)
{
	struct marker_set	*s = NULL;
	char			 ids[24];

	marker_id(id, ids, sizeof(ids));
	pthread_mutex_lock(&markers.wlock);
	pthread_mutex_lock(&markers.lock);
	if (markers.ids != NULL)
		s = map_del(markers.ids, ids);
	pthread_mutex_unlock(&markers.lock);
	if (s != NULL) {
		free(s->v);
		free(s);
		/* A set that checked the account just before it was deleted
		 * may have written after the deletion. */
		if (store_markers_delete(id) == -1)
			log_warnx("read markers: account %lld: cannot delete "
			    "them", (long long)id);
	}
	pthread_mutex_unlock(&markers.wlock);
}

/* --- draft/channel-rename --- */

static void
marker_rename_set(const char *id, void *val, void *arg)
{
	struct marker_set	*s = val;
	const char		**keys = arg;
	int64_t			 ms;
	int			 i;

	(void)id;
	if ((i = marker_find(s, keys[0])) < 0)
		return;
	ms = s->v[i].ms;
	marker_del_locked(s, keys[0]);
	/* One went, so there is room for it under its new key. */
	marker_put_locked(s, keys[1], ms);
}

void
marker_rename(const char *old_key, const char *new_key)
{
	const char	*keys[2] = { old_key, new_key };

	if (strcmp(old_key, new_key) == 0)
		return;
	pthread_mutex_lock(&markers.lock);
	if (markers.ids != NULL)
		map_foreach(markers.ids, marker_rename_set, keys);
	pthread_mutex_unlock(&markers.lock);
}
