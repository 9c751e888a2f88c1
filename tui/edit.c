/*
 * edit.c: the input line editor (wide characters, emacs keys, a kill
 * buffer) and the input history.  No curses: the UI feeds it keys and
 * reads buf back.  Guarded by ui_lock like the rest of the model.
 *
 * The cursor never rests between a base character and its combining
 * marks: motions and deletions treat a base plus the zero-width
 * characters after it as one unit, so "e" + U+0301 behaves like "é".
 *
 * Conversion to and from UTF-8 is done here rather than with wcrtomb:
 * the line goes onto the wire as UTF-8 whatever the terminal's locale,
 * and glibc's wchar_t is always UCS-4.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "natter.h"

static int
is_mark(wchar_t wc)
{
	/* Zero-width characters (combining marks, ZWJ) belong to the
	 * character before them. */
	return wc != 0 && wcwidth(wc) == 0;
}

/* Start of the character cluster before pos. */
static size_t
cluster_prev(const struct edit *e, size_t pos)
{
	if (pos == 0)
		return 0;
	pos--;
	while (pos > 0 && is_mark(e->buf[pos]))
		pos--;
	return pos;
}

/* End of the character cluster starting at pos. */
static size_t
cluster_next(const struct edit *e, size_t pos)
{
	if (pos >= e->len)
		return e->len;
	pos++;
	while (pos < e->len && is_mark(e->buf[pos]))
		pos++;
	return pos;
}

static int
is_word(wchar_t wc)
{
	return iswalnum((wint_t)wc) || is_mark(wc);
}

static void
delete_range(struct edit *e, size_t from, size_t to)
{
	if (from >= to || to > e->len)
		return;
	memmove(&e->buf[from], &e->buf[to], (e->len - to) * sizeof(wchar_t));
	e->len -= to - from;
	if (e->pos > to)
		e->pos -= to - from;
	else if (e->pos > from)
		e->pos = from;
}

/* Saves buf[from..to) in the kill buffer, then deletes it.  An empty
 * range keeps the previous kill, as emacs does. */
static void
kill_range(struct edit *e, size_t from, size_t to)
{
	if (from >= to)
		return;
	memcpy(e->kill, &e->buf[from], (to - from) * sizeof(wchar_t));
	e->killlen = to - from;
	delete_range(e, from, to);
}

