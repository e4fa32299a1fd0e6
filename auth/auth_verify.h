/*
 * auth_verify - password checks in worker threads, so that the event loop
 * keeps serving while yescrypt or Argon2 hashes (tens of milliseconds and
 * up to 64 MiB each) are computed.
 *
 * Jobs run in submission order on a fixed number of threads; each result
 * comes back on the loop's thread through the job's callback. The threads
 * only run password_verify() on copies of the password and the hash: they
 * log nothing and touch no other state. A password is wiped from memory as
 * soon as its check is over.
 */
#ifndef TERN_AUTH_VERIFY_H
#define TERN_AUTH_VERIFY_H

#include "mail/password.h"

struct event_loop;
struct auth_verify;
struct auth_verify_job;

/*
 * auth_verify_done_fn - the result of a job, on the loop's thread: MATCH,
 * MISMATCH, or ERROR with error set (the callee may keep it: it is
 * malloc'd and becomes the callee's to free).
 */
typedef void auth_verify_done_fn(void *ctx, enum password_result result, char *error);

/*
 * auth_verify_create - threads (>= 1) workers reporting to loop. Failing to
 * start a thread is fatal. Call it after the signals the loop handles are
 * blocked (the threads inherit the mask).
 */
struct auth_verify *auth_verify_create(struct event_loop *loop, int threads);

/* auth_verify_free - stop the workers (after their current job), drop every job, set *v NULL. */
void auth_verify_free(struct auth_verify **v);

/* auth_verify_submit - check password against hash; done(ctx, ...) later, never from here. */
struct auth_verify_job *auth_verify_submit(struct auth_verify *v, const char *password,
					   const char *hash, auth_verify_done_fn *done, void *ctx);

/* auth_verify_cancel - the job's callback will not be called; the job is forgotten. */
void auth_verify_cancel(struct auth_verify *v, struct auth_verify_job *job);

/* auth_verify_default_threads - the number of threads for 0 in auth_verify_threads: one per CPU. */
int auth_verify_default_threads(void);

#endif
