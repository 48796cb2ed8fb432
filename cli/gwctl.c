
/*
 * Copyright (C) Tollgate
 *
 * gwctl: manages Tollgate's consumers and API keys in Redis, with the data
 * model of lib/model/gw_model.h.  This file holds main(): the global
 * options, the Redis address, the argument parser the commands share, the
 * connection, and the one place a failure is printed.
 *
 * Every argument is checked before gwctl connects, so a usage error (exit
 * 1) never depends on Redis.  Each change is one MULTI/EXEC under WATCH
 * that also publishes the invalidation on gw:events; a transaction that a
 * concurrent change aborted is read and decided again, a few times.  A
 * synchronous hiredis connection is enough: this is a command-line tool,
 * and connect and every command time out after GWCTL_TIMEOUT seconds.
 */


#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "gwctl.h"


#define GWCTL_DEFAULT_ADDR  "127.0.0.1:6379"
#define GWCTL_PASSWORD_MAX  512
#define GWCTL_VAR_MAX       64
#define GWCTL_DB_MAX        65535


static void gwctl_usage(FILE *f);
static int gwctl_parse_addr(gwctl_t *ctl, const char *what,
    const char *s);
static int gwctl_parse_global(gwctl_t *ctl, int argc, char **argv,
    int *next);
static int gwctl_option(const char *arg, const char *name,
    const char **value);
static int gwctl_global_value(gwctl_t *ctl, int argc, char **argv, int *i,
    const char *name, const char **value);


static const gwctl_store_t  gwctl_redis_store = {
    &gwctl_redis_consumer_ops, &gwctl_redis_key_ops, &gwctl_redis_client_ops
};

static const gwctl_store_t  gwctl_api_store = {
    &gwctl_api_consumer_ops, &gwctl_api_key_ops, &gwctl_api_client_ops
};


static const char  gwctl_usage_text[] =
"usage: gwctl [--redis HOST:PORT | --redis unix:/path] [--password-env VAR]\n"
"             [--db N] [--api URL [--token-env VAR | --key-env VAR]]\n"
"             COMMAND ...\n"
"\n"
"  consumer add ID [--name NAME] [--tags a,b] [--plan PLAN]\n"
"  consumer list [--limit N] [--cursor ID] [--json]\n"
"  consumer show ID [--json]\n"
"  consumer disable ID\n"
"  consumer enable ID\n"
"  consumer plan ID (PLAN | --none)\n"
"  key create CONSUMER [--expires SECONDS|30d|12h]\n"
"  key list CONSUMER [--limit N] [--cursor HASH] [--json]\n"
"  key revoke CONSUMER KEY_PREFIX_OR_HASH\n"
"  client add ID [--name N] [--scopes S] [--default-scopes S]\n"
"             [--audiences URIS] [--default-audience URI] [--auth M]\n"
"             [--grants G] [--pepper FILE]\n"
"  client list [--limit N] [--cursor ID] [--json]\n"
"  client show ID [--json]\n"
"  client disable ID | client enable ID\n"
"  client rotate-secret ID [--grace 1d] [--pepper FILE]\n"
"  client set-key ID JWK_FILE\n"
"  apply -f FILE [--dry-run]     (these three need --api)\n"
"  diff -f FILE\n"
"  export\n"
"\n"
"Redis: --redis, else $TOLLGATE_REDIS, else " GWCTL_DEFAULT_ADDR ".\n"
"API: --api http://HOST:PORT[/PATH] or unix:/path, else $TOLLGATE_ADMIN_URL;\n"
"     with it, consumer, key and client commands go through the admin API.\n"
"Exit: 0 ok, 1 usage, 2 not found / exists / invalid state / refused,\n"
"     3 Redis or the API unreachable or failing.\n";


static void
gwctl_usage(FILE *f)
{
    fputs(gwctl_usage_text, f);
}


