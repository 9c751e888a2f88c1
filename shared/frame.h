/*
 * frame.h: splits a byte stream into IRC lines.  A line ends at LF or
 * CR (so CRLF, bare LF and lone CR all end a line); empty lines are
 * skipped.  A line whose non-tag part exceeds IRC_LINE_MAX - 2 bytes, or
 * whose tag part exceeds IRC_TAGS_MAX, is reported once as FRAME_TOOLONG
 * and the rest of it is discarded up to the next line end.
 *
 * The partial-line buffer is allocated only while a line is incomplete,
 * so an idle connection holds no buffer.
 */
#ifndef NATTER_FRAME_H
#define NATTER_FRAME_H

#include <stddef.h>

#include "irc.h"

#define FRAME_MAX	(IRC_TAGS_MAX + IRC_LINE_MAX)

enum frame_event {
	FRAME_LINE,		/* line, len: one complete line, NUL-terminated,
				   no CR/LF; may contain NUL bytes before len */
	FRAME_TOOLONG		/* line is NULL, len 0 */
};

/* Return 0 to go on, anything else to stop; frame_feed returns it. */
typedef int frame_cb(void *arg, enum frame_event ev, char *line, size_t len);

struct frame {
	char	*buf;		/* partial line, or NULL */
	size_t	 len;
	size_t	 cap;
	int	 discarding;	/* inside an overlong line */
};

void	 frame_init(struct frame *f);
/* Feeds n bytes; calls cb for each event in order.  Returns 0, the first
 * non-zero value cb returned (the unread rest is dropped), or -1 with
 * errno ENOMEM. */
int	 frame_feed(struct frame *f, const char *data, size_t n, frame_cb *cb,
	    void *arg);
void	 frame_free(struct frame *f);

#endif
