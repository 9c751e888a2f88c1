/*
 * link.c: what natter knows about the health of its link, as plain C
 * for the status bar (link_status) and for net.c, which owns the
 * socket: the lag, the retry countdown, and the faults that no retry
 * mends (a refused password, a ban, TLS spoken to a plain-text port or
 * plain text to a TLS port, a host that does not exist), each said in
 * one sentence that names what to change.
 *
 * The session fields read here are guarded by ui_lock, like the rest
 * of the model.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "natter.h"

/* The first bytes of a TLS record: content type, then major version 3. */
#define TLS_ALERT	0x15
#define TLS_HANDSHAKE	0x16
#define TLS_MAJOR	0x03

long long
link_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
link_lag(const struct session *s, long long now)
{
	long long age;
	int lag = s->lag_ms;

	if (s->link_state != LINK_UP && s->link_state != LINK_CONNECTING)
		return -1;
	/* An answer not yet come is at least this late. */
	if (s->ping_at != 0 && (age = now - s->ping_at) > lag)
		lag = age > INT_MAX ? INT_MAX : (int)age;
	return lag;
}

int
link_status(const struct session *s, long long now, char *out,
    size_t outlen)
{
	long long left;
	int lag, n;

	switch (s->link_state) {
	case LINK_CONNECTING:
		n = snprintf(out, outlen, " [connecting]");
		break;
	case LINK_WAIT:
		/* Whole seconds, rounded up: "retry in 1 s" until it is
		 * time, never "in 0 s" while still waiting. */
		left = s->retry_at - now;
		if (left < 0)
			left = 0;
		n = snprintf(out, outlen, " [disconnected, retry in %lld s]",
		    (left + 999) / 1000);
		break;
	case LINK_DOWN:
		n = snprintf(out, outlen, " [disconnected]");
		break;
	case LINK_UP:
	default:
		if ((lag = link_lag(s, now)) > LAG_SHOW_MS)
			n = snprintf(out, outlen, " [lag %d.%d s]",
			    lag / 1000, lag % 1000 / 100);
		else
			n = snprintf(out, outlen, "%s", "");
		break;
	}
	if (n < 0 || (size_t)n >= outlen)
		return outlen > 0 ? (int)strlen(out) : 0;
	return n;
}

int
link_plain_reply(const char *why)
{
	/* What OpenSSL says when the first "record" is text: its
	 * version bytes are letters, or its length is absurd. */
	static const char *const words[] = {
		"wrong version number",
		"packet length too long",
		"unknown protocol",
		"http request",
		"record layer failure",
		NULL
	};
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strstr(why, words[i]) != NULL)
			return 1;
	return 0;
}

int
link_tls_bytes(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;

	return len >= 2 && (p[0] == TLS_ALERT || p[0] == TLS_HANDSHAKE) &&
	    p[1] == TLS_MAJOR;
}

int
link_tls_error(const char *text)
{
	return strstr(text, "TLS only") != NULL ||
	    strstr(text, "SSL only") != NULL;
}

int
link_password_error(const char *text)
{
	return strcasestr(text, "password") != NULL;
}

void
link_fault_sentence(enum link_fault f, const char *label, const char *host,
    const char *text, int password, int tls_default, char *out,
    size_t outlen)
{
	static const char again[] = "Not retrying; /reconnect tries again.";

	switch (f) {
	case FAULT_PASSWORD:
		if (password)
			snprintf(out, outlen, "%s refused the server password: "
			    "check --password. %s", label, again);
		else
			snprintf(out, outlen, "%s asks for a server password: "
			    "give it with --password. %s", label, again);
		break;
	case FAULT_BANNED:
		snprintf(out, outlen, "%s has banned this connection%s%s%s: "
		    "ask its operators, or use another server. %s", label,
		    text[0] != '\0' ? " (" : "", text,
		    text[0] != '\0' ? ")" : "", again);
		break;
	case FAULT_NOT_TLS:
		if (tls_default)
			snprintf(out, outlen, "%s is not a TLS port: add "
			    "--no-tls (or use the server's TLS port). %s",
			    label, again);
		else
			snprintf(out, outlen, "%s is not a TLS port: leave out "
			    "--tls (or use the server's TLS port). %s", label,
			    again);
		break;
	case FAULT_TLS_PORT:
		snprintf(out, outlen, "%s is a TLS port: add --tls (or use "
		    "the server's plain-text port). %s", label, again);
		break;
	case FAULT_NO_HOST:
		snprintf(out, outlen, "There is no host called %s: check the "
		    "name (natter host[:port]). %s", host, again);
		break;
	case FAULT_NONE:
	default:
		snprintf(out, outlen, "%s", "");
		break;
	}
}