int
gwctl_fail(gwctl_t *ctl, int code, const char *fmt, ...)
{
    va_list  args;

    /* the first failure is the one reported */

    if (ctl->code != GWCTL_OK) {
        return -1;
    }

    ctl->code = code;

    va_start(args, fmt);
    vsnprintf(ctl->err, sizeof(ctl->err), fmt, args);
    va_end(args);

    return -1;
}


/*
 * Writes s quoted for a message into buf: at most 48 bytes of it, bytes
 * outside printable ASCII as '?', so that a bad argument can be echoed
 * without flooding or driving the terminal; of an API key only its
 * prefix, as keys are secrets.  Returns buf.
 */

const char *
gwctl_quote(char *buf, size_t size, const char *s)
{
    size_t  i, n, len, max;

    len = strlen(s);
    max = gw_model_key_valid(s, len) ? GW_KEY_PREFIX_LEN : 48;
    n = 0;

    buf[n++] = '"';

    for (i = 0; i < len && i < max && n + 6 < size; i++) {
        buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    if (i < len && n + 5 < size) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }

    buf[n++] = '"';
    buf[n] = '\0';

    return buf;
}


/* a consumer id argument of cmd, by the model's rule */

int
gwctl_id(gwctl_t *ctl, const char *cmd, const char *id)
{
    char  q[64];

    if (!gw_model_id_valid(id, strlen(id))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "%s: invalid consumer id %s (1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -)", cmd,
                          gwctl_quote(q, sizeof(q), id), GW_ID_MAX);
    }

    return 0;
}


/*
 * The --limit of a listing: 1 to GWCTL_LIMIT_MAX, decimal without sign or
 * leading zero; GWCTL_LIMIT_DEFAULT when value is NULL (not given).
 */

int
gwctl_limit(gwctl_t *ctl, const char *cmd, const char *value, size_t *limit)
{
    char    q[64];
    size_t  i, n;

    if (value == NULL) {
        *limit = GWCTL_LIMIT_DEFAULT;
        return 0;
    }

    n = 0;

    for (i = 0; value[i] >= '0' && value[i] <= '9' && i < 5; i++) {
        n = n * 10 + (value[i] - '0');
    }

    if (i == 0 || value[i] != '\0' || value[0] == '0' || n > GWCTL_LIMIT_MAX)
    {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "%s: --limit: expects 1 to %d, got %s", cmd,
                          GWCTL_LIMIT_MAX, gwctl_quote(q, sizeof(q), value));
    }

    *limit = n;

    return 0;
}


/*
 * Matches arg against option name in both forms: returns 1 for "--name"
 * (*value NULL: the value is the next argument), 2 for "--name=VALUE"
 * (*value points to VALUE), 0 otherwise.
 */

static int
gwctl_option(const char *arg, const char *name, const char **value)
{
    size_t  len;

    len = strlen(name);

    if (strncmp(arg, name, len) != 0) {
        return 0;
    }

    if (arg[len] == '\0') {
        *value = NULL;
        return 1;
    }

    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 2;
    }

    return 0;
}


/*
 * Parses a command's arguments: options from opts (NULL-named end) in any
 * place, given once each; exactly npos positional arguments into pos; "--"
 * ends the options.  want names the positionals for the message.
 */

int
gwctl_args(gwctl_t *ctl, const char *cmd, int argc, char **argv,
    gwctl_opt_t *opts, const char **pos, int npos, const char *want)
{
    int           i, n, m, dashes;
    char          q[64];
    const char   *value;
    gwctl_opt_t  *o;

    n = 0;
    dashes = 0;

    for (i = 0; i < argc; i++) {

        if (dashes || argv[i][0] != '-' || argv[i][1] == '\0') {
            if (n == npos) {
                return gwctl_fail(ctl, GWCTL_USAGE,
                                  "%s: unexpected argument %s (expects %s)",
                                  cmd, gwctl_quote(q, sizeof(q), argv[i]),
                                  want);
            }

            pos[n++] = argv[i];
            continue;
        }

        if (strcmp(argv[i], "--") == 0) {
            dashes = 1;
            continue;
        }

        m = 0;

        for (o = opts; o != NULL && o->name != NULL; o++) {
            m = gwctl_option(argv[i], o->name, &value);
            if (m != 0) {
                break;
            }
        }

        if (m == 0) {
            return gwctl_fail(ctl, GWCTL_USAGE, "%s: unknown option %s",
                              cmd, gwctl_quote(q, sizeof(q), argv[i]));
        }

        if (o->value != NULL) {
            return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s given twice",
                              cmd, o->name);
        }

        if (o->flag) {
            if (m == 2) {
                return gwctl_fail(ctl, GWCTL_USAGE,
                                  "%s: %s takes no value", cmd, o->name);
            }

            o->value = "";
            continue;
        }

        if (m == 1) {
            if (i + 1 == argc) {
                return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s needs a value",
                                  cmd, o->name);
            }

            value = argv[++i];
        }

        o->value = value;
    }

    if (n != npos) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: expects %s", cmd, want);
    }

    return 0;
}


