/*
 * test_directory - the directory with its internal back-end: domains,
 * accounts and aliases; resolution (precedence of exact account, exact
 * alias, sub-address and catch-all; several delimiter characters; aliases
 * one to many, self-listing, loops direct and indirect, refused when added
 * and detected when stored anyway; nesting limit; disabled accounts);
 * mixed-case and Unicode input; store paths; and concurrent writers and
 * readers in separate processes, where every read must see whole records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/directory.h"
#include "mail/directory_impl.h"
#include "mail/mail_conf.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct fixture {
	char *tmp;
	struct mail_conf *conf;
	struct directory *dir; /* open for writing */
};

/* make_conf - a configuration whose directories are under tmp. */
static struct mail_conf *make_conf(const char *tmp, const char *delimiters)
{
	char *text = xasprintf("data_directory = %s/data\nstore_directory = %s/store\n"
			       "recipient_delimiter = %s\n",
			       tmp, tmp, delimiters),
	     *err = NULL;
	struct mail_conf *conf = mail_conf_parse(tmp, "main.cf", text, strlen(text), &err);

	if (conf == NULL)
		fail_msg("%s", err);
	free(text);
	return conf;
}

static struct directory *open_dir(const struct mail_conf *conf, int flags)
{
	char *err = NULL;
	struct directory *dir = directory_open(conf, flags, &err);

