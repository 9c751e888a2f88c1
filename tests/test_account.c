/*
 * test_account.c: accounts (server/account.c) with the hashing pool
 * (passwd.c), SCRAM (scram.c) and the store they write through to:
 * argon2id round trips, the RFC 7677 SCRAM-SHA-256 exchange, accounts
 * surviving a reopen, every bound (accounts, certificates, nicks, the
 * failed-login tables, the hashing queue), the failed-login limits,
 * local accounts, --db :memory: and off, the migration of a
 * database natterd wrote with schema 3 (tests/data/history-v3.db), and
 * read markers (marker.c): forward only, bounded, kept, deleted with
 * their account.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../server/natterd.h"
#include "base64.h"
#include "log.h"

#define FIXTURE_V3	"tests/data/history-v3.db"

static char	 tmpdir[256];
static char	 dbpath[PATH_MAX];

static int
setup_db(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/natter-test-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/natterd.db", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
count_rows(const struct store_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static struct account_opts
cheap_opts(void)
{
	struct account_opts o;

	memset(&o, 0, sizeof(o));
	o.max = 3;
	o.fails_account = 3;
	o.fails_ip = 5;
	o.cost.memory_kib = 64;
	o.cost.time = 1;
	o.cost.lanes = 1;
	o.scram_iter = SCRAM_ITER_MIN;
	return o;
}

static void
open_all(const char *path, const struct account_opts *o)
{
	struct store_opts so = { 0, 0, STORE_SYNC_NORMAL, 0 };
	char why[512];

	if (store_open(path, &so, why, sizeof(why)) == -1)
		fail_msg("store_open: %s", why);
	if (account_init(o, why, sizeof(why)) == -1)
		fail_msg("account_init: %s", why);
}

static void
close_all(void)
{
	account_shutdown();
	store_close();
}

static void
test_hash_roundtrip(void **state)
{
	struct passwd_cost c = { 64, 1, 1 }, c2 = { 256, 2, 2 };
	char phc[PASSWD_PHC_MAX], phc2[PASSWD_PHC_MAX];

	(void)state;
	assert_int_equal(passwd_hash("hunter2", &c, phc, sizeof(phc)), 0);
	assert_true(strncmp(phc, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
	assert_int_equal(passwd_verify(phc, "hunter2"), 1);
	assert_int_equal(passwd_verify(phc, "hunter3"), 0);
	assert_int_equal(passwd_verify(phc, ""), 0);
	/* A hash carries its costs: other flags still verify it. */
	assert_int_equal(passwd_hash("hunter2", &c2, phc2, sizeof(phc2)), 0);
	assert_true(strstr(phc2, "$m=256,t=2,p=2$") != NULL);
	assert_int_equal(passwd_verify(phc2, "hunter2"), 1);
	assert_string_not_equal(phc, phc2);
	/* Not a hash we can read. */
	errno = 0;
	assert_int_equal(passwd_verify("$argon2i$v=19$m=64,t=1,p=1$x$y",
	    "hunter2"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(passwd_verify("garbage", "x"), -1);
	assert_int_equal(passwd_verify("$argon2id$v=19$m=99999999,t=1,p=1$"
	    "c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x"), -1);
	/* Too small a buffer. */
	assert_int_equal(passwd_hash("x", &c, phc, 20), -1);
}

/* RFC 7677 section 3, every message of the example. */
static void
test_scram_rfc7677(void **state)
{
	static const char cfirst[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
	static const char snonce[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	static const char sfirst[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfux"
	    "FIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	static const char cfinal[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2R"
	    "aTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	static const char sfinal[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl"
	    "95G4=";
	unsigned char salt[32];
	struct scram_keys k;
	struct scram s;
	char user[64], out[512], bad[sizeof(cfinal)];

	(void)state;
	assert_int_equal(base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", salt,
	    sizeof(salt)), SCRAM_SALT_LEN);
	assert_int_equal(scram_keys_derive("pencil", 6, salt, 4096, &k), 0);
	assert_int_equal(scram_client_first(&s, cfirst, strlen(cfirst), user,
	    sizeof(user)), 0);
	assert_string_equal(user, "user");
	assert_int_equal(scram_server_first(&s, &k, snonce, out,
	    sizeof(out)), 0);
	assert_string_equal(out, sfirst);
	assert_int_equal(scram_client_final(&s, cfinal, strlen(cfinal), out,
	    sizeof(out)), 1);
	assert_string_equal(out, sfinal);

	/* A wrong proof: one bit. */
	memcpy(bad, cfinal, sizeof(cfinal));
	bad[strlen(bad) - 3] ^= 1;
	assert_int_equal(scram_client_final(&s, bad, strlen(bad), out,
	    sizeof(out)), 0);
	/* The same client-final against a new exchange (another server
	 * nonce): a replay fails on the nonce. */
	assert_int_equal(scram_client_first(&s, cfirst, strlen(cfirst), user,
	    sizeof(user)), 0);
	assert_int_equal(scram_server_first(&s, &k, NULL, out, sizeof(out)),
	    0);
	assert_int_equal(scram_client_final(&s, cfinal, strlen(cfinal), out,
	    sizeof(out)), -1);
}

static void
test_scram_malformed(void **state)
{
	static const char *const first[] = {
		"p=tls-unique,,n=user,r=abc",	/* channel binding */
		"n,,m=ext,n=user,r=abc",	/* mandatory extension */
		"n,,n=,r=abc",			/* empty name */
		"n,,n=us=er,r=abc",		/* bad escape */
		"n,,r=abc",			/* no name */
		"n,,n=user",			/* no nonce */
		"n,,n=user,r=",			/* empty nonce */
		"n,a=other,n=user,r=abc",	/* authzid of another */
		"x,,n=user,r=abc",
		"n,n=user,r=abc",
		"",
	};
	struct scram_keys k;
	struct scram s;
	char user[64], out[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		if (scram_client_first(&s, first[i], strlen(first[i]), user,
		    sizeof(user)) != -1)
			fail_msg("accepted %s", first[i]);
	/* Escapes and a matching authzid are fine; "y" too. */
	assert_int_equal(scram_client_first(&s, "y,a=a=2Cb,n=A=2Cb,r=xyz", 23,
	    user, sizeof(user)), 0);
	assert_string_equal(user, "A,b");
	memset(&k, 0, sizeof(k));
	k.iter = 4096;
	assert_int_equal(scram_server_first(&s, &k, "srv", out, sizeof(out)),
	    0);
	/* c= must be the gs2 header: "y,a=a=2Cb," */
	assert_int_equal(scram_client_final(&s, "c=biws,r=xyzsrv,p=AAAA", 22,
	    out, sizeof(out)), -1);
	assert_int_equal(scram_client_final(&s, "c=eSxhPWE9MkNiLA==,r=xyzsrv",
	    27, out, sizeof(out)), -1);	/* no proof */
	assert_int_equal(scram_client_final(&s, "c=eSxhPWE9MkNiLA==,r=xyzsrv,"
	    "p=AAAA", 34, out, sizeof(out)), -1);	/* short proof */
}

static void
test_accounts_persist(void **state)
{
	struct account_opts o = cheap_opts();
	struct account *a, *b;
	struct account_info ai;
	static const char fp[] = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
	    "EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

	(void)state;
	open_all(dbpath, &o);
	assert_int_equal(account_create("Alice", "hunter2", 0, -1, &a), 0);
	assert_string_equal(account_name(a), "Alice");
	assert_int_equal(account_flags(a), ACCOUNT_PASSWORD | ACCOUNT_SCRAM);
	assert_int_equal(account_cert_add(a, fp), 0);
	assert_int_equal(account_nick_add(a, "ally"), 0);
	account_unref(a);
	assert_int_equal(account_check_password("alice", "hunter2",
	    "10.0.0.1/32", "test", &a), ACCOUNT_OK);
	assert_string_equal(account_name(a), "Alice");
	account_unref(a);
	assert_int_equal(account_check_password("ALICE", "nope",
	    "10.0.0.1/32", "test", &a), ACCOUNT_BAD);
	assert_null(a);
	close_all();

	open_all(dbpath, &o);
	assert_non_null(a = account_find("alice"));
	assert_non_null(b = account_cert_owner(fp));
	assert_ptr_equal(a, b);
	account_unref(b);
	assert_non_null(b = account_nick_owner("ally"));
	assert_ptr_equal(a, b);
	account_unref(b);
	assert_non_null(b = account_nick_owner("alice"));
	account_unref(b);
	account_info(a, &ai);
	assert_int_equal(ai.ncerts, 1);
	assert_string_equal(ai.certs[0], fp);
	assert_int_equal(ai.nnicks, 1);
	assert_int_equal(account_check_password("alice", "hunter2",
	    "10.0.0.2/32", "test", &b), ACCOUNT_OK);
	account_unref(b);
	/* A new password replaces the old at once and on disk. */
	assert_int_equal(account_set_password(a, "correct horse"), 0);
	assert_int_equal(account_check_password("alice", "hunter2",
	    "10.0.0.3/32", "test", &b), ACCOUNT_BAD);
	close_all();
	account_unref(a);	/* a deleted-from-memory object lives on */

	open_all(dbpath, &o);
	assert_int_equal(account_check_password("alice", "correct horse",
	    "10.0.0.4/32", "test", &a), ACCOUNT_OK);
	/* Deleted: a holder keeps a dead object; nothing finds it. */
	assert_int_equal(account_delete(a), 0);
	assert_false(account_usable(a));
	assert_int_equal(account_delete(a), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(account_find("alice"));
	assert_null(account_cert_owner(fp));
	assert_null(account_nick_owner("ally"));
	account_unref(a);
	close_all();
	open_all(dbpath, &o);
	assert_null(account_find("alice"));
	assert_int_equal(account_count(), 0);
	/* Its name and nick are free again; a new Alice is a new object
	 * with a new id. */
	assert_int_equal(account_create("ally", "x", 0, -1, &a), 0);
	assert_true(account_id(a) > 1);
	account_unref(a);
	close_all();
}

static void
test_bounds(void **state)
{
	struct account_opts o = cheap_opts();
	struct account *a;
	char fp[128], nick[32];
	int i;

	(void)state;
	open_all(dbpath, &o);
	assert_int_equal(account_create("a1", "p", 0, -1, &a), 0);
	assert_int_equal(account_create("A1", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(account_create("#room", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_create("1abc", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_create("", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_create("a23456789012345678901234567890123",
	    "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_create("a2", NULL, 0, -1, NULL), 0);
	assert_int_equal(account_create("a3", "p", 0, -1, NULL), 0);
	/* --max-accounts 3 */
	assert_int_equal(account_create("a4", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(account_count(), 3);

	for (i = 0; i < ACCOUNT_CERTS_MAX; i++) {
		snprintf(fp, sizeof(fp), "SHA256:%064x", i);
		assert_int_equal(account_cert_add(a, fp), 0);
	}
	snprintf(fp, sizeof(fp), "%064x", 99);
	assert_int_equal(account_cert_add(a, fp), -1);
	assert_int_equal(errno, ENOSPC);
	snprintf(fp, sizeof(fp), "%064x", 0);
	assert_int_equal(account_cert_add(a, fp), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(account_cert_add(a, "not-a-fingerprint"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_cert_del(a, fp), 0);
	assert_int_equal(account_cert_del(a, fp), -1);
	assert_int_equal(errno, ENOENT);

	for (i = 0; i < ACCOUNT_NICKS_MAX; i++) {
		snprintf(nick, sizeof(nick), "nick%d", i);
		assert_int_equal(account_nick_add(a, nick), 0);
	}
	assert_int_equal(account_nick_add(a, "onemore"), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(account_nick_add(a, "nick0"), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(account_nick_add(a, "A2"), -1);	/* an account */
	assert_int_equal(errno, EEXIST);
	assert_int_equal(account_nick_del(a, "NICK3"), 0);
	assert_int_equal(account_nick_add(a, "onemore"), 0);
	/* A grouped nick cannot become an account. */
	assert_int_equal(account_delete(a), 0);
	account_unref(a);
	assert_int_equal(account_create("nick1", "p", 0, -1, NULL), 0);
	close_all();
}

static void
test_login_limits(void **state)
{
	struct account_opts o = cheap_opts();
	struct account *a;
	char name[32], ip[32];
	int i;

	(void)state;
	o.limit_slots = 8;
	open_all(":memory:", &o);
	assert_int_equal(account_create("bob", "right", 0, -1, NULL), 0);
	/* 3 a minute for an account, from any address. */
	for (i = 0; i < 3; i++)
		assert_int_equal(account_check_password("bob", "wrong",
		    i == 0 ? "10.0.0.1/32" : "10.0.0.2/32", "test", &a),
		    ACCOUNT_BAD);
	assert_int_equal(account_check_password("bob", "right", "10.9.9.9/32",
	    "test", &a), ACCOUNT_LIMITED);
	assert_null(a);
	/* 5 a minute from an address, whatever the accounts (unknown
	 * ones count too). */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "ghost%d", i);
		assert_int_equal(account_check_password(name, "x",
		    "192.0.2.1/32", "test", &a), ACCOUNT_BAD);
	}
	assert_int_equal(account_check_password("nobody", "x",
	    "192.0.2.1/32", "test", &a), ACCOUNT_LIMITED);
	assert_int_equal(account_login_limited("anyone", "192.0.2.1/32"), 1);
	assert_int_equal(account_login_limited("anyone", "192.0.2.2/32"), 0);
	/* The tables hold 8 counters each: past that, the one whose window
	 * began longest ago makes room (all began this second here). */
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "zed%d", i);
		assert_int_equal(account_attempt_begin(name, "198.51.100.1/32"),
		    0);
		account_attempt_end(name, "198.51.100.1/32", 1, "test");
	}
	assert_int_equal(account_login_limited("zed2", "203.0.113.1/32"), 0);
	assert_int_equal(account_attempt_begin("zed2", "203.0.113.1/32"), 0);
	account_attempt_end("zed2", "203.0.113.1/32", 1, "test");
	/* Two attempts under way at once, then one more, all failing: yan
	 * reaches its limit of 3 and is refused after. */
	assert_int_equal(account_attempt_begin("yan", "198.51.100.8/32"), 0);
	assert_int_equal(account_attempt_begin("yan", "198.51.100.9/32"), 0);
	account_attempt_end("yan", "198.51.100.8/32", 1, "test");
	account_attempt_end("yan", "198.51.100.9/32", 1, "test");
	assert_int_equal(account_attempt_begin("yan", "198.51.100.9/32"), 0);
	account_attempt_end("yan", "198.51.100.9/32", 1, "test");
	assert_int_equal(account_attempt_begin("yan", "198.51.100.9/32"), -1);
	/* Only a table full of attempts under way refuses a stranger. */
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		snprintf(ip, sizeof(ip), "10.1.0.%d/32", i);
		assert_int_equal(account_attempt_begin(name, ip), 0);
	}
	assert_int_equal(account_attempt_begin("b8", "10.1.0.8/32"), -1);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		snprintf(ip, sizeof(ip), "10.1.0.%d/32", i);
		account_attempt_end(name, ip, 0, NULL);
	}
	assert_int_equal(account_attempt_begin("b8", "10.1.0.8/32"), 0);
	account_attempt_end("b8", "10.1.0.8/32", 0, NULL);
	close_all();
}

static void
test_register_limit(void **state)
{
	struct account_opts o = cheap_opts();

	(void)state;
	o.registers_ip = 2;
	open_all(":memory:", &o);
	/* 2 an hour from an address; others go on. */
	assert_int_equal(account_register_take("10.0.0.1/32"), 0);
	assert_int_equal(account_register_take("10.0.0.1/32"), 0);
	assert_int_equal(account_register_take("10.0.0.1/32"), -1);
	assert_int_equal(account_register_take("10.0.0.1/32"), -1);
	assert_int_equal(account_register_take("10.0.0.2/32"), 0);
	/* A service's nick is never an account's name, nor grouped. */
	assert_int_equal(account_create("NickServ", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(account_create("nickserv", "p", 0, -1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close_all();
	/* 0: no limit. */
	o.registers_ip = 0;
	open_all(":memory:", &o);
	assert_int_equal(account_register_take("10.0.0.1/32"), 0);
	assert_int_equal(account_register_take("10.0.0.1/32"), 0);
	assert_int_equal(account_register_take("10.0.0.1/32"), 0);
	close_all();
}

struct waiter_arg {
	const char	*phc;
	int		 rc;
};

static void *
verify_thread(void *arg)
{
	struct waiter_arg *w = arg;

	w->rc = passwd_verify(w->phc, "pw");
	return NULL;
}

static void
test_pool_queue_bound(void **state)
{
	struct passwd_cost c = { 64, 1, 1 };
	struct waiter_arg w;
	pthread_t th;
	char phc[PASSWD_PHC_MAX];
	int i;

	(void)state;
	assert_int_equal(passwd_hash("pw", &c, phc, sizeof(phc)), 0);
	assert_int_equal(passwd_pool_start(1, 1), 0);
	passwd_pool_pause(1);
	w.phc = phc;
	w.rc = -2;
	assert_int_equal(pthread_create(&th, NULL, verify_thread, &w), 0);
	for (i = 0; i < 500 && passwd_pool_queued() < 1; i++)
		usleep(10000);
	assert_int_equal(passwd_pool_queued(), 1);
	/* The queue holds one: the next request is refused at once. */
	errno = 0;
	assert_int_equal(passwd_verify(phc, "pw"), -1);
	assert_int_equal(errno, EAGAIN);
	passwd_pool_pause(0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 1);
	assert_int_equal(passwd_verify(phc, "pw"), 1);
	assert_int_equal(passwd_verify(phc, "px"), 0);
	/* Stopped: what still waits fails, nothing runs. */
	passwd_pool_pause(1);
	w.rc = -2;
	assert_int_equal(pthread_create(&th, NULL, verify_thread, &w), 0);
	for (i = 0; i < 500 && passwd_pool_queued() < 1; i++)
		usleep(10000);
	passwd_pool_stop();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, -1);
	passwd_pool_pause(0);
	assert_int_equal(passwd_verify(phc, "pw"), -1);
	assert_int_equal(errno, ECANCELED);
	/* A new pool works again (and serves the tests after this). */
	assert_int_equal(passwd_pool_start(2, 4), 0);
	assert_int_equal(passwd_verify(phc, "pw"), 1);
}

static void
test_local_accounts(void **state)
{
	struct account_opts o = cheap_opts();
	struct account *a, *b;

	(void)state;
	open_all("off", &o);
	assert_non_null(a = account_local(1000, "carol"));
	assert_int_equal(account_flags(a), ACCOUNT_LOCAL);
	assert_non_null(b = account_local(1000, "carol"));
	assert_ptr_equal(a, b);
	account_unref(b);
	/* No password: a password login fails like a wrong one. */
	assert_int_equal(account_check_password("carol", "", "h/32", "test", &b),
	    ACCOUNT_BAD);
	/* The name of another uid's or a password account is not ours. */
	assert_null(account_local(1001, "carol"));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(account_create("dave", "pw", 0, -1, NULL), 0);
	assert_null(account_local(1002, "dave"));
	assert_null(account_local(1003, "not a nick"));
	account_unref(a);
	close_all();
}

/* A database today's natterd wrote (schema 3): the messages survive,
 * and accounts work in it. */
static void
test_migration_v3(void **state)
{
	struct account_opts o = cheap_opts();
	struct store_sel none = { SEL_NONE, "", 0 };
	struct account *a;
	char cmd[PATH_MAX * 3];
	int n, k = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cp %s '%s' && chmod 600 '%s'", FIXTURE_V3,
	    dbpath, dbpath);
	assert_int_equal(system(cmd), 0);
	open_all(dbpath, &o);
	n = store_latest("#lobby", &none, 10, 0, 0, count_rows, &k);
	assert_int_equal(n, 2);
	assert_int_equal(k, 2);
	assert_int_equal(store_latest("alice bob", &none, 10, 0, 0, count_rows,
	    &k), 1);
	assert_int_equal(store_last_seq(), 3);
	assert_int_equal(account_count(), 0);
	assert_int_equal(account_create("alice", "pw", 0, -1, NULL), 0);
	close_all();
	open_all(dbpath, &o);
	assert_int_equal(store_latest("#lobby", &none, 10, 0, 0, count_rows,
	    &k), 2);
	assert_int_equal(account_check_password("alice", "pw", "h/32", "test", &a),
	    ACCOUNT_OK);
	account_unref(a);
	close_all();
}

static void
test_migration_rows(void **state)
{
	struct account_opts o = cheap_opts();
	struct store_sel none = { SEL_NONE, "", 0 };
	char cmd[PATH_MAX * 3];
	int n = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cp %s '%s' && chmod 600 '%s'", FIXTURE_V3,
	    dbpath, dbpath);
	assert_int_equal(system(cmd), 0);
	open_all(dbpath, &o);
	assert_int_equal(store_latest("#lobby", &none, 10, 0, 0, count_rows,
	    &n), 2);
	assert_int_equal(n, 2);
	close_all();
}

static void
test_markers(void **state)
{
	struct account_opts o = cheap_opts();
	struct account *a, *b;
	char key[16];
	int64_t ms, id;
	int i;

	(void)state;
	open_all(dbpath, &o);
	assert_int_equal(marker_init(), 0);
	assert_int_equal(account_create("mara", "pw", 0, -1, &a), 0);
	assert_int_equal(account_create("nils", "pw", 0, -1, &b), 0);
	assert_int_equal(marker_get(a, "#room"), 0);
	ms = 1000;
	assert_int_equal(marker_set(a, "#room", &ms), 1);
	assert_int_equal(ms, 1000);
	/* Earlier or equal: kept, and the stored value comes back. */
	ms = 999;
	assert_int_equal(marker_set(a, "#room", &ms), 0);
	assert_int_equal(ms, 1000);
	ms = 1000;
	assert_int_equal(marker_set(a, "#room", &ms), 0);
	/* The future counts as now. */
	ms = INT64_MAX;
	assert_int_equal(marker_set(a, "bob", &ms), 1);
	assert_true(ms < INT64_MAX && ms > 1000);
	assert_int_equal(marker_get(a, "bob"), ms);
	/* Another account's are its own. */
	assert_int_equal(marker_get(b, "#room"), 0);
	assert_int_equal(marker_get(NULL, "#room"), 0);
	ms = 5;
	assert_int_equal(marker_set(a, "#this-key-is-longer-than-fifty-bytes-"
	    "which-is-too-long", &ms), -1);
	assert_int_equal(errno, EINVAL);

	/* Fill to the bound; one more drops the oldest (#room, 1000). */
	for (i = 2; i < MARKERS_MAX; i++) {
		snprintf(key, sizeof(key), "#r%d", i);
		ms = 2000 + i;
		assert_int_equal(marker_set(a, key, &ms), 1);
	}
	ms = 100;
	assert_int_equal(marker_set(a, "#last", &ms), 1);
	assert_int_equal(marker_get(a, "#room"), 0);
	assert_int_equal(marker_get(a, "#last"), 100);
	assert_int_equal(marker_get(a, "#r2"), 2002);
	/* Now #last (100) is the oldest. */
	ms = 7;
	assert_int_equal(marker_set(a, "#new", &ms), 1);
	assert_int_equal(marker_get(a, "#last"), 0);
	ms = 3000;
	assert_int_equal(marker_set(b, "#room", &ms), 1);
	marker_shutdown();
	close_all();

	/* A reopen has them all, bound and eviction included. */
	open_all(dbpath, &o);
	assert_int_equal(marker_init(), 0);
	assert_int_equal(marker_get(a, "#room"), 0);
	assert_int_equal(marker_get(a, "#new"), 7);
	assert_int_equal(marker_get(a, "#r1023"), 3023);
	assert_int_equal(marker_get(b, "#room"), 3000);
	account_unref(a);
	account_unref(b);
	/* Deleted with the account: memory at once, the file too. */
	assert_non_null(a = account_find("mara"));
	id = account_id(a);
	assert_int_equal(account_delete(a), 0);
	assert_int_equal(marker_get(a, "#new"), 0);
	ms = 9999;
	assert_int_equal(marker_set(a, "#new", &ms), -1);
	assert_int_equal(errno, ENOENT);
	account_unref(a);
	marker_shutdown();
	close_all();
	open_all(dbpath, &o);
	assert_int_equal(marker_init(), 0);
	assert_non_null(b = account_find("nils"));
	assert_int_equal(marker_get(b, "#room"), 3000);
	assert_true(account_id(b) != id);
	account_unref(b);
	marker_shutdown();
	close_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_roundtrip),
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_malformed),
		cmocka_unit_test_setup_teardown(test_accounts_persist,
		    setup_db, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup_db,
		    teardown),
		cmocka_unit_test(test_login_limits),
		cmocka_unit_test(test_register_limit),
		cmocka_unit_test(test_pool_queue_bound),
		cmocka_unit_test(test_local_accounts),
		cmocka_unit_test_setup_teardown(test_migration_v3, setup_db,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_rows, setup_db,
		    teardown),
		cmocka_unit_test_setup_teardown(test_markers, setup_db,
		    teardown),
	};

	log_init("test_account", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
