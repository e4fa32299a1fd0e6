/*
 * qmgr_maps - a parameter's list of lookup tables ("hash:/etc/tern/virtual,
 * texthash:/etc/tern/more"), searched in order: the first table that has
 * the key answers.
 *
 * Tables are opened read-only through util/dict.h when the list is opened
 * (dict reopens a Berkeley DB table by itself when ternmap replaces it).
 */
#ifndef TERN_QMGR_MAPS_H
#define TERN_QMGR_MAPS_H

#include "util/dict.h"
#include "util/strbuf.h"

struct qmgr_maps;

/*
 * qmgr_maps_open - open every "type:name" of list (names separated by
 * commas and/or white space; an empty list is valid and finds nothing).
 * param names the list in messages. NULL with *error_r when one cannot be
 * opened.
 */
struct qmgr_maps *qmgr_maps_open(const char *param, const char *list, char **error_r);
void qmgr_maps_free(struct qmgr_maps **maps);

/* qmgr_maps_empty - whether the list has no table. */
int qmgr_maps_empty(const struct qmgr_maps *maps);

/*
 * qmgr_maps_lookup - the value of key in the first table that has it:
 * DICT_FOUND (value replaced), DICT_NOTFOUND, or DICT_ERROR with *error_r
 * (naming the parameter and the table).
 */
enum dict_result qmgr_maps_lookup(struct qmgr_maps *maps, const char *key, struct strbuf *value,
				  char **error_r);

#endif