	if (dir == NULL)
		fail_msg("directory_open: %s", err);
	return dir;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->tmp = xstrdup("/tmp/test_directory.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	f->conf = make_conf(f->tmp, "+-");
	f->dir = open_dir(f->conf, DIR_WRITE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->tmp);
	int ret = system(cmd);

	directory_close(&f->dir);
	mail_conf_free(&f->conf);
	free(cmd);
	free(f->tmp);
	free(f);
	return ret == 0 ? 0 : -1;
}

/* ok - a change that must succeed. */
#define ok(call)                                                                                   \
	do {                                                                                       \
		char *err_ = NULL;                                                                 \
		if ((call) < 0)                                                                    \
			fail_msg("%s: %s", #call, err_ != NULL ? err_ : "?");                      \
	} while (0)

static void ok_domain(struct directory *dir, const char *domain)
{
	char *err = NULL;

	if (directory_domain_add(dir, domain, 1, &err) < 0)
		fail_msg("domain add %s: %s", domain, err);
}

static void ok_account(struct directory *dir, const char *address)
{
	struct dir_account acc = {.address = (char *)address, .password_hash = "", .enabled = 1};
	char *err = NULL;

	if (directory_account_add(dir, &acc, &err) < 0)
		fail_msg("account add %s: %s", address, err);
}

static void ok_alias(struct directory *dir, const char *address, const char *targets)
{
	char *copy = xstrdup(targets), *save = NULL, *t, *err = NULL;
	const char *list[16];
	size_t n = 0;

	for (t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
		list[n++] = t;
	if (directory_alias_add(dir, address, list, n, &err) < 0)
		fail_msg("alias add %s %s: %s", address, targets, err);
	free(copy);
}

/* refused_alias - alias add must fail with an error mentioning what. */
static void refused_alias(struct directory *dir, const char *address, const char *target,
			  const char *what)
{
	char *err = NULL;

	if (directory_alias_add(dir, address, &target, 1, &err) == 0)
		fail_msg("alias add %s %s was accepted", address, target);
	if (strstr(err, what) == NULL)
		fail_msg("alias add %s %s: \"%s\" does not mention \"%s\"", address, target, err,
			 what);
	free(err);
}

/*
 * expect_resolve - resolve address and compare with want: the targets in
 * order, each "address" (external), "=address" (account) or
 * "=address/detail", "!address" for a disabled account; "" for not found.
 */
static void expect_resolve(struct directory *dir, const char *address, const char *want)
{
	struct dir_targets t;
	struct strbuf got = STRBUF_INIT;
	enum dir_result r;
	char *err = NULL;
	size_t i;

	r = directory_resolve(dir, address, &t, &err);
	if (r == DIR_ERROR)
		fail_msg("resolve %s: %s", address, err);
	for (i = 0; r == DIR_FOUND && i < t.count; i++) {
		if (i > 0)
			strbuf_putc(&got, ' ');
		if (t.items[i].local)
			strbuf_putc(&got, t.items[i].enabled ? '=' : '!');
		else
			assert_true(t.items[i].enabled);
		strbuf_puts(&got, t.items[i].address);
		if (t.items[i].detail != NULL)
			strbuf_printf(&got, "/%s", t.items[i].detail);
	}
	if (r == DIR_FOUND)
		assert_true(t.count > 0);
	if (strcmp(strbuf_str(&got), want) != 0)
		fail_msg("resolve %s: got \"%s\", expected \"%s\"", address, strbuf_str(&got),
			 want);
	strbuf_free(&got);
	dir_targets_free(&t);
}

/* expect_resolve_error - resolving address fails with an error mentioning what. */
static void expect_resolve_error(struct directory *dir, const char *address, const char *what)
{
	struct dir_targets t;
	char *err = NULL;

	assert_int_equal(directory_resolve(dir, address, &t, &err), DIR_ERROR);
	if (strstr(err, what) == NULL)
		fail_msg("resolve %s: \"%s\" does not mention \"%s\"", address, err, what);
	assert_int_equal(t.count, 0);
	free(err);
}

/* store_alias - write an alias record directly, bypassing the checks of directory_alias_add. */
static void store_alias(struct directory *dir, const char *address, const char *t1, const char *t2)
{
	char *targets[3] = {(char *)t1, (char *)t2, NULL};
	struct dir_alias al = {
	    .address = (char *)address, .targets = targets, .count = t2 != NULL ? 2 : 1};
	char *err = NULL;

	if (dir->be->ops->put_alias(dir->be, &al, &err) < 0)
		fail_msg("put_alias: %s", err);
}

static void test_domains(void **state)
{
	struct fixture *f = *state;
	struct dir_domains list;
	struct dir_domain d;
	char *err = NULL;

	ok_domain(f->dir, "Example.ORG");
	ok_domain(f->dir, "Bücher.example");
	assert_int_equal(directory_domain_add(f->dir, "example.org", 1, &err), -1);
	assert_non_null(strstr(err, "already exists"));
	free(err);
	assert_int_equal(directory_domain_add(f->dir, "BÜCHER.example", 1, &err), -1);
	assert_non_null(strstr(err, "xn--bcher-kva.example already exists"));
	free(err);
	assert_int_equal(directory_domain_add(f->dir, "[192.0.2.1]", 1, &err), -1);
	free(err);
	assert_int_equal(directory_domain_add(f->dir, "bad..domain", 1, &err), -1);
	assert_non_null(strstr(err, "bad domain"));
	free(err);
	assert_int_equal(directory_domain_is_local(f->dir, "EXAMPLE.org", &err), DIR_FOUND);
	assert_int_equal(directory_domain_is_local(f->dir, "bücher.EXAMPLE", &err), DIR_FOUND);
	assert_int_equal(directory_domain_is_local(f->dir, "xn--bcher-kva.example", &err),
			 DIR_FOUND);
	assert_int_equal(directory_domain_is_local(f->dir, "other.example", &err), DIR_NOTFOUND);
	assert_int_equal(directory_domain_is_local(f->dir, "not a domain", &err), DIR_NOTFOUND);

	ok(directory_domain_set_local(f->dir, "example.org", 0, &err_));
	assert_int_equal(directory_domain_is_local(f->dir, "example.org", &err), DIR_NOTFOUND);
	assert_int_equal(directory_domain(f->dir, "example.org", &d, &err), DIR_FOUND);
	assert_string_equal(d.name, "example.org");
	assert_int_equal(d.local, 0);
	dir_domain_free(&d);
	assert_int_equal(directory_domain_set_local(f->dir, "nowhere.example", 1, &err), -1);
	assert_non_null(strstr(err, "does not exist"));
	free(err);

	ok(directory_domain_list(f->dir, &list, &err_));
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0].name, "example.org");
	assert_int_equal(list.items[0].local, 0);
	assert_string_equal(list.items[1].name, "xn--bcher-kva.example");
	assert_int_equal(list.items[1].local, 1);
	dir_domains_free(&list);

	ok(directory_domain_del(f->dir, "EXAMPLE.org", 0, NULL, NULL, &err_));
	assert_int_equal(directory_domain(f->dir, "example.org", &d, &err), DIR_NOTFOUND);
	assert_int_equal(directory_domain_del(f->dir, "example.org", 0, NULL, NULL, &err), -1);
	assert_non_null(strstr(err, "does not exist"));
	free(err);
}

static void test_accounts(void **state)
{
	struct fixture *f = *state;
	struct dir_account acc = {.address = "Alice.Smith@Example.ORG",
				  .password_hash = "$6$saltsalt$abcdefgh",
				  .quota_bytes = 1u << 30,
				  .quota_messages = 5000,
				  .enabled = 1,
				  .display_name = "Alice Smith"};
	struct dir_account got;
	struct dir_accounts list;
	char *err = NULL, *path;

	assert_int_equal(directory_account_add(f->dir, &acc, &err), -1);
	assert_non_null(strstr(err, "domain example.org does not exist"));
	free(err);
	ok_domain(f->dir, "example.org");
	ok(directory_account_add(f->dir, &acc, &err_));
	assert_int_equal(directory_account_add(f->dir, &acc, &err), -1);
	assert_non_null(strstr(err, "account Alice.Smith@example.org already exists"));
	free(err);
	acc.address = "ALICE.SMITH@example.org";
	assert_int_equal(directory_account_add(f->dir, &acc, &err), -1);
	assert_non_null(strstr(err, "already exists"));
	free(err);

	assert_int_equal(directory_account(f->dir, "alice.smith@EXAMPLE.org", &got, &err),
			 DIR_FOUND);
	assert_string_equal(got.address, "Alice.Smith@example.org");
	assert_string_equal(got.password_hash, "$6$saltsalt$abcdefgh");
	assert_int_equal(got.quota_bytes, 1u << 30);
	assert_int_equal(got.quota_messages, 5000);
	assert_int_equal(got.enabled, 1);
	assert_string_equal(got.display_name, "Alice Smith");
	path = xasprintf("%s/store/example.org/alice.smith", f->tmp);
	assert_string_equal(got.store_path, path);
	free(path);
	dir_account_free(&got);
	assert_int_equal(directory_account(f->dir, "alice.smith+tag@example.org", &got, &err),
			 DIR_NOTFOUND);
	assert_int_equal(directory_account(f->dir, "not an address", &got, &err), DIR_NOTFOUND);

	ok(directory_account_set_quota(f->dir, "alice.smith@example.org", 0, 7, &err_));
	ok(directory_account_set_enabled(f->dir, "alice.smith@example.org", 0, &err_));
	ok(directory_account_set_display_name(f->dir, "alice.smith@example.org", "Älice", &err_));
	ok(directory_account_set_password(f->dir, "alice.smith@example.org", "$y$j9T$abc$def",
					  &err_));
	assert_int_equal(directory_account(f->dir, "Alice.Smith@example.org", &got, &err),
			 DIR_FOUND);
	assert_int_equal(got.quota_bytes, 0);
	assert_int_equal(got.quota_messages, 7);
	assert_int_equal(got.enabled, 0);
	assert_string_equal(got.display_name, "Älice");
	assert_string_equal(got.password_hash, "$y$j9T$abc$def");
	dir_account_free(&got);

	/* Bad input is refused with a message. */
	assert_int_equal(
	    directory_account_set_password(f->dir, "alice.smith@example.org", "$1$md5$x", &err),
	    -1);
	assert_non_null(strstr(err, "unsupported"));
	free(err);
	assert_int_equal(directory_account_set_display_name(f->dir, "alice.smith@example.org",
							    "bad\nname", &err),
			 -1);
	free(err);
	assert_int_equal(directory_account_set_quota(f->dir, "bob@example.org", 1, 1, &err), -1);
	assert_non_null(strstr(err, "account bob@example.org does not exist"));
	free(err);

	ok_account(f->dir, "bob@example.org");
	ok(directory_account_list(f->dir, "EXAMPLE.ORG", &list, &err_));
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0].address, "Alice.Smith@example.org");
	assert_string_equal(list.items[1].address, "bob@example.org");
	assert_non_null(list.items[1].store_path);
	dir_accounts_free(&list);
	ok(directory_account_del(f->dir, "BOB@example.org", NULL, &err_));
	assert_int_equal(directory_account(f->dir, "bob@example.org", &got, &err), DIR_NOTFOUND);
	assert_int_equal(directory_account_del(f->dir, "bob@example.org", NULL, &err), -1);
	free(err);
}

