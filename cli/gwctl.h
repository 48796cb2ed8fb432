
/*
 * Copyright (C) Tollgate
 *
 * gwctl's shared parts: the run context, which carries the Redis connection
 * and the one failure of a run (an exit code and a message), the argument
 * parser every command uses, the Redis helpers and the output helpers.
 * Functions return 0 or -1; on -1 the context holds the code and message,
 * and main() prints them once.
 */


#ifndef _GWCTL_H_INCLUDED_
#define _GWCTL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "gw_model.h"


#define GWCTL_OK            0
#define GWCTL_USAGE         1       /* bad arguments */
#define GWCTL_STATE         2       /* not found, exists, invalid state */
#define GWCTL_REDIS         3       /* Redis unreachable or an error reply */

#define GWCTL_ADDR_MAX      300     /* bytes of --redis */
#define GWCTL_ERR_MAX       512
#define GWCTL_TIMEOUT       2       /* seconds, connect and each command */
#define GWCTL_ATTEMPTS      5       /* transactions retried on WATCH */
#define GWCTL_OPTS_MAX      4       /* options of one command */
#define GWCTL_LIMIT_DEFAULT 100     /* entries of a listing's page */
#define GWCTL_LIMIT_MAX     1000
#define GWCTL_API_TIMEOUT   30      /* seconds, an API call; $GWCTL_TIMEOUT */
#define GWCTL_RESP_MAX      (64 * 1024 * 1024)  /* bytes of an answer */
#define GWCTL_CRED_MAX      8192    /* bytes of a token or an API key */
#define GWCTL_ETAG_MAX      64
#define GWCTL_HASH_SHOWN    12      /* hex digits of a key hash in tables */


typedef struct {
    redisContext   *redis;
    const char     *addr;           /* as given, for messages */
    char            host[GWCTL_ADDR_MAX + 1];   /* "" : a unix socket */
    char            path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    int             port;
    const char     *password;       /* NULL: no AUTH */
    int             db;
    int             code;           /* exit code of the failure */
    char            err[GWCTL_ERR_MAX];

    /* the admin API (gwctl_api.c): api NULL, consumer and key commands
       write Redis */
    const char     *api;            /* the URL, as given */
    char            api_host[GWCTL_ADDR_MAX + 1];
    char            api_path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    char            api_base[GWCTL_ADDR_MAX + 1];   /* "" or "/admin" */
    int             api_port;
    int             api_timeout;    /* seconds */
    const char     *api_auth_name;  /* NULL: no credential */
    const char     *api_auth_scheme;
    const char     *api_auth;

    const struct gwctl_store_s  *store;
} gwctl_t;


/* an answer of the admin API */
typedef struct {
    int             status;
    char           *body;           /* NUL-terminated */
    size_t          len;
    json_t         *json;           /* the body, when JSON */
    char            etag[GWCTL_ETAG_MAX];
    unsigned        json_type:1;
} gwctl_http_t;


/* one option of a command: "--name VALUE", "--name=VALUE" or a flag */
typedef struct {
    const char     *name;           /* "--json" */
    int             flag;           /* 1: takes no value */
    const char     *value;          /* out: the value, or "" for a flag */
} gwctl_opt_t;


typedef int (*gwctl_cmd_pt)(gwctl_t *ctl, int argc, char **argv);


/*
 * What a store read: records (items, of the command's type) that borrow
 * from the Redis replies, the buffers and the API answer kept with
 * them, all freed by gwctl_page_free().
 */
typedef struct {
    void           *items;
    size_t          n;
    const char     *next;           /* the next page's cursor, or NULL */
    redisReply    **replies;
    size_t          nreplies;
    void          **bufs;
    size_t          nbufs;
    gwctl_http_t    res;
} gwctl_page_t;


/* consumer add's arguments, checked */
typedef struct {
    const char     *id;
    const char     *name;
    const char     *tags;           /* comma-separated; NULL: not given */
    const char     *plan;           /* NULL: none */
} gwctl_consumer_spec_t;


/* a consumer as the commands print it, from either store */
typedef struct {
    const char     *id;
    const char     *name;           /* NULL: missing */
    const char     *status;
    const char     *tags;           /* comma-separated */
    const char     *plan;
    int64_t         created;
    long long       keys;
    unsigned        created_set:1;
} gwctl_consumer_rec_t;


/* a key just made: shown once by key create, then wiped */
typedef struct {
    char            key[GW_KEY_LEN + 1];
    char            hash[GW_KEY_HASH_HEX_LEN + 1];
    char            prefix[GW_KEY_PREFIX_LEN + 1];
    const char     *id;             /* its consumer */
    int64_t         created;
} gwctl_key_new_t;


