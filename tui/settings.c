/*
 * settings.c: /set, the settings a user changes while natter runs.  A
 * table of settings, each reading and writing one session field; the
 * caller (natter.c) holds ui_lock, as for the rest of the model.
 */
#include <stdio.h>
#include <string.h>

#include "natter.h"

#define SETTING_VALUE_MAX	64

struct setting {
	const char	*name;
	/* The value as /set shows it. */
	void		(*get)(const struct session *, char *, size_t);
	/* 0, or -1 for a bad value. */
	int		(*put)(struct session *, const char *);
	const char	*values;	/* what it takes, for errors */
};

static void
notify_get(const struct session *s, char *out, size_t outlen)
{
	notify_names(s->notify, out, outlen);
}

static int
notify_put(struct session *s, const char *v)
{
	unsigned bits;

	if (notify_parse(v, &bits) == -1)
		return -1;
	s->notify = bits;
	return 0;
}

static void
nicklist_get(const struct session *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", s->nicklist < 0 ? "auto" :
	    s->nicklist ? "on" : "off");
}

static int
nicklist_put(struct session *s, const char *v)
{
	if (strcmp(v, "auto") == 0)
		s->nicklist = -1;
	else if (strcmp(v, "on") == 0)
		s->nicklist = 1;
	else if (strcmp(v, "off") == 0)
		s->nicklist = 0;
	else
		return -1;
	return 0;
}

static void
prefixes_get(const struct session *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", s->show_prefixes ? "on" : "off");
}

static int
prefixes_put(struct session *s, const char *v)
{
	if (strcmp(v, "on") == 0)
		s->show_prefixes = 1;
	else if (strcmp(v, "off") == 0)
		s->show_prefixes = 0;
	else
		return -1;
	return 0;
}

/* In the order /set lists them. */
static const struct setting settings[] = {
	{ "notify", notify_get, notify_put,
	    "a list of bell, osc777, osc9, title, or none" },
	{ "nicklist", nicklist_get, nicklist_put, "on, off or auto" },
	{ "prefixes", prefixes_get, prefixes_put, "on or off" },
};
#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))
#define SETTING_NAMES	"notify, nicklist, prefixes"	/* for errors */

int
settings_set(struct session *s, const char *args, char *msg, size_t msglen)
{
	char		 name[32], value[SETTING_VALUE_MAX];
	const char	*p;
	size_t		 i, n, len = 0;
	int		 k;

	while (*args == ' ')
		args++;
	if (*args == '\0') {
		msg[0] = '\0';
		for (i = 0; i < NSETTINGS; i++) {
			settings[i].get(s, value, sizeof(value));
			k = snprintf(msg + len, msglen - len, "%s%s = %s",
			    i > 0 ? "\n" : "", settings[i].name, value);
			if (k < 0 || (size_t)k >= msglen - len)
				break;
			len += (size_t)k;
		}
		return 0;
	}
	n = strcspn(args, " ");
	p = args + n;
	while (*p == ' ')
		p++;
	for (i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].name) == n &&
		    strncmp(settings[i].name, args, n) == 0)
			break;
	if (i == NSETTINGS || n >= sizeof(name)) {
		snprintf(msg, msglen, "/set: no setting %.*s (there are %s)",
		    (int)(n < sizeof(name) ? n : sizeof(name) - 1), args,
		    SETTING_NAMES);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)n, args);
	if (*p != '\0') {
		n = strlen(p);
		if (p[strcspn(p, " ")] != '\0' || n >= sizeof(value) ||
		    settings[i].put(s, p) == -1) {
			snprintf(msg, msglen, "/set %s %.*s: use %s", name,
			    (int)(n < sizeof(value) ? n : sizeof(value) - 1),
			    p, settings[i].values);
			return -1;
		}
		s->dirty = 1;
	}
	settings[i].get(s, value, sizeof(value));
	snprintf(msg, msglen, "%s = %s", name, value);
	return 0;
}