/*
 * Parses "HOST:PORT", "[IPV6]:PORT" or "unix:/path".  Host names are
 * letters, digits, '.', '-' and, for IPv6 in brackets, ':'; ports are 1 to
 * 65535; a socket path is absolute and fits sun_path.
 */

static int
gwctl_parse_addr(gwctl_t *ctl, const char *what, const char *s)
{
    char        q[64], *end;
    long        port;
    size_t      len, hlen, i;
    const char *colon, *host;

    len = strlen(s);

    if (len > GWCTL_ADDR_MAX) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: longer than %d bytes",
                          what, GWCTL_ADDR_MAX);
    }

    ctl->host[0] = '\0';
    ctl->path[0] = '\0';

    if (strncmp(s, "unix:", 5) == 0) {
        if (s[5] != '/' || len - 5 >= sizeof(ctl->path)) {
            return gwctl_fail(ctl, GWCTL_USAGE,
                              "%s: unix: needs an absolute path of at most "
                              "%d bytes", what, (int) sizeof(ctl->path) - 1);
        }

        memcpy(ctl->path, s + 5, len - 5 + 1);
        return 0;
    }

    colon = strrchr(s, ':');
    host = s;

    if (colon == NULL || colon == s || colon[1] == '\0') {
        goto invalid;
    }

    hlen = colon - s;

    if (s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']') {
            goto invalid;
        }

        host = s + 1;
        hlen -= 2;
    }

    for (i = 0; i < hlen; i++) {
        if (!((host[i] >= 'a' && host[i] <= 'z')
              || (host[i] >= 'A' && host[i] <= 'Z')
              || (host[i] >= '0' && host[i] <= '9')
              || host[i] == '.' || host[i] == '-'
              || (host[i] == ':' && host != s)))
        {
            goto invalid;
        }
    }

    if (colon[1] < '1' || colon[1] > '9') {
        goto invalid;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);

    if (errno != 0 || *end != '\0' || port < 1 || port > 65535) {
        goto invalid;
    }

    memcpy(ctl->host, host, hlen);
    ctl->host[hlen] = '\0';
    ctl->port = (int) port;

    return 0;

invalid:

    return gwctl_fail(ctl, GWCTL_USAGE,
                      "%s: expects HOST:PORT or unix:/path, got %s",
                      what, gwctl_quote(q, sizeof(q), s));
}


/* the options before COMMAND; *next is the index of COMMAND */