static void test_unicode_and_case(void **state)
{
	struct fixture *f = *state;
	struct dir_account got;
	char *err = NULL, *path;

	ok_domain(f->dir, "bücher.example");
	ok_account(f->dir, "José@BÜCHER.example");
	assert_int_equal(directory_account(f->dir, "josé@Bücher.Example", &got, &err), DIR_FOUND);
	assert_string_equal(got.address, "José@xn--bcher-kva.example");
	path = xasprintf("%s/store/xn--bcher-kva.example/jos%%C3%%A9", f->tmp);
	assert_string_equal(got.store_path, path);
	free(path);
	dir_account_free(&got);
	/* Only ASCII letters match without regard to case. */
	assert_int_equal(directory_account(f->dir, "JOSÉ@bücher.example", &got, &err),
			 DIR_NOTFOUND);
	expect_resolve(f->dir, "JOSé@XN--BCHER-KVA.example", "=José@xn--bcher-kva.example");
	expect_resolve(f->dir, "\"josé\"@bücher.example", "=José@xn--bcher-kva.example");
	/* A quoted local part stays distinct and gets a safe store path. */
	ok_account(f->dir, "\"Jo Sé/x\"@bücher.example");
	assert_int_equal(directory_account(f->dir, "\"jo sé/X\"@bücher.example", &got, &err),
			 DIR_FOUND);
	assert_string_equal(got.address, "\"Jo Sé/x\"@xn--bcher-kva.example");
	path = xasprintf("%s/store/xn--bcher-kva.example/jo%%20s%%C3%%A9%%2Fx", f->tmp);
	assert_string_equal(got.store_path, path);
	free(path);
	dir_account_free(&got);
}

