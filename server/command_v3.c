/*
 * command_v3.c: commands that IRCv3 extensions add (SETNAME), and the
 * capability-filtered broadcasts that the notify extensions share
 * (away-notify, setname).
 *
 * Handlers run on the sending client's own thread.  Other clients'
 * caps, their room lists and every room are read only under
 * server.lock; the broadcast helpers expect it held.  A client's own
 * identity (nick, user, host) is written only by its own thread, so
 * that thread may read it without the lock to format a line first.
 */
#include <pthread.h>
#include <string.h>

#include "natterd.h"
#include "utf8.h"

void
away_notify_join_locked(struct client *c, struct room *r)
{
	struct buf	*b = NULL;
	struct client	*t;
	char		 mask[MASK_MAX + 1];
	int		 i;

	if (c->away == NULL)
		return;
	for (i = 0; i < r->nmembers; i++) {
		t = r->members[i].c;
		if (t == c || !(t->caps & CAP(CAP_AWAY_NOTIFY)))
			continue;
		/* Built only once someone wants it. */
		if (b == NULL) {
			client_mask(c, mask, sizeof(mask));
			b = buf_printf(":%s AWAY :%s", mask, c->away);
		}
		client_send(t, b);
	}
	buf_unref(b);
}

/*
 * SETNAME :<realname>.  The change is made whether or not the client
 * enabled setname (the spec asks for silent handling then); only
 * clients that enabled it, the sender included, hear of it.
 */
void
cmd_setname(struct client *c, struct irc_msg *m)
{
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1];
	struct buf	*b;
	size_t		 len;

	len = strlen(name);
	/* The reader already refused lines that are not UTF-8; checked
	 * again so the field never depends on that. */
	if (len == 0 || len > REALNAME_MAX || !utf8_valid(name, len)) {
		client_sendf(c, ":%s FAIL SETNAME INVALID_REALNAME "
		    ":Realname is not valid", config.server_name);
		return;
	}
	client_mask(c, mask, sizeof(mask));
	b = buf_printf(":%s SETNAME :%s", mask, name);

	pthread_mutex_lock(&server.lock);
	memcpy(c->realname, name, len + 1);
	cap_send_common_locked(c, b, CAP(CAP_SETNAME), 1);
	pthread_mutex_unlock(&server.lock);
	buf_unref(b);
}
