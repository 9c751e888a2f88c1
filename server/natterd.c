/*
 * natterd.c: main, flags, listeners, the signal thread and the accept
 * loop.  The main thread accepts and starts one detached thread per
 * connection; it owns the listening sockets and the stop pipe.  struct
 * server and its lock live here (natterd.h documents the lock order).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natterd.h"

#define LISTEN_MAX	8
#define CLIENT_SNDBUF	65536	/* the kernel doubles it */

struct server	 server = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER,
};
struct config	 config = {
	.port = "6667",
	.network = "natter",
	.max_clients = 10000,
	.max_per_ip = 50,
	.sendq = 262144,
	.reg_timeout = 30,
	.ping_interval = 90,
	.ping_timeout = 120,
	.history_lines = 50,
};

static int	 listeners[LISTEN_MAX];
static int	 nlisteners;
static int	 stop_pipe[2] = { -1, -1 };

enum {
	OPT_NETWORK = 256, OPT_PASSWORD, OPT_PASSWORD_FILE, OPT_OPER,
	OPT_OPER_FILE, OPT_HASH_PASSWORD, OPT_MOTD, OPT_MAX_CLIENTS,
	OPT_MAX_PER_IP, OPT_SENDQ, OPT_REG_TIMEOUT, OPT_PING_INTERVAL,
	OPT_PING_TIMEOUT, OPT_DB, OPT_HISTORY_LINES, OPT_HISTORY_DAYS,
	OPT_HISTORY_MAX
};

static const struct option long_options[] = {
	{ "listen",		required_argument, NULL, 'l' },
	{ "port",		required_argument, NULL, 'p' },
	{ "server-name",	required_argument, NULL, 'n' },
	{ "network",		required_argument, NULL, OPT_NETWORK },
	{ "password",		required_argument, NULL, OPT_PASSWORD },
	{ "password-file",	required_argument, NULL, OPT_PASSWORD_FILE },
	{ "oper",		required_argument, NULL, OPT_OPER },
	{ "oper-file",		required_argument, NULL, OPT_OPER_FILE },
	{ "hash-password",	no_argument,	   NULL, OPT_HASH_PASSWORD },
	{ "motd",		required_argument, NULL, OPT_MOTD },
	{ "max-clients",	required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-per-ip",		required_argument, NULL, OPT_MAX_PER_IP },
	{ "sendq",		required_argument, NULL, OPT_SENDQ },
	{ "reg-timeout",	required_argument, NULL, OPT_REG_TIMEOUT },
	{ "ping-interval",	required_argument, NULL, OPT_PING_INTERVAL },
	{ "ping-timeout",	required_argument, NULL, OPT_PING_TIMEOUT },
	{ "db",			required_argument, NULL, OPT_DB },
	{ "history-lines",	required_argument, NULL, OPT_HISTORY_LINES },
	{ "history-days",	required_argument, NULL, OPT_HISTORY_DAYS },
	{ "history-max",	required_argument, NULL, OPT_HISTORY_MAX },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL,			0,		   NULL, 0 }
};

static const char synopsis[] =
    "usage: natterd [-hVv] [-l addr] [-p port] [-n name] [--network name]\n"
    "               [--password pass | --password-file file]\n"
    "               [--oper name:password] [--oper-file file] [--motd file]\n"
    "               [--max-clients n] [--max-per-ip n] [--sendq bytes]\n"
    "               [--reg-timeout sec] [--ping-interval sec]\n"
    "               [--ping-timeout sec] [--db path] [--history-lines n]\n"
    "               [--history-days n] [--history-max n]\n"
    "       natterd --hash-password\n";