static void test_store_path_mapping(void **state)
{
	static const char *const cases[][2] = {
	    {"Jane.Doe", "jane.doe"}, {"a+b=c_d-e", "a+b=c_d-e"}, {".hidden", "%2Ehidden"},
	    {"..", "%2E."},	      {"a/b", "a%2Fb"},		  {"x%y", "x%25y"},
	    {"sp ace", "sp%20ace"},   {"q\"t", "q%22t"},	  {"ü", "%C3%BC"},
	    {"*?|", "%2A%3F%7C"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = directory_store_path("/s", cases[i][0], "example.org");
		char *want = xasprintf("/s/example.org/%s", cases[i][1]);

		assert_string_equal(p, want);
		free(p);
		free(want);
	}
}

/* Exact account > exact alias > sub-address cut > catch-all. */
static void test_precedence(void **state)
{
	struct fixture *f = *state;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "sales@d.example");
	ok_account(f->dir, "sales+eu@d.example");
	ok_account(f->dir, "us-team@d.example");
	ok_account(f->dir, "catchall@d.example");
	ok_alias(f->dir, "sales+us@d.example", "us-team@d.example");
	ok_alias(f->dir, "@d.example", "catchall@d.example");

	expect_resolve(f->dir, "sales@d.example", "=sales@d.example");
	expect_resolve(f->dir, "sales+eu@d.example", "=sales+eu@d.example");
	expect_resolve(f->dir, "sales+us@d.example", "=us-team@d.example");
	expect_resolve(f->dir, "sales+asia@d.example", "=sales@d.example/asia");
	expect_resolve(f->dir, "SALES+Asia@D.example", "=sales@d.example/Asia");
	expect_resolve(f->dir, "nobody@d.example", "=catchall@d.example");
	expect_resolve(f->dir, "nobody+x@d.example", "=catchall@d.example");
	expect_resolve(f->dir, "x@other.example", "");

	/* An account and an alias of the same name: the account, unless the alias lists it. */
	store_alias(f->dir, "sales@d.example", "us-team@d.example", NULL);
	expect_resolve(f->dir, "sales@d.example", "=sales@d.example");
	expect_resolve(f->dir, "sales+x@d.example", "=sales@d.example/x");

	/* Without a catch-all, nothing. */
	ok(directory_alias_del(f->dir, "@D.EXAMPLE", NULL, &err_));
	expect_resolve(f->dir, "nobody@d.example", "");
}

