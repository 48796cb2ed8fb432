
/*
 * Copyright (C) Tollgate
 *
 * gwctl consumer add | list | show | disable | enable | plan.
 *
 * A consumer is the hash gw:consumer:<id> and its id in the set
 * gw:consumers; both are written in one transaction with the "consumer
 * <id>" invalidation.  The existence test and the status test run under
 * WATCH on the hash, so two gwctl runs never both add the same id, and an
 * enable racing a disable ends in one of the two states, each published.
 * A change of status or plan is one helper, gwctl_consumer_set().
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


static int gwctl_consumer_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_consumer_plan(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_set(gwctl_t *ctl, const char *id,
    const char *field, const char *value, const char *same);
static void gwctl_consumer_json(FILE *f, const char *id,
    const redisReply *rec, long long keys);
static void gwctl_consumer_text(FILE *f, const char *id,
    const redisReply *rec, long long keys);


int
gwctl_consumer(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer: expects add, list, show, disable, "
                          "enable or plan");
    }

    if (strcmp(argv[0], "add") == 0) {
        return gwctl_consumer_add(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_consumer_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "show") == 0) {
        return gwctl_consumer_show(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "disable") == 0) {
        return gwctl_consumer_status(ctl, argc - 1, argv + 1,
                                     GW_MODEL_DISABLED);
    }

    if (strcmp(argv[0], "enable") == 0) {
        return gwctl_consumer_status(ctl, argc - 1, argv + 1,
                                     GW_MODEL_ACTIVE);
    }

    if (strcmp(argv[0], "plan") == 0) {
        return gwctl_consumer_plan(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "consumer: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


static int
gwctl_consumer_add(gwctl_t *ctl, int argc, char **argv)
{
    int           attempt, committed;
    char          rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX], q[64];
    long long     now;
    const char   *pos[1], *id, *name, *tags, *plan;
    redisReply   *reply;
    gwctl_opt_t   opts[] = {
        { "--name", 0, NULL },
        { "--tags", 0, NULL },
        { "--plan", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "consumer add", argc, argv, opts, pos, 1,
                   "ID [--name NAME] [--tags a,b] [--plan PLAN]")
        != 0)
    {
        return -1;
    }

    id = pos[0];
    name = opts[0].value != NULL ? opts[0].value : id;
    tags = opts[1].value != NULL ? opts[1].value : "";
    plan = opts[2].value != NULL ? opts[2].value : "";

    if (gwctl_id(ctl, "consumer add", id) != 0) {
        return -1;
    }

    if (!gw_model_name_valid(name, strlen(name))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --name: expects 1 to %d bytes of "
                          "printable UTF-8, got %s", GW_NAME_MAX,
                          gwctl_quote(q, sizeof(q), name));
    }

    if (!gw_model_tags_valid(tags, strlen(tags))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --tags: expects up to %d distinct "
                          "comma-separated tags of 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_TAGS_MAX,
                          GW_ID_MAX, gwctl_quote(q, sizeof(q), tags));
    }

    if (opts[2].value != NULL && !gw_model_id_valid(plan, strlen(plan))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --plan: expects 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_ID_MAX,
                          gwctl_quote(q, sizeof(q), plan));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            return -1;
        }

        reply = gwctl_command(ctl, "EXISTS %s", rkey);
        if (reply == NULL) {
            return -1;
        }

        if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 0) {
            freeReplyObject(reply);
            return gwctl_fail(ctl, GWCTL_STATE,
                              "consumer %s already exists", id);
        }

        freeReplyObject(reply);

        now = (long long) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s id %s name %s status %s tags %s "
                         "plan %s created %lld", rkey, id, name,
                         GW_MODEL_ACTIVE, tags, plan, now) != 0
            || gwctl_run(ctl, "ZADD %s 0 %s", GW_MODEL_CONSUMERS, id) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            return -1;
        }

        if (committed) {
            printf("consumer %s added\n", id);
            return 0;
        }
    }

    return gwctl_fail(ctl, GWCTL_STATE,
                      "consumer %s: changed concurrently, try again", id);
}


/* a consumer as one JSON object, without a line end */

