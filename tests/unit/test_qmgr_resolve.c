/*
 * test_qmgr_resolve - recipient resolution without processes: routing to
 * the local, relay and default transports (relayhost, sender-dependent
 * relay hosts, transport_maps with its keys, empty halves, error and
 * retry), virtual aliases (rewrite, expansion into several, recursion,
 * self-reference, extension and catch-all keys, loops, nesting limits),
 * and the directory (accounts with detail, local aliases, unknown and
 * disabled users, alias loops reported by the directory, lookup failures),
 * through texthash tables and a fake directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "qmgr/qmgr_maps.h"
#include "qmgr/qmgr_resolve.h"
#include "util/mymalloc.h"

/* ---- the fake directory: domain "local.example" ---- */

struct fake_entry {
	const char *address;
	const char *targets; /* "addr[+detail][!disabled][~external] ...", or "ERROR:text" */
};

static const struct fake_entry fake_entries[] = {
    {"alice@local.example", "alice@local.example"},
    {"alice+news@local.example", "alice@local.example+news"},
    {"bob@local.example", "bob@local.example"},
    {"team@local.example", "alice@local.example bob@local.example"},
    {"fwd@local.example", "carol@remote.example~"},
    {"keep@local.example", "keep@local.example keep@remote.example~"},
    {"gone@local.example", "gone@local.example!"},
    {"loop@local.example", "ERROR:auth service /q/private/auth: lookup failed: alias loop: "
			   "loop@local.example -> x@local.example -> loop@local.example"},
    {"broken@local.example", "ERROR:auth service: connection closed"},
    {NULL, NULL},
};

struct fake {
	int domain_calls, resolve_calls;
	int fail_domains; /* DIR_ERROR for every domain */
};

static enum dir_result fake_domain(void *ctx, const char *domain, char **error_r)
{
	struct fake *f = ctx;

	f->domain_calls++;
	if (f->fail_domains) {
		*error_r = xstrdup("auth service: connect: No such file or directory");
		return DIR_ERROR;
	}
	return strcasecmp(domain, "local.example") == 0 ? DIR_FOUND : DIR_NOTFOUND;
}

/* parse_target - one "addr[+detail][!][~]" of a fake entry. */
static void parse_target(const char *w, size_t n, struct dir_target *t)
{
	char *s = xstrndup(w, n), *p;

	t->local = 1;
	t->enabled = 1;
	if ((p = strchr(s, '~')) != NULL) {
		*p = '\0';
		t->local = 0;
	}
	if ((p = strchr(s, '!')) != NULL) {
		*p = '\0';
		t->enabled = 0;
	}
	p = strrchr(s, '+');
	if (p != NULL && strchr(p, '@') == NULL) {
		*p = '\0';
		t->detail = xstrdup(p + 1);
	}
	t->address = s;
}

static enum dir_result fake_resolve(void *ctx, const char *address, struct dir_targets *targets,
				    char **error_r)
{
	struct fake *f = ctx;
	const struct fake_entry *e;
	const char *p;
	size_t n;

	f->resolve_calls++;
	for (e = fake_entries; e->address != NULL; e++)
		if (strcasecmp(e->address, address) == 0)
			break;
	if (e->address == NULL)
		return DIR_NOTFOUND;
	if (strncmp(e->targets, "ERROR:", 6) == 0) {
		*error_r = xstrdup(e->targets + 6);
		return DIR_ERROR;
	}
	targets->items = NULL;
	targets->count = 0;
	for (p = e->targets; *(p += strspn(p, " ")) != '\0'; p += n) {
		n = strcspn(p, " ");
		targets->items =
		    xreallocarray(targets->items, targets->count + 1, sizeof(*targets->items));
		memset(&targets->items[targets->count], 0, sizeof(*targets->items));
		parse_target(p, n, &targets->items[targets->count++]);
	}
	return DIR_FOUND;
}

static const struct qmgr_dir_ops fake_ops = {fake_domain, fake_resolve};

/* ---- fixture ---- */

struct fixture {
	char dir[64];
	struct fake fake;
	struct qmgr_maps *virt, *transport, *relay;
	struct qmgr_resolver_conf conf;
	struct qmgr_resolver *r;
};