static int
gwctl_parse_global(gwctl_t *ctl, int argc, char **argv, int *next)
{
    int          i, m, seen_db;
    char         q[64], *end;
    long         db;
    size_t       k;
    const char  *value, *var, *addr, *password, *api, *token, *key;

    var = NULL;
    addr = NULL;
    api = NULL;
    token = NULL;
    key = NULL;
    seen_db = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {

        value = NULL;

        if ((m = gwctl_global_value(ctl, argc, argv, &i, "--api", &api))
            != 0
            || (m = gwctl_global_value(ctl, argc, argv, &i, "--token-env",
                                       &token)) != 0
            || (m = gwctl_global_value(ctl, argc, argv, &i, "--key-env",
                                       &key)) != 0)
        {
            if (m == -1) {
                return -1;
            }

        } else if ((m = gwctl_option(argv[i], "--redis", &value)) != 0) {
            if (m == 1 && ++i < argc) {
                value = argv[i];
            }

            if (value == NULL) {
                return gwctl_fail(ctl, GWCTL_USAGE, "--redis needs a value");
            }

            if (addr != NULL) {
                return gwctl_fail(ctl, GWCTL_USAGE, "--redis given twice");
            }

            addr = value;
            ctl->addr = value;

        } else if ((m = gwctl_option(argv[i], "--password-env", &value))
                   != 0)
        {
            if (m == 1 && ++i < argc) {
                value = argv[i];
            }

            if (value == NULL) {
                return gwctl_fail(ctl, GWCTL_USAGE,
                                  "--password-env needs a value");
            }

            if (var != NULL) {
                return gwctl_fail(ctl, GWCTL_USAGE,
                                  "--password-env given twice");
            }

            var = value;

        } else if ((m = gwctl_option(argv[i], "--db", &value)) != 0) {
            if (m == 1 && ++i < argc) {
                value = argv[i];
            }

            if (value == NULL) {
                return gwctl_fail(ctl, GWCTL_USAGE, "--db needs a value");
            }

            if (seen_db++) {
                return gwctl_fail(ctl, GWCTL_USAGE, "--db given twice");
            }

            errno = 0;
            db = strtol(value, &end, 10);

            if (value[0] < '0' || value[0] > '9' || *end != '\0'
                || errno != 0 || db > GWCTL_DB_MAX
                || (value[0] == '0' && value[1] != '\0'))
            {
                return gwctl_fail(ctl, GWCTL_USAGE,
                                  "--db: expects 0 to %d, got %s",
                                  GWCTL_DB_MAX,
                                  gwctl_quote(q, sizeof(q), value));
            }

            ctl->db = (int) db;

        } else {
            return gwctl_fail(ctl, GWCTL_USAGE, "unknown option %s",
                              gwctl_quote(q, sizeof(q), argv[i]));
        }
    }

    if (var != NULL) {
        k = strspn(var, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "abcdefghijklmnopqrstuvwxyz0123456789_");

        if (var[0] == '\0' || var[k] != '\0' || k > GWCTL_VAR_MAX
            || (var[0] >= '0' && var[0] <= '9'))
        {
            return gwctl_fail(ctl, GWCTL_USAGE,
                              "--password-env: expects a variable name, "
                              "got %s", gwctl_quote(q, sizeof(q), var));
        }

        password = getenv(var);

        if (password == NULL || password[0] == '\0') {
            return gwctl_fail(ctl, GWCTL_USAGE,
                              "--password-env: %s is not set or empty", var);
        }

        if (strlen(password) > GWCTL_PASSWORD_MAX) {
            return gwctl_fail(ctl, GWCTL_USAGE,
                              "--password-env: %s is longer than %d bytes",
                              var, GWCTL_PASSWORD_MAX);
        }

        ctl->password = password;
    }

    if (api == NULL) {
        api = getenv("TOLLGATE_ADMIN_URL");

        if (api != NULL && api[0] != '\0'
            && gwctl_api_parse(ctl, "TOLLGATE_ADMIN_URL", api) != 0)
        {
            return -1;
        }

    } else if (gwctl_api_parse(ctl, "--api", api) != 0) {
        return -1;
    }

    if (gwctl_api_auth(ctl, token, key) != 0) {
        return -1;
    }

    *next = i;

    return 0;
}


/*
 * A global option with a value, given once: 1 when argv[*i] is name
 * (*value set, *i past its value), 0 when it is not, -1 on an error.
 */

static int
gwctl_global_value(gwctl_t *ctl, int argc, char **argv, int *i,
    const char *name, const char **value)
{
    int          m;
    const char  *v;

    m = gwctl_option(argv[*i], name, &v);

    if (m == 0) {
        return 0;
    }

    if (m == 1 && *i + 1 < argc) {
        v = argv[++*i];
    }

    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s needs a value", name);
    }

    if (*value != NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s given twice", name);
    }

    *value = v;

    return 1;
}