static void
gwctl_consumer_json(FILE *f, const char *id, const redisReply *rec,
    long long keys)
{
    size_t             n;
    int64_t            created;
    const char        *p, *end, *comma;
    const redisReply  *tags, *plan;

    fputs("{\"id\":", f);
    gwctl_print_json(f, id, strlen(id));
    fputs(",\"name\":", f);
    gwctl_print_field(f, rec, "name", 1);
    fputs(",\"status\":", f);
    gwctl_print_field(f, rec, "status", 1);

    fputs(",\"tags\":[", f);

    tags = gwctl_field(rec, "tags");

    if (tags != NULL && tags->len != 0) {
        p = tags->str;
        end = p + tags->len;
        n = 0;

        for ( ;; ) {
            comma = memchr(p, ',', end - p);
            if (comma == NULL) {
                comma = end;
            }

            fputs(n++ ? "," : "", f);
            gwctl_print_json(f, p, comma - p);

            if (comma == end) {
                break;
            }

            p = comma + 1;
        }
    }

    fputs("],\"plan\":", f);

    plan = gwctl_field(rec, "plan");

    if (plan == NULL || plan->len == 0) {
        fputs("null", f);

    } else {
        gwctl_print_json(f, plan->str, plan->len);
    }

    if (gwctl_field_int(rec, "created", &created) == 0) {
        fprintf(f, ",\"created\":%lld", (long long) created);

    } else {
        fputs(",\"created\":null", f);
    }

    fprintf(f, ",\"keys\":%lld}", keys);
}


/* a consumer as "field: value" lines */

static void
gwctl_consumer_text(FILE *f, const char *id, const redisReply *rec,
    long long keys)
{
    char               when[32];
    int64_t            created;
    const redisReply  *v;

    fprintf(f, "id:       %s\nname:     ", id);
    gwctl_print_field(f, rec, "name", 0);
    fputs("\nstatus:   ", f);
    gwctl_print_field(f, rec, "status", 0);

    fputs("\ntags:     ", f);
    v = gwctl_field(rec, "tags");

    if (v != NULL && v->len != 0) {
        gwctl_print_text(f, v->str, v->len);

    } else {
        fputs("-", f);
    }

    fputs("\nplan:     ", f);
    v = gwctl_field(rec, "plan");

    if (v != NULL && v->len != 0) {
        gwctl_print_text(f, v->str, v->len);

    } else {
        fputs("-", f);
    }

    if (gwctl_field_int(rec, "created", &created) == 0) {
        gwctl_format_time(when, sizeof(when), created);

    } else {
        snprintf(when, sizeof(when), "?");
    }

    fprintf(f, "\ncreated:  %s\nkeys:     %lld\n", when, keys);
}


static int
gwctl_consumer_show(gwctl_t *ctl, int argc, char **argv)
{
    int          rc;
    const char  *pos[1];
    redisReply  *rec, *keys;
    gwctl_opt_t  opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "consumer show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "consumer show", pos[0]) != 0
        || gwctl_connect(ctl) != 0)
    {
        return -1;
    }

    rc = -1;
    rec = NULL;
    keys = NULL;

    if (gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s", pos[0])
        != 0
        || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                        GW_MODEL_KEYS_SUFFIX, pos[0]) != 0)
    {
        goto done;
    }

    rec = gwctl_reply(ctl, "HGETALL");
    if (rec == NULL) {
        goto done;
    }

    keys = gwctl_reply(ctl, "ZCARD");
    if (keys == NULL) {
        goto done;
    }

    if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
        gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", pos[0]);
        goto done;
    }

    if (opts[0].value != NULL) {
        gwctl_consumer_json(stdout, pos[0], rec, keys->integer);
        fputc('\n', stdout);

    } else {
        gwctl_consumer_text(stdout, pos[0], rec, keys->integer);
    }

    rc = 0;

done:

    if (rec != NULL) {
        freeReplyObject(rec);
    }

    if (keys != NULL) {
        freeReplyObject(keys);
    }

    return rc;
}


/*
 * One page of consumers, sorted by id: the ids after --cursor (or from the
 * first) in the sorted set gw:consumers (all scores 0, so ZRANGEBYLEX
 * orders them by bytes), at most --limit of them.  One more is asked
 * for, to know whether there is a next page; the next cursor is the last
 * valid id shown.  An id added or removed meanwhile never makes another
 * one appear twice or go missing.
 */

