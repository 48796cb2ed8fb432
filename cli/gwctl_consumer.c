
/*
 * Copyright (C) Tollgate
 *
 * gwctl consumer add | list | show | disable | enable | plan: the
 * arguments and the output, the same with either store.  The reading
 * and writing is the store's (ctl->store): Redis
 * (gwctl_consumer_redis.c) or the admin API (gwctl_api_consumer.c).
 * A consumer comes back as a gwctl_consumer_rec_t, printed here once,
 * as "field: value" lines, a table row or a JSON object.
 */


#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


static int gwctl_consumer_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_consumer_plan(gwctl_t *ctl, int argc, char **argv);
static void gwctl_consumer_json(FILE *f, const gwctl_consumer_rec_t *c);
static void gwctl_consumer_text(FILE *f, const gwctl_consumer_rec_t *c);
static void gwctl_consumer_row(FILE *f, const gwctl_consumer_rec_t *c,
    size_t wid, size_t wst, size_t wpl);


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
    char                   q[64];
    const char            *pos[1];
    gwctl_opt_t            opts[] = {
        { "--name", 0, NULL },
        { "--tags", 0, NULL },
        { "--plan", 0, NULL },
        { NULL, 0, NULL }
    };
    gwctl_consumer_spec_t  cs;

    if (gwctl_args(ctl, "consumer add", argc, argv, opts, pos, 1,
                   "ID [--name NAME] [--tags a,b] [--plan PLAN]") != 0
        || gwctl_id(ctl, "consumer add", pos[0]) != 0)
    {
        return -1;
    }

    cs.id = pos[0];
    cs.name = opts[0].value != NULL ? opts[0].value : cs.id;
    cs.tags = opts[1].value;
    cs.plan = opts[2].value;

    if (!gw_model_name_valid(cs.name, strlen(cs.name))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --name: expects 1 to %d bytes of "
                          "printable UTF-8, got %s", GW_NAME_MAX,
                          gwctl_quote(q, sizeof(q), cs.name));
    }

    if (cs.tags != NULL && !gw_model_tags_valid(cs.tags, strlen(cs.tags))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --tags: expects up to %d distinct "
                          "comma-separated tags of 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_TAGS_MAX,
                          GW_ID_MAX, gwctl_quote(q, sizeof(q), cs.tags));
    }

    if (cs.plan != NULL && !gw_model_id_valid(cs.plan, strlen(cs.plan))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --plan: expects 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_ID_MAX,
                          gwctl_quote(q, sizeof(q), cs.plan));
    }

    if (ctl->store->consumer->add(ctl, &cs) != 0) {
        return -1;
    }

    printf("consumer %s added\n", cs.id);

    return 0;
}


/*
 * A string of a record: "-" (text) or null (JSON) when missing, and when
 * empty too if empty is true.
 */

static void
gwctl_consumer_str(FILE *f, const char *s, int empty, int json)
{
    if (s == NULL || (empty && s[0] == '\0')) {
        fputs(json ? "null" : "-", f);

    } else if (json) {
        gwctl_print_json(f, s, strlen(s));

    } else {
        gwctl_print_text(f, s, strlen(s));
    }
}


/* a consumer as one JSON object, without a line end */

