/*
 * natterd.c: main, flags, listeners, the signal thread and the accept
 * loop.  The main thread accepts and starts one detached thread per
 * connection; it owns the listening sockets and the stop pipe.  struct
 * server and its lock live here (natterd.h documents the lock order).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

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

#include <grp.h>
#include <pwd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "log.h"
#include "natterd.h"
#include "tls.h"

#define LISTEN_MAX	8
#define CLIENT_SNDBUF	65536	/* the kernel doubles it */
#define ACCEPT_BATCH	64	/* connections accepted per poll wake-up */

struct server	 server = {
	/* Writers first: a stream of messages (readers) never keeps a
	 * JOIN or NICK (writers) waiting for long. */
	.lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP,
	.drain_lock = PTHREAD_MUTEX_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER,
};
/* The help file make install puts in the data folder (Makefile). */
#ifndef NATTERD_HELP_FILE
#define NATTERD_HELP_FILE	"/usr/local/share/natterd/natterd.help"
#endif

struct config	 config = {
	.port = "6667",
	.help_file = NATTERD_HELP_FILE,
	.network = "natter",
	.max_clients = 10000,
	.max_per_ip = 50,
	.sendq = 262144,
	.sendq_timeout = 10,
	.invite_ttl = 3600,
	.max_devices = 8,
	.nick_grace = 30,
	.reg_timeout = 30,
	.ping_interval = 90,
	.ping_timeout = 120,
	.history_lines = 50,
	.redact_window = 900,
	.rename_max = 50000,
	.db_sync = STORE_SYNC_FULL,
	.store_hold = STORE_HOLD_DEFAULT,
	.sts_duration = 300,
	.flood_burst = 10,
	.flood_rate = 2,
	.recvq = 8192,
	.throttle = 30,
	.ipv6_prefix = 64,
	.max_accounts = 100000,
	.hash_threads = 2,
	/* OWASP's argon2id setting (19 MiB, 2 passes, 1 lane): about
	 * 35 ms on one core, so two hashing threads serve some 50 logins
	 * a second and a burst holds at most 38 MiB.  RFC 9106's second
	 * choice (64 MiB, t=3, p=4) takes about 200 ms a login: a flag
	 * away for a server with the memory and patience. */
	.argon2 = { 19456, 2, 1 },
	/* RFC 7677 asks for at least 4096; OWASP's 600,000 for
	 * PBKDF2-HMAC-SHA-256 assumes the server pays, but with SCRAM
	 * every client pays it at every login (a phone, a Raspberry Pi). */
	.scram_iter = 100000,
	.fails_account = 5,
	.fails_ip = 10,
	.registration = REGISTRATION_OPEN,
	.register_per_ip = 3,
};

/*
 * Connection throttle: new connections per address group (netaddr.h)
 * in the current minute, in a fixed table (the accept thread's alone),
 * so a scan from many addresses costs no memory; a group that collides
 * with another just starts a new count.
 */
#define THROTTLE_SLOTS	1024
#define THROTTLE_WINDOW	60	/* seconds */
struct throttle {
	char		 group[NETADDR_GROUP_MAX];
	time_t		 start;
	unsigned	 count;
};
static struct throttle	 throttles[THROTTLE_SLOTS];
/* The web port's connections, most of them a file of the page each: they
 * count here, against WEB_THROTTLE_FACTOR times --throttle; a WebSocket
 * counts in throttles too, when it asks to upgrade (conn_throttled). */
#define WEB_THROTTLE_FACTOR	10
static struct throttle	 web_throttles[THROTTLE_SLOTS];
/* The accept thread's, and the web clients' upgrading. */
static pthread_mutex_t	 throttle_lock = PTHREAD_MUTEX_INITIALIZER;

static int	 listeners[LISTEN_MAX];
static int	 listener_kind[LISTEN_MAX];
#define LISTEN_PLAIN	0
#define LISTEN_TLS	1
#define LISTEN_UNIX	2	/* the local socket (unixsock.c) */
#define LISTEN_WEB	3	/* --web-port, plain HTTP (web.c) */
#define LISTEN_WEB_TLS	4	/* --web-port, HTTPS */
static int	 nlisteners;
/* Why there is no Unix socket when none was asked for, or NULL. */
static const char *no_unix_why;

/* The certificate new TLS connections get; swapped whole by SIGHUP.
 * Each SSL holds its own reference to the context it was made from. */
static pthread_mutex_t	 tls_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX		*tls_ctx;
static int	 stop_pipe[2] = { -1, -1 };