static void test_delimiters(void **state)
{
	struct fixture *f = *state;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "sales@d.example");
	ok_account(f->dir, "-x@d.example");
	expect_resolve(f->dir, "sales-foo@d.example", "=sales@d.example/foo");
	expect_resolve(f->dir, "sales+a-b@d.example", "=sales@d.example/a-b");
	expect_resolve(f->dir, "sales-a+b@d.example", "=sales@d.example/a+b");
	expect_resolve(f->dir, "sales+@d.example", "=sales@d.example/");
	expect_resolve(f->dir, "sales.x+y@d.example", "");
	/* A delimiter in first place does not start a sub-address. */
	expect_resolve(f->dir, "+sales@d.example", "");
	expect_resolve(f->dir, "-x+y@d.example", "=-x@d.example/y");

	/* Without recipient_delimiter, no sub-addresses. */
	{
		struct mail_conf *conf = make_conf(f->tmp, "");
		struct directory *dir = open_dir(conf, DIR_READ);

		expect_resolve(dir, "sales-foo@d.example", "");
		expect_resolve(dir, "sales@d.example", "=sales@d.example");
		directory_close(&dir);
		mail_conf_free(&conf);
	}
}

static void test_aliases(void **state)
{
	struct fixture *f = *state;
	struct dir_alias al;
	struct dir_aliases list;
	char *err = NULL;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "alice@d.example");
	ok_account(f->dir, "bob@d.example");
	ok_alias(f->dir, "Team@D.example", "alice@d.example BOB@D.EXAMPLE Ext@Other.EXAMPLE");
	expect_resolve(f->dir, "team@d.example",
		       "=alice@d.example =bob@d.example Ext@other.example");
	ok_alias(f->dir, "all@d.example", "team@d.example alice@d.example carol@far.example");
	/* Duplicates are merged. */
	expect_resolve(f->dir, "all@d.example",
		       "=alice@d.example =bob@d.example Ext@other.example carol@far.example");
	/* Adding targets extends the list; a target given twice is kept once. */
	ok_alias(f->dir, "team@d.example", "alice@d.example dave@far.example");
	assert_int_equal(directory_alias(f->dir, "TEAM@d.example", &al, &err), DIR_FOUND);
	assert_string_equal(al.address, "Team@d.example");
	assert_int_equal(al.count, 4);
	assert_string_equal(al.targets[1], "BOB@d.example");
	assert_string_equal(al.targets[3], "dave@far.example");
	dir_alias_free(&al);

	/* Targets in a local domain must exist. */
	refused_alias(f->dir, "x@d.example", "nobody@d.example", "does not exist");
	refused_alias(f->dir, "x@nodomain.example", "alice@d.example", "does not exist");
	refused_alias(f->dir, "x@d.example", "not-an-address", "bad address");

	/* Self-listing: keep a copy and forward. */
	refused_alias(f->dir, "alice@d.example", "carol@far.example", "is an account");
	ok_alias(f->dir, "alice@d.example", "alice@d.example carol@far.example");
	expect_resolve(f->dir, "alice@d.example", "=alice@d.example carol@far.example");
	expect_resolve(f->dir, "alice+tag@d.example", "=alice@d.example/tag carol@far.example");
	refused_alias(f->dir, "ghost@d.example", "ghost@d.example", "lists itself");
	assert_int_equal(directory_alias_del(f->dir, "alice@d.example", "alice@d.example", &err),
			 -1);
	assert_non_null(strstr(err, "is an account"));
	free(err);

	/* A target in a domain that is not local is external. */
	ok_domain(f->dir, "off.example");
	ok(directory_domain_set_local(f->dir, "off.example", 0, &err_));
	ok_alias(f->dir, "fwd@d.example", "someone@off.example");
	expect_resolve(f->dir, "fwd@d.example", "someone@off.example");

	/* Removing targets, then the alias. */
	ok(directory_alias_del(f->dir, "team@d.example", "ext@other.example", &err_));
	assert_int_equal(directory_alias_del(f->dir, "team@d.example", "zed@d.example", &err), -1);
	assert_non_null(strstr(err, "does not list"));
	free(err);
	expect_resolve(f->dir, "team@d.example",
		       "=alice@d.example carol@far.example =bob@d.example dave@far.example");
	ok(directory_alias_list(f->dir, "d.example", &list, &err_));
	assert_int_equal(list.count, 4);
	assert_string_equal(list.items[0].address, "alice@d.example");
	assert_string_equal(list.items[1].address, "all@d.example");
	assert_string_equal(list.items[2].address, "fwd@d.example");
	assert_string_equal(list.items[3].address, "Team@d.example");
	dir_aliases_free(&list);
	ok(directory_alias_del(f->dir, "team@d.example", NULL, &err_));
	assert_int_equal(directory_alias(f->dir, "team@d.example", &al, &err), DIR_NOTFOUND);
	/* all@ now lists a target that is gone: skipped with a warning. */
	expect_resolve(f->dir, "all@d.example", "=alice@d.example carol@far.example");

	/* Deleting an account takes its own alias with it. */
	{
		int had_alias = 0;

		ok(directory_account_del(f->dir, "alice@d.example", &had_alias, &err_));
		assert_int_equal(had_alias, 1);
		assert_int_equal(directory_alias(f->dir, "alice@d.example", &al, &err),
				 DIR_NOTFOUND);
	}
	expect_resolve(f->dir, "all@d.example", "carol@far.example");
}

