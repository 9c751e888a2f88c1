/*
 * passwd.c: password hashing, and the small pool of threads that does
 * it.  argon2id (RFC 9106) for the stored hash, as a PHC string;
 * PBKDF2-HMAC-SHA-256 for the SCRAM-SHA-256 keys (RFC 5802, 7677).
 *
 * Why libargon2 and not libsodium: libargon2 is the reference
 * implementation by argon2's designers (Debian's libargon2-dev), and
 * its argon2_context lets us choose the lanes (p) separately from the
 * threads that compute them, and the allocator.  We compute every hash
 * on one thread (threads = 1, whatever the lanes), so --hash-threads
 * alone bounds the CPU a burst of logins takes, and we map the memory
 * ourselves so it goes back to the kernel after each hash.
 * libsodium's crypto_pwhash fixes the lanes at 1, so it could neither
 * follow RFC 9106's p = 4 recommendation nor verify a hash made with
 * other lanes, and takes its memory from malloc.
 *
 * The pool: passwd_hash, passwd_verify and passwd_scram block the
 * calling thread (a client's, with no lock held) until one of the
 * hashing threads has done the work.  Requests wait in one FIFO queue,
 * so logins are served in the order they came; the queue holds at most
 * queue_max requests (each client thread has at most one outstanding,
 * so max-clients is enough), past which a request fails at once with
 * EAGAIN.  Without a pool (natterd --add-account, unit tests) the work
 * runs in the caller's thread.
 *
 * Locks: pool.lock guards the queue and the flags below it; it is a
 * leaf, and nothing is hashed while it is held.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "base64.h"
#include "log.h"
#include "natterd.h"

#define PASSWD_SALT_LEN		16
#define PASSWD_HASH_LEN		32
#define PASSWD_THREADS_MAX	64

enum job_kind {
	JOB_HASH,
	JOB_VERIFY,
	JOB_SCRAM
};

/* One request, on the waiting caller's stack. */
struct job {
	struct job		*next;
	enum job_kind		 kind;
	const char		*password;
	const struct passwd_cost *cost;		/* JOB_HASH */
	const char		*phc;		/* JOB_VERIFY */
	char			*out;		/* JOB_HASH */
	size_t			 outlen;
	int			 iter;		/* JOB_SCRAM */
	struct scram_keys	*keys;
	int			 rc;
	int			 err;
	int			 done;
	pthread_cond_t		 cond;
};

static struct pool {
	pthread_mutex_t	 lock;		/* guards everything below */
	pthread_cond_t	 work;		/* a job was queued, or stop */
	struct job	*head;
	struct job	*tail;
	int		 queued;
	int		 queue_max;
	int		 paused;	/* tests: workers take nothing */
	int		 stop;
	int		 running;	/* workers started */
	pthread_t	 threads[PASSWD_THREADS_MAX];
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
};

/* argon2's memory, mapped and unmapped around each hash: malloc would
 * keep the hashing threads' tens of MiB resident between logins. */
static int
passwd_alloc(uint8_t **mem, size_t len)
{
	void	*p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return ARGON2_MEMORY_ALLOCATION_ERROR;
	*mem = p;
	return ARGON2_OK;
}

static void
passwd_unmap(uint8_t *mem, size_t len)
{
	munmap(mem, len);
}

/* The raw argon2id of password, on this thread alone. */
static int
passwd_argon2(const char *password, const unsigned char *salt, size_t saltlen,
    uint32_t m, uint32_t t, uint32_t p, unsigned char *out, size_t outlen)
{
	argon2_context	 ctx;
	int		 rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.out = out;
	ctx.outlen = (uint32_t)outlen;
	ctx.pwd = (uint8_t *)(uintptr_t)password;
	ctx.pwdlen = (uint32_t)strlen(password);
	ctx.salt = (uint8_t *)(uintptr_t)salt;
	ctx.saltlen = (uint32_t)saltlen;
	ctx.t_cost = t;
	ctx.m_cost = m;
	ctx.lanes = p;
	ctx.threads = 1;
	ctx.version = ARGON2_VERSION_13;
	ctx.allocate_cbk = passwd_alloc;
	ctx.free_cbk = passwd_unmap;
	ctx.flags = ARGON2_DEFAULT_FLAGS;
	if ((rc = argon2_ctx(&ctx, Argon2_id)) != ARGON2_OK) {
		log_warnx("argon2id: %s", argon2_error_message(rc));
		errno = rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ENOMEM : EINVAL;
		return -1;
	}
	return 0;
}

/* Base64 without padding, as PHC strings have it. */
static int
phc_b64(const unsigned char *in, size_t n, char *out, size_t len)
{
	int	 k;

	if ((k = base64_encode(in, n, out, len)) == -1)
		return -1;
	while (k > 0 && out[k - 1] == '=')
		out[--k] = '\0';
	return k;
}