enum {
	OPT_NETWORK = 256, OPT_PASSWORD, OPT_PASSWORD_FILE, OPT_OPER,
	OPT_OPER_FILE, OPT_HASH_PASSWORD, OPT_MOTD, OPT_MAX_CLIENTS,
	OPT_MAX_PER_IP, OPT_SENDQ, OPT_REG_TIMEOUT, OPT_PING_INTERVAL,
	OPT_PING_TIMEOUT, OPT_DB, OPT_HISTORY_LINES, OPT_HISTORY_DAYS,
	OPT_HISTORY_MAX, OPT_TLS_PORT, OPT_TLS_CERT, OPT_TLS_KEY, OPT_NO_PLAIN,
	OPT_STS_DURATION, OPT_GEN_CERT, OPT_USER, OPT_FLOOD_BURST,
	OPT_FLOOD_RATE, OPT_RECVQ, OPT_THROTTLE, OPT_IPV6_PREFIX, OPT_DB_SYNC,
	OPT_SENDQ_TIMEOUT, OPT_INVITE_EXPIRY, OPT_MAX_ACCOUNTS, OPT_HASH_THREADS,
	OPT_ARGON2_MEMORY, OPT_ARGON2_TIME, OPT_ARGON2_LANES,
	OPT_SCRAM_ITERATIONS, OPT_LOGIN_FAILS_ACCOUNT, OPT_LOGIN_FAILS_IP,
	OPT_ADD_ACCOUNT, OPT_MAX_DEVICES, OPT_NICK_GRACE, OPT_UNIX,
	OPT_UNIX_ONLY, OPT_NO_UNIX, OPT_REGISTRATION, OPT_REGISTER_PER_IP,
	OPT_WEB_PORT, OPT_WEB_PLAIN, OPT_WEB_ORIGIN,
	OPT_NO_MULTILINE, OPT_HELP_FILE, OPT_REDACT_WINDOW, OPT_RENAME_MAX,
	OPT_STORE_HOLD
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
	{ "help-file",		required_argument, NULL, OPT_HELP_FILE },
	{ "max-clients",	required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-per-ip",		required_argument, NULL, OPT_MAX_PER_IP },
	{ "sendq",		required_argument, NULL, OPT_SENDQ },
	{ "sendq-timeout",	required_argument, NULL, OPT_SENDQ_TIMEOUT },
	{ "invite-expiry",	required_argument, NULL, OPT_INVITE_EXPIRY },
	{ "max-devices",	required_argument, NULL, OPT_MAX_DEVICES },
	{ "nick-grace",		required_argument, NULL, OPT_NICK_GRACE },
	{ "reg-timeout",	required_argument, NULL, OPT_REG_TIMEOUT },
	{ "ping-interval",	required_argument, NULL, OPT_PING_INTERVAL },
	{ "ping-timeout",	required_argument, NULL, OPT_PING_TIMEOUT },
	{ "db",			required_argument, NULL, OPT_DB },
	{ "db-sync",		required_argument, NULL, OPT_DB_SYNC },
	{ "store-hold",		required_argument, NULL, OPT_STORE_HOLD },
	{ "history-lines",	required_argument, NULL, OPT_HISTORY_LINES },
	{ "history-days",	required_argument, NULL, OPT_HISTORY_DAYS },
	{ "history-max",	required_argument, NULL, OPT_HISTORY_MAX },
	{ "redact-window",	required_argument, NULL, OPT_REDACT_WINDOW },
	{ "rename-max",		required_argument, NULL, OPT_RENAME_MAX },
	{ "tls-port",		required_argument, NULL, OPT_TLS_PORT },
	{ "tls-cert",		required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key",		required_argument, NULL, OPT_TLS_KEY },
	{ "no-plain",		no_argument,	   NULL, OPT_NO_PLAIN },
	{ "web-port",		required_argument, NULL, OPT_WEB_PORT },
	{ "web-plain",		no_argument,	   NULL, OPT_WEB_PLAIN },
	{ "web-origin",		required_argument, NULL, OPT_WEB_ORIGIN },
	{ "no-multiline",	no_argument,	   NULL, OPT_NO_MULTILINE },
	{ "sts-duration",	required_argument, NULL, OPT_STS_DURATION },
	{ "gen-cert",		required_argument, NULL, OPT_GEN_CERT },
	{ "user",		required_argument, NULL, OPT_USER },
	{ "flood-burst",	required_argument, NULL, OPT_FLOOD_BURST },
	{ "flood-rate",		required_argument, NULL, OPT_FLOOD_RATE },
	{ "recvq",		required_argument, NULL, OPT_RECVQ },
	{ "throttle",		required_argument, NULL, OPT_THROTTLE },
	{ "ipv6-prefix",	required_argument, NULL, OPT_IPV6_PREFIX },
	{ "max-accounts",	required_argument, NULL, OPT_MAX_ACCOUNTS },
	{ "hash-threads",	required_argument, NULL, OPT_HASH_THREADS },
	{ "argon2-memory",	required_argument, NULL, OPT_ARGON2_MEMORY },
	{ "argon2-time",	required_argument, NULL, OPT_ARGON2_TIME },
	{ "argon2-lanes",	required_argument, NULL, OPT_ARGON2_LANES },
	{ "scram-iterations",	required_argument, NULL, OPT_SCRAM_ITERATIONS },
	{ "login-fails-account", required_argument, NULL,
	    OPT_LOGIN_FAILS_ACCOUNT },
	{ "login-fails-ip",	required_argument, NULL, OPT_LOGIN_FAILS_IP },
	{ "registration",	required_argument, NULL, OPT_REGISTRATION },
	{ "register-per-ip",	required_argument, NULL, OPT_REGISTER_PER_IP },
	{ "add-account",	required_argument, NULL, OPT_ADD_ACCOUNT },
	{ "unix",		required_argument, NULL, OPT_UNIX },
	{ "unix-only",		no_argument,	   NULL, OPT_UNIX_ONLY },
	{ "no-unix",		no_argument,	   NULL, OPT_NO_UNIX },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL,			0,		   NULL, 0 }
};

static const char synopsis[] =
    "usage: natterd [-hVv] [-l addr] [-p port] [-n name] [--network name]\n"
    "               [--password pass | --password-file file]\n"
    "               [--oper name:password] [--oper-file file] [--motd file]\n"
    "               [--help-file file]\n"
    "               [--max-clients n] [--max-per-ip n] [--throttle n]\n"
    "               [--ipv6-prefix bits] [--sendq bytes]\n"
    "               [--sendq-timeout sec] [--recvq bytes] [--no-multiline]\n"
    "               [--flood-burst n] [--flood-rate n] [--reg-timeout sec]\n"
    "               [--invite-expiry sec] [--max-devices n]\n"
    "               [--nick-grace sec]\n"
    "               [--ping-interval sec] [--ping-timeout sec]\n"
    "               [--db path] [--db-sync off|normal|full]\n"
    "               [--store-hold sec]\n"
    "               [--history-lines n] [--history-days n]\n"
    "               [--history-max n] [--redact-window sec]\n"
    "               [--rename-max n] [--tls-port port]\n"
    "               [--tls-cert file --tls-key file] [--no-plain]\n"
    "               [--sts-duration sec] [--web-port port]\n"
    "               [--web-plain] [--web-origin list] [--user name]\n"
    "               [--unix path | --no-unix] [--unix-only]\n"
    "               [--max-accounts n] [--hash-threads n]\n"
    "               [--argon2-memory kib] [--argon2-time n]\n"
    "               [--argon2-lanes n] [--scram-iterations n]\n"
    "               [--login-fails-account n] [--login-fails-ip n]\n"
    "               [--registration open|closed] [--register-per-ip n]\n"
    "       natterd [--db path] [account flags] --add-account name\n"
    "       natterd --hash-password\n"
    "       natterd [-n name] --gen-cert dir\n";

/*
 * natterd --help, in parts: C11 compilers need take string literals of
 * 4095 bytes only (-Woverlength-strings).
 */
static const char *const options_help[] = {
    "\n"
    "  -l, --listen ADDR        address to listen on (default: all interfaces,\n"
    "                           IPv4 and IPv6)\n"
    "  -p, --port PORT          plain-text TCP port, 0 = none (default 6667)\n"
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
    "      --help-file FILE     the topics HELP and HELPOP answer; read at\n"
    "                           start, SIGHUP and REHASH (default:\n"
    "                           " NATTERD_HELP_FILE ")\n"
    "      --max-clients N      most connections at once (default 10000)\n"
    "      --max-per-ip N       most connections from one IP address, 0 = no\n"
    "                           limit (default 50)\n"
    "      --throttle N         most new connections from one IP address\n"
    "                           a minute, 0 = no limit; on --web-port a\n"
    "                           WebSocket counts, a file of the page counts\n"
    "                           against 10 times N (default 30)\n",
    "      --ipv6-prefix BITS   IPv6 addresses count against --max-per-ip and\n"
    "                           --throttle by their first BITS bits, 32 to 128\n"
    "                           (default 64: one /64 is one address)\n"
    "      --sendq BYTES        output a client may have queued and not\n"
    "                           drain for --sendq-timeout seconds before it\n"
    "                           is disconnected; four times as much (at\n"
    "                           least 1 MiB) disconnects it at once, and a\n"
    "                           client over it sends nothing more until it\n"
    "                           reads (default 262144)\n"
    "      --sendq-timeout SECONDS  how long a client over --sendq may go\n"
    "                           without reading before it is disconnected\n"
    "                           (default 10)\n"
    "      --flood-burst N      lines a client may send at once before the\n"
    "                           rest are delayed, 0 = no flood control\n"
    "                           (default 10; operators are exempt)\n"
    "      --flood-rate N       lines a second a client may send after its\n"
    "                           burst, 0 = no flood control (default 2)\n"
    "      --recvq BYTES        delayed input held for one client before it\n"
    "                           is disconnected for Excess Flood\n"
    "                           (default 8192)\n"
    "      --no-multiline       do not offer IRCv3 draft/multiline (default:\n"
    "                           offered, max-bytes=4096,max-lines=100)\n"
    "      --invite-expiry SECONDS  how long a channel operator's INVITE\n"
    "                           lets its user in past +i, +b, +k and +l\n"
    "                           (default 3600)\n"
    "      --max-devices N      connections one account's user may have at\n"
    "                           once; 1: each is a user of its own\n"
    "                           (default 8)\n"
    "      --nick-grace SECONDS how long a user holding a nick an account\n"
    "                           owns has to log in to it before being\n"
    "                           renamed to GuestN (default 30)\n"
    "      --reg-timeout SECONDS   time allowed to register (default 30)\n"
    "      --ping-interval SECONDS idle time before the server sends PING\n"
    "                              (default 90)\n"
    "      --ping-timeout SECONDS  time to answer that PING before disconnect\n"
    "                              (default 120)\n",
    "      --db PATH            history database; :memory: keeps it in memory\n"
    "                           only, off keeps no history at all (default:\n"
    "                           $XDG_STATE_HOME/natterd/history.db, else\n"
    "                           ~/.local/state/natterd/history.db)\n"
    "      --db-sync LEVEL      how history commits reach the disk: full syncs\n"
    "                           each one, so a line anyone received survives\n"
    "                           a power loss or kernel crash; normal and off\n"
    "                           survive a crash of natterd only, and off may\n"
    "                           corrupt the file (default full)\n"
    "      --store-hold SECONDS how long a message waits for the history\n"
    "                           file to keep it (while another process\n"
    "                           locks it, the disk is full) before it is\n"
    "                           taken back and its sender told FAIL\n"
    "                           TEMPORARILY_UNAVAILABLE, 1 to 3600\n"
    "                           (default 5)\n"
    "      --history-lines N    lines replayed to a client joining a room\n"
    "                           (default 50)\n"
    "      --history-days N     forget lines older than N days, 0 = keep\n"
    "                           forever (default 0)\n"
    "      --history-max N      keep at most N messages per room or private\n"
    "                           conversation, 0 = no limit (default 0)\n"
    "      --redact-window SECONDS  how long the author of a message may\n"
    "                           delete it (IRCv3 draft/message-redaction,\n"
    "                           REDACT), 0 = authors may not; room operators\n"
    "                           may at any time (default 900)\n"
    "      --rename-max N       RENAME refuses a room with more than N\n"
    "                           messages in its history, which a rename\n"
    "                           rewrites (default 50000)\n",
    "      --tls-port PORT      TLS port (default 6697 when a certificate is\n"
    "                           given)\n"
    "      --tls-cert FILE      TLS certificate chain, PEM (default: no TLS);\n"
    "                           SIGHUP and REHASH reload it\n"
    "      --tls-key FILE       the certificate's private key, PEM\n"
    "      --no-plain           no plain-text port (the same as --port 0)\n"
    "      --sts-duration SECONDS  how long clients keep to TLS once they\n"
    "                           have seen it (IRCv3 sts), 0 = do not\n"
    "                           advertise sts (default 300)\n"
    "      --web-port PORT      serve the web chat (the page, and IRC over\n"
    "                           WebSocket at /irc) on PORT: HTTPS with the\n"
    "                           --tls-cert certificate, else plain HTTP\n"
    "                           (default: no web port)\n"
    "      --web-plain          plain HTTP on --web-port even with a\n"
    "                           certificate\n"
    "      --web-origin LIST    the Origins (comma-separated, e.g.\n"
    "                           https://chat.example.org) whose pages may\n"
    "                           open a WebSocket, * = any (default: a page\n"
    "                           from the host the request names)\n"
    "      --gen-cert DIR       write a new self-signed certificate and key,\n"
    "                           DIR/natterd.crt and DIR/natterd.key, for the\n"
    "                           server name, print its fingerprint, and exit\n"
    "      --user NAME          when started as root, switch to user NAME\n"
    "                           once the ports are open; a root helper\n"
    "                           rereads the files on SIGHUP/REHASH\n"
    "                           (default: stay)\n"
    "      --max-accounts N     most accounts the server keeps (default\n"
    "                           100000)\n"
    "      --hash-threads N     threads that hash passwords; logins wait\n"
    "                           their turn while all are busy (default 2)\n"
    "      --argon2-memory KIB  argon2id memory per new hash, in KiB\n"
    "                           (default 19456)\n"
    "      --argon2-time N      argon2id passes per new hash (default 2)\n"
    "      --argon2-lanes N     argon2id lanes per new hash (default 1)\n"
    "      --scram-iterations N PBKDF2 rounds of new SCRAM-SHA-256 keys,\n"
    "                           at least 4096 (default 100000)\n"
    "      --login-fails-account N  failed logins an account may have a\n"
    "                           minute before more are refused, 0 = no\n"
    "                           limit (default 5)\n"
    "      --login-fails-ip N   failed logins an IP address may have a\n"
    "                           minute, 0 = no limit (default 10)\n"
    "      --registration open|closed  whether anyone may register an\n"
    "                           account (REGISTER, NickServ REGISTER), or\n"
    "                           only operators make them (default open)\n"
    "      --register-per-ip N  accounts one IP address may register an\n"
    "                           hour, 0 = no limit (default 3)\n"
    "      --add-account NAME   create account NAME in the --db database of\n"
    "                           a stopped server, the password read from\n"
    "                           standard input, and exit\n",
    "      --unix PATH          also listen on a Unix socket at PATH, in a\n"
    "                           folder natterd owns; local users connect\n"
    "                           there as their Unix user (default:\n"
    "                           /run/natterd/natterd.sock for root, else\n"
    "                           $XDG_RUNTIME_DIR/natterd/natterd.sock, else\n"
    "                           none)\n"
    "      --unix-only          listen on the Unix socket only, no TCP port\n"
    "      --no-unix            no Unix socket\n"
    "  -v, --verbose            more logging; repeat for more (-v debug, -vv\n"
    "                           every line)\n"
    "  -h, --help               print this help and exit\n"
    "  -V, --version            print the version and exit\n",
};

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

/* The numeric flags: where each value goes and its range. */
static const struct numopt {
	int		 opt;
	enum { NUM_INT, NUM_UNSIGNED, NUM_SIZE } type;
	void		*dst;
	long long	 min;
	long long	 max;
} numopts[] = {
	{ OPT_MAX_CLIENTS,   NUM_UNSIGNED, &config.max_clients, 1, 1000000 },
	{ OPT_MAX_PER_IP,    NUM_UNSIGNED, &config.max_per_ip, 0, 1000000 },
	{ OPT_THROTTLE,      NUM_UNSIGNED, &config.throttle, 0, 1000000 },
	/* Below /32 (what a registry gives an ISP) strangers share a count. */
	{ OPT_IPV6_PREFIX,   NUM_INT,      &config.ipv6_prefix, 32, 128 },
	{ OPT_SENDQ,         NUM_SIZE,     &config.sendq, 1024, 1LL << 30 },
	{ OPT_SENDQ_TIMEOUT, NUM_INT,      &config.sendq_timeout, 1, 86400 },
	{ OPT_INVITE_EXPIRY, NUM_INT,      &config.invite_ttl, 1, 30 * 86400 },
	{ OPT_MAX_DEVICES,   NUM_INT,      &config.max_devices, 1, 64 },
	{ OPT_NICK_GRACE,    NUM_INT,      &config.nick_grace, 1, 86400 },
	{ OPT_RECVQ,         NUM_SIZE,     &config.recvq, 1024, 1LL << 30 },
	{ OPT_FLOOD_BURST,   NUM_UNSIGNED, &config.flood_burst, 0, 1000000 },
	{ OPT_FLOOD_RATE,    NUM_UNSIGNED, &config.flood_rate, 0, 1000000 },
	{ OPT_REG_TIMEOUT,   NUM_INT,      &config.reg_timeout, 1, 86400 },
	{ OPT_PING_INTERVAL, NUM_INT,      &config.ping_interval, 1, 86400 },
	{ OPT_PING_TIMEOUT,  NUM_INT,      &config.ping_timeout, 1, 86400 },
	{ OPT_STORE_HOLD,    NUM_INT,      &config.store_hold, 1,
	    STORE_HOLD_MAX },
	{ OPT_HISTORY_LINES, NUM_INT,      &config.history_lines, 0,
	    CHATHISTORY_MAX * 10 },
	{ OPT_HISTORY_DAYS,  NUM_INT,      &config.history_days, 0, 365000 },
	{ OPT_HISTORY_MAX,   NUM_INT,      &config.history_max, 0, 1000000000 },
	{ OPT_REDACT_WINDOW, NUM_INT,      &config.redact_window, 0,
	    365 * 86400 },
	{ OPT_RENAME_MAX,    NUM_INT,      &config.rename_max, 0, 1000000000 },
	{ OPT_STS_DURATION,  NUM_INT,      &config.sts_duration, 0, 365 * 86400 },
	{ OPT_MAX_ACCOUNTS,  NUM_UNSIGNED, &config.max_accounts, 0, 10000000 },
	{ OPT_HASH_THREADS,  NUM_INT,      &config.hash_threads, 1, 64 },
	/* argon2 wants at least 8 KiB a lane; checked again in main. */
	{ OPT_ARGON2_MEMORY, NUM_UNSIGNED, &config.argon2.memory_kib, 8,
	    PASSWD_MEMORY_MAX },
	{ OPT_ARGON2_TIME,   NUM_UNSIGNED, &config.argon2.time, 1,
	    PASSWD_TIME_MAX },
	{ OPT_ARGON2_LANES,  NUM_UNSIGNED, &config.argon2.lanes, 1,
	    PASSWD_LANES_MAX },
	{ OPT_SCRAM_ITERATIONS, NUM_INT,   &config.scram_iter, SCRAM_ITER_MIN,
	    100000000 },
	{ OPT_LOGIN_FAILS_ACCOUNT, NUM_UNSIGNED, &config.fails_account, 0,
	    1000000 },
	{ OPT_LOGIN_FAILS_IP, NUM_UNSIGNED, &config.fails_ip, 0, 1000000 },
	{ OPT_REGISTER_PER_IP, NUM_UNSIGNED, &config.register_per_ip, 0,
	    1000000 },
};

/* Sets the numeric flag opt from s; 0 if opt is not one. */
static int
numopt_set(int opt, const char *s)
{
	const struct option *lo;
	const struct numopt *n;
	char name[64];
	long long v;
	size_t i;

	for (i = 0; i < sizeof(numopts) / sizeof(numopts[0]); i++) {
		n = &numopts[i];
		if (n->opt != opt)
			continue;
		for (lo = long_options; lo->name != NULL; lo++)
			if (lo->val == opt)
				break;
		snprintf(name, sizeof(name), "--%s", lo->name);
		v = number(name, s, n->min, n->max);
		switch (n->type) {
		case NUM_INT:
			*(int *)n->dst = (int)v;
			break;
		case NUM_UNSIGNED:
			*(unsigned *)n->dst = (unsigned)v;
			break;
		case NUM_SIZE:
			*(size_t *)n->dst = (size_t)v;
			break;
		}
		return 1;
	}
	return 0;
}

static const char *const sync_names[] = {
	[STORE_SYNC_OFF] = "off",
	[STORE_SYNC_NORMAL] = "normal",
	[STORE_SYNC_FULL] = "full",
};

/* --db-sync: a STORE_SYNC_* level by name, or a usage error. */
static int
sync_level(const char *s)
{
	int i;

	for (i = 0; i < (int)(sizeof(sync_names) / sizeof(sync_names[0]));
	    i++)
		if (strcmp(s, sync_names[i]) == 0)
			return i;
	fprintf(stderr, "natterd: --db-sync: invalid value '%s' (expected "
	    "off, normal or full)\n", s);
	usage();
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
listen_on(struct addrinfo *ai, const char *port, int kind)
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
			    "in use", host, port);
		if (errno == EADDRNOTAVAIL && config.listen == NULL) {
			close(fd);
			return;
		}
		err(1, "cannot listen on %s port %s", host, port);
	}
	if (listen(fd, 1024) == -1)
		err(1, "listen on %s port %s", host, port);
	listener_kind[nlisteners] = kind;
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
		if (listener_kind[i] == LISTEN_UNIX) {
			if (unixsock_replaced_stale())
				log_info("removed a stale socket left at %s",
				    unixsock_path());
			log_info("listening on %s", unixsock_path());
			continue;
		}
		len = sizeof(ss);
		if (getsockname(listeners[i], (struct sockaddr *)&ss,
		    &len) == -1 || getnameinfo((struct sockaddr *)&ss, len,
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(host, sizeof(host), "?");
		log_info("listening on %s port %s%s", host,
		    listener_kind[i] == LISTEN_TLS ? config.tls_port :
		    listener_kind[i] == LISTEN_WEB ||
		    listener_kind[i] == LISTEN_WEB_TLS ? config.web_port :
		    config.port, listener_kind[i] == LISTEN_TLS ?
		    " (TLS)" : listener_kind[i] == LISTEN_WEB ? " (web, HTTP)" :
		    listener_kind[i] == LISTEN_WEB_TLS ? " (web, HTTPS)" : "");
	}
	if (no_unix_why != NULL)
		log_info("%s", no_unix_why);
}