static void test_loops(void **state)
{
	struct fixture *f = *state;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "real@d.example");
	/* Direct: an alias of itself. */
	refused_alias(f->dir, "a@d.example", "a@d.example", "lists itself");
	/* Indirect, over two and three aliases. */
	ok_alias(f->dir, "a@d.example", "real@d.example");
	ok_alias(f->dir, "b@d.example", "a@d.example");
	refused_alias(f->dir, "a@d.example", "b@d.example",
		      "alias loop: a@d.example -> b@d.example -> a@d.example");
	ok_alias(f->dir, "c@d.example", "b@d.example");
	refused_alias(f->dir, "a@d.example", "c@d.example", "alias loop");
	/* The catch-all does not take the targets of aliases. */
	refused_alias(f->dir, "@d.example", "nobody@d.example", "does not exist");
	ok_alias(f->dir, "@d.example", "real@d.example");
	/* Diamonds are not loops. */
	ok_alias(f->dir, "top@d.example", "b@d.example c@d.example a@d.example");
	expect_resolve(f->dir, "top@d.example", "=real@d.example");

	/* Loops stored anyway (as by a concurrent edit) are found when resolving. */
	store_alias(f->dir, "x@d.example", "y@d.example", NULL);
	store_alias(f->dir, "y@d.example", "z@d.example", "real@d.example");
	store_alias(f->dir, "z@d.example", "x@d.example", NULL);
	expect_resolve_error(
	    f->dir, "x@d.example",
	    "alias loop: x@d.example -> y@d.example -> z@d.example -> x@d.example");
	expect_resolve_error(f->dir, "z@d.example", "alias loop");
	store_alias(f->dir, "self@d.example", "self@d.example", "real@d.example");
	expect_resolve(f->dir, "self@d.example", "=real@d.example");
	/* A catch-all whose target is gone does not take it: nothing, not a loop. */
	store_alias(f->dir, "@d.example", "nobody@d.example", NULL);
	expect_resolve(f->dir, "someone@d.example", "");
	/* A loop through the catch-all's target is still found. */
	store_alias(f->dir, "@d.example", "x@d.example", NULL);
	expect_resolve_error(
	    f->dir, "someone@d.example",
	    "alias loop: x@d.example -> y@d.example -> z@d.example -> x@d.example");
}

static void test_nesting_limit(void **state)
{
	struct fixture *f = *state;
	char name[64], target[64];
	char *err = NULL;
	const char *t = target;
	int i, ret = 0;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "end@d.example");
	snprintf(target, sizeof(target), "end@d.example");
	for (i = 0; i < DIR_MAX_DEPTH + 5 && ret == 0; i++) {
		snprintf(name, sizeof(name), "n%d@d.example", i);
		ret = directory_alias_add(f->dir, name, &t, 1, &err);
		snprintf(target, sizeof(target), "%s", name);
	}
	assert_int_equal(ret, -1);
	assert_non_null(strstr(err, "nested more than"));
	assert_int_equal(i, DIR_MAX_DEPTH + 1);
	free(err);
	snprintf(name, sizeof(name), "n%d@d.example", DIR_MAX_DEPTH - 2);
	expect_resolve(f->dir, name, "=end@d.example");
}