/* The padded-again decoding of a PHC field of n characters. */
static int
phc_unb64(const char *in, size_t n, unsigned char *out, size_t len)
{
	char	 buf[128];

	if (n + 3 >= sizeof(buf))
		return -1;
	memcpy(buf, in, n);
	while (n % 4 != 0)
		buf[n++] = '=';
	buf[n] = '\0';
	return base64_decode(buf, out, len);
}

static int
do_hash(const char *password, const struct passwd_cost *c, char *out,
    size_t outlen)
{
	unsigned char	 salt[PASSWD_SALT_LEN], hash[PASSWD_HASH_LEN];
	char		 s64[BASE64_LEN(PASSWD_SALT_LEN)];
	char		 h64[BASE64_LEN(PASSWD_HASH_LEN)];
	int		 n, rc = -1;

	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		return -1;
	if (passwd_argon2(password, salt, sizeof(salt), c->memory_kib,
	    c->time, c->lanes, hash, sizeof(hash)) == -1)
		goto out;
	if (phc_b64(salt, sizeof(salt), s64, sizeof(s64)) == -1 ||
	    phc_b64(hash, sizeof(hash), h64, sizeof(h64)) == -1)
		goto out;
	n = snprintf(out, outlen, "$argon2id$v=%d$m=%u,t=%u,p=%u$%s$%s",
	    ARGON2_VERSION_13, c->memory_kib, c->time, c->lanes, s64, h64);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENOSPC;
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

/* Reads an unsigned decimal at *p, moves past it. */
static int
phc_num(const char **p, uint32_t *v)
{
	unsigned long	 n = 0;
	const char	*s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (unsigned long)(*s++ - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*v = (uint32_t)n;
	*p = s;
	return 0;
}

/* 1 match, 0 no match, -1 for a PHC string we cannot read. */
static int
do_verify(const char *phc, const char *password)
{
	unsigned char	 salt[64], want[64], got[64];
	const char	*p = phc, *dollar;
	uint32_t	 v, m, t, l;
	int		 saltlen, hashlen, rc;

	if (strncmp(p, "$argon2id$v=", 12) != 0)
		goto bad;
	p += 12;
	if (phc_num(&p, &v) == -1 || v != ARGON2_VERSION_13 ||
	    strncmp(p, "$m=", 3) != 0)
		goto bad;
	p += 3;
	if (phc_num(&p, &m) == -1 || strncmp(p, ",t=", 3) != 0)
		goto bad;
	p += 3;
	if (phc_num(&p, &t) == -1 || strncmp(p, ",p=", 3) != 0)
		goto bad;
	p += 3;
	if (phc_num(&p, &l) == -1 || *p++ != '$' ||
	    (dollar = strchr(p, '$')) == NULL)
		goto bad;
	if ((saltlen = phc_unb64(p, (size_t)(dollar - p), salt,
	    sizeof(salt))) < 8)
		goto bad;
	p = dollar + 1;
	if ((hashlen = phc_unb64(p, strlen(p), want, sizeof(want))) < 16)
		goto bad;
	/* Costs far past what the flags allow are a damaged string. */
	if (m > PASSWD_MEMORY_MAX || t < 1 || t > PASSWD_TIME_MAX || l < 1 ||
	    l > PASSWD_LANES_MAX || m < 8 * l)
		goto bad;
	if (passwd_argon2(password, salt, (size_t)saltlen, m, t, l, got,
	    (size_t)hashlen) == -1)
		return -1;
	rc = CRYPTO_memcmp(got, want, (size_t)hashlen) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
bad:
	errno = EINVAL;
	return -1;
}

int
scram_keys_derive(const char *password, size_t pwlen,
    const unsigned char *salt, int iter, struct scram_keys *k)
{
	unsigned char	 salted[SHA256_DIGEST_LENGTH];
	unsigned char	 ckey[SHA256_DIGEST_LENGTH];
	unsigned int	 n;
	int		 rc = -1;

	if (iter < 1 || PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt,
	    SCRAM_SALT_LEN, iter, EVP_sha256(), sizeof(salted), salted) != 1)
		goto out;
	memcpy(k->salt, salt, SCRAM_SALT_LEN);
	k->iter = iter;
	n = sizeof(ckey);
	if (HMAC(EVP_sha256(), salted, sizeof(salted),
	    (const unsigned char *)"Client Key", 10, ckey, &n) == NULL)
		goto out;
	SHA256(ckey, sizeof(ckey), k->stored);
	n = SCRAM_KEY_LEN;
	if (HMAC(EVP_sha256(), salted, sizeof(salted),
	    (const unsigned char *)"Server Key", 10, k->server, &n) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return rc;
}

static int
do_scram(const char *password, int iter, struct scram_keys *k)
{
	unsigned char	 salt[SCRAM_SALT_LEN];

	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		return -1;
	return scram_keys_derive(password, strlen(password), salt, iter, k);
}

static void
job_run(struct job *j)
{
	errno = 0;
	switch (j->kind) {
	case JOB_HASH:
		j->rc = do_hash(j->password, j->cost, j->out, j->outlen);
		break;
	case JOB_VERIFY:
		j->rc = do_verify(j->phc, j->password);
		break;
	case JOB_SCRAM:
		j->rc = do_scram(j->password, j->iter, j->keys);
		break;
	}
	j->err = errno;
}

static void *
pool_main(void *arg)
{
	struct job	*j;

	(void)arg;
	pthread_setname_np(pthread_self(), "natterd-hash");
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.stop && (pool.head == NULL || pool.paused))
			pthread_cond_wait(&pool.work, &pool.lock);
		if (pool.stop)
			break;
		j = pool.head;
		pool.head = j->next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pool.queued--;
		pthread_mutex_unlock(&pool.lock);

		job_run(j);

		pthread_mutex_lock(&pool.lock);
		j->done = 1;
		pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

int
passwd_pool_start(int threads, int queue_max)
{
	int	 i, rc;

	if (threads < 1 || threads > PASSWD_THREADS_MAX || queue_max < 1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&pool.lock);
	pool.queue_max = queue_max;
	pool.stop = 0;
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < threads; i++) {
		if ((rc = pthread_create(&pool.threads[i], NULL, pool_main,
		    NULL)) != 0) {
			passwd_pool_stop();
			errno = rc;
			return -1;
		}
		pthread_mutex_lock(&pool.lock);
		pool.running++;
		pthread_mutex_unlock(&pool.lock);
	}
	return 0;
}

void
passwd_pool_stop(void)
{
	struct job	*j;
	int		 i, n;

	pthread_mutex_lock(&pool.lock);
	pool.stop = 1;
	/* Waiting requests fail; those in progress finish. */
	while ((j = pool.head) != NULL) {
		pool.head = j->next;
		j->rc = -1;
		j->err = ECANCELED;
		j->done = 1;
		pthread_cond_signal(&j->cond);
	}
	pool.tail = NULL;
	pool.queued = 0;
	pthread_cond_broadcast(&pool.work);
	n = pool.running;
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < n; i++)
		pthread_join(pool.threads[i], NULL);
	pthread_mutex_lock(&pool.lock);
	pool.running = 0;
	pthread_mutex_unlock(&pool.lock);
}