static void
open_port(const char *port, int kind)
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
		if ((rc = getaddrinfo(hosts[i], port, &hints, &res)) != 0)
			errx(1, "%s: %s", hosts[i], gai_strerror(rc));
		for (ai = res; ai != NULL; ai = ai->ai_next)
			listen_on(ai, port, kind);
		freeaddrinfo(res);
	}
}

/* Who natterd runs as once started: the --user account, else itself. */
static void
run_as(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	*uid = geteuid();
	*gid = getegid();
	if (config.user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(config.user)) == NULL)
		errx(1, "--user: no such user '%s'", config.user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

/* The Unix socket, after the TCP ports (a port in use is the likelier
 * mistake) and before privileges are dropped. */
static void
open_unix(void)
{
	char path[SOCKPATH_MAX], why[512];
	uid_t uid;
	gid_t gid;
	int fd;

	if (config.unix_mode == UNIX_NONE)
		return;
	if (config.unix_path == NULL) {
		if (sockpath_default(geteuid(), getenv("XDG_RUNTIME_DIR"),
		    path, sizeof(path)) == -1) {
			if (config.unix_mode == UNIX_ONLY)
				errx(1, "no place for the Unix socket: set "
				    "XDG_RUNTIME_DIR or use --unix PATH");
			/* Never a guessed folder such as /tmp. */
			no_unix_why = "no Unix socket: XDG_RUNTIME_DIR is not "
			    "set (use --unix PATH)";
			return;
		}
		config.unix_path = strdup(path);
		if (config.unix_path == NULL)
			err(1, NULL);
	}
	if (nlisteners == LISTEN_MAX)
		errx(1, "too many listeners");
	run_as(&uid, &gid);
	if ((fd = unixsock_open(config.unix_path, uid, gid, why,
	    sizeof(why))) == -1)
		errx(1, "%s", why);
	listener_kind[nlisteners] = LISTEN_UNIX;
	listeners[nlisteners++] = fd;
}

static void
open_listeners(void)
{
	if (config.unix_mode != UNIX_ONLY) {
		if (strcmp(config.port, "0") != 0)
			open_port(config.port, LISTEN_PLAIN);
		if (config.tls_port != NULL)
			open_port(config.tls_port, LISTEN_TLS);
		if (config.web_port != NULL)
			open_port(config.web_port, config.tls_cert != NULL &&
			    !config.web_plain ? LISTEN_WEB_TLS : LISTEN_WEB);
	}
	open_unix();
	if (nlisteners == 0)
		errx(1, "no address to listen on");
}

/* Loads the certificate before any port opens: a bad file is the one
 * line printed at start-up. */
static void
tls_open(void)
{
	char why[512];

	if (config.tls_cert == NULL)
		return;
	if ((tls_ctx = tls_server_ctx(config.tls_cert, config.tls_key, why,
	    sizeof(why))) == NULL)
		errx(1, "%s", why);
}

/* Reads through priv_read(): with --user, root's helper reads them. */
int
tls_reload(void)
{
	char why[512], *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	SSL_CTX *ctx = NULL, *old;

	if (config.tls_cert == NULL)
		return 0;
	if (priv_read(PRIV_TLS_CERT, &cert, &certlen) == -1)
		snprintf(why, sizeof(why), "certificate %s: %s",
		    config.tls_cert, strerror(errno));
	else if (priv_read(PRIV_TLS_KEY, &key, &keylen) == -1)
		snprintf(why, sizeof(why), "key %s: %s", config.tls_key,
		    strerror(errno));
	else
		ctx = tls_server_ctx_mem(cert, certlen, config.tls_cert, key,
		    keylen, config.tls_key, why, sizeof(why));
	priv_free(cert, certlen);
	priv_free(key, keylen);
	if (ctx == NULL) {
		log_warnx("TLS: keeping the old certificate: %s", why);
		return -1;
	}
	pthread_mutex_lock(&tls_lock);
	old = tls_ctx;
	tls_ctx = ctx;
	pthread_mutex_unlock(&tls_lock);
	/* Connections made from it keep their own references. */
	SSL_CTX_free(old);
	log_info("TLS: loaded %s", config.tls_cert);
	return 0;
}

struct ssl_st *
tls_accept_new(int fd)
{
	char why[256];
	SSL *ssl;

	pthread_mutex_lock(&tls_lock);
	ssl = tls_ctx != NULL ? SSL_new(tls_ctx) : NULL;
	pthread_mutex_unlock(&tls_lock);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		tls_error(why, sizeof(why), "SSL_new");
		log_warnx("%s", why);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* The permission bits of path, as the file has them (the umask may
 * have taken some); 0 if it cannot be read. */
static unsigned
file_mode(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) || stat(path, &st) == -1)
		return 0;
	return (unsigned)(st.st_mode & 07777);
}

