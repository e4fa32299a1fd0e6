/*
 * fuzz_config - libFuzzer harness for the configuration readers.
 *
 * The input is read three ways: as main.cf syntax with every value expanded
 * (util/config), as a whole main.cf (mail_conf: expansion plus validation
 * of the parameter table's types), and as master.cf (master_conf).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "util/config.h"
#include "util/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lookup - values from the parsed input itself. */
static const char *lookup(const char *name, void *context)
{
	const struct config_entry *entry = config_find(context, name);

	return entry ? entry->value : NULL;
}

/* fuzz_syntax - parse, then expand each entry as its own parameter. */
static void fuzz_syntax(const char *text, size_t len)
{
	struct config *cfg = NULL, *copy;
	char *result, *error = NULL;
	size_t i;

	if (config_parse("fuzz.cf", text, len, &cfg, &error) < 0) {
		free(error);
		return;
	}
	copy = config_dup(cfg);
	for (i = 0; i < cfg->count; i++) {
		if (config_expand(cfg->entries[i].name, cfg->entries[i].value, lookup, copy,
				  &result, &error) == 0)
			free(result);
		else
			free(error);
	}
	config_free(&copy);
	config_free(&cfg);
}

/* fuzz_mail_conf - the input as main.cf, then one override drawn from it. */
static void fuzz_mail_conf(const char *text, size_t len)
{
	struct mail_conf *conf;
	char *error = NULL;

	if ((conf = mail_conf_parse("/fuzz", "/fuzz/main.cf", text, len, &error)) == NULL) {
		free(error);
		return;
	}
	if (mail_conf_override(conf, text, "fuzz", &error) < 0)
		free(error);
	mail_conf_free(&conf);
}

/* fuzz_master_conf - the input as master.cf, against the defaults. */
static void fuzz_master_conf(const struct mail_conf *conf, const char *text, size_t len)
{
	struct master_conf *mc = NULL;
	char *error = NULL;

	if (master_conf_parse("/fuzz/master.cf", text, len, conf, &mc, &error) < 0)
		free(error);
	master_conf_free(&mc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_conf *defaults;
	char *text;

	if (defaults == NULL) {
		msg_init("fuzz_config");
		defaults = mail_conf_defaults();
	}
	/* A NUL-terminated copy, so that the whole-string override sees the same bytes. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	for (size_t i = 0; i < size; i++)
		text[i] = (char)data[i];
	text[size] = '\0';
	fuzz_syntax(text, size);
	fuzz_mail_conf(text, size);
	fuzz_master_conf(defaults, text, size);
	free(text);
	return 0;
}
