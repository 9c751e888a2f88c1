/*
 * wrap.c: display width of message text and word wrap by columns, for
 * the scrollback.  Widths come from wcwidth in the process locale (main
 * calls setlocale); mIRC codes take no columns.
 */
#include <string.h>
#include <wchar.h>

#include "natter.h"

/*
 * Decodes the character at s[0..len) into *w columns.  Returns its byte
 * length; an invalid or truncated sequence is one byte shown as U+FFFD
 * (one column); a zero-width character reports 0.
 */
static size_t
char_width(const char *s, size_t len, int *w)
{
	mbstate_t	ps;
	wchar_t		wc;
	size_t		n;
	int		cw;

	memset(&ps, 0, sizeof(ps));
	n = mbrtowc(&wc, s, len, &ps);
	if (n == (size_t)-1 || n == (size_t)-2) {
		*w = 1;
		return 1;
	}
	if (n == 0) {
		/* An embedded NUL: only reachable with len past the
		 * string; give it a cell and move on. */
		*w = 1;
		return 1;
	}
	cw = wcwidth(wc);
	/* Non-printables are drawn as one placeholder cell. */
	*w = cw < 0 ? 1 : cw;
	return n;
}

int
text_width(const char *s, size_t len)
{
	struct mirc_style	st;
	size_t			i = 0, n;
	int			w, total = 0;

	mirc_reset(&st);
	while (i < len) {
		if ((n = mirc_code(s + i, len - i, &st)) > 0) {
			i += n;
			continue;
		}
		i += char_width(s + i, len - i, &w);
		total += w;
	}
	return total;
}

int
wrap_rows(const char *s, size_t len, int width, int indent,
    size_t *starts, int maxrows)
{
	struct mirc_style	st;
	size_t			p = 0, n, rowstart = 0, brk = 0, next;
	int			rows = 1, avail, col = 0, w;

	mirc_reset(&st);
	if (maxrows < 1)
		maxrows = 1;
	avail = width < 1 ? 1 : width;
	starts[0] = 0;
	while (p < len) {
		if ((n = mirc_code(s + p, len - p, &st)) > 0) {
			p += n;
			continue;
		}
		if (s[p] == '\n') {
			/* A multiline message's line break: a row of its
			 * own, indentation kept. */
			if (rows == maxrows)
				break;
			starts[rows++] = ++p;
			rowstart = p;
			brk = 0;
			col = 0;
			avail = width - indent < 1 ? 1 : width - indent;
			continue;
		}
		n = char_width(s + p, len - p, &w);
		/* A zero-width character never overflows, so a base is
		 * never parted from its combining marks.  col > 0: a
		 * character wider than the row still gets a row. */
		if (col + w > avail && col > 0) {
			if (rows == maxrows)
				break;
			if (s[p] != ' ' && brk > rowstart)
				next = brk;	/* after the row's last space */
			else
				next = p;
			while (next < len && s[next] == ' ')
				next++;
			if (next >= len)
				break;		/* only spaces were left */
			starts[rows++] = next;
			rowstart = next;
			brk = 0;
			p = next;
			col = 0;
			avail = width - indent < 1 ? 1 : width - indent;
			continue;
		}
		col += w;
		p += n;
		if (s[p - n] == ' ')
			brk = p;
	}
	return rows;
}
