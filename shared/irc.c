/*
 * irc.c: IRC message parsing (RFC 1459/2812 framing of one line into
 * tags, prefix, command and params) and IRCv3 message-tags value
 * escaping.  The parser splits the caller's buffer in place and never
 * allocates, so a parsed message lives exactly as long as its line.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "irc.h"

static char	*irc_skip_spaces(char *);
static char	*irc_cut_field(char *);
static int	 irc_unescape_n(const char *, size_t, char *, size_t);

static char *
irc_skip_spaces(char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/*
 * Terminates the field starting at p and returns where the next one may
 * start, or NULL when the field ran to the end of the line.
 */
static char *
irc_cut_field(char *p)
{
	char	*sp;

	if ((sp = strchr(p, ' ')) == NULL)
		return NULL;
	*sp = '\0';
	return irc_skip_spaces(sp + 1);
}

int
irc_parse(char *line, struct irc_msg *msg)
{
	char	*p;

	memset(msg, 0, sizeof(*msg));
	/* Leading spaces are tolerated: they only separate empty fields. */
	p = irc_skip_spaces(line);

	if (*p == '@') {
		msg->tags = p + 1;
		/* Tags with nothing after them cannot carry a command. */
		if ((p = irc_cut_field(p)) == NULL)
			goto bad;
	}
	if (*p == ':') {
		msg->prefix = p + 1;
		if ((p = irc_cut_field(p)) == NULL)
			goto bad;
	}
	if (*p == '\0')
		goto bad;
	msg->command = p;
	p = irc_cut_field(p);

	while (p != NULL && *p != '\0') {
		if (*p == ':') {
			msg->params[msg->nparams++] = p + 1;
			msg->trailing = 1;
			break;
		}
		if (msg->nparams == IRC_PARAMS_MAX - 1) {
			/*
			 * RFC 2812 allows the trailing colon to be omitted
			 * on the 15th param, which then takes the rest of
			 * the line, spaces and all.
			 */
			msg->params[msg->nparams++] = p;
			break;
		}
		msg->params[msg->nparams++] = p;
		p = irc_cut_field(p);
	}
	return 0;

bad:
	memset(msg, 0, sizeof(*msg));
	errno = EINVAL;
	return -1;
}

/*
 * Unescapes the n bytes at in (which need not be NUL-terminated, so a
 * value can be decoded straight out of a tag string).
 */
static int
irc_unescape_n(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;
	char	 c;

	if (outlen == 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == '\\') {
			/* A lone trailing backslash is dropped per spec. */
			if (++i == n)
				break;
			switch (in[i]) {
			case ':':
				c = ';';
				break;
			case 's':
				c = ' ';
				break;
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			default:
				/* "\\" and any unknown "\x" both give x. */
				c = in[i];
				break;
			}
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	if (o > INT_MAX)
		return -1;
	return (int)o;
}

int
irc_tag_get(const char *tags, const char *key, char *out, size_t outlen)
{
	const char	*p, *end, *eq, *found = NULL, *fend = NULL;
	size_t		 klen, nlen;

	klen = strlen(key);
	if (klen == 0)
		return 0;
	for (p = tags; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		nlen = (size_t)((eq != NULL ? eq : end) - p);
		/*
		 * The message-tags spec says the last of duplicate keys
		 * wins, so keep scanning after a hit.
		 */
		if (nlen == klen && memcmp(p, key, klen) == 0) {
			found = eq != NULL ? eq + 1 : end;
			fend = end;
		}
	}
	if (found == NULL)
		return 0;
	if (irc_unescape_n(found, (size_t)(fend - found), out, outlen) == -1)
		return -1;
	return 1;
}

int
irc_tag_escape(const char *in, char *out, size_t outlen)
{
	size_t		 o = 0, need;
	const char	*rep;
	char		 one[2];

	if (outlen == 0)
		return -1;
	for (; *in != '\0'; in++) {
		switch (*in) {
		case ';':
			rep = "\\:";
			break;
		case ' ':
			rep = "\\s";
			break;
		case '\\':
			rep = "\\\\";
			break;
		case '\r':
			rep = "\\r";
			break;
		case '\n':
			rep = "\\n";
			break;
		default:
			one[0] = *in;
			one[1] = '\0';
			rep = one;
			break;
		}
		need = strlen(rep);
		if (o + need >= outlen)
			return -1;
		memcpy(out + o, rep, need);
		o += need;
	}
	out[o] = '\0';
	if (o > INT_MAX)
		return -1;
	return (int)o;
}

int
irc_tag_unescape(const char *in, char *out, size_t outlen)
{
	return irc_unescape_n(in, strlen(in), out, outlen);
}
