/*
 * map.c: a string-keyed hash map with chaining (FNV-1a), grown at a load
 * factor of one.  It owns copies of its keys and borrows its values.  It
 * has no lock of its own: server.lock guards every map in natterd.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "natterd.h"

struct map_ent {
	struct map_ent	*next;
	void		*val;
	uint32_t	 hash;
	char		 key[];
};

struct map {
	struct map_ent	**buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 count;
};

static uint32_t
map_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h;
}

struct map *
map_new(void)
{
	struct map *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->nbuckets = 16;
	if ((m->buckets = calloc(m->nbuckets, sizeof(*m->buckets))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
map_free(struct map *m)
{
	struct map_ent *e, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct map_ent **
map_slot(struct map *m, const char *key, uint32_t h)
{
	struct map_ent **ep;

	ep = &m->buckets[h & (m->nbuckets - 1)];
	for (; *ep != NULL; ep = &(*ep)->next)
		if ((*ep)->hash == h && strcmp((*ep)->key, key) == 0)
			break;
	return ep;
}

void *
map_get(struct map *m, const char *key)
{
	struct map_ent **ep;

	ep = map_slot(m, key, map_hash(key));
	return *ep != NULL ? (*ep)->val : NULL;
}

static void
map_grow(struct map *m)
{
	struct map_ent **nb, *e, *next;
	size_t i, n = m->nbuckets * 2;

	/* Out of memory here only costs speed, so carry on. */
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

int
map_put(struct map *m, const char *key, void *val)
{
	struct map_ent **ep, *e;
	uint32_t h = map_hash(key);
	size_t klen;

	ep = map_slot(m, key, h);
	if (*ep != NULL) {
		(*ep)->val = val;
		return 0;
	}
	klen = strlen(key);
	if ((e = malloc(sizeof(*e) + klen + 1)) == NULL)
		return -1;
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*ep = e;
	if (++m->count > m->nbuckets)
		map_grow(m);
	return 0;
}

void *
map_del(struct map *m, const char *key)
{
	struct map_ent **ep, *e;
	void *val;

	ep = map_slot(m, key, map_hash(key));
	if ((e = *ep) == NULL)
		return NULL;
	*ep = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

size_t
map_count(struct map *m)
{
	return m->count;
}

void
map_foreach(struct map *m, void (*fn)(const char *, void *, void *),
    void *arg)
{
	struct map_ent *e;
	size_t i;

	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = e->next)
			fn(e->key, e->val, arg);
}