static const char options_help[] =
    "\n"
    "  -l, --listen ADDR        address to listen on (default: all interfaces,\n"
    "                           IPv4 and IPv6)\n"
    "  -p, --port PORT          TCP port (default 6667)\n"
    "  -n, --server-name NAME   server name shown to clients (default: the host\n"
    "                           name)\n"
    "      --network NAME       network name in ISUPPORT (default natter)\n"
    "      --password PASS      server password clients must send with PASS\n"
    "                           (default: none)\n"
    "      --password-file FILE read the server password from the first line\n"
    "                           of FILE\n"
    "      --oper NAME:PASSWORD add an IRC operator (repeatable)\n"
    "      --oper-file FILE     operators, one \"NAME HASH\" a line (crypt(3)\n"
    "                           SHA-512 or yescrypt hashes)\n"
    "      --hash-password      read a password from standard input, print its\n"
    "                           hash for --oper-file, and exit\n"
    "      --motd FILE          message of the day (default: none)\n"
    "      --max-clients N      most connections at once (default 10000)\n"
    "      --max-per-ip N       most connections from one IP address, 0 = no\n"
    "                           limit (default 50)\n"
    "      --sendq BYTES        output queued for one client before it is\n"
    "                           disconnected (default 262144)\n"
    "      --reg-timeout SECONDS   time allowed to register (default 30)\n"
    "      --ping-interval SECONDS idle time before the server sends PING\n"
    "                              (default 90)\n"
    "      --ping-timeout SECONDS  time to answer that PING before disconnect\n"
    "                              (default 120)\n"
    "      --db PATH            history database, or :memory: to keep\n"
    "                           nothing (default:\n"
    "                           $XDG_STATE_HOME/natterd/history.db, else\n"
    "                           ~/.local/state/natterd/history.db)\n"
    "      --history-lines N    lines replayed to a client joining a room\n"
    "                           (default 50)\n"
    "      --history-days N     forget lines older than N days, 0 = keep\n"
    "                           forever (default 0)\n"
    "      --history-max N      keep at most N lines per room or private\n"
    "                           conversation, 0 = no limit (default 0)\n"
    "  -v, --verbose            more logging; repeat for more (-v debug, -vv\n"
    "                           every line)\n"
    "  -h, --help               print this help and exit\n"
    "  -V, --version            print the version and exit\n";

static _Noreturn void
usage(void)
{
	fputs(synopsis, stderr);
	exit(2);
}

static long long
number(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "natterd: %s: invalid value '%s' (expected "
		    "%lld to %lld)\n", opt, s, min, max);
		usage();
	}
	return v;
}

/* Reads the first line of path into a new string, or exits 1. */
static char *
read_first_line(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((n = getline(&line, &cap, f)) == -1)
		errx(1, "%s: empty file", path);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void
add_cli_oper(const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct oper *o;

	if (colon == NULL || colon == arg || colon[1] == '\0') {
		fprintf(stderr, "natterd: --oper: expected NAME:PASSWORD\n");
		usage();
	}
	o = reallocarray(config.cli_opers, (size_t)config.ncli_opers + 1,
	    sizeof(*o));
	if (o == NULL)
		err(1, "--oper");
	config.cli_opers = o;
	o = &config.cli_opers[config.ncli_opers++];
	if ((o->name = strndup(arg, (size_t)(colon - arg))) == NULL ||
	    (o->secret = strdup(colon + 1)) == NULL)
		err(1, "--oper");
	o->hashed = 0;
}

static int
hash_password(void)
{
	char *line = NULL, out[256];
	size_t cap = 0;
	ssize_t n;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Password: ");
	if ((n = getline(&line, &cap, stdin)) == -1)
		errx(1, "no password on standard input");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0)
		errx(1, "empty password");
	if (oper_hash(line, out, sizeof(out)) == -1)
		err(1, "crypt");
	explicit_bzero(line, cap);
	free(line);
	printf("%s\n", out);
	return 0;
}

static void
listen_on(struct addrinfo *ai)
{
	char host[NI_MAXHOST];
	int fd, one = 1;

	if (nlisteners == LISTEN_MAX)
		return;
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1) {
		/* A host without IPv6 still serves IPv4. */
		if (errno == EAFNOSUPPORT)
			return;
		err(1, "socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno == EADDRINUSE)
			errx(1, "cannot listen on %s port %s: address already "
			    "in use", host, config.port);
		if (errno == EADDRNOTAVAIL && config.listen == NULL) {
			close(fd);
			return;
		}
		err(1, "cannot listen on %s port %s", host, config.port);
	}
	if (listen(fd, 1024) == -1)
		err(1, "listen on %s port %s", host, config.port);
	listeners[nlisteners++] = fd;
}