static const char virtual_text[] = "# virtual aliases\n"
				   "rewrite@x.example    target@y.example\n"
				   "list@x.example       a@y.example, b@z.example\n"
				   "deep@x.example       mid@x.example\n"
				   "mid@x.example        end@y.example\n"
				   "self@x.example       self@x.example other@y.example\n"
				   "loop1@x.example      loop2@x.example\n"
				   "loop2@x.example      loop3@x.example\n"
				   "loop3@x.example      loop1@x.example\n"
				   "ext@x.example        extended@y.example\n"
				   "@catch.example       catcher@y.example\n"
				   "short@x.example      shortname\n"
				   "tolocal@x.example    team@local.example\n"
				   "diamond@x.example    left@x.example right@x.example\n"
				   "left@x.example       bottom@y.example\n"
				   "right@x.example      bottom@y.example\n";

static const char transport_text[] = "special@t.example     lmtp:unix:/run/special\n"
				     "t.example             relay:[gw.example]:2525\n"
				     ".sub.example          :[sub-gw.example]\n"
				     "keepnh.example        other:\n"
				     "refused.example       error:5.7.1 we do not deliver there\n"
				     "plainerror.example    error:\n"
				     "later.example         retry:4.4.5 try later\n"
				     "user@wild.example     smtp:[user-gw.example]\n";

static const char relay_text[] = "alice@sender.example   [alice-relay.example]:587\n"
				 "@sender.example        [domain-relay.example]\n"
				 "<>                     [bounce-relay.example]\n";

static void write_file(const char *dir, const char *name, const char *text, char **path_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	*path_r = path;
}

static struct qmgr_maps *open_maps(const char *param, const char *path)
{
	char *name = xasprintf("texthash:%s", path), *err = NULL;
	struct qmgr_maps *m = qmgr_maps_open(param, name, &err);

