
/*
 * Copyright (C) Tollgate
 *
 * Service configuration: one table of typed keys (the kit's, then the
 * service's), three layers of values.  The defaults are written as a
 * file would write them and go through the same parser, so a default can
 * never bypass a check; then the file's "key = value" lines; then the
 * environment, TOLLGATE_<SERVICE>_<KEY>, which wins.  Every value is
 * checked when it is read, and the first bad one stops the start with an
 * error naming where it came from: "file:line" or the variable.
 *
 * The file format: one "key = value" per line; blank lines and lines
 * whose first non-blank character is '#' are ignored; spaces around the
 * key and the value are dropped; there are no inline comments (a '#'
 * after the '=' is part of the value) and no quoting.  A key may appear
 * once; an unknown key is an error, and so is an unknown
 * TOLLGATE_<SERVICE>_* variable other than TOLLGATE_<SERVICE>_CONFIG.
 */


#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_svc_int.h"


#define GW_SVC_LINE_MAX  4096


static int gw_svc_conf_parse(gw_svc_t *svc, gw_svc_conf_t *c,
    const char *value, const char *where);
static int gw_svc_conf_number(const char *s, long long *out,
    const char *const *units, const long long *mult);
static int gw_svc_conf_addr(const char *s);
static int gw_svc_conf_choice(const char *choices, const char *s);
static gw_svc_conf_t *gw_svc_conf_find(gw_svc_t *svc, const char *key,
    size_t len);
static int gw_svc_conf_file(gw_svc_t *svc, const char *path);
static int gw_svc_conf_env(gw_svc_t *svc);
static char *gw_svc_trim(char *s);
static size_t gw_svc_conf_override(gw_svc_t *svc, size_t n, size_t nkit);


extern char  **environ;


/* the kit's own keys (docs/service-kit.md) */

static const gw_svc_key_t  gw_svc_kit_keys[] = {
    { "listen", GW_SVC_ADDR, "127.0.0.1:8080", 0, 0, NULL },
    { "redis", GW_SVC_ADDR, "127.0.0.1:6379", 0, 0, NULL },
    { "redis_password", GW_SVC_STR, "", 0, 0, NULL },
    { "redis_retry", GW_SVC_MSEC, "1s", 10, 60000, NULL },
    { "body_max", GW_SVC_SIZE, "1m", 0, 64 * 1024 * 1024, NULL },
    { "header_max", GW_SVC_SIZE, "16k", 1024, 1024 * 1024, NULL },
    { "request_timeout", GW_SVC_MSEC, "30s", 100, 3600000, NULL },
    { "shutdown_timeout", GW_SVC_MSEC, "10s", 0, 600000, NULL },
    { "log_level", GW_SVC_STR, "info", 0, 0, "debug|info|warn|error" },
    { NULL, 0, NULL, 0, 0, NULL }
};


static int
gw_svc_key_valid(const char *key)
{
    size_t  i;

    for (i = 0; key[i] != '\0'; i++) {
        if (!(islower((unsigned char) key[i]) || isdigit((unsigned char) key[i])
              || key[i] == '_'))
        {
            return 0;
        }
    }

    return i > 0 && i <= 64;
}


/*
 * Service keys named like a kit key take the kit key's place when their
 * types agree, and leave the table: the new count of entries.
 */

static size_t
gw_svc_conf_override(gw_svc_t *svc, size_t n, size_t nkit)
{
    size_t  i, k, j;

    for (i = nkit, j = nkit; i < n; i++) {

        for (k = 0; k < nkit; k++) {
            if (strcmp(svc->conf[k].key->key, svc->conf[i].key->key) == 0
                && svc->conf[k].key->type == svc->conf[i].key->type)
            {
                break;
            }
        }

        if (k < nkit) {
            svc->conf[k].key = svc->conf[i].key;
            continue;
        }

        svc->conf[j++].key = svc->conf[i].key;
    }

    return j;
}


/*
 * Builds the table (kit keys, then the service's) and parses every
 * default.  A service key named like a kit key, of the same type, gives
 * that kit key the service's own default and bounds (the workflow
 * service takes bodies past the kit's 1 MiB: a definition of 1 MiB and
 * its envelope).  A service key that repeats another, a kit key's name
 * with another type, or a default that fails its own check, is a
 * programming error: -1 and the message.
 */

