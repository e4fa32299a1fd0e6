/*
 * ternadmin_opts - the options of ternadmin's commands, and the sizes and
 * counts they take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"

/* find_option - the entry of opts named by arg ("--name" or "--name=value"). */
static const struct ta_option *find_option(const struct ta_option *opts, const char *arg)
{
	size_t n = strcspn(arg + 2, "=");

	for (; opts->name != NULL; opts++) {
		if (strlen(opts->name) == n && strncmp(opts->name, arg + 2, n) == 0)
			return opts;
	}
	return NULL;
}

/* take_option - apply the option at argv[*i], consuming its value; TA_OK or TA_USAGE. */
static int take_option(struct ternadmin *ta, int argc, char **argv, int *i,
		       const struct ta_option *opts)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	const struct ta_option *o;

	if (strcmp(arg, "--json") == 0) {
		ta->json = 1;
		return TA_OK;
	}
	if ((o = find_option(opts, arg)) == NULL)
		return ta_usage_error(ta, "unknown option \"%s\"", arg);
	if (o->flag != NULL) {
		if (eq != NULL)
			return ta_usage_error(ta, "option --%s takes no value", o->name);
		*o->flag = 1;
		return TA_OK;
	}
	if (eq != NULL) {
		*o->value = eq + 1;
	} else if (*i + 1 < argc) {
		*o->value = argv[++*i];
	} else {
		return ta_usage_error(ta, "option --%s needs a value", o->name);
	}
	return TA_OK;
}

int ta_parse(struct ternadmin *ta, int argc, char **argv, const struct ta_option *opts, int min,
	     int max, char ***args_r, int *nargs_r)
{
	char **args = xcalloc((size_t)argc + 1, sizeof(char *));
	int i, n = 0, options = 1, status;

	for (i = 0; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = 0;
		} else if (options && strncmp(argv[i], "--", 2) == 0) {
			if ((status = take_option(ta, argc, argv, &i, opts)) != TA_OK) {
				free(args);
				return status;
			}
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			free(args);
			return ta_usage_error(ta, "unknown option \"%s\"", argv[i]);
		} else {
			args[n++] = argv[i];
		}
	}
	if (n < min || (max >= 0 && n > max)) {
		free(args);
		if (n < min)
			return ta_usage_error(ta, "missing argument");
		return ta_usage_error(ta, "too many arguments");
	}
	*args_r = args;
	*nargs_r = n;
	return TA_OK;
}

/* parse_number - digits then an optional unit letter with its multiplier; -1 when bad. */
static int parse_number(const char *text, const char *units, uint64_t *num_r)
{
	static const uint64_t mult[] = {1024ULL, 1024ULL * 1024, 1024ULL * 1024 * 1024,
					1024ULL * 1024 * 1024 * 1024};
	const char *p = text, *u;
	uint64_t n = 0;

	if (strcmp(text, "unlimited") == 0 || strcmp(text, "none") == 0) {
		*num_r = 0;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0') {
		if (units == NULL || p[1] != '\0' || (u = strchr(units, *p)) == NULL)
			return -1;
		if (n > UINT64_MAX / mult[(u - units) % 4])
			return -1;
		n *= mult[(u - units) % 4];
	}
	if (n > (uint64_t)INT64_MAX)
		return -1;
	*num_r = n;
	return 0;
}

int ta_parse_size(const char *text, uint64_t *bytes_r)
{
	return parse_number(text, "kmgtKMGT", bytes_r);
}

int ta_parse_count(const char *text, uint64_t *count_r)
{
	return parse_number(text, NULL, count_r);
}

char *ta_format_size(uint64_t bytes)
{
	static const char units[] = "KMGT";
	int i;

	if (bytes == 0)
		return xstrdup("unlimited");
	for (i = 3; i >= 0; i--) {
		uint64_t m = 1024ULL << (10 * i);

		if (bytes % m == 0)
			return xasprintf("%llu%c", (unsigned long long)(bytes / m), units[i]);
	}
	return xasprintf("%llu", (unsigned long long)bytes);
}