	if (m == NULL)
		fail_msg("%s", err);
	free(name);
	return m;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *vpath, *tpath, *rpath;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_qmgr_resolve.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	write_file(f->dir, "virtual", virtual_text, &vpath);
	write_file(f->dir, "transport", transport_text, &tpath);
	write_file(f->dir, "relay", relay_text, &rpath);
	f->virt = open_maps("virtual_alias_maps", vpath);
	f->transport = open_maps("transport_maps", tpath);
	f->relay = open_maps("sender_dependent_relayhost_maps", rpath);
	unlink(vpath);
	unlink(tpath);
	unlink(rpath);
	free(vpath);
	free(tpath);
	free(rpath);
	f->conf = (struct qmgr_resolver_conf){
	    .myorigin = "origin.example",
	    .mydestination = "mail.example, localhost",
	    .relay_domains = "relayed.example",
	    .recipient_delimiter = "+",
	    .local_transport = "lmtp:unix:/q/private/lmtp-store",
	    .default_transport = "smtp",
	    .relay_transport = "relay",
	    .relayhost = "",
	    .virtual_alias_maps = f->virt,
	    .transport_maps = f->transport,
	    .sender_dependent_relayhost_maps = f->relay,
	    .dir_ops = &fake_ops,
	    .dir_ctx = &f->fake,
	};
	f->r = qmgr_resolver_create(&f->conf);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qmgr_resolver_free(&f->r);
	qmgr_maps_free(&f->virt);
	qmgr_maps_free(&f->transport);
	qmgr_maps_free(&f->relay);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* reconfigure - a resolver with changed settings (the fixture's tables). */
static void reconfigure(struct fixture *f)
{
	qmgr_resolver_free(&f->r);
	f->r = qmgr_resolver_create(&f->conf);
}

/* expect_route - rcpt (from sender) is delivered as address by transport to nexthop. */
static void expect_route(struct fixture *f, const char *sender, const char *rcpt,
			 const char *address, const char *transport, const char *nexthop)
{
	struct qmgr_resolution res;

	qmgr_resolve(f->r, sender, rcpt, false, &res);
	if (res.verdict != QMGR_DELIVER)
		fail_msg("%s: verdict %d (%s %s), expected delivery", rcpt, res.verdict, res.dsn,
			 res.text != NULL ? res.text : "");
	assert_int_equal(res.count, 1);
	assert_string_equal(res.leaves[0].address, address);
	assert_string_equal(res.leaves[0].transport, transport);
	assert_string_equal(res.leaves[0].nexthop, nexthop);
	qmgr_resolution_free(&res);
}

/* expect_verdict - rcpt gets DEFER or BOUNCE with dsn and a text containing what. */
static void expect_verdict(struct fixture *f, const char *rcpt, enum qmgr_verdict v,
			   const char *dsn, const char *what)
{
	struct qmgr_resolution res;

	qmgr_resolve(f->r, "s@sender.example", rcpt, false, &res);
	if (res.verdict != v)
		fail_msg("%s: verdict %d (%s), expected %d", rcpt, res.verdict,
			 res.text != NULL ? res.text : "", v);
	assert_string_equal(res.dsn, dsn);
	assert_non_null(res.text);
	if (strstr(res.text, what) == NULL)
		fail_msg("%s: \"%s\" does not contain \"%s\"", rcpt, res.text, what);
	assert_int_equal(res.count, 0);
	qmgr_resolution_free(&res);
}

/* expect_split - rcpt expands to exactly the addresses given (NULL-terminated, any order). */
static void expect_split(struct fixture *f, const char *rcpt, const char *const *addresses)
{
	struct qmgr_resolution res;
	size_t i, k, n = 0;

	while (addresses[n] != NULL)
		n++;
	qmgr_resolve(f->r, "s@sender.example", rcpt, false, &res);
	if (res.verdict != QMGR_SPLIT)
		fail_msg("%s: verdict %d (%s), expected a split", rcpt, res.verdict,
			 res.text != NULL ? res.text : "");
	assert_int_equal(res.count, n);
	for (i = 0; i < n; i++) {
		for (k = 0; k < res.count && strcmp(res.leaves[k].address, addresses[i]) != 0; k++)
			;
		if (k == res.count)
			fail_msg("%s: %s missing from the expansion", rcpt, addresses[i]);
		assert_null(res.leaves[k].transport);
	}
	qmgr_resolution_free(&res);
}

/* ---- routing ---- */

static void test_route_default(void **state)
{
	struct fixture *f = *state;

	expect_route(f, "s@a.example", "u@remote.example", "u@remote.example", "smtp",
		     "remote.example");
	/* a literal goes straight to its address */
	expect_route(f, "s@a.example", "u@[192.0.2.1]", "u@[192.0.2.1]", "smtp", "[192.0.2.1]");
	/* relayhost takes all non-local mail */
	f->conf.relayhost = "[smarthost.example]:587";
	reconfigure(f);
	expect_route(f, "s@a.example", "u@remote.example", "u@remote.example", "smtp",
		     "[smarthost.example]:587");
	/* but not the relay domains, which go to their own MX */
	expect_route(f, "s@a.example", "u@relayed.example", "u@relayed.example", "relay",
		     "relayed.example");
	expect_route(f, "s@a.example", "u@deep.relayed.example", "u@deep.relayed.example", "relay",
		     "deep.relayed.example");
	/* a default transport with its own next hop */
	f->conf.default_transport = "smtp:[fixed.example]";
	reconfigure(f);
	expect_route(f, "s@a.example", "u@remote.example", "u@remote.example", "smtp",
		     "[fixed.example]");
	/* an unqualified address belongs to myorigin */
	expect_route(f, "s@a.example", "nodomain", "nodomain@origin.example", "smtp",
		     "[fixed.example]");
}

static void test_route_local(void **state)
{
	struct fixture *f = *state;

	/* mydestination, ASCII case ignored; without a directory entry there it is unknown */
	expect_verdict(f, "root@MAIL.example", QMGR_BOUNCE, "5.1.1", "user unknown");
	/* a directory domain */
	expect_route(f, "s@a.example", "alice@local.example", "alice@local.example", "lmtp",
		     "unix:/q/private/lmtp-store");
	/* a sub-address keeps its detail for the store */
	expect_route(f, "s@a.example", "alice+news@local.example", "alice+news@local.example",
		     "lmtp", "unix:/q/private/lmtp-store");
	/* an alias of the directory to an external address */
	expect_route(f, "s@a.example", "fwd@local.example", "carol@remote.example", "smtp",
		     "remote.example");
	/* without a directory, only mydestination is local */
	f->conf.dir_ops = NULL;
	reconfigure(f);
	expect_route(f, "s@a.example", "root@mail.example", "root@mail.example", "lmtp",
		     "unix:/q/private/lmtp-store");
	expect_route(f, "s@a.example", "alice@local.example", "alice@local.example", "smtp",
		     "local.example");
}

static void test_sender_relayhost(void **state)
{
	struct fixture *f = *state;

	expect_route(f, "alice@sender.example", "u@remote.example", "u@remote.example", "smtp",
		     "[alice-relay.example]:587");
	expect_route(f, "bob@sender.example", "u@remote.example", "u@remote.example", "smtp",
		     "[domain-relay.example]");
	expect_route(f, "", "u@remote.example", "u@remote.example", "smtp",
		     "[bounce-relay.example]");
	expect_route(f, "x@elsewhere.example", "u@remote.example", "u@remote.example", "smtp",
		     "remote.example");
	/* it replaces relayhost, and does not apply to relay domains */
	f->conf.relayhost = "[smarthost.example]";
	reconfigure(f);
	expect_route(f, "x@elsewhere.example", "u@remote.example", "u@remote.example", "smtp",
		     "[smarthost.example]");
	expect_route(f, "alice@sender.example", "u@remote.example", "u@remote.example", "smtp",
		     "[alice-relay.example]:587");
	expect_route(f, "alice@sender.example", "u@relayed.example", "u@relayed.example", "relay",
		     "relayed.example");
}

static void test_transport_maps(void **state)
{
	struct fixture *f = *state;

	/* the address first, then the domain */
	expect_route(f, "s@a.example", "special@t.example", "special@t.example", "lmtp",
		     "unix:/run/special");
	expect_route(f, "s@a.example", "other@t.example", "other@t.example", "relay",
		     "[gw.example]:2525");
	/* the address without its extension */
	expect_route(f, "s@a.example", "special+tag@t.example", "special+tag@t.example", "lmtp",
		     "unix:/run/special");
	/* .parent matches subdomains only, and an empty transport keeps the usual one */
	expect_route(f, "s@a.example", "u@a.sub.example", "u@a.sub.example", "smtp",
		     "[sub-gw.example]");
	expect_route(f, "s@a.example", "u@a.b.sub.example", "u@a.b.sub.example", "smtp",
		     "[sub-gw.example]");
	expect_route(f, "s@a.example", "u@sub.example", "u@sub.example", "smtp", "sub.example");
	/* an empty next hop keeps the usual one */
	expect_route(f, "s@a.example", "u@keepnh.example", "u@keepnh.example", "other",
		     "keepnh.example");
	/* error and retry */
	expect_verdict(f, "u@refused.example", QMGR_BOUNCE, "5.7.1", "we do not deliver there");
	expect_verdict(f, "u@plainerror.example", QMGR_BOUNCE, "5.0.0", "refused");
	expect_verdict(f, "u@later.example", QMGR_DEFER, "4.4.5", "try later");
	expect_route(f, "s@a.example", "user@wild.example", "user@wild.example", "smtp",
		     "[user-gw.example]");
	expect_route(f, "s@a.example", "other@wild.example", "other@wild.example", "smtp",
		     "wild.example");
}

static void test_transport_wildcard(void **state)
{
	struct fixture *f = *state;
	char *path, *name, *err = NULL;

	write_file(f->dir, "wild", "*  smtp:[everything.example]\n", &path);
	name = xasprintf("texthash:%s", path);
	qmgr_maps_free(&f->transport);
	f->transport = qmgr_maps_open("transport_maps", name, &err);
	assert_non_null(f->transport);
	unlink(path);
	free(path);
	free(name);
	f->conf.transport_maps = f->transport;
	reconfigure(f);
	expect_route(f, "s@a.example", "u@any.example", "u@any.example", "smtp",
		     "[everything.example]");
	/* it applies to local mail too */
	expect_route(f, "s@a.example", "bob@local.example", "bob@local.example", "smtp",
		     "[everything.example]");
}

/* ---- virtual aliases ---- */

static void test_virtual_rewrite(void **state)
{
	struct fixture *f = *state;

	expect_route(f, "s@a.example", "rewrite@x.example", "target@y.example", "smtp",
		     "y.example");
	/* recursion */
	expect_route(f, "s@a.example", "deep@x.example", "end@y.example", "smtp", "y.example");
	/* the key without the extension, and the catch-all */
	expect_route(f, "s@a.example", "ext+foo@x.example", "extended@y.example", "smtp",
		     "y.example");
	expect_route(f, "s@a.example", "anyone@catch.example", "catcher@y.example", "smtp",
		     "y.example");
	/* a target without a domain gets myorigin */
	expect_route(f, "s@a.example", "short@x.example", "shortname@origin.example", "smtp",
		     "origin.example");
	/* not in the table: unchanged */
	expect_route(f, "s@a.example", "nobody@x.example", "nobody@x.example", "smtp", "x.example");
}

static void test_virtual_expand(void **state)
{
	struct fixture *f = *state;
	static const char *const list[] = {"a@y.example", "b@z.example", NULL};
	static const char *const self[] = {"self@x.example", "other@y.example", NULL};
	static const char *const team[] = {"alice@local.example", "bob@local.example", NULL};
	struct qmgr_resolution res;

	expect_split(f, "list@x.example", list);
	/* an alias that lists itself keeps that address */
	expect_split(f, "self@x.example", self);
	/* virtual, then the directory's alias */
	expect_split(f, "tolocal@x.example", team);
	/* two paths to one address: no loop, one result */
	expect_route(f, "s@a.example", "diamond@x.example", "bottom@y.example", "smtp",
		     "y.example");
	/* a final recipient is only routed */
	qmgr_resolve(f->r, "s@a.example", "list@x.example", true, &res);
	assert_int_equal(res.verdict, QMGR_DELIVER);
	assert_string_equal(res.leaves[0].address, "list@x.example");
	assert_string_equal(res.leaves[0].nexthop, "x.example");
	qmgr_resolution_free(&res);
}

static void test_virtual_loop(void **state)
{
	struct fixture *f = *state;

	expect_verdict(f, "loop1@x.example", QMGR_BOUNCE, "5.4.6",
		       "loop1@x.example -> loop2@x.example -> loop3@x.example -> loop1@x.example");
	expect_verdict(f, "loop2@x.example", QMGR_BOUNCE, "5.4.6", "virtual alias loop");
}

/* A chain longer than QMGR_VIRTUAL_DEPTH is returned; one just within passes. */
static void test_virtual_depth(void **state)
{
	struct fixture *f = *state;
	struct strbuf text = STRBUF_INIT;
	char *path, *name, *err = NULL;
	int i, n = QMGR_VIRTUAL_DEPTH + 5;

	for (i = 0; i < n; i++)
		strbuf_printf(&text, "c%d@chain.example c%d@chain.example\n", i, i + 1);
	write_file(f->dir, "chain", text.data, &path);
	strbuf_free(&text);
	name = xasprintf("texthash:%s", path);
	qmgr_maps_free(&f->virt);
	f->virt = qmgr_maps_open("virtual_alias_maps", name, &err);
	assert_non_null(f->virt);
	unlink(path);
	free(path);
	free(name);
	f->conf.virtual_alias_maps = f->virt;
	reconfigure(f);
	expect_verdict(f, "c0@chain.example", QMGR_BOUNCE, "5.4.6", "nested more than");
	expect_route(f, "s@a.example", "c10@chain.example", "c105@chain.example", "smtp",
		     "chain.example");
}

/* ---- the directory ---- */

static void test_directory(void **state)
{
	struct fixture *f = *state;
	static const char *const keep[] = {"keep@local.example", "keep@remote.example", NULL};

	expect_verdict(f, "nobody@local.example", QMGR_BOUNCE, "5.1.1", "user unknown");
	expect_verdict(f, "gone@local.example", QMGR_BOUNCE, "5.2.1", "disabled");
	expect_verdict(f, "loop@local.example", QMGR_BOUNCE, "5.4.6", "alias loop");
	expect_verdict(f, "broken@local.example", QMGR_DEFER, "4.3.0", "connection closed");
	/* keep a copy and forward: two addresses */
	expect_split(f, "keep@local.example", keep);
	/* remote domains are asked about once each, never resolved */
	f->fake.resolve_calls = 0;
	expect_route(f, "s@a.example", "u@remote.example", "u@remote.example", "smtp",
		     "remote.example");
	assert_int_equal(f->fake.resolve_calls, 0);
	/* a directory that cannot answer defers */
	f->fake.fail_domains = 1;
	expect_verdict(f, "u@remote.example", QMGR_DEFER, "4.3.0", "No such file");
	/* mydestination needs no domain lookup, but the user does */
	f->fake.domain_calls = 0;
	expect_verdict(f, "root@localhost", QMGR_BOUNCE, "5.1.1", "user unknown");
	assert_int_equal(f->fake.domain_calls, 0);
}

static void test_transport_split(void **state)
{
	char *t, *n;

	(void)state;
	qmgr_transport_split("lmtp:unix:/path/sock", &t, &n);
	assert_string_equal(t, "lmtp");
	assert_string_equal(n, "unix:/path/sock");
	free(t);
	free(n);
	qmgr_transport_split("smtp", &t, &n);
	assert_string_equal(t, "smtp");
	assert_string_equal(n, "");
	free(t);
	free(n);
	qmgr_transport_split(":[gw]:25", &t, &n);
	assert_string_equal(t, "");
	assert_string_equal(n, "[gw]:25");
	free(t);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_route_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_local, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sender_relayhost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transport_maps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transport_wildcard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_virtual_rewrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_virtual_expand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_virtual_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_virtual_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
	    cmocka_unit_test(test_transport_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