/* Logged once everything opened, so a start-up error is the only line. */
static void
log_listeners(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[NI_MAXHOST];
	int i;

	for (i = 0; i < nlisteners; i++) {
		len = sizeof(ss);
		if (getsockname(listeners[i], (struct sockaddr *)&ss,
		    &len) == -1 || getnameinfo((struct sockaddr *)&ss, len,
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(host, sizeof(host), "?");
		log_info("listening on %s port %s", host, config.port);
	}
}

static void
open_listeners(void)
{
	struct addrinfo hints, *res, *ai;
	const char *hosts[2] = { "::", "0.0.0.0" };
	int i, n, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	n = config.listen != NULL ? 1 : 2;
	if (config.listen != NULL)
		hosts[0] = config.listen;
	for (i = 0; i < n; i++) {
		if ((rc = getaddrinfo(hosts[i], config.port, &hints, &res)) != 0)
			errx(1, "%s: %s", hosts[i], gai_strerror(rc));
		for (ai = res; ai != NULL; ai = ai->ai_next)
			listen_on(ai);
		freeaddrinfo(res);
	}
	if (nlisteners == 0)
		errx(1, "no address to listen on");
}

void
server_stop(const char *why)
{
	char byte = 0;

	log_info("stopping: %s", why);
	pthread_mutex_lock(&server.lock);
	server.stopping = 1;
	pthread_mutex_unlock(&server.lock);
	/* A pipe write is async-signal-safe and wakes the accept poll. */
	(void)write(stop_pipe[1], &byte, 1);
}

static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	pthread_setname_np(pthread_self(), "natterd-signal");
	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading");
			config_reload();
		} else {
			server_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return NULL;
		}
	}
}

static void
wake_handler(int sig)
{
	(void)sig;
}

/* Says why a connection is refused, then closes it. */
static void
refuse(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void
accept_one(int lfd, pthread_attr_t *attr)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char ip[NI_MAXHOST];
	const char *shown;
	struct client *c;
	uintptr_t n;
	int fd, rc, one = 1, sndbuf = CLIENT_SNDBUF;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("accept");
			poll(NULL, 0, 100);
		}
		return;
	}
	if (getnameinfo((struct sockaddr *)&ss, sslen, ip, sizeof(ip), NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(ip, sizeof(ip), "unknown");
	shown = strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A fixed kernel buffer: autotuning would let a stalled reader's
	 * socket absorb megabytes, so the SendQ would never be reached. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	pthread_mutex_lock(&server.lock);
	if (server.nclients >= config.max_clients) {
		pthread_mutex_unlock(&server.lock);
		log_info("%s refused: server full", shown);
		refuse(fd, "ERROR :Server full\r\n");
		return;
	}
	n = (uintptr_t)map_get(server.ips, shown);
	if (config.max_per_ip > 0 && n >= config.max_per_ip) {
		pthread_mutex_unlock(&server.lock);
		log_info("%s refused: too many connections", shown);
		refuse(fd, "ERROR :Too many connections from your IP\r\n");
		return;
	}
	if ((c = client_new(fd, shown)) == NULL ||
	    map_put(server.ips, shown, (void *)(n + 1)) == -1) {
		pthread_mutex_unlock(&server.lock);
		free(c);
		refuse(fd, "ERROR :Server out of memory\r\n");
		return;
	}
	if ((rc = pthread_create(&c->thread, attr, client_main, c)) != 0) {
		if (n == 0)
			map_del(server.ips, shown);
		else
			map_put(server.ips, shown, (void *)n);
		pthread_mutex_unlock(&server.lock);
		log_warnx("pthread_create: %s", strerror(rc));
		frame_free(&c->frame);
		pthread_mutex_destroy(&c->out_lock);
		free(c);
		refuse(fd, "ERROR :Server full\r\n");
		return;
	}
	c->next = server.clients;
	if (server.clients != NULL)
		server.clients->prev = c;
	server.clients = c;
	server.nclients++;
	pthread_mutex_unlock(&server.lock);
	log_debug("%s connected", shown);
}

/* Tells every client goodbye and waits up to 1.5 s for them to go.
 * Returns how many are still closing. */
static unsigned
drain_clients(void)
{
	struct timespec deadline;
	struct client *c;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 500000000L;
	deadline.tv_sec += 1 + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&server.lock);
	for (c = server.clients; c != NULL; c = c->next)
		client_kill(c, "Server shutting down");
	while (server.nclients > 0)
		if (pthread_cond_timedwait(&server.drained, &server.lock,
		    &deadline) != 0)
			break;
	left = server.nclients;
	pthread_mutex_unlock(&server.lock);
	if (left > 0)
		log_warnx("%u clients still closing at exit", left);
	return left;
}