/*
 * Connects to the address main() parsed (the commands call this once
 * their own arguments are valid), sets the command timeout, authenticates
 * and selects the database.
 */

int
gwctl_connect(gwctl_t *ctl)
{
    struct timeval  tv;

    /* a command that reads several times connects once */

    if (ctl->redis != NULL) {
        return 0;
    }

    tv.tv_sec = GWCTL_TIMEOUT;
    tv.tv_usec = 0;

    if (ctl->host[0] == '\0') {
        ctl->redis = redisConnectUnixWithTimeout(ctl->path, tv);

    } else {
        ctl->redis = redisConnectWithTimeout(ctl->host, ctl->port, tv);
    }

    if (ctl->redis == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: out of memory",
                          ctl->addr);
    }

    if (ctl->redis->err) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: cannot connect: %s",
                          ctl->addr, ctl->redis->errstr);
    }

    if (redisSetTimeout(ctl->redis, tv) != REDIS_OK) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: cannot set timeout",
                          ctl->addr);
    }

    if (ctl->password != NULL
        && gwctl_run(ctl, "AUTH %s", ctl->password) != 0)
    {
        return -1;
    }

    if (ctl->db != 0 && gwctl_run(ctl, "SELECT %d", ctl->db) != 0) {
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int          i, rc;
    char         q[64];
    gwctl_t      ctl;
    const char  *env;

    memset(&ctl, 0, sizeof(gwctl_t));

    /* a closed stdout is an error to handle (key create), not a death */

    signal(SIGPIPE, SIG_IGN);

    if (argc == 2
        && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
            || strcmp(argv[1], "help") == 0))
    {
        gwctl_usage(stdout);
        return GWCTL_OK;
    }

    env = getenv("TOLLGATE_REDIS");
    ctl.addr = (env != NULL && env[0] != '\0') ? env : GWCTL_DEFAULT_ADDR;

    rc = -1;
    i = argc;

    if (gwctl_parse_global(&ctl, argc, argv, &i) != 0) {
        goto done;
    }

    if (gwctl_parse_addr(&ctl, ctl.addr == env ? "TOLLGATE_REDIS" : "--redis",
                         ctl.addr)
        != 0)
    {
        goto done;
    }

    ctl.store = ctl.api ? &gwctl_api_store : &gwctl_redis_store;

    if (i == argc) {
        gwctl_fail(&ctl, GWCTL_USAGE, "no command");
        goto done;
    }

    if (strcmp(argv[i], "consumer") == 0) {
        rc = gwctl_consumer(&ctl, argc - i - 1, argv + i + 1);

    } else if (strcmp(argv[i], "key") == 0) {
        rc = gwctl_key(&ctl, argc - i - 1, argv + i + 1);

    } else if (strcmp(argv[i], "apply") == 0 || strcmp(argv[i], "diff") == 0
               || strcmp(argv[i], "export") == 0)
    {
        rc = gwctl_apply(&ctl, argv[i], argc - i - 1, argv + i + 1);

    } else if (strcmp(argv[i], "client") == 0) {
        rc = gwctl_client(&ctl, argc - i - 1, argv + i + 1);

    } else {
        gwctl_fail(&ctl, GWCTL_USAGE, "unknown command %s",
                   gwctl_quote(q, sizeof(q), argv[i]));
    }

done:

    if (ctl.redis != NULL) {
        redisFree(ctl.redis);
    }

    if (rc == 0) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "gwctl: cannot write the output: %s\n",
                    strerror(errno));
            return GWCTL_REDIS;
        }

        return GWCTL_OK;
    }

    if (ctl.code == GWCTL_OK) {
        ctl.code = GWCTL_REDIS;
        snprintf(ctl.err, sizeof(ctl.err), "internal error");
    }

    fprintf(stderr, "gwctl: %s\n", ctl.err);

    if (ctl.code == GWCTL_USAGE) {
        gwctl_usage(stderr);
    }

    return ctl.code;
}
