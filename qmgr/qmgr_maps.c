/*
 * qmgr_maps - an ordered list of lookup tables. See qmgr_maps.h.
 */
#include <stdlib.h>
#include <string.h>

#include "qmgr/qmgr_maps.h"
#include "util/mymalloc.h"

struct qmgr_maps {
	char *param;
	struct dict **dicts;
	size_t count;
};

struct qmgr_maps *qmgr_maps_open(const char *param, const char *list, char **error_r)
{
	struct qmgr_maps *maps = xcalloc(1, sizeof(*maps));
	const char *p = list, *sep = ", \t\r\n";
	char *name, *err = NULL;
	struct dict *dict;
	size_t n;

	maps->param = xstrdup(param);
	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		name = xstrndup(p, n);
		p += n;
		dict = dict_open(name, DICT_READ, &err);
		if (dict == NULL) {
			*error_r = xasprintf("%s: %s", param, err);
			free(err);
			free(name);
			qmgr_maps_free(&maps);
			return NULL;
		}
		free(name);
		maps->dicts = xreallocarray(maps->dicts, maps->count + 1, sizeof(*maps->dicts));
		maps->dicts[maps->count++] = dict;
	}
	return maps;
}

void qmgr_maps_free(struct qmgr_maps **mapsp)
{
	struct qmgr_maps *maps = *mapsp;
	size_t i;

	if (maps == NULL)
		return;
	for (i = 0; i < maps->count; i++)
		dict_close(&maps->dicts[i]);
	free(maps->dicts);
	free(maps->param);
	free(maps);
	*mapsp = NULL;
}

int qmgr_maps_empty(const struct qmgr_maps *maps)
{
	return maps == NULL || maps->count == 0;
}

enum dict_result qmgr_maps_lookup(struct qmgr_maps *maps, const char *key, struct strbuf *value,
				  char **error_r)
{
	enum dict_result r;
	char *err = NULL;
	size_t i;

	if (maps == NULL || key[0] == '\0')
		return DICT_NOTFOUND;
	for (i = 0; i < maps->count; i++) {
		r = dict_lookup(maps->dicts[i], key, value, &err);
		if (r == DICT_NOTFOUND)
			continue;
		if (r == DICT_ERROR) {
			*error_r =
			    xasprintf("%s: %s:%s: %s", maps->param, dict_type(maps->dicts[i]),
				      dict_name(maps->dicts[i]), err);
			free(err);
		}
		return r;
	}
	return DICT_NOTFOUND;
}