static int
gwctl_consumer_list(gwctl_t *ctl, int argc, char **argv)
{
    int           rc, json;
    char         *p, **ids, when[32], min[GW_ID_MAX + 2], q[64];
    size_t        i, n, got, limit, shown, wid, wst, wpl;
    int64_t       created;
    const char   *next;
    redisReply   *set, **recs, **keys;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };
    const redisReply  *v;

    if (gwctl_args(ctl, "consumer list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "consumer list", opts[1].value, &limit) != 0)
    {
        return -1;
    }

    if (opts[2].value != NULL
        && !gw_model_id_valid(opts[2].value, strlen(opts[2].value)))
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "consumer list: --cursor: "
                          "expects a consumer id, got %s",
                          gwctl_quote(q, sizeof(q), opts[2].value));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    if (opts[2].value != NULL) {
        snprintf(min, sizeof(min), "(%s", opts[2].value);

    } else {
        snprintf(min, sizeof(min), "-");
    }

    json = (opts[0].value != NULL);
    rc = -1;
    ids = NULL;
    recs = NULL;
    keys = NULL;
    next = NULL;
    n = 0;

    set = gwctl_command(ctl, "ZRANGEBYLEX %s %s + LIMIT 0 %llu",
                        GW_MODEL_CONSUMERS, min,
                        (unsigned long long) limit + 1);
    if (set == NULL) {
        return -1;
    }

    if (set->type != REDIS_REPLY_ARRAY) {
        gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGEBYLEX: not a sorted "
                   "set", ctl->addr);
        goto done;
    }

    got = set->elements > limit ? limit : set->elements;

    ids = calloc(got + 1, sizeof(char *));
    recs = calloc(got + 1, sizeof(redisReply *));
    keys = calloc(got + 1, sizeof(redisReply *));

    if (ids == NULL || recs == NULL || keys == NULL) {
        gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
        goto done;
    }

    /* the ids are NUL-terminated in the reply: hiredis ends every string */

    for (i = 0; i < got; i++) {
        p = set->element[i]->str;

        if (set->element[i]->type != REDIS_REPLY_STRING
            || !gw_model_id_valid(p, set->element[i]->len))
        {
            fprintf(stderr, "gwctl: skipping an invalid id in %s\n",
                    GW_MODEL_CONSUMERS);
            continue;
        }

        ids[n++] = p;
    }

    if (set->elements > limit) {
        if (n == 0) {
            gwctl_fail(ctl, GWCTL_REDIS, "consumer list: %zu invalid ids in "
                       "a row in %s", limit, GW_MODEL_CONSUMERS);
            goto done;
        }

        next = ids[n - 1];
    }

    for (i = 0; i < n; i++) {
        if (gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s",
                         ids[i]) != 0
            || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                            GW_MODEL_KEYS_SUFFIX, ids[i]) != 0)
        {
            goto done;
        }
    }

    wid = sizeof("ID") - 1;
    wst = sizeof("STATUS") - 1;
    wpl = sizeof("PLAN") - 1;

    for (i = 0; i < n; i++) {
        recs[i] = gwctl_reply(ctl, "HGETALL");
        if (recs[i] == NULL) {
            goto done;
        }

        keys[i] = gwctl_reply(ctl, "ZCARD");
        if (keys[i] == NULL) {
            goto done;
        }

        if (recs[i]->type != REDIS_REPLY_ARRAY || recs[i]->elements == 0) {
            continue;
        }

        wid = strlen(ids[i]) > wid ? strlen(ids[i]) : wid;

        v = gwctl_field(recs[i], "status");
        if (v != NULL && v->len > wst && v->len <= GW_ID_MAX) {
            wst = v->len;
        }

        v = gwctl_field(recs[i], "plan");
        if (v != NULL && v->len > wpl && v->len <= GW_ID_MAX) {
            wpl = v->len;
        }
    }

    shown = 0;

    if (json) {
        fputs("{\"consumers\":[", stdout);
    }

    for (i = 0; i < n; i++) {
        if (recs[i]->type != REDIS_REPLY_ARRAY || recs[i]->elements == 0) {
            fprintf(stderr, "gwctl: consumer %s is in %s but has no "
                    "record\n", ids[i], GW_MODEL_CONSUMERS);
            continue;
        }

        if (json) {
            fputs(shown++ ? ",\n  " : "\n  ", stdout);
            gwctl_consumer_json(stdout, ids[i], recs[i], keys[i]->integer);
            continue;
        }

        if (shown++ == 0) {
            printf("%-*s  %-*s  %-*s  %-20s  %4s  %s\n", (int) wid, "ID",
                   (int) wst, "STATUS", (int) wpl, "PLAN", "CREATED",
                   "KEYS", "NAME");
        }

        printf("%-*s  ", (int) wid, ids[i]);
        gwctl_print_cell(stdout, gwctl_field(recs[i], "status"), wst);
        gwctl_print_cell(stdout, gwctl_field(recs[i], "plan"), wpl);

        if (gwctl_field_int(recs[i], "created", &created) == 0) {
            gwctl_format_time(when, sizeof(when), created);

        } else {
            snprintf(when, sizeof(when), "?");
        }

        printf("%-20s  %4lld  ", when, keys[i]->integer);
        gwctl_print_field(stdout, recs[i], "name", 0);
        fputc('\n', stdout);
    }

    gwctl_print_next(stdout, json, shown ? "\n]" : "]", next);

    rc = 0;