int
gw_svc_conf_init(gw_svc_t *svc, const gw_svc_key_t *keys)
{
    size_t  i, n, nkit;

    nkit = sizeof(gw_svc_kit_keys) / sizeof(gw_svc_kit_keys[0]) - 1;
    n = nkit;

    for (i = 0; keys != NULL && keys[i].key != NULL; i++) {
        n++;
    }

    svc->conf = calloc(n, sizeof(gw_svc_conf_t));
    if (svc->conf == NULL) {
        gw_svc_set_error(svc, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        svc->conf[i].key = (i < nkit) ? &gw_svc_kit_keys[i]
                                      : &keys[i - nkit];
    }

    n = gw_svc_conf_override(svc, n, nkit);

    for (i = 0; i < n; i++) {
        if (!gw_svc_key_valid(svc->conf[i].key->key)
            || gw_svc_conf_find(svc, svc->conf[i].key->key,
                                strlen(svc->conf[i].key->key))
               != NULL)
        {
            gw_svc_set_error(svc, "key \"%s\": malformed or declared twice",
                             svc->conf[i].key->key);
            return -1;
        }

        svc->nconf = i + 1;

        if (svc->conf[i].key->dflt != NULL
            && gw_svc_conf_parse(svc, &svc->conf[i], svc->conf[i].key->dflt,
                                 "default") != 0)
        {
            return -1;
        }
    }

    return 0;
}


void
gw_svc_conf_free(gw_svc_t *svc)
{
    size_t  i;

    for (i = 0; i < svc->nconf; i++) {
        free(svc->conf[i].str);
    }

    free(svc->conf);
    svc->conf = NULL;
    svc->nconf = 0;
}


static gw_svc_conf_t *
gw_svc_conf_find(gw_svc_t *svc, const char *key, size_t len)
{
    size_t  i;

    for (i = 0; i < svc->nconf; i++) {
        if (strlen(svc->conf[i].key->key) == len
            && strncmp(svc->conf[i].key->key, key, len) == 0)
        {
            return &svc->conf[i];
        }
    }

    return NULL;
}


/*
 * A decimal number with an optional unit from units (mult[i] each; the
 * first entry is the bare number, ""); -1 when malformed or overflowing.
 */

static int
gw_svc_conf_number(const char *s, long long *out, const char *const *units,
    const long long *mult)
{
    char       *end;
    size_t      i;
    long long   v;

    if (!isdigit((unsigned char) s[0])) {
        return -1;
    }

    errno = 0;
    v = strtoll(s, &end, 10);

    if (errno != 0) {
        return -1;
    }

    for (i = 0; units[i] != NULL; i++) {
        if (strcmp(end, units[i]) == 0) {
            if (v > (long long) 1 << 50) {
                return -1;
            }

            *out = v * mult[i];
            return 0;
        }
    }

    return -1;
}


/* "unix:/path" or "host:port" (an IPv6 host in brackets) */

static int
gw_svc_conf_addr(const char *s)
{
    char        *end;
    const char  *colon;
    long         port;

    if (strncmp(s, "unix:", 5) == 0) {
        return (s[5] == '/' && strlen(s + 5) < 100) ? 0 : -1;
    }

    colon = strrchr(s, ':');

    if (colon == NULL || colon == s || strlen(s) > 255) {
        return -1;
    }

    if (s[0] == '[' && colon[-1] != ']') {
        return -1;
    }

    if (!isdigit((unsigned char) colon[1])) {
        return -1;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);

    return (errno == 0 && *end == '\0' && port >= 0 && port <= 65535)
           ? 0 : -1;
}


static int
gw_svc_conf_choice(const char *choices, const char *s)
{
    size_t       len;
    const char  *p, *bar;

    len = strlen(s);

    for (p = choices; p != NULL; p = (bar != NULL) ? bar + 1 : NULL) {
        bar = strchr(p, '|');

        if ((size_t) ((bar != NULL ? bar : p + strlen(p)) - p) == len
            && strncmp(p, s, len) == 0)
        {
            return 0;
        }
    }

    return -1;
}


/* checks value against c's key and stores it; where names the source */

static int
gw_svc_conf_parse(gw_svc_t *svc, gw_svc_conf_t *c, const char *value,
    const char *where)
{
    char               *copy;
    long long           num;
    const gw_svc_key_t *k;
    static const char  *size_units[] = { "", "k", "K", "m", "M", NULL };
    static const long long  size_mult[] = { 1, 1024, 1024,
                                            1024 * 1024, 1024 * 1024 };
    static const char  *msec_units[] = { "", "ms", "s", NULL };
    static const long long  msec_mult[] = { 1, 1, 1000 };
    static const char  *int_units[] = { "", NULL };
    static const long long  int_mult[] = { 1 };

    k = c->key;
    num = 0;

    switch (k->type) {

    case GW_SVC_INT:
        if (gw_svc_conf_number(value, &num, int_units, int_mult) != 0) {
            gw_svc_set_error(svc, "%s: %s: \"%s\" is not an integer", where,
                             k->key, value);
            return -1;
        }
        break;

    case GW_SVC_SIZE:
        if (gw_svc_conf_number(value, &num, size_units, size_mult) != 0) {
            gw_svc_set_error(svc, "%s: %s: \"%s\" is not a size (bytes, "
                             "or a number with k or m)", where, k->key,
                             value);
            return -1;
        }
        break;

    case GW_SVC_MSEC:
        if (gw_svc_conf_number(value, &num, msec_units, msec_mult) != 0) {
            gw_svc_set_error(svc, "%s: %s: \"%s\" is not a duration "
                             "(milliseconds, or a number with ms or s)",
                             where, k->key, value);
            return -1;
        }
        break;

    case GW_SVC_ADDR:
        if (gw_svc_conf_addr(value) != 0) {
            gw_svc_set_error(svc, "%s: %s: \"%s\" is not an address "
                             "(host:port or unix:/path)", where, k->key,
                             value);
            return -1;
        }
        break;

    default:
        if (k->choices != NULL && gw_svc_conf_choice(k->choices, value) != 0)
        {
            gw_svc_set_error(svc, "%s: %s: \"%s\" is not one of %s", where,
                             k->key, value, k->choices);
            return -1;
        }
        break;
    }

    if (k->type != GW_SVC_STR && k->type != GW_SVC_ADDR
        && (num < k->min || num > k->max))
    {
        gw_svc_set_error(svc, "%s: %s: \"%s\" is out of range %lld..%lld",
                         where, k->key, value, k->min, k->max);
        return -1;
    }

    copy = strdup(value);
    if (copy == NULL) {
        gw_svc_set_error(svc, "out of memory");
        return -1;
    }

    free(c->str);
    c->str = copy;
    c->num = num;

    return 0;
}


static char *
gw_svc_trim(char *s)
{
    char  *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    end = s + strlen(s);

    while (end > s && (end[-1] == ' ' || end[-1] == '\t'
                       || end[-1] == '\r' || end[-1] == '\n'))
    {
        *--end = '\0';
    }

    return s;
}


static int
gw_svc_conf_file(gw_svc_t *svc, const char *path)
{
    int             rc, line;
    FILE           *f;
    char           *key, *value, *eq;
    char            where[GW_SVC_ERR_MAX / 2];
    char            buf[GW_SVC_LINE_MAX + 2];
    gw_svc_conf_t  *c;

    rc = -1;
    line = 0;

    f = fopen(path, "r");
    if (f == NULL) {
        gw_svc_set_error(svc, "%s: %s", path, strerror(errno));
        return -1;
    }

    while (fgets(buf, sizeof(buf), f) != NULL) {
        line++;
        snprintf(where, sizeof(where), "%s:%d", path, line);

        if (strlen(buf) > GW_SVC_LINE_MAX) {
            gw_svc_set_error(svc, "%s: line longer than %d bytes", where,
                             GW_SVC_LINE_MAX);
            goto done;
        }

        key = gw_svc_trim(buf);

        if (key[0] == '\0' || key[0] == '#') {
            continue;
        }

        eq = strchr(key, '=');
        if (eq == NULL) {
            gw_svc_set_error(svc, "%s: expected \"key = value\"", where);
            goto done;
        }

        *eq = '\0';
        key = gw_svc_trim(key);
        value = gw_svc_trim(eq + 1);

        c = gw_svc_conf_find(svc, key, strlen(key));
        if (c == NULL) {
            gw_svc_set_error(svc, "%s: unknown key \"%s\"", where, key);
            goto done;
        }

        if (c->set) {
            gw_svc_set_error(svc, "%s: key \"%s\" given twice", where, key);
            goto done;
        }

        if (gw_svc_conf_parse(svc, c, value, where) != 0) {
            goto done;
        }

        c->set = 1;
    }

    if (ferror(f)) {
        gw_svc_set_error(svc, "%s: %s", path, strerror(errno));
        goto done;
    }

    rc = 0;

done:

    fclose(f);
    return rc;
}


/* the variable prefix: "TOLLGATE_" and the name upper-cased, '-' as '_' */

static size_t
gw_svc_env_prefix(gw_svc_t *svc, char *out, size_t size)
{
    size_t  i, n;

    n = (size_t) snprintf(out, size, "TOLLGATE_");

    for (i = 0; svc->name[i] != '\0' && n + 2 < size; i++) {
        out[n++] = (svc->name[i] == '-') ? '_'
                   : (char) toupper((unsigned char) svc->name[i]);
    }

    out[n++] = '_';
    out[n] = '\0';

    return n;
}


static int
gw_svc_conf_env(gw_svc_t *svc)
{
    char           **e, *eq;
    size_t           plen, klen, i;
    char             prefix[GW_SVC_NAME_MAX + 16];
    char             key[65], where[GW_SVC_ERR_MAX / 2];
    gw_svc_conf_t   *c;

    plen = gw_svc_env_prefix(svc, prefix, sizeof(prefix));

    for (e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, prefix, plen) != 0) {
            continue;
        }

        eq = strchr(*e, '=');
        if (eq == NULL) {
            continue;
        }

        klen = (size_t) (eq - *e) - plen;
        snprintf(where, sizeof(where), "%.*s", (int) (eq - *e), *e);

        if (klen == 6 && strncmp(*e + plen, "CONFIG", 6) == 0) {
            continue;
        }

        if (klen == 0 || klen >= sizeof(key)) {
            gw_svc_set_error(svc, "%s: unknown variable", where);
            return -1;
        }

        for (i = 0; i < klen; i++) {
            key[i] = (char) tolower((unsigned char) (*e)[plen + i]);
        }

        key[klen] = '\0';

        c = gw_svc_conf_find(svc, key, klen);
        if (c == NULL) {
            gw_svc_set_error(svc, "%s: unknown variable (no key \"%s\")",
                             where, key);
            return -1;
        }

        if (gw_svc_conf_parse(svc, c, eq + 1, where) != 0) {
            return -1;
        }
    }

    return 0;
}


