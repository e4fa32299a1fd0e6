/*
 * qmgr_policy - the queue manager's decisions about time: when a deferred
 * message is tried again, when it has been in the queue too long, and when
 * its sender is told that it is late. Pure functions, for tests.
 *
 * Backoff. A message that is deferred waits about as long as it has
 * already been in the queue, but at least minimal_backoff_time and at most
 * maximal_backoff_time: attempts at ages 0, min, 2 min, 4 min, ... until
 * the waits reach the maximum, so that the wait doubles with each attempt
 * without keeping a count. A jitter of up to QMGR_JITTER of the wait either
 * way (still within the two bounds) spreads the retries of messages that
 * failed together, so that they do not come back as a herd.
 */
#ifndef TERN_QMGR_POLICY_H
#define TERN_QMGR_POLICY_H

#include <stdbool.h>
#include <time.h>

/* The jitter: a fraction of the wait, either way. */
#define QMGR_JITTER 0.1

/*
 * qmgr_backoff - seconds to wait before the next attempt of a message that
 * is age seconds old; min_backoff <= max_backoff (both >= 1); random01 is
 * a random number in [0, 1) (0.5 means no jitter). The result is within
 * [min_backoff, max_backoff].
 */
time_t qmgr_backoff(time_t age, time_t min_backoff, time_t max_backoff, double random01);

/*
 * qmgr_expired - whether a message age seconds old that still has
 * recipients to deliver is to be returned: after maximal_queue_lifetime, or
 * bounce_queue_lifetime for a message with the null sender (a notice
 * itself). A lifetime of 0 means: after the first attempt.
 */
bool qmgr_expired(time_t age, bool null_sender, time_t max_lifetime, time_t bounce_lifetime);

/*
 * qmgr_warn_due - whether the sender of a message age seconds old is to get
 * a delay warning now: delay_warning_time is set (> 0), the message is that
 * old, no warning was sent yet, and the sender is not the null sender.
 */
bool qmgr_warn_due(time_t age, time_t warning_time, bool warned, bool null_sender);

#endif