static void test_disabled_accounts_resolve(void **state)
{
	struct fixture *f = *state;

	ok_domain(f->dir, "d.example");
	ok_account(f->dir, "gone@d.example");
	ok_account(f->dir, "here@d.example");
	ok(directory_account_set_enabled(f->dir, "gone@d.example", 0, &err_));
	ok_alias(f->dir, "both@d.example", "gone@d.example here@d.example");
	expect_resolve(f->dir, "gone@d.example", "!gone@d.example");
	expect_resolve(f->dir, "both@d.example", "!gone@d.example =here@d.example");
	/* A domain that is not local resolves nothing. */
	ok(directory_domain_set_local(f->dir, "d.example", 0, &err_));
	expect_resolve(f->dir, "here@d.example", "");
}

static void test_domain_del(void **state)
{
	struct fixture *f = *state;
	struct dir_accounts acc;
	struct dir_aliases al;
	size_t naccounts = 9, naliases = 9;
	char *err = NULL;

	ok_domain(f->dir, "d.example");
	ok_domain(f->dir, "keep.example");
	ok_account(f->dir, "u1@d.example");
	ok_account(f->dir, "u2@d.example");
	ok_account(f->dir, "k@keep.example");
	ok_alias(f->dir, "@d.example", "u1@d.example");
	ok_alias(f->dir, "k2@keep.example", "u1@d.example");
	assert_int_equal(directory_domain_del(f->dir, "d.example", 0, &naccounts, &naliases, &err),
			 -1);
	assert_non_null(strstr(err, "still has 2 accounts"));
	assert_int_equal(naccounts, 0);
	free(err);
	ok(directory_domain_del(f->dir, "d.example", 1, &naccounts, &naliases, &err_));
	assert_int_equal(naccounts, 2);
	assert_int_equal(naliases, 1);
	ok(directory_account_list(f->dir, NULL, &acc, &err_));
	assert_int_equal(acc.count, 1);
	assert_string_equal(acc.items[0].address, "k@keep.example");
	dir_accounts_free(&acc);
	ok(directory_alias_list(f->dir, NULL, &al, &err_));
	assert_int_equal(al.count, 1);
	dir_aliases_free(&al);
	/* An alias that pointed into the removed domain now points outside. */
	expect_resolve(f->dir, "k2@keep.example", "u1@d.example");
	/* A domain without accounts goes without force. */
	ok_domain(f->dir, "empty.example");
	ok(directory_domain_del(f->dir, "empty.example", 0, NULL, NULL, &err_));
}

static void test_read_only_and_empty(void **state)
{
	struct fixture *f = *state;
	struct mail_conf *conf = make_conf(f->tmp, "+");
	char *fresh = xasprintf("%s/fresh", f->tmp), *text, *err = NULL;
	struct mail_conf *fresh_conf;
	struct directory *reader, *writer;
	struct dir_domains list;

	/* A reader of a directory that was never written: empty, and it sees the first write. */
	text = xasprintf("data_directory = %s/data\nstore_directory = %s/store\n", fresh, fresh);
	fresh_conf = mail_conf_parse(f->tmp, "main.cf", text, strlen(text), &err);
	assert_non_null(fresh_conf);
	reader = open_dir(fresh_conf, DIR_READ);
	assert_int_equal(directory_domain_is_local(reader, "d.example", &err), DIR_NOTFOUND);
	ok(directory_domain_list(reader, &list, &err_));
	assert_int_equal(list.count, 0);
	dir_domains_free(&list);
	writer = open_dir(fresh_conf, DIR_WRITE);
	ok_domain(writer, "d.example");
	assert_int_equal(directory_domain_is_local(reader, "d.example", &err), DIR_FOUND);
	assert_int_equal(directory_domain_add(reader, "e.example", 1, &err), -1);
	assert_non_null(strstr(err, "reading only"));
	free(err);
	directory_close(&writer);
	directory_close(&reader);
	assert_null(reader);
	mail_conf_free(&fresh_conf);
	mail_conf_free(&conf);
	free(text);
	free(fresh);
}

/* Concurrency: writers and readers in separate processes. */
#define CONC_WRITERS 3
#define CONC_READERS 3
#define CONC_USERS 60

/* conc_quota - the quota a record of user i must carry, for checking that reads are whole. */
static uint64_t conc_quota(int i, int round)
{
	return (uint64_t)(i + 1) * 1000003u + (uint64_t)round;
}

static char *conc_name(int i)
{
	char *pad = xmalloc(201);

	memset(pad, 'n' + i % 10, 200);
	pad[200] = '\0';
	return pad;
}

