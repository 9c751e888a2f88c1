/*
 * irc.h: IRC message parsing and tag escaping (RFC 1459/2812, IRCv3
 * message-tags).  The parser borrows: every field points into the
 * caller's line, which it splits in place; nothing is allocated.
 */
#ifndef NATTER_IRC_H
#define NATTER_IRC_H

#include <stddef.h>

#define IRC_LINE_MAX	512	/* a line without tags, CRLF included */
#define IRC_TAGS_MAX	8191	/* the tags part, '@' and final space included */
#define IRC_PARAMS_MAX	15

struct irc_msg {
	char	*tags;		/* raw tags after '@', or NULL */
	char	*prefix;	/* source after ':', or NULL */
	char	*command;	/* never NULL after a successful parse */
	int	 nparams;
	char	*params[IRC_PARAMS_MAX];
	int	 trailing;	/* the last param came after " :" */
};

/*
 * Splits line (no CR or LF) in place.  Runs of spaces separate fields.
 * After 14 middle params the rest of the line is the 15th param.
 * Returns 0, or -1 with errno EINVAL when there is no command
 * (empty line, only tags or prefix, "@" or ":" alone).
 */
int	 irc_parse(char *line, struct irc_msg *msg);

/*
 * Finds key in a raw tag string ("a=1;b;c=x\sy") and unescapes its value
 * into out (outlen bytes, NUL-terminated).  Returns 1 if found (a tag
 * without a value gives ""), 0 if not, -1 if out is too small.
 */
int	 irc_tag_get(const char *tags, const char *key, char *out,
	    size_t outlen);

/* IRCv3 tag value escaping: "; \ CR LF space" <-> "\: \\ \r \n \s".
 * Both return the length written (excluding NUL) or -1 if out is too
 * small.  Unescape drops a lone trailing backslash and maps "\x" to "x". */
int	 irc_tag_escape(const char *in, char *out, size_t outlen);
int	 irc_tag_unescape(const char *in, char *out, size_t outlen);

#endif