int
gw_svc_configure(gw_svc_t *svc, const char *path)
{
    size_t  i;

    if (path != NULL && gw_svc_conf_file(svc, path) != 0) {
        return -1;
    }

    if (gw_svc_conf_env(svc) != 0) {
        return -1;
    }

    for (i = 0; i < svc->nconf; i++) {
        if (svc->conf[i].str == NULL) {
            gw_svc_set_error(svc, "%s: required, set it in the file or in "
                             "the environment", svc->conf[i].key->key);
            return -1;
        }
    }

    svc->log_level = GW_SVC_INFO;

    if (strcmp(gw_svc_conf_str(svc, "log_level"), "debug") == 0) {
        svc->log_level = GW_SVC_DEBUG;

    } else if (strcmp(gw_svc_conf_str(svc, "log_level"), "warn") == 0) {
        svc->log_level = GW_SVC_WARN;

    } else if (strcmp(gw_svc_conf_str(svc, "log_level"), "error") == 0) {
        svc->log_level = GW_SVC_ERROR;
    }

    return 0;
}


long long
gw_svc_conf_int(gw_svc_t *svc, const char *key)
{
    gw_svc_conf_t  *c;

    c = gw_svc_conf_find(svc, key, strlen(key));

    return (c != NULL) ? c->num : 0;
}


const char *
gw_svc_conf_str(gw_svc_t *svc, const char *key)
{
    gw_svc_conf_t  *c;

    c = gw_svc_conf_find(svc, key, strlen(key));

    return (c != NULL) ? c->str : NULL;
}
