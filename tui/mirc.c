/*
 * mirc.c: mIRC formatting codes (bold, colours, ...), parsed one code at
 * a time so the UI can draw styled runs and wrap.c can skip them as zero
 * width.  Pure functions, no state of their own.
 */
#include <ctype.h>
#include <string.h>

#include "natter.h"

void
mirc_reset(struct mirc_style *st)
{
	st->attrs = 0;
	st->fg = -1;
	st->bg = -1;
}

/* Up to two digits at s[0..len) into *val; returns the digits taken. */
static size_t
digits2(const char *s, size_t len, int *val)
{
	size_t	n = 0;

	*val = 0;
	while (n < 2 && n < len && isdigit((unsigned char)s[n])) {
		*val = *val * 10 + (s[n] - '0');
		n++;
	}
	return n;
}

/* 99 means "default" in the mIRC palette extension. */
static int
colour_value(int v)
{
	return v >= 99 ? -1 : v;
}

static size_t
hex6(const char *s, size_t len)
{
	size_t	n;

	if (len < 6)
		return 0;
	for (n = 0; n < 6; n++)
		if (!isxdigit((unsigned char)s[n]))
			return 0;
	return 6;
}

size_t
mirc_code(const char *s, size_t len, struct mirc_style *st)
{
	size_t	n, m;
	int	fg, bg;

	if (len == 0)
		return 0;
	switch (s[0]) {
	case 0x02:
		st->attrs ^= MIRC_BOLD;
		return 1;
	case 0x1d:
		st->attrs ^= MIRC_ITALIC;
		return 1;
	case 0x1f:
		st->attrs ^= MIRC_UNDERLINE;
		return 1;
	case 0x1e:
		st->attrs ^= MIRC_STRIKE;
		return 1;
	case 0x11:
		st->attrs ^= MIRC_MONOSPACE;
		return 1;
	case 0x16:
	case 0x12:
		st->attrs ^= MIRC_REVERSE;
		return 1;
	case 0x06:
	case 0x18:
		/* Blink and the rarely used ^X: taken out, not drawn. */
		return 1;
	case 0x0f:
		mirc_reset(st);
		return 1;
	case 0x03:
		n = 1 + digits2(s + 1, len - 1, &fg);
		if (n == 1) {
			/* ^C alone ends colouring. */
			st->fg = -1;
			st->bg = -1;
			return 1;
		}
		st->fg = colour_value(fg);
		/* A comma is part of the code only when a digit follows:
		 * "^C4,hello" keeps its comma as text. */
		if (n < len && s[n] == ',' &&
		    (m = digits2(s + n + 1, len - n - 1, &bg)) > 0) {
			st->bg = colour_value(bg);
			n += 1 + m;
		}
		return n;
	case 0x04:
		/* Hex (24-bit) colour: we have no palette for it, so it
		 * shows as default colours rather than as garbage. */
		n = 1;
		if ((m = hex6(s + n, len - n)) > 0) {
			n += m;
			if (n < len && s[n] == ',' &&
			    (m = hex6(s + n + 1, len - n - 1)) > 0)
				n += 1 + m;
		}
		st->fg = -1;
		st->bg = -1;
		return n;
	default:
		return 0;
	}
}

size_t
mirc_strip(const char *in, char *out, size_t outlen)
{
	struct mirc_style	st;
	size_t			len = strlen(in), i = 0, o = 0, n, want;
	unsigned char		lead;

	if (outlen == 0)
		return 0;
	mirc_reset(&st);
	while (i < len) {
		if ((n = mirc_code(in + i, len - i, &st)) > 0) {
			i += n;
			continue;
		}
		if (o + 1 >= outlen)
			break;
		out[o++] = in[i++];
	}
	/* Cut short: do not leave half a UTF-8 character at the end. */
	if (i < len && o > 0) {
		n = o;
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 &&
		    ((lead = (unsigned char)out[n - 1]) & 0xc0) == 0xc0) {
			want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
			if (o - (n - 1) < want)
				o = n - 1;
		}
	}
	out[o] = '\0';
	return o;
}