/* a key as key list prints it, from either store */
typedef struct {
    const char     *hash;
    const char     *prefix;         /* NULL: missing */
    const char     *status;
    const char     *state;          /* active, revoked, expired, invalid */
    int64_t         created;
    int64_t         expires;        /* 0: never */
    unsigned        created_set:1;
    unsigned        expires_set:1;
} gwctl_key_rec_t;


#define GWCTL_CLIENT_FIELDS  8

/* a client as client show and list print it, from either store */
typedef struct {
    const char     *id;
    const char     *field[GWCTL_CLIENT_FIELDS];  /* gwctl_client_fields */
    const char     *jwk;            /* NULL or "": none */
    int64_t         secret_old_until;
    int64_t         created;
    int64_t         updated;
    unsigned        secret:1;       /* has a secret */
    unsigned        secret_old_set:1;
    unsigned        created_set:1;
    unsigned        updated_set:1;
} gwctl_client_rec_t;

typedef struct gwctl_client_spec_s  gwctl_client_spec_t;


/*
 * Where the consumer, key and client commands keep their entities:
 * Redis (gwctl_*_redis.c) or the admin API (gwctl_api_*.c), chosen once
 * by main().  The commands parse and print; a store reads and writes,
 * and fails with the message and exit code the command reports.  A get
 * or list fills a page of records, which the command frees.
 */
typedef struct {
    int   (*add)(gwctl_t *ctl, const gwctl_consumer_spec_t *cs);
    int   (*get)(gwctl_t *ctl, const char *id, gwctl_page_t *page);
    int   (*list)(gwctl_t *ctl, const char *cursor, size_t limit,
                  gwctl_page_t *page);
    int   (*set)(gwctl_t *ctl, const char *id, const char *field,
                 const char *value, const char *same);
} gwctl_consumer_ops_t;

typedef struct {
    int   (*create)(gwctl_t *ctl, const char *id, int64_t ttl,
                    gwctl_key_new_t *k);
    int   (*withdraw)(gwctl_t *ctl, gwctl_key_new_t *k);
    int   (*list)(gwctl_t *ctl, const char *cmd, const char *id,
                  const char *cursor, size_t limit, gwctl_page_t *page);
    int   (*revoke)(gwctl_t *ctl, const char *id, const char *hash);
} gwctl_key_ops_t;

typedef struct {
    int   (*add)(gwctl_t *ctl, const gwctl_client_spec_t *cs,
                 char *secret, size_t size);
    int   (*get)(gwctl_t *ctl, const char *id, gwctl_page_t *page);
    int   (*list)(gwctl_t *ctl, const char *cursor, size_t limit,
                  gwctl_page_t *page);
    int   (*status)(gwctl_t *ctl, const char *id, const char *status,
                    const char *done);
    int   (*set_key)(gwctl_t *ctl, const char *id, const char *jwk);
    int   (*rotate)(gwctl_t *ctl, int argc, char **argv);
} gwctl_client_ops_t;

typedef struct gwctl_store_s {
    const gwctl_consumer_ops_t  *consumer;
    const gwctl_key_ops_t       *key;
    const gwctl_client_ops_t    *client;
} gwctl_store_t;

extern const gwctl_consumer_ops_t  gwctl_redis_consumer_ops;
extern const gwctl_consumer_ops_t  gwctl_api_consumer_ops;
extern const gwctl_key_ops_t       gwctl_redis_key_ops;
extern const gwctl_key_ops_t       gwctl_api_key_ops;
extern const gwctl_client_ops_t    gwctl_redis_client_ops;
extern const gwctl_client_ops_t    gwctl_api_client_ops;