/* natterd --gen-cert DIR */
static int
gen_cert(const char *dir)
{
	char fp[TLS_FP_LEN + 1], why[512], host[256];
	const char *names[2];
	int n = 0;

	names[n++] = config.server_name;
	/* The default name is the host name plus ".local": both work. */
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0' &&
	    strcmp(host, config.server_name) != 0)
		names[n++] = host;
	if (tls_gen_cert(dir, names, n, fp, sizeof(fp), why,
	    sizeof(why)) == -1)
		errx(1, "%s", why);
	/* The modes the files have: the key is for its owner alone. */
	printf("Wrote %s/%s (mode %04o) and its key %s/%s (mode %04o),\n"
	    "a self-signed certificate for %s%s%s "
	    "(also localhost, 127.0.0.1 and ::1),\n"
	    "valid for ten years.\n"
	    "SHA-256 fingerprint: %s\n"
	    "Start the server with:\n"
	    "  natterd --tls-cert %s/%s --tls-key %s/%s --sts-duration 0\n"
	    "--sts-duration 0 offers no IRCv3 sts policy.  Keep it while the "
	    "certificate\n"
	    "is self-signed, and for a test or LAN server that shares its "
	    "host with\n"
	    "others on other ports: a client keeps a policy per host and "
	    "would take\n"
	    "every port of it to this TLS port.  A policy clients already "
	    "keep lapses\n"
	    "after the duration it was given (natter: --no-tls overrides "
	    "it).\n"
	    "Clients that cannot check it against a CA pin it:\n"
	    "  natter --tls-fingerprint %s HOST:6697\n",
	    dir, TLS_CERT_FILE, file_mode(dir, TLS_CERT_FILE), dir,
	    TLS_KEY_FILE, file_mode(dir, TLS_KEY_FILE), config.server_name,
	    n > 1 ? " and " : "", n > 1 ? host : "", fp,
	    dir, TLS_CERT_FILE, dir, TLS_KEY_FILE, fp);
	return 0;
}