/* Opens the history store, or exits 1 with the reason in one line. */
static void
open_history(void)
{
	char path[PATH_MAX], why[512];

	if (config.db_path == NULL) {
		if (store_default_path(path, sizeof(path)) == -1)
			errx(1, "no place for the history database: set "
			    "XDG_STATE_HOME or HOME, or use --db");
		config.db_path = path;
	}
	if (store_open(config.db_path, config.history_days,
	    config.history_max, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	log_info("history in %s", config.db_path);
	if (config.db_path == path)
		config.db_path = NULL;	/* path goes out of scope */
}

static void
server_init(void)
{
	struct tm tm;

	server.nicks = map_new();
	server.rooms = map_new();
	server.ips = map_new();
	if (server.nicks == NULL || server.rooms == NULL || server.ips == NULL)
		err(1, "map_new");
	server.started = time(NULL);
	gmtime_r(&server.started, &tm);
	strftime(server.created, sizeof(server.created),
	    "%a %b %d %Y at %H:%M:%S UTC", &tm);
}

int
main(int argc, char *argv[])
{
	struct pollfd pfd[LISTEN_MAX + 1];
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t sigthread;
	struct rlimit rl;
	sigset_t set;
	int ch, i, n, rc, verbose = 0;

	while ((ch = getopt_long(argc, argv, "hl:n:p:Vv", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			config.listen = optarg;
			break;
		case 'p':
			number("--port", optarg, 1, 65535);
			config.port = optarg;
			break;
		case 'n':
			if (optarg[0] == '\0' || strlen(optarg) >=
			    sizeof(config.server_name) ||
			    strpbrk(optarg, " :,*?!@") != NULL ||
			    strchr(optarg, '.') == NULL) {
				fprintf(stderr, "natterd: --server-name: '%s' "
				    "must look like a host name with a dot\n",
				    optarg);
				usage();
			}
			snprintf(config.server_name,
			    sizeof(config.server_name), "%s", optarg);
			break;
		case OPT_NETWORK:
			if (optarg[0] == '\0' || strpbrk(optarg, " :,") != NULL) {
				fprintf(stderr, "natterd: --network: '%s' must "
				    "be one word\n", optarg);
				usage();
			}
			config.network = optarg;
			break;
		case OPT_PASSWORD:
			free(config.password);
			if ((config.password = strdup(optarg)) == NULL)
				err(1, NULL);
			break;
		case OPT_PASSWORD_FILE:
			free(config.password);
			config.password = read_first_line(optarg);
			break;
		case OPT_OPER:
			add_cli_oper(optarg);
			break;
		case OPT_OPER_FILE:
			config.oper_file = optarg;
			break;
		case OPT_HASH_PASSWORD:
			return hash_password();
		case OPT_MOTD:
			config.motd_file = optarg;
			break;
		case OPT_MAX_CLIENTS:
			config.max_clients = (unsigned)number("--max-clients",
			    optarg, 1, 1000000);
			break;
		case OPT_MAX_PER_IP:
			config.max_per_ip = (unsigned)number("--max-per-ip",
			    optarg, 0, 1000000);
			break;
		case OPT_SENDQ:
			config.sendq = (size_t)number("--sendq", optarg, 1024,
			    1LL << 30);
			break;
		case OPT_REG_TIMEOUT:
			config.reg_timeout = (int)number("--reg-timeout",
			    optarg, 1, 86400);
			break;
		case OPT_PING_INTERVAL:
			config.ping_interval = (int)number("--ping-interval",
			    optarg, 1, 86400);
			break;
		case OPT_PING_TIMEOUT:
			config.ping_timeout = (int)number("--ping-timeout",
			    optarg, 1, 86400);
			break;
		case OPT_DB:
			config.db_path = optarg;
			break;
		case OPT_HISTORY_LINES:
			config.history_lines = (int)number("--history-lines",
			    optarg, 0, CHATHISTORY_MAX * 10);
			break;
		case OPT_HISTORY_DAYS:
			config.history_days = (int)number("--history-days",
			    optarg, 0, 365000);
			break;
		case OPT_HISTORY_MAX:
			config.history_max = (int)number("--history-max",
			    optarg, 0, 1000000000);
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(synopsis, stdout);
			fputs(options_help, stdout);
			return 0;
		case 'V':
			printf("%s\n", NATTERD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "natterd: unexpected argument '%s'\n",
		    argv[optind]);
		usage();
	}
	if (config.password != NULL && config.password[0] == '\0') {
		fprintf(stderr, "natterd: the server password is empty\n");
		usage();
	}
	if (config.server_name[0] == '\0') {
		if (gethostname(config.server_name,
		    sizeof(config.server_name)) == -1 ||
		    config.server_name[0] == '\0' ||
		    strpbrk(config.server_name, " :,*?!@") != NULL)
			snprintf(config.server_name,
			    sizeof(config.server_name), "natter.local");
		/* Clients tell a server from a nick by the dot. */
		if (strchr(config.server_name, '.') == NULL) {
			n = (int)strlen(config.server_name);
			snprintf(config.server_name + n,
			    sizeof(config.server_name) - (size_t)n, ".local");
		}
	}
	log_init("natterd", verbose >= 2 ? LOG_LVL_TRACE :
	    verbose == 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	server_init();
	if (config_reload() == -1)
		errx(1, "cannot load %s", config.motd_file != NULL &&
		    access(config.motd_file, R_OK) != 0 ? config.motd_file :
		    config.oper_file != NULL ? config.oper_file : "config");

	/* Each client costs one descriptor; take all the kernel allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	/* Every thread inherits this mask: signals go to signal_main, and
	 * SIGUSR1 is unblocked only inside a client's ppoll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		errx(1, "pthread_sigmask: %s", strerror(rc));
	sigdelset(&set, SIGUSR1);
	/* The port first: "address already in use" is the likelier
	 * mistake, and it must be the one line printed. */
	open_listeners();
	open_history();
	log_listeners();
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		err(1, "pipe");

	if ((rc = pthread_create(&sigthread, NULL, signal_main, &set)) != 0)
		errx(1, "pthread_create: %s", strerror(rc));
	pthread_detach(sigthread);

	if ((rc = pthread_attr_init(&attr)) != 0 ||
	    (rc = pthread_attr_setdetachstate(&attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (rc = pthread_attr_setstacksize(&attr, NATTERD_STACK_SIZE)) != 0)
		errx(1, "pthread_attr: %s", strerror(rc));

	log_info("%s started as %s", NATTERD_VERSION, config.server_name);
	for (i = 0; i < nlisteners; i++) {
		pfd[i].fd = listeners[i];
		pfd[i].events = POLLIN;
	}
	pfd[nlisteners].fd = stop_pipe[0];
	pfd[nlisteners].events = POLLIN;
	for (;;) {
		if ((n = poll(pfd, (nfds_t)nlisteners + 1, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[nlisteners].revents != 0)
			break;
		for (i = 0; i < nlisteners; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(listeners[i], &attr);
	}

	for (i = 0; i < nlisteners; i++)
		close(listeners[i]);
	if (drain_clients() == 0)
		config_unload();
	store_close();
	pthread_attr_destroy(&attr);
	log_info("stopped");
	return 0;
}
