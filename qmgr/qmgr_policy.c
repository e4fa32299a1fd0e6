/*
 * qmgr_policy - backoff with jitter, expiry, delay warnings. See qmgr_policy.h.
 */
#include "qmgr/qmgr_policy.h"

/* clamp - x within [lo, hi]. */
static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

time_t qmgr_backoff(time_t age, time_t min_backoff, time_t max_backoff, double random01)
{
	double nominal, jitter;

	if (min_backoff < 1)
		min_backoff = 1;
	if (max_backoff < min_backoff)
		max_backoff = min_backoff;
	if (!(random01 >= 0 && random01 < 1))
		random01 = 0.5;
	nominal = clamp((double)(age > 0 ? age : 0), (double)min_backoff, (double)max_backoff);
	jitter = nominal * QMGR_JITTER * (2 * random01 - 1);
	/* both terms are positive: the cast after + 0.5 rounds to the nearest second */
	return (time_t)(clamp(nominal + jitter, (double)min_backoff, (double)max_backoff) + 0.5);
}

bool qmgr_expired(time_t age, bool null_sender, time_t max_lifetime, time_t bounce_lifetime)
{
	time_t lifetime = null_sender ? bounce_lifetime : max_lifetime;

	/* a message is never younger than its lifetime limit of 0 after an attempt */
	return age >= lifetime;
}

bool qmgr_warn_due(time_t age, time_t warning_time, bool warned, bool null_sender)
{
	return warning_time > 0 && !warned && !null_sender && age >= warning_time;
}
