/*
 * command_v3.c: commands that IRCv3 extensions add (SETNAME).
 *
 * Handlers run on the sending client's own thread.  Other clients'
 * caps, their room lists and every room are read only under
 * server.lock; the broadcast helpers expect it held.  A client's own
 * identity (nick, user, host) is written only by its own thread, so
 * that thread may read it without the lock to format a line first.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "natterd.h"
#include "utf8.h"

/*
 * SETNAME :<realname>.  The change is made whether or not the client
 * enabled setname (the spec asks for silent handling then); only
 * clients that enabled it, the sender included, hear of it.
 */
void
cmd_setname(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	struct line	 l;
	size_t		 len;

	len = strlen(name);
	/* The reader already refused lines that are not UTF-8; checked
	 * again so the field never depends on that. */
	if (len == 0 || len > REALNAME_MAX || !utf8_valid(name, len)) {
		turn_sendf(t, ":%s FAIL SETNAME INVALID_REALNAME "
		    ":Realname is not valid", config.server_name);
		return;
	}
	client_mask(c, mask, sizeof(mask));
	snprintf(line, sizeof(line), ":%s SETNAME :%s", mask, name);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = c;

	pthread_mutex_lock(&server.lock);
	memcpy(c->realname, name, len + 1);
	(void)room_fanout_locked(t, NULL, &l, FAN_SELF, CAP(CAP_SETNAME),
	    NULL);
	pthread_mutex_unlock(&server.lock);
}