/* --user: after binding, before anything is written to disk. */
static void
drop_privileges(void)
{
	struct passwd *pw;

	if (config.user == NULL)
		return;
	errno = 0;
	if ((pw = getpwnam(config.user)) == NULL)
		errx(1, "--user: no such user '%s'", config.user);
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return;
		errx(1, "--user %s: natterd must start as root to switch "
		    "users", config.user);
	}
	if (pw->pw_uid == 0)
		return;
	/* Reloads still need root to read a 0600 key. */
	if (priv_start(pw->pw_uid, pw->pw_gid) == -1)
		err(1, "--user %s: root helper", config.user);
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1)
		err(1, "--user %s", config.user);
	if (setuid(0) != -1)
		errx(1, "--user %s: root privileges are still there",
		    config.user);
	/* The default history path follows the user it runs as. */
	if (pw->pw_dir != NULL && pw->pw_dir[0] != '\0' &&
	    config.db_path == NULL) {
		setenv("HOME", pw->pw_dir, 1);
		unsetenv("XDG_STATE_HOME");
	}
	log_info("running as %s (uid %lu)", config.user,
	    (unsigned long)pw->pw_uid);
}

void
server_stop(const char *why)
{
	char byte = 0;

	log_info("stopping: %s", why);
	pthread_rwlock_wrlock(&server.lock);
	server.stopping = 1;
	pthread_rwlock_unlock(&server.lock);
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
			tls_reload();
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

/* Seconds group must wait before it may connect again, counting in
 * table against limit a minute; 0 if it may now. */
static int
throttled(struct throttle *table, const char *group, unsigned limit)
{
	struct throttle *t;
	unsigned h = 2166136261u;
	const char *p;
	time_t now;
	int wait = 0;

	if (limit == 0)
		return 0;
	for (p = group; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	pthread_mutex_lock(&throttle_lock);
	t = &table[h % THROTTLE_SLOTS];
	now = time(NULL);
	if (strcmp(t->group, group) != 0 || now - t->start >= THROTTLE_WINDOW ||
	    now < t->start) {
		snprintf(t->group, sizeof(t->group), "%s", group);
		t->start = now;
		t->count = 0;
	}
	if (t->count >= limit)
		wait = (int)(t->start + THROTTLE_WINDOW - now);
	else
		t->count++;
	pthread_mutex_unlock(&throttle_lock);
	return wait;
}

int
conn_throttled(const struct conn *c)
{
	return throttled(throttles, c->ipgroup, config.throttle);
}

/* Says why a connection is refused, then closes it: an ERROR line, or
 * on the web port an HTTP 503.  A TLS client could not read it: it just
 * sees the connection close. */
static void
refuse(int fd, int kind, const char *line)
{
	const char *why;

	if (kind == LISTEN_WEB) {
		why = strncmp(line, "ERROR :", 7) == 0 ? line + 7 : line;
		line = web_refusal(why);
	}
	if (kind == LISTEN_PLAIN || kind == LISTEN_WEB || kind == LISTEN_UNIX)
		(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* Makes lfd non-blocking, so that each wake-up accepts what is
 * waiting. */
static void
listener_setup(int lfd)
{
	int flags;

	if ((flags = fcntl(lfd, F_GETFL)) == -1 ||
	    fcntl(lfd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl");
}

/*
 * Accepts one connection from lfd and starts its thread.  0 when there
 * was none to accept (or accepting failed for want of resources), 1
 * otherwise, refused or not.
 */
static int
accept_one(int lfd, int kind, pthread_attr_t *attr)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss), credlen;
	char ip[NI_MAXHOST], line[128], group[NETADDR_GROUP_MAX];
	const char *shown;
	struct conn *c;
	pthread_t tid;
	struct ucred cred;
	uintptr_t n;
	int fd, rc, one = 1, sndbuf = CLIENT_SNDBUF, wait;
	int tls = kind == LISTEN_TLS || kind == LISTEN_WEB_TLS;
	int local = kind == LISTEN_UNIX;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("accept");
			poll(NULL, 0, 100);
		}
		return errno == ECONNABORTED || errno == EINTR;
	}
	memset(&cred, 0, sizeof(cred));
	if (local) {
		/* Each local user counts as one address. */
		credlen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &credlen) == -1) {
			log_warn("SO_PEERCRED");
			close(fd);
			return 1;
		}
		shown = "localhost";
		snprintf(group, sizeof(group), "uid:%lu",
		    (unsigned long)cred.uid);
	} else {
		if (getnameinfo((struct sockaddr *)&ss, sslen, ip, sizeof(ip),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(ip, sizeof(ip), "unknown");
		shown = strncmp(ip, "::ffff:", 7) == 0 ? ip + 7 : ip;
		if (netaddr_group(shown, config.ipv6_prefix, group,
		    sizeof(group)) == -1)
			snprintf(group, sizeof(group), "%.*s",
			    (int)sizeof(group) - 1, shown);
	}
	if ((wait = kind == LISTEN_WEB || kind == LISTEN_WEB_TLS ?
	    throttled(web_throttles, group, config.throttle *
	    WEB_THROTTLE_FACTOR) : throttled(throttles, group,
	    config.throttle)) > 0) {
		log_info("%s refused: throttled (group %s)", shown, group);
		snprintf(line, sizeof(line), "ERROR :Too many new connections "
		    "from your IP; try again in %d seconds\r\n", wait);
		refuse(fd, kind, line);
		return 1;
	}
	if (!local)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A fixed kernel buffer: autotuning would let a stalled reader's
	 * socket absorb megabytes, so the SendQ would never be reached.
	 * Set on each socket: one that inherits the listener's size can
	 * still be autotuned (test_registered_reader_that_stops_is_dropped
	 * saw 3.9 MB). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	pthread_rwlock_wrlock(&server.lock);
	if (server.nclients >= config.max_clients) {
		pthread_rwlock_unlock(&server.lock);
		log_info("%s refused: server full", shown);
		refuse(fd, kind, "ERROR :Server full\r\n");
		return 1;
	}
	n = (uintptr_t)map_get(server.ips, group);
	if (config.max_per_ip > 0 && n >= config.max_per_ip) {
		pthread_rwlock_unlock(&server.lock);
		log_info("%s refused: too many connections (group %s)", shown,
		    group);
		refuse(fd, kind, "ERROR :Too many connections from your IP\r\n");
		return 1;
	}
	if ((c = client_new(fd, shown, tls)) == NULL ||
	    ((kind == LISTEN_WEB || kind == LISTEN_WEB_TLS) &&
	    web_open(c) == -1) ||
	    map_put(server.ips, group, (void *)(n + 1)) == -1) {
		pthread_rwlock_unlock(&server.lock);
		if (c != NULL)
			conn_discard(c);
		refuse(fd, kind, "ERROR :Server out of memory\r\n");
		return 1;
	}
	snprintf(c->ipgroup, sizeof(c->ipgroup), "%s", group);
	if (local) {
		c->local = 1;
		c->peer_uid = cred.uid;
		c->peer_gid = cred.gid;
		c->peer_pid = cred.pid;
	}
	/* Published first, its thread made after the lock is dropped:
	 * creating a thread takes long, and every registration waits for
	 * server.lock.  Until c->started, a wake-up is left for us to
	 * deliver (conn_wake_locked). */
	c->next = server.conns;
	if (server.conns != NULL)
		server.conns->prev = c;
	server.conns = c;
	c->cl->next = server.clients;
	if (server.clients != NULL)
		server.clients->prev = c->cl;
	server.clients = c->cl;
	server.nclients++;
	pthread_rwlock_unlock(&server.lock);
	/* Held until started is set: the thread may be done with c
	 * before pthread_create() returns. */
	conn_ref(c);
	if ((rc = pthread_create(&tid, attr, client_main, c)) != 0) {
		/* Closed here, as its own thread would have. */
		log_warnx("pthread_create: %s", strerror(rc));
		conn_kill(c, "Server full");
		client_teardown(c);
	} else {
		/* Unless the thread has handed c to a fresh one already
		 * (client_renew), which set both. */
		pthread_mutex_lock(&c->out_lock);
		if (!c->started) {
			c->thread = tid;
			c->started = 1;
			if (c->wake_missed)
				conn_wake_locked(c);
		}
		pthread_mutex_unlock(&c->out_lock);
	}
	conn_unref(c);
	if (rc != 0)
		return 1;
	if (local)
		log_debug("uid %lu (pid %ld) connected on %s",
		    (unsigned long)cred.uid, (long)cred.pid, unixsock_path());
	else
		log_debug("%s connected", shown);
	return 1;
}

/* Tells every client goodbye and waits up to 1.5 s for them to go.
 * Returns how many are still closing. */
static unsigned
drain_clients(void)
{
	struct timespec deadline, now;
	struct conn *c;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 500000000L;
	deadline.tv_sec += 1 + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	pthread_rwlock_wrlock(&server.lock);
	for (c = server.conns; c != NULL; c = c->next)
		conn_kill(c, "Server shutting down");
	pthread_rwlock_unlock(&server.lock);
	/* The last client out signals drained (client.c); nclients is
	 * read under server.lock, so look again after each short wait. */
	pthread_mutex_lock(&server.drain_lock);
	for (;;) {
		pthread_rwlock_rdlock(&server.lock);
		left = server.nclients;
		pthread_rwlock_unlock(&server.lock);
		clock_gettime(CLOCK_REALTIME, &now);
		if (left == 0 || now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec &&
		    now.tv_nsec >= deadline.tv_nsec))
			break;
		now.tv_nsec += 20000000L;
		now.tv_sec += now.tv_nsec / 1000000000L;
		now.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&server.drained,
		    &server.drain_lock, &now);
	}
	pthread_mutex_unlock(&server.drain_lock);
	if (left > 0)
		log_warnx("%u clients still closing at exit", left);
	return left;
}

