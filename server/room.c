/*
 * room.c: the room table, membership, invites and bans.  Everything here
 * runs under server.lock; a room lives while it has members and is
 * freed by room_remove_locked() when the last one leaves.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natterd.h"

struct room *
room_find_locked(const char *name)
{
	char key[ROOM_NAME_MAX + 1];

	if (casemap_fold(key, name, sizeof(key)) >= sizeof(key))
		return NULL;
	return map_get(server.rooms, key);
}

struct room *
room_create_locked(const char *name)
{
	struct room *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
	casemap_fold(r->key_folded, name, sizeof(r->key_folded));
	r->created = time(NULL);
	r->modes = ROOM_NOEXTERNAL | ROOM_TOPICLOCK;
	if (map_put(server.rooms, r->key_folded, r) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

static void
room_free_locked(struct room *r)
{
	int i;

	map_del(server.rooms, r->key_folded);
	for (i = 0; i < r->nbans; i++) {
		free(r->bans[i].mask);
		free(r->bans[i].setter);
	}
	for (i = 0; i < r->ninvites; i++)
		free(r->invites[i]);
	free(r->bans);
	free(r->invites);
	free(r->members);
	free(r->topic);
	free(r->topic_who);
	free(r);
}

struct member *
room_member_locked(struct room *r, struct client *c)
{
	int i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i].c == c)
			return &r->members[i];
	return NULL;
}

static int
grow(void **arr, int *cap, int need, size_t size)
{
	void *n;
	int ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap == 0 ? 4 : *cap * 2;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(*arr, (size_t)ncap * size)) == NULL)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

int
room_add_locked(struct room *r, struct client *c, unsigned modes)
{
	void *members = r->members, *rooms = c->rooms;
	int ok;

	ok = grow(&members, &r->memcap, r->nmembers + 1,
	    sizeof(*r->members)) == 0;
	r->members = members;
	if (ok) {
		ok = grow(&rooms, &c->roomcap, c->nrooms + 1,
		    sizeof(*c->rooms)) == 0;
		c->rooms = rooms;
	}
	if (!ok)
		return -1;
	r->members[r->nmembers].c = c;
	r->members[r->nmembers].modes = modes;
	r->nmembers++;
	c->rooms[c->nrooms++] = r;
	return 0;
}

int
room_remove_locked(struct room *r, struct client *c)
{
	int i;

	for (i = 0; i < r->nmembers; i++) {
		if (r->members[i].c == c) {
			r->members[i] = r->members[--r->nmembers];
			break;
		}
	}
	for (i = 0; i < c->nrooms; i++) {
		if (c->rooms[i] == r) {
			c->rooms[i] = c->rooms[--c->nrooms];
			break;
		}
	}
	if (r->nmembers == 0) {
		room_free_locked(r);
		return 1;
	}
	return 0;
}

void
room_send_locked(struct room *r, struct buf *b, struct client *except)
{
	int i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i].c != except)
			client_send(r->members[i].c, b);
}

int
room_banned_locked(struct room *r, struct client *c)
{
	char mask[MASK_MAX + 1];
	int i;

	if (r->nbans == 0)
		return 0;
	client_mask(c, mask, sizeof(mask));
	for (i = 0; i < r->nbans; i++)
		if (casemap_match(r->bans[i].mask, mask))
			return 1;
	return 0;
}

int
room_invited_locked(struct room *r, struct client *c)
{
	int i;

	for (i = 0; i < r->ninvites; i++)
		if (strcmp(r->invites[i], c->nickkey) == 0)
			return 1;
	return 0;
}

void
room_invite_add_locked(struct room *r, const char *nickkey)
{
	void *inv = r->invites;
	char *s;
	int i, cap = r->ninvites;

	for (i = 0; i < r->ninvites; i++)
		if (strcmp(r->invites[i], nickkey) == 0)
			return;
	/* The array is sized exactly; invites are rare. */
	if (grow(&inv, &cap, r->ninvites + 1, sizeof(*r->invites)) == -1)
		return;
	r->invites = inv;
	if ((s = strdup(nickkey)) == NULL)
		return;
	r->invites[r->ninvites++] = s;
}

void
room_invite_del_locked(struct room *r, const char *nickkey)
{
	int i;

	for (i = 0; i < r->ninvites; i++) {
		if (strcmp(r->invites[i], nickkey) == 0) {
			free(r->invites[i]);
			r->invites[i] = r->invites[--r->ninvites];
			if (r->ninvites == 0) {
				free(r->invites);
				r->invites = NULL;
			}
			return;
		}
	}
}

int
room_ban_add_locked(struct room *r, const char *mask, const char *setter)
{
	void *bans = r->bans;
	int i, cap = r->nbans;

	for (i = 0; i < r->nbans; i++)
		if (casemap_cmp(r->bans[i].mask, mask) == 0)
			return 1;
	if (r->nbans >= BAN_LIST_MAX)
		return -1;
	if (grow(&bans, &cap, r->nbans + 1, sizeof(*r->bans)) == -1)
		return -1;
	r->bans = bans;
	r->bans[r->nbans].mask = strdup(mask);
	r->bans[r->nbans].setter = strdup(setter);
	if (r->bans[r->nbans].mask == NULL || r->bans[r->nbans].setter == NULL) {
		free(r->bans[r->nbans].mask);
		free(r->bans[r->nbans].setter);
		return -1;
	}
	r->bans[r->nbans].when = time(NULL);
	r->nbans++;
	return 0;
}

int
room_ban_del_locked(struct room *r, const char *mask)
{
	int i;

	for (i = 0; i < r->nbans; i++) {
		if (casemap_cmp(r->bans[i].mask, mask) == 0) {
			free(r->bans[i].mask);
			free(r->bans[i].setter);
			memmove(&r->bans[i], &r->bans[i + 1],
			    (size_t)(r->nbans - i - 1) * sizeof(*r->bans));
			if (--r->nbans == 0) {
				free(r->bans);
				r->bans = NULL;
			}
			return 0;
		}
	}
	return 1;
}

void
room_modes_string(struct room *r, char *buf, size_t len, int with_key)
{
	char flags[16], *p = flags;

	*p++ = '+';
	if (r->modes & ROOM_INVITE)
		*p++ = 'i';
	if (r->key[0] != '\0')
		*p++ = 'k';
	if (r->limit > 0)
		*p++ = 'l';
	if (r->modes & ROOM_MODERATED)
		*p++ = 'm';
	if (r->modes & ROOM_NOEXTERNAL)
		*p++ = 'n';
	if (r->modes & ROOM_TOPICLOCK)
		*p++ = 't';
	*p = '\0';
	if (r->key[0] != '\0' && r->limit > 0)
		snprintf(buf, len, "%s %s %u", flags,
		    with_key ? r->key : "*", r->limit);
	else if (r->key[0] != '\0')
		snprintf(buf, len, "%s %s", flags, with_key ? r->key : "*");
	else if (r->limit > 0)
		snprintf(buf, len, "%s %u", flags, r->limit);
	else
		snprintf(buf, len, "%s", flags);
}

int
member_prefix(const struct member *m)
{
	if (m->modes & MEMBER_OP)
		return '@';
	if (m->modes & MEMBER_VOICE)
		return '+';
	return 0;
}

void
member_prefixes(const struct member *m, char *buf)
{
	char *p = buf;

	if (m->modes & MEMBER_OP)
		*p++ = '@';
	if (m->modes & MEMBER_VOICE)
		*p++ = '+';
	*p = '\0';
}