done:

    for (i = 0; i < n && recs != NULL; i++) {
        if (recs[i] != NULL) {
            freeReplyObject(recs[i]);
        }

        if (keys[i] != NULL) {
            freeReplyObject(keys[i]);
        }
    }

    free(ids);
    free(recs);
    free(keys);
    freeReplyObject(set);

    return rc;
}


/* disable (status "disabled") or enable (status "active") */

static int
gwctl_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status)
{
    const char  *pos[1], *cmd, *done;

    if (strcmp(status, GW_MODEL_ACTIVE) == 0) {
        cmd = "consumer enable";
        done = "enabled";

    } else {
        cmd = "consumer disable";
        done = "disabled";
    }

    if (gwctl_args(ctl, cmd, argc, argv, NULL, pos, 1, "ID") != 0
        || gwctl_id(ctl, cmd, pos[0]) != 0
        || gwctl_connect(ctl) != 0
        || gwctl_consumer_set(ctl, pos[0], "status", status, done) != 0)
    {
        return -1;
    }

    printf("consumer %s %s\n", pos[0], done);

    return 0;
}


/*
 * consumer plan ID PLAN | consumer plan ID --none: sets or clears ("") the
 * plan.  Setting the plan a consumer already has is not an error: it
 * writes and publishes again, which also makes gateways drop a record
 * changed in Redis by hand.
 */

static int
gwctl_consumer_plan(gwctl_t *ctl, int argc, char **argv)
{
    int           i, npos;
    char          q[64];
    const char   *pos[2], *plan;
    gwctl_opt_t   opts[] = {
        { "--none", 1, NULL },
        { NULL, 0, NULL }
    };

    /*
     * with --none one positional is expected, else two; the only option is
     * a flag, so no option takes the next argument as its value
     */

    npos = 2;

    for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strncmp(argv[i], "--none", 6) == 0
            && (argv[i][6] == '\0' || argv[i][6] == '='))
        {
            npos = 1;
            break;
        }
    }

    if (gwctl_args(ctl, "consumer plan", argc, argv, opts, pos, npos,
                   "ID PLAN or ID --none") != 0
        || gwctl_id(ctl, "consumer plan", pos[0]) != 0)
    {
        return -1;
    }

    plan = (npos == 2) ? pos[1] : "";

    if (npos == 2 && !gw_model_id_valid(plan, strlen(plan))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer plan: invalid plan %s (1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -; --none clears the plan)",
                          gwctl_quote(q, sizeof(q), plan), GW_ID_MAX);
    }

    if (gwctl_connect(ctl) != 0
        || gwctl_consumer_set(ctl, pos[0], "plan", plan, NULL) != 0)
    {
        return -1;
    }

    if (npos == 2) {
        printf("consumer %s plan set to %s\n", pos[0], plan);

    } else {
        printf("consumer %s plan cleared\n", pos[0]);
    }

    return 0;
}


/*
 * Sets field to value in the record of consumer id, in one MULTI/EXEC with
 * the "consumer <id>" invalidation.  The tests run under WATCH on the
 * record: it must exist (have a status), and when same is not NULL the
 * field must not already hold value (then "consumer <id> is already
 * <same>").  Both failures are GWCTL_STATE.  Returns 0 once committed.
 */

static int
gwctl_consumer_set(gwctl_t *ctl, const char *id, const char *field,
    const char *value, const char *same)
{
    int          attempt, committed, found, equal;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    redisReply  *reply;

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            return -1;
        }

        reply = gwctl_command(ctl, "HMGET %s status %s", rkey, field);
        if (reply == NULL) {
            return -1;
        }

        found = (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                 && reply->element[0]->type == REDIS_REPLY_STRING);

        equal = (found && reply->element[1]->type == REDIS_REPLY_STRING
                 && reply->element[1]->len == strlen(value)
                 && memcmp(reply->element[1]->str, value,
                           reply->element[1]->len) == 0);

        freeReplyObject(reply);

        if (!found) {
            return gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
        }

        if (same != NULL && equal) {
            return gwctl_fail(ctl, GWCTL_STATE, "consumer %s is already %s",
                              id, same);
        }

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s %s %s", rkey, field, value) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            return -1;
        }

        if (committed) {
            return 0;
        }
    }

    return gwctl_fail(ctl, GWCTL_STATE,
                      "consumer %s: changed concurrently, try again", id);
}