void
passwd_pool_pause(int on)
{
	pthread_mutex_lock(&pool.lock);
	pool.paused = on;
	if (!on)
		pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
}

int
passwd_pool_queued(void)
{
	int	 n;

	pthread_mutex_lock(&pool.lock);
	n = pool.queued;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

/* Runs j in the pool (or here, without one) and waits for it. */
static int
job_submit(struct job *j)
{
	int	 rc;

	pthread_mutex_lock(&pool.lock);
	if (pool.stop) {
		pthread_mutex_unlock(&pool.lock);
		errno = ECANCELED;
		return -1;
	}
	if (pool.running == 0) {
		pthread_mutex_unlock(&pool.lock);
		job_run(j);
		errno = j->err;
		return j->rc;
	}
	if (pool.queued >= pool.queue_max) {
		pthread_mutex_unlock(&pool.lock);
		log_warnx("hashing: %d requests already wait; refusing one",
		    pool.queued);
		errno = EAGAIN;
		return -1;
	}
	if ((rc = pthread_cond_init(&j->cond, NULL)) != 0) {
		pthread_mutex_unlock(&pool.lock);
		errno = rc;
		return -1;
	}
	j->next = NULL;
	j->done = 0;
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.queued++;
	pthread_cond_signal(&pool.work);
	while (!j->done)
		pthread_cond_wait(&j->cond, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&j->cond);
	errno = j->err;
	return j->rc;
}

int
passwd_hash(const char *password, const struct passwd_cost *cost, char *phc,
    size_t len)
{
	struct job	 j;

	memset(&j, 0, sizeof(j));
	j.kind = JOB_HASH;
	j.password = password;
	j.cost = cost;
	j.out = phc;
	j.outlen = len;
	return job_submit(&j);
}

int
passwd_verify(const char *phc, const char *password)
{
	struct job	 j;

	memset(&j, 0, sizeof(j));
	j.kind = JOB_VERIFY;
	j.phc = phc;
	j.password = password;
	return job_submit(&j);
}

int
passwd_scram(const char *password, int iter, struct scram_keys *k)
{
	struct job	 j;

	memset(&j, 0, sizeof(j));
	j.kind = JOB_SCRAM;
	j.password = password;
	j.iter = iter;
	j.keys = k;
	return job_submit(&j);
}