static void
gwctl_consumer_json(FILE *f, const gwctl_consumer_rec_t *c)
{
    size_t       n;
    const char  *p, *end, *comma;

    fputs("{\"id\":", f);
    gwctl_print_json(f, c->id, strlen(c->id));
    fputs(",\"name\":", f);
    gwctl_consumer_str(f, c->name, 0, 1);
    fputs(",\"status\":", f);
    gwctl_consumer_str(f, c->status, 0, 1);

    fputs(",\"tags\":[", f);

    if (c->tags != NULL && c->tags[0] != '\0') {
        p = c->tags;
        end = p + strlen(p);
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
    gwctl_consumer_str(f, c->plan, 1, 1);

    if (c->created_set) {
        fprintf(f, ",\"created\":%lld", (long long) c->created);

    } else {
        fputs(",\"created\":null", f);
    }

    fprintf(f, ",\"keys\":%lld}", c->keys);
}


/* a consumer as "field: value" lines */

static void
gwctl_consumer_text(FILE *f, const gwctl_consumer_rec_t *c)
{
    char  when[32];

    fputs("id:       ", f);
    gwctl_print_text(f, c->id, strlen(c->id));
    fputs("\nname:     ", f);
    gwctl_consumer_str(f, c->name, 0, 0);
    fputs("\nstatus:   ", f);
    gwctl_consumer_str(f, c->status, 0, 0);
    fputs("\ntags:     ", f);
    gwctl_consumer_str(f, c->tags, 1, 0);
    fputs("\nplan:     ", f);
    gwctl_consumer_str(f, c->plan, 1, 0);

    gwctl_format_time(when, sizeof(when), c->created_set ? c->created : -1);

    fprintf(f, "\ncreated:  %s\nkeys:     %lld\n", when, c->keys);
}


static int
gwctl_consumer_show(gwctl_t *ctl, int argc, char **argv)
{
    const char    *pos[1];
    gwctl_opt_t    opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };
    gwctl_page_t   page;

    if (gwctl_args(ctl, "consumer show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "consumer show", pos[0]) != 0
        || ctl->store->consumer->get(ctl, pos[0], &page) != 0)
    {
        return -1;
    }

    if (opts[0].value != NULL) {
        gwctl_consumer_json(stdout, page.items);
        fputc('\n', stdout);

    } else {
        gwctl_consumer_text(stdout, page.items);
    }

    gwctl_page_free(&page);

    return 0;
}


/* a row of consumer list's table */

static void
gwctl_consumer_row(FILE *f, const gwctl_consumer_rec_t *c, size_t wid,
    size_t wst, size_t wpl)
{
    char  when[32];

    fprintf(f, "%-*s  ", (int) wid, c->id);
    gwctl_print_cell(f, c->status, wst);
    gwctl_print_cell(f, c->plan, wpl);

    gwctl_format_time(when, sizeof(when), c->created_set ? c->created : -1);

    fprintf(f, "%-20s  %4lld  ", when, c->keys);
    gwctl_consumer_str(f, c->name, 0, 0);
    fputc('\n', f);
}


/* a column's width: the widest value of at most GW_ID_MAX bytes */

static size_t
gwctl_consumer_width(size_t width, const char *s)
{
    size_t  len;

    len = (s != NULL) ? strlen(s) : 0;

    return (len > width && len <= GW_ID_MAX) ? len : width;
}


/* one page of consumers, sorted by id, from --cursor on */

static int
gwctl_consumer_list(gwctl_t *ctl, int argc, char **argv)
{
    int                     json;
    size_t                  i, limit, wid, wst, wpl;
    gwctl_opt_t             opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };
    gwctl_page_t            page;
    gwctl_consumer_rec_t   *c;

    if (gwctl_args(ctl, "consumer list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "consumer list", opts[1].value, &limit) != 0
        || ctl->store->consumer->list(ctl, opts[2].value, limit, &page) != 0)
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    wid = sizeof("ID") - 1;
    wst = sizeof("STATUS") - 1;
    wpl = sizeof("PLAN") - 1;

    c = page.items;

    for (i = 0; i < page.n; i++) {
        wid = strlen(c[i].id) > wid ? strlen(c[i].id) : wid;
        wst = gwctl_consumer_width(wst, c[i].status);
        wpl = gwctl_consumer_width(wpl, c[i].plan);
    }

    if (json) {
        fputs("{\"consumers\":[", stdout);
    }

    for (i = 0; i < page.n; i++) {
        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            gwctl_consumer_json(stdout, &c[i]);
            continue;
        }

        if (i == 0) {
            printf("%-*s  %-*s  %-*s  %-20s  %4s  %s\n", (int) wid, "ID",
                   (int) wst, "STATUS", (int) wpl, "PLAN", "CREATED",
                   "KEYS", "NAME");
        }

        gwctl_consumer_row(stdout, &c[i], wid, wst, wpl);
    }

    gwctl_print_next(stdout, json, page.n ? "\n]" : "]", page.next);

    gwctl_page_free(&page);

    return 0;
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
        || ctl->store->consumer->set(ctl, pos[0], "status", status, done)
           != 0)
    {
        return -1;
    }

    printf("consumer %s %s\n", pos[0], done);

    return 0;
}


/*
 * consumer plan ID PLAN | consumer plan ID --none: sets or clears the
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

    plan = (npos == 2) ? pos[1] : NULL;

    if (plan != NULL && !gw_model_id_valid(plan, strlen(plan))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer plan: invalid plan %s (1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -; --none clears the plan)",
                          gwctl_quote(q, sizeof(q), plan), GW_ID_MAX);
    }

    if (ctl->store->consumer->set(ctl, pos[0], "plan", plan, NULL) != 0) {
        return -1;
    }

    if (plan != NULL) {
        printf("consumer %s plan set to %s\n", pos[0], plan);

    } else {
        printf("consumer %s plan cleared\n", pos[0]);
    }

    return 0;
}