/*
 * conc_writer - add every user (all writers try all of them: each add must
 * succeed exactly once overall), then change each user's quotas a few times.
 * Exits with the number of adds that succeeded.
 */
static void conc_writer(const struct mail_conf *conf, int id)
{
	struct directory *dir = open_dir(conf, DIR_WRITE);
	char addr[64], *err = NULL, *name;
	int i, round, added = 0;

	for (i = 0; i < CONC_USERS; i++) {
		int k = (i + id * 17) % CONC_USERS;
		struct dir_account acc = {.address = addr, .password_hash = "$6$salt$hashhash"};

		snprintf(addr, sizeof(addr), "user%d@c.example", k);
		name = conc_name(k);
		acc.display_name = name;
		acc.quota_bytes = conc_quota(k, 0);
		acc.quota_messages = (uint64_t)k;
		acc.enabled = 1;
		if (directory_account_add(dir, &acc, &err) == 0) {
			added++;
		} else {
			if (strstr(err, "already exists") == NULL)
				_exit(100);
			XFREE(err);
		}
		free(name);
	}
	for (round = 1; round <= 3; round++) {
		for (i = 0; i < CONC_USERS; i++) {
			snprintf(addr, sizeof(addr), "user%d@c.example", i);
			if (directory_account_set_quota(dir, addr, conc_quota(i, round),
							(uint64_t)i, &err) < 0)
				_exit(101);
		}
	}
	directory_close(&dir);
	_exit(added);
}

/* conc_reader - resolve and fetch users while writers work; any torn record fails. */
static void conc_reader(const struct mail_conf *conf, int id)
{
	struct directory *dir = open_dir(conf, DIR_READ);
	struct dir_account acc;
	struct dir_targets t;
	char addr[64], *err = NULL, *name;
	int n, i, seen = 0;
	uint64_t q;

	for (n = 0; n < 3000; n++) {
		i = (n * 7 + id) % CONC_USERS;
		snprintf(addr, sizeof(addr), "user%d+x@c.example", i);
		enum dir_result r = directory_resolve(dir, addr, &t, &err);

		if (r == DIR_ERROR)
			_exit(2);
		if (r == DIR_FOUND && (t.count != 1 || !t.items[0].local))
			_exit(3);
		dir_targets_free(&t);
		snprintf(addr, sizeof(addr), "user%d@c.example", i);
		r = directory_account(dir, addr, &acc, &err);
		if (r == DIR_ERROR)
			_exit(4);
		if (r == DIR_FOUND) {
			seen++;
			name = conc_name(i);
			q = acc.quota_bytes - conc_quota(i, 0);
			if (strcmp(acc.display_name, name) != 0 || q > 3 ||
			    acc.quota_messages != (uint64_t)i ||
			    strcmp(acc.password_hash, "$6$salt$hashhash") != 0)
				_exit(5);
			free(name);
			dir_account_free(&acc);
		}
	}
	directory_close(&dir);
	_exit(seen > 0 ? 0 : 6);
}

static void test_concurrent_writers_and_readers(void **state)
{
	struct fixture *f = *state;
	pid_t pids[CONC_WRITERS + CONC_READERS];
	struct dir_accounts list;
	int i, status, added = 0;

	ok_domain(f->dir, "c.example");
	directory_close(&f->dir);
	for (i = 0; i < CONC_WRITERS + CONC_READERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			if (i < CONC_WRITERS)
				conc_writer(f->conf, i);
			conc_reader(f->conf, i);
		}
	}
	for (i = 0; i < CONC_WRITERS + CONC_READERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		if (i < CONC_WRITERS) {
			assert_true(WEXITSTATUS(status) <= CONC_USERS);
			added += WEXITSTATUS(status);
		} else if (WEXITSTATUS(status) != 0) {
			fail_msg("reader %d exited %d", i, WEXITSTATUS(status));
		}
	}
	assert_int_equal(added, CONC_USERS);
	f->dir = open_dir(f->conf, DIR_READ);
	ok(directory_account_list(f->dir, "c.example", &list, &err_));
	assert_int_equal(list.count, CONC_USERS);
	for (i = 0; i < (int)list.count; i++)
		assert_true(list.items[i].quota_bytes % 1000003u == 3);
	dir_accounts_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unicode_and_case, setup, teardown),
	    cmocka_unit_test(test_store_path_mapping),
	    cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delimiters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_accounts_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_domain_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_and_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_writers_and_readers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