static size_t
utf8_encode(wchar_t wc, char *out)
{
	unsigned long	c = (unsigned long)wc;

	if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Decodes one character of s[0..n); invalid or truncated sequences
 * give U+FFFD for one byte, so hostile history text cannot desync us.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, wchar_t *wc)
{
	unsigned long	c, min;
	size_t		need, i;

	if (s[0] < 0x80) {
		*wc = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		goto bad;
	if (n <= need)
		goto bad;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*wc = (wchar_t)c;
	return need + 1;
bad:
	*wc = 0xfffd;
	return 1;
}

void
edit_init(struct edit *e)
{
	/* nhist == histpos == 0: not browsing. */
	memset(e, 0, sizeof(*e));
}

void
edit_free(struct edit *e)
{
	int	i;

	for (i = 0; i < e->nhist; i++)
		free(e->hist[i]);
	free(e->draft);
	memset(e, 0, sizeof(*e));
}

int
edit_insert(struct edit *e, wchar_t wc)
{
	/* Control characters would reach the wire as CR/LF/NUL; mIRC
	 * codes are typed through the UI's own bindings, not here. */
	if (wc < 0x20 || (wc >= 0x7f && wc < 0xa0) ||
	    (wc >= 0xd800 && wc <= 0xdfff) || wc > 0x10ffff)
		return -1;
	if (e->len >= EDIT_MAX)
		return -1;
	memmove(&e->buf[e->pos + 1], &e->buf[e->pos],
	    (e->len - e->pos) * sizeof(wchar_t));
	e->buf[e->pos] = wc;
	e->len++;
	e->pos++;
	return 0;
}

static void
yank(struct edit *e)
{
	size_t	n = e->killlen;

	if (n > EDIT_MAX - e->len)
		n = EDIT_MAX - e->len;
	if (n == 0)
		return;
	memmove(&e->buf[e->pos + n], &e->buf[e->pos],
	    (e->len - e->pos) * sizeof(wchar_t));
	memcpy(&e->buf[e->pos], e->kill, n * sizeof(wchar_t));
	e->len += n;
	e->pos += n;
}

/* Emacs C-t: swap the characters around the cursor and move right; at
 * the end of the line, swap the last two. */
static void
transpose(struct edit *e)
{
	size_t	a, b, c, na, nb;
	wchar_t	tmp[EDIT_MAX];

	if (e->len < 2 || e->pos == 0)
		return;
	if (e->pos >= e->len)
		b = cluster_prev(e, e->len);
	else
		b = e->pos;
	if (b == 0)
		return;
	a = cluster_prev(e, b);
	c = cluster_next(e, b);
	na = b - a;
	nb = c - b;
	/* Swap clusters so combining marks stay with their base. */
	memcpy(tmp, &e->buf[a], na * sizeof(wchar_t));
	memmove(&e->buf[a], &e->buf[b], nb * sizeof(wchar_t));
	memcpy(&e->buf[a + nb], tmp, na * sizeof(wchar_t));
	e->pos = c;
}

static void
load_line(struct edit *e, const char *utf8)
{
	const unsigned char	*s = (const unsigned char *)utf8;
	size_t			 n = strlen(utf8), i = 0;
	wchar_t			 wc;

	e->len = 0;
	while (i < n && e->len < EDIT_MAX) {
		i += utf8_decode(s + i, n - i, &wc);
		/* History and callers are trusted less than the keyboard:
		 * never let a control character into the line. */
		if (wc < 0x20 || wc == 0x7f)
			wc = 0xfffd;
		e->buf[e->len++] = wc;
	}
	e->pos = e->len;
}

static void
hist_prev(struct edit *e)
{
	char	line[EDIT_MAX * 4 + 1];

	if (e->histpos <= 0 || e->nhist == 0)
		return;
	if (e->histpos >= e->nhist) {
		/* Leaving the live line: keep it to come back to. */
		edit_get(e, line, sizeof(line));
		free(e->draft);
		e->draft = strdup(line);
		e->histpos = e->nhist;
	}
	e->histpos--;
	load_line(e, e->hist[e->histpos]);
}

static void
hist_next(struct edit *e)
{
	if (e->histpos >= e->nhist)
		return;
	e->histpos++;
	if (e->histpos < e->nhist) {
		load_line(e, e->hist[e->histpos]);
		return;
	}
	load_line(e, e->draft != NULL ? e->draft : "");
	free(e->draft);
	e->draft = NULL;
}

void
edit_do(struct edit *e, enum edit_op op)
{
	size_t	p;

	switch (op) {
	case EDIT_HOME:
		e->pos = 0;
		break;
	case EDIT_END:
		e->pos = e->len;
		break;
	case EDIT_LEFT:
		e->pos = cluster_prev(e, e->pos);
		break;
	case EDIT_RIGHT:
		e->pos = cluster_next(e, e->pos);
		break;
	case EDIT_WORD_LEFT:
		p = e->pos;
		while (p > 0 && !is_word(e->buf[p - 1]))
			p--;
		while (p > 0 && is_word(e->buf[p - 1]))
			p--;
		e->pos = p;
		break;
	case EDIT_WORD_RIGHT:
		p = e->pos;
		while (p < e->len && !is_word(e->buf[p]))
			p++;
		while (p < e->len && is_word(e->buf[p]))
			p++;
		e->pos = p;
		break;
	case EDIT_BACKSPACE:
		delete_range(e, cluster_prev(e, e->pos), e->pos);
		break;
	case EDIT_DELETE:
		delete_range(e, e->pos, cluster_next(e, e->pos));
		break;
	case EDIT_KILL_END:
		kill_range(e, e->pos, e->len);
		break;
	case EDIT_KILL_START:
		kill_range(e, 0, e->pos);
		break;
	case EDIT_KILL_WORD:
		/* Unlike M-b, C-w stops only at whitespace (readline's
		 * unix-word-rubout), so "#room," goes in one stroke. */
		p = e->pos;
		while (p > 0 && iswspace((wint_t)e->buf[p - 1]))
			p--;
		while (p > 0 && !iswspace((wint_t)e->buf[p - 1]))
			p--;
		kill_range(e, p, e->pos);
		break;
	case EDIT_YANK:
		yank(e);
		break;
	case EDIT_TRANSPOSE:
		transpose(e);
		break;
	case EDIT_HIST_PREV:
		/* A password prompt has no history (and keeps no draft). */
		if (!e->secret)
			hist_prev(e);
		break;
	case EDIT_HIST_NEXT:
		if (!e->secret)
			hist_next(e);
		break;
	}
}

size_t
edit_get(const struct edit *e, char *out, size_t outlen)
{
	char	tmp[4];
	size_t	i, n, o = 0;

	if (outlen == 0)
		return 0;
	for (i = 0; i < e->len; i++) {
		n = utf8_encode(e->buf[i], tmp);
		/* Stop before a character that does not fit whole. */
		if (o + n >= outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

void
edit_set(struct edit *e, const char *utf8)
{
	load_line(e, utf8 != NULL ? utf8 : "");
}

void
edit_commit(struct edit *e)
{
	char	 line[EDIT_MAX * 4 + 1];
	char	*dup;

	edit_get(e, line, sizeof(line));
	if (e->secret || cmd_is_secret(line)) {
		/* A password: kept nowhere, not even in the kill buffer. */
		explicit_bzero(e->buf, sizeof(e->buf));
		explicit_bzero(e->kill, sizeof(e->kill));
		e->killlen = 0;
	} else if (line[0] != '\0' && (e->nhist == 0 ||
	    strcmp(e->hist[e->nhist - 1], line) != 0) &&
	    (dup = strdup(line)) != NULL) {
		if (e->nhist == HISTORY_MAX) {
			free(e->hist[0]);
			memmove(&e->hist[0], &e->hist[1],
			    (HISTORY_MAX - 1) * sizeof(e->hist[0]));
			e->nhist--;
		}
		e->hist[e->nhist++] = dup;
	}
	explicit_bzero(line, sizeof(line));
	e->len = 0;
	e->pos = 0;
	e->histpos = e->nhist;
	free(e->draft);
	e->draft = NULL;
}

int
edit_width(const struct edit *e, size_t from, size_t to)
{
	size_t	i;
	int	w, total = 0;

	if (to > e->len)
		to = e->len;
	for (i = from; i < to; i++) {
		w = wcwidth(e->buf[i]);
		/* Non-printables are drawn as one placeholder cell. */
		total += w < 0 ? 1 : w;
	}
	return total;
}