/* gwctl.c */
int gwctl_fail(gwctl_t *ctl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *gwctl_quote(char *buf, size_t size, const char *s);
int gwctl_id(gwctl_t *ctl, const char *cmd, const char *id);
int gwctl_limit(gwctl_t *ctl, const char *cmd, const char *value,
    size_t *limit);
int gwctl_args(gwctl_t *ctl, const char *cmd, int argc, char **argv,
    gwctl_opt_t *opts, const char **pos, int npos, const char *want);
int gwctl_connect(gwctl_t *ctl);

/* gwctl_redis.c */
redisReply *gwctl_command(gwctl_t *ctl, const char *fmt, ...);
int gwctl_run(gwctl_t *ctl, const char *fmt, ...);
int gwctl_append(gwctl_t *ctl, const char *fmt, ...);
redisReply *gwctl_reply(gwctl_t *ctl, const char *what);
int gwctl_exec(gwctl_t *ctl, int *committed);
int gwctl_watch_exists(gwctl_t *ctl, const char *rkey);
const redisReply *gwctl_field(const redisReply *hash, const char *name);
int gwctl_field_is(const redisReply *hash, const char *name,
    const char *value);
int gwctl_field_int(const redisReply *hash, const char *name, int64_t *n);

/* gwctl_out.c */
void gwctl_sanitize(char *dst, size_t size, const char *s, size_t len);
void gwctl_print_text(FILE *f, const char *s, size_t len);
void gwctl_print_json(FILE *f, const char *s, size_t len);
void gwctl_print_cell(FILE *f, const char *s, size_t width);
void gwctl_format_time(char *buf, size_t size, int64_t t);
void gwctl_print_next(FILE *f, int json, const char *close,
    const char *next);
int gwctl_page_reply(gwctl_t *ctl, gwctl_page_t *page, redisReply *r);
void *gwctl_page_buf(gwctl_t *ctl, gwctl_page_t *page, void *p);
void gwctl_page_free(gwctl_page_t *page);

/* gwctl_api.c */
int gwctl_api_parse(gwctl_t *ctl, const char *what, const char *url);
int gwctl_api_auth(gwctl_t *ctl, const char *token_var,
    const char *key_var);
int gwctl_api_call(gwctl_t *ctl, const char *method, const char *path,
    const char *ctype, const char *body, size_t len, const char *if_match,
    const char *if_none_match, gwctl_http_t *res);
int gwctl_api_json(gwctl_t *ctl, const char *method, const char *path,
    json_t *body, const char *ctype, const char *if_match,
    const char *if_none_match, gwctl_http_t *res);
int gwctl_api_fail(gwctl_t *ctl, const char *what, gwctl_http_t *res);
void gwctl_http_free(gwctl_http_t *res);

/* gwctl_api_cmd.c */
#define GWCTL_PATH_MAX      1024    /* bytes of an API path and query */
#define GWCTL_CURSOR_MAX    256     /* bytes of a listing's cursor */

const char *gwctl_api_str(json_t *o, const char *name);
int64_t gwctl_api_time(json_t *v);
int gwctl_api_get(gwctl_t *ctl, const char *what, const char *path,
    gwctl_http_t *res);
int gwctl_api_patch(gwctl_t *ctl, const char *what, const char *path,
    const char *member, json_t *value, const char *same,
    const char *missing);
int gwctl_api_count(gwctl_t *ctl, const char *id, long long *n);
int gwctl_api_cursor(gwctl_t *ctl, const char *cmd, const char *cursor,
    char *buf, size_t size);
int gwctl_api_query(gwctl_t *ctl, const char *cmd, const char *base,
    size_t limit, const char *cursor, char *path, size_t size);
json_t *gwctl_api_items(gwctl_t *ctl, const char *what, const char *path,
    int one, gwctl_page_t *page, size_t size);

/* the commands */
int gwctl_consumer(gwctl_t *ctl, int argc, char **argv);
int gwctl_key(gwctl_t *ctl, int argc, char **argv);
const char *gwctl_key_state(gw_model_key_state_e state);
int gwctl_client(gwctl_t *ctl, int argc, char **argv);
int gwctl_apply(gwctl_t *ctl, const char *cmd, int argc, char **argv);

/* gwctl_client*.c */
#define GWCTL_SECRET_PREFIX   "tgs_"
#define GWCTL_SECRET_BYTES    32
#define GWCTL_SECRET_LEN      (4 + 43)      /* the prefix, base64url */
#define GWCTL_PEPPER_MIN      32
#define GWCTL_PEPPER_MAX      64
#define GWCTL_GRACE_DEFAULT   86400         /* seconds */
#define GWCTL_JWK_MAX         16384         /* bytes of a JWK file */

/* client add's arguments, checked (gwctl_client_spec()) */
struct gwctl_client_spec_s {
    const char         *id;
    const char         *name;
    const char         *scopes;         /* space-separated, "" : none */
    const char         *dscopes;
    const char         *auds;
    const char         *daud;
    const char         *auth;
    const char         *grants;
    const char         *pepper;         /* --pepper, NULL : none */
    int                 secretful;      /* auth names client_secret_* */
};

extern const char  *gwctl_client_fields[];

int gwctl_client_spec(gwctl_t *ctl, int argc, char **argv,
    gwctl_client_spec_t *cs);
int gwctl_client_jwk(gwctl_t *ctl, const char *path, char **out);
int gwctl_client_secret(gwctl_t *ctl, const char *cmd, const char *pepper,
    char *secret, char *hex);
int gwctl_client_subset(const char *words, const char *list);
int gwctl_client_change(gwctl_t *ctl, const char *id, const char *same,
    const char *field, const char *value, const char *field2,
    const char *value2, const char *field3, const char *value3);
int gwctl_client_rotate(gwctl_t *ctl, int argc, char **argv);
int gwctl_redis_client_set_key(gwctl_t *ctl, const char *id,
    const char *jwk);


#endif /* _GWCTL_H_INCLUDED_ */