/* Opens the history store, or exits 1 with the reason in one line. */
static void
open_history(void)
{
	struct store_opts o = {
		.history_days = config.history_days,
		.history_max = config.history_max,
		.sync = config.db_sync,
		.hold_ms = config.store_hold * 1000,
	};
	char path[PATH_MAX], why[512];
	int level;

	if (config.db_path != NULL && strcmp(config.db_path, ":memory:") == 0)
		config.history = HISTORY_MEMORY;
	else if (config.db_path != NULL && strcmp(config.db_path, "off") == 0)
		config.history = HISTORY_OFF;
	if (config.db_path == NULL) {
		if (store_default_path(path, sizeof(path)) == -1)
			errx(1, "no place for the history database: set "
			    "XDG_STATE_HOME or HOME, or use --db");
		config.db_path = path;
	}
	if (store_open(config.db_path, &o, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	if (config.history == HISTORY_FILE) {
		level = store_sync_level();
		log_info("history in %s (--db-sync %s)", config.db_path,
		    level >= 0 && level <= STORE_SYNC_FULL ?
		    sync_names[level] : "unknown");
	} else if (history_enabled())
		log_info("history in %s", config.db_path);
	else
		log_info("history off: nothing is stored or replayed");
	if (config.db_path == path)
		config.db_path = NULL;	/* path goes out of scope */
}

/* What account.c needs from the flags. */
static void
account_opts(struct account_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max = config.max_accounts;
	o->fails_account = config.fails_account;
	o->fails_ip = config.fails_ip;
	o->registers_ip = config.register_per_ip;
	o->cost = config.argon2;
	o->scram_iter = config.scram_iter;
}

/* Starts the hashing threads and loads the accounts, or exits 1.  A
 * client thread has at most one request waiting, so max-clients
 * bounds the queue. */
static void
open_accounts(void)
{
	struct account_opts o;
	char why[256];
	int rc;

	if (passwd_pool_start(config.hash_threads,
	    (int)config.max_clients) == -1)
		err(1, "hashing threads");
	account_opts(&o);
	if ((rc = account_init(&o, why, sizeof(why))) == -1)
		errx(1, "%s", why);
	if (marker_init() == -1)
		errx(1, "read markers: cannot read them from the database");
	if (config.history != HISTORY_FILE)
		log_info("accounts live in memory only (--db %s)",
		    config.history == HISTORY_OFF ? "off" : ":memory:");
}

/*
 * natterd --add-account NAME: one account, password from standard
 * input, in the database of a server that is not running (the store's
 * lock on the file says if one is).  Exit 0, 1 on error, 2 for a usage
 * error.
 */
static int
add_account(const char *name)
{
	struct store_opts so = { 0, 0, STORE_SYNC_FULL, 0 };
	struct account_opts o;
	char path[PATH_MAX], why[512], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 1;

	if (!casemap_valid_nick(name, NICK_MAX)) {
		fprintf(stderr, "natterd: --add-account: '%s' is not a valid "
		    "account name (it must be a valid nick)\n", name);
		usage();
	}
	if (config.db_path != NULL && (strcmp(config.db_path, "off") == 0 ||
	    strcmp(config.db_path, ":memory:") == 0)) {
		fprintf(stderr, "natterd: --add-account needs a database file "
		    "(--db PATH)\n");
		usage();
	}
	if (config.db_path == NULL) {
		if (store_default_path(path, sizeof(path)) == -1)
			errx(1, "no place for the database: set XDG_STATE_HOME "
			    "or HOME, or use --db");
		config.db_path = path;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Password for %s: ", name);
	if ((n = getline(&line, &cap, stdin)) == -1)
		errx(1, "no password on standard input");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0) {
		free(line);
		errx(1, "empty password");
	}
	so.sync = config.db_sync;
	if (store_open(config.db_path, &so, why, sizeof(why)) == -1) {
		explicit_bzero(line, cap);
		free(line);
		errx(1, "%s", why);
	}
	account_opts(&o);
	if (account_init(&o, why, sizeof(why)) == -1)
		warnx("%s", why);
	else if (account_create(name, line, 0, -1, NULL) == -1) {
		if (errno == EEXIST)
			warnx("account %s already exists (or the name is a "
			    "nick an account holds)", name);
		else if (errno == ENOSPC)
			warnx("%s: --max-accounts (%u) reached",
			    config.db_path, config.max_accounts);
		else
			warnx("%s: cannot add account %s: %s",
			    config.db_path, name, strerror(errno));
	} else {
		printf("account %s added to %s\n", name, config.db_path);
		rc = 0;
	}
	explicit_bzero(line, cap);
	free(line);
	account_shutdown();
	store_close();
	return rc;
}

static void
server_init(void)
{
	struct tm tm;

	server.nicks = map_new();
	server.rooms = map_new();
	server.ips = map_new();
	server.people = map_new();
	if (server.nicks == NULL || server.rooms == NULL || server.ips == NULL ||
	    server.people == NULL)
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
	/* Static: the signal thread reads it after main() returns. */
	static sigset_t set;
	const char *gen_cert_dir = NULL, *add_name = NULL;
	int ch, i, k, n, rc, verbose = 0, unix_only = 0, no_unix = 0;

	while ((ch = getopt_long(argc, argv, "hl:n:p:Vv", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			config.listen = optarg;
			break;
		case 'p':
			config.port = number("--port", optarg, 0, 65535) == 0 ?
			    "0" : optarg;
			break;
		case OPT_NO_PLAIN:
			config.port = "0";
			break;
		case OPT_NO_MULTILINE:
			config.no_multiline = 1;
			break;
		case OPT_TLS_PORT:
			number("--tls-port", optarg, 1, 65535);
			config.tls_port = optarg;
			break;
		case OPT_TLS_CERT:
			config.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			config.tls_key = optarg;
			break;
		case OPT_WEB_PORT:
			number("--web-port", optarg, 1, 65535);
			config.web_port = optarg;
			break;
		case OPT_WEB_PLAIN:
			config.web_plain = 1;
			break;
		case OPT_WEB_ORIGIN:
			if (optarg[0] == '\0' || strlen(optarg) > 4096) {
				fprintf(stderr, "natterd: --web-origin: a "
				    "comma-separated list of origins, or *\n");
				usage();
			}
			config.web_origin = optarg;
			break;
		case OPT_GEN_CERT:
			gen_cert_dir = optarg;
			break;
		case OPT_ADD_ACCOUNT:
			add_name = optarg;
			break;
		case OPT_USER:
			config.user = optarg;
			break;
		case OPT_UNIX:
			if (optarg[0] != '/' || strlen(optarg) >= SOCKPATH_MAX ||
			    optarg[strlen(optarg) - 1] == '/') {
				fprintf(stderr, "natterd: --unix: '%s' must be "
				    "an absolute path to a socket, at most %d "
				    "bytes\n", optarg, SOCKPATH_MAX - 1);
				usage();
			}
			config.unix_path = optarg;
			break;
		case OPT_UNIX_ONLY:
			unix_only = 1;
			break;
		case OPT_NO_UNIX:
			no_unix = 1;
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
		case OPT_HELP_FILE:
			if (optarg[0] == '\0') {
				fprintf(stderr, "natterd: --help-file: the "
				    "path is empty\n");
				usage();
			}
			config.help_file = optarg;
			break;
		case OPT_DB:
			config.db_path = optarg;
			break;
		case OPT_DB_SYNC:
			config.db_sync = sync_level(optarg);
			break;
		case OPT_REGISTRATION:
			if (strcmp(optarg, "open") == 0)
				config.registration = REGISTRATION_OPEN;
			else if (strcmp(optarg, "closed") == 0)
				config.registration = REGISTRATION_CLOSED;
			else {
				fprintf(stderr, "natterd: --registration: "
				    "invalid value '%s' (expected open or "
				    "closed)\n", optarg);
				usage();
			}
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(synopsis, stdout);
			for (i = 0; i < (int)(sizeof(options_help) /
			    sizeof(options_help[0])); i++)
				fputs(options_help[i], stdout);
			return 0;
		case 'V':
			printf("%s\n", NATTERD_VERSION);
			return 0;
		default:
			if (!numopt_set(ch, optarg))
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
	if (gen_cert_dir != NULL)
		return gen_cert(gen_cert_dir);
	if (no_unix && (unix_only || config.unix_path != NULL)) {
		fprintf(stderr, "natterd: --no-unix and --unix%s do not go "
		    "together\n", unix_only ? "-only" : "");
		usage();
	}
	if (unix_only && (config.tls_cert != NULL || config.tls_port != NULL)) {
		fprintf(stderr, "natterd: --unix-only has no TLS port: drop "
		    "--tls-cert and --tls-port\n");
		usage();
	}
	config.unix_mode = no_unix ? UNIX_NONE : unix_only ? UNIX_ONLY :
	    UNIX_ALSO;
	if (config.argon2.memory_kib < 8 * config.argon2.lanes) {
		fprintf(stderr, "natterd: --argon2-memory must be at least 8 "
		    "KiB a lane (%u)\n", 8 * config.argon2.lanes);
		usage();
	}
	if (add_name != NULL) {
		OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
		log_init("natterd", verbose >= 1 ? LOG_LVL_DEBUG :
		    LOG_LVL_WARN);
		return add_account(add_name);
	}
	if ((config.tls_cert == NULL) != (config.tls_key == NULL)) {
		fprintf(stderr, "natterd: --tls-cert and --tls-key go "
		    "together\n");
		usage();
	}
	if (config.tls_port != NULL && config.tls_cert == NULL) {
		fprintf(stderr, "natterd: --tls-port needs --tls-cert and "
		    "--tls-key\n");
		usage();
	}
	if (config.tls_cert != NULL && config.tls_port == NULL)
		config.tls_port = "6697";
	if (strcmp(config.port, "0") == 0 && config.tls_port == NULL &&
	    config.unix_mode != UNIX_ONLY) {
		fprintf(stderr, "natterd: no port to listen on: --no-plain or "
		    "--port 0 needs --tls-cert and --tls-key\n");
		usage();
	}
	if (config.tls_port != NULL && config.unix_mode != UNIX_ONLY &&
	    strcmp(config.port, config.tls_port) == 0) {
		fprintf(stderr, "natterd: --port and --tls-port are both "
		    "%s\n", config.port);
		usage();
	}
	/* Detached client threads may still be closing at exit: no
	 * OpenSSL clean-up under their feet. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
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
	tls_open();
	web_init();
	open_listeners();
	drop_privileges();
	open_history();
	outbox_start();
	open_accounts();
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
		listener_setup(listeners[i]);
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
			for (k = 0; k < ACCEPT_BATCH && (pfd[i].revents &
			    POLLIN) && accept_one(listeners[i],
			    listener_kind[i], &attr); k++)
				;
	}

	for (i = 0; i < nlisteners; i++)
		if (listener_kind[i] != LISTEN_UNIX)
			close(listeners[i]);
	/* Unlinked at once: a new natterd may start while these drain. */
	unixsock_close();
	rc = drain_clients();
	outbox_stop();
	/* Logins still waiting for a hash fail now. */
	passwd_pool_stop();
	if (rc == 0) {
		config_unload();
		marker_shutdown();
		account_shutdown();
	}
	store_close();
	pthread_attr_destroy(&attr);
	log_info("stopped");
	return 0;
}
