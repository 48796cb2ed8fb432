
/*
 * Copyright (C) Tollgate
 *
 * The limit module's configuration: gw_limit, gw_limit_plan and
 * gw_limit_zone parsing, and the merge that settles each limit's mode and
 * the plans that may replace it.  A location with gw_limit directives of
 * its own inherits none of its parents' (as limit_req).
 */


#include "ngx_http_gw_limit.h"
#include "gw_limit_log.h"


static char *ngx_http_gw_limit_parse_rule(ngx_conf_t *cf, ngx_str_t *value,
    ngx_uint_t n, gw_limit_rule_t *rule, ngx_str_t *key, ngx_uint_t *mode,
    ngx_str_t *zone);
static ngx_int_t ngx_http_gw_limit_value(ngx_str_t *arg, const char *name,
    ngx_str_t *value);
static ngx_int_t ngx_http_gw_limit_key_var(ngx_conf_t *cf, ngx_str_t *key,
    ngx_int_t *index);
static ngx_http_complex_value_t *ngx_http_gw_limit_default_plan_key(
    ngx_conf_t *cf);


char *
ngx_http_gw_limit_conf_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_gw_limit_conf_add(cf, conf, cf->args->elts,
                                      cf->args->nelts, NULL);
}


/*
 * One limit: value[1] its name, then its parameters (value[0], the
 * directive's name, is not read), as gw_limit takes them.  route_zone:
 * NULL for a directive (the zone is zone='s, added now); a route's limit
 * (ngx_http_gw_limit_route.c) is kept in route_zone, declared already.
 */

char *
ngx_http_gw_limit_conf_add(ngx_conf_t *cf, ngx_http_gw_limit_loc_conf_t *lcf,
    ngx_str_t *value, ngx_uint_t nvalues, ngx_shm_zone_t *route_zone)
{
    char                              *rv;
    ngx_str_t                          key, zone;
    ngx_uint_t                         i;
    ngx_http_gw_limit_t               *limit;
    ngx_http_compile_complex_value_t   ccv;
    ngx_http_gw_limit_main_conf_t     *lmcf;

    if (!gw_limit_name_valid((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit: invalid name \"%V\": 1 to %d bytes of "
                           "A-Z a-z 0-9 . _ -", &value[1],
                           GW_LIMIT_NAME_MAX);
        return NGX_CONF_ERROR;
    }

    if (lcf->limits == NULL) {
        lcf->limits = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_gw_limit_t));
        if (lcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limit = lcf->limits->elts;

    for (i = 0; i < lcf->limits->nelts; i++) {
        if (limit[i].name.len == value[1].len
            && ngx_strncmp(limit[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_limit: \"%V\" is already limited here",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (lcf->limits->nelts == NGX_HTTP_GW_LIMIT_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit: at most %d limits in one place",
                           NGX_HTTP_GW_LIMIT_MAX);
        return NGX_CONF_ERROR;
    }

    limit = ngx_array_push(lcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(limit, sizeof(ngx_http_gw_limit_t));
    limit->name = value[1];

    ngx_str_null(&key);
    ngx_str_null(&zone);

    rv = ngx_http_gw_limit_parse_rule(cf, &value[2], nvalues - 2,
                                      &limit->rule, &key, &limit->mode,
                                      &zone);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit \"%V\": key= is required, e.g. "
                           "key=$gw_consumer_id", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &key;
    ccv.complex_value = &limit->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_gw_limit_key_var(cf, &key, &limit->key_var) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    limit->policy.data = ngx_pnalloc(cf->pool, NGX_HTTP_GW_LIMIT_ITEM_LEN);
    if (limit->policy.data == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->policy.len = ngx_http_gw_limit_policy_item(limit->policy.data,
                                                      &limit->name,
                                                      &limit->rule)
                        - limit->policy.data;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);
    lmcf->used = 1;

    if (route_zone != NULL) {
        limit->zone = route_zone;
        return NGX_CONF_OK;
    }

    if (zone.len == 0) {
        ngx_str_set(&zone, "gw_limit");
    }

    limit->zone = ngx_http_gw_limit_zone_add(cf, &zone, 0);
    if (limit->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the default zone is sized at postconfiguration unless defined */
    if (zone.len == sizeof("gw_limit") - 1
        && ngx_strncmp(zone.data, "gw_limit", zone.len) == 0)
    {
        lmcf->default_zone = limit->zone;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_gw_limit_conf_plan(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_limit_main_conf_t *lmcf = conf;

    char                      *rv;
    ngx_str_t                 *value, key, zone;
    ngx_uint_t                 i, mode;
    ngx_http_gw_limit_plan_t  *plan;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_plan: invalid plan \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (!gw_limit_name_valid((char *) value[2].data, value[2].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_plan: invalid limit name \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    plan = lmcf->plans.elts;

    for (i = 0; i < lmcf->plans.nelts; i++) {
        if (plan[i].plan.len == value[1].len
            && ngx_strncmp(plan[i].plan.data, value[1].data, value[1].len)
               == 0
            && plan[i].limit.len == value[2].len
            && ngx_strncmp(plan[i].limit.data, value[2].data, value[2].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_limit_plan: plan \"%V\" already sets "
                               "limit \"%V\"", &value[1], &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    plan = ngx_array_push(&lmcf->plans);
    if (plan == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(plan, sizeof(ngx_http_gw_limit_plan_t));
    plan->plan = value[1];
    plan->limit = value[2];

    if (cf->args->nelts == 4 && ngx_strcmp(value[3].data, "off") == 0) {
        plan->off = 1;
        return NGX_CONF_OK;
    }

    ngx_str_null(&key);
    ngx_str_null(&zone);
    mode = 0;

    rv = ngx_http_gw_limit_parse_rule(cf, &value[3], cf->args->nelts - 3,
                                      &plan->rule, &key, &mode, &zone);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (key.len || zone.len || mode) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_plan: a plan sets only rate=, burst=, "
                           "delay=/nodelay or quota=; key, mode and zone "
                           "are the limit's");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The parameters of gw_limit and gw_limit_plan: rate= or quota= (exactly
 * one), burst= and delay= or nodelay (rates only), exact (quotas only, at
 * most GW_LIMIT_LOG_MAX), key=, mode=, zone=.
 */

static char *
ngx_http_gw_limit_parse_rule(ngx_conf_t *cf, ngx_str_t *value, ngx_uint_t n,
    gw_limit_rule_t *rule, ngx_str_t *key, ngx_uint_t *mode, ngx_str_t *zone)
{
    ngx_int_t    burst, delay;
    ngx_str_t    v;
    ngx_uint_t   i, have, exact;
    const char  *err;

    have = 0;
    exact = 0;
    burst = 0;
    delay = -1;

    for (i = 0; i < n; i++) {

        if (ngx_http_gw_limit_value(&value[i], "rate=", &v) == NGX_OK
            || ngx_http_gw_limit_value(&value[i], "quota=", &v) == NGX_OK)
        {
            if (have) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": one rate= or quota= per limit",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            if (gw_limit_parse((char *) v.data, v.len, rule, &err) != 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": %s", &value[i], err);
                return NGX_CONF_ERROR;
            }

            if ((value[i].data[0] == 'r') != (rule->kind == GW_LIMIT_RATE)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": rate= takes Nr/s or "
                                   "Nr/m, quota= takes N/window",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            have = 1;
            continue;
        }

        if (ngx_http_gw_limit_value(&value[i], "burst=", &v) == NGX_OK) {
            burst = ngx_atoi(v.data, v.len);
            if (burst < 0 || burst > GW_LIMIT_COUNT_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": 0 to %d", &value[i],
                                   GW_LIMIT_COUNT_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_gw_limit_value(&value[i], "delay=", &v) == NGX_OK) {
            delay = ngx_atoi(v.data, v.len);
            if (delay < 0 || delay > GW_LIMIT_COUNT_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": 0 to %d", &value[i],
                                   GW_LIMIT_COUNT_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (value[i].len == 5 && ngx_strcmp(value[i].data, "exact") == 0) {
            exact = 1;
            continue;
        }

        if (value[i].len == 7 && ngx_strcmp(value[i].data, "nodelay") == 0) {
            delay = -1;
            continue;
        }

        if (ngx_http_gw_limit_value(&value[i], "key=", &v) == NGX_OK) {
            *key = v;
            continue;
        }

        if (ngx_http_gw_limit_value(&value[i], "zone=", &v) == NGX_OK) {
            *zone = v;
            continue;
        }

        if (ngx_http_gw_limit_value(&value[i], "mode=", &v) == NGX_OK) {
            if (v.len == 5 && ngx_strncmp(v.data, "local", 5) == 0) {
                *mode = NGX_HTTP_GW_LIMIT_LOCAL;

            } else if (v.len == 6 && ngx_strncmp(v.data, "global", 6) == 0) {
                *mode = NGX_HTTP_GW_LIMIT_GLOBAL;

            } else if (v.len == 5 && ngx_strncmp(v.data, "lease", 5) == 0) {
                *mode = NGX_HTTP_GW_LIMIT_LEASE;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": local, global or lease",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (!have) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "rate= (e.g. rate=10r/s) or quota= (e.g. "
                           "quota=1000/h) is required");
        return NGX_CONF_ERROR;
    }

    if (rule->kind == GW_LIMIT_QUOTA && (burst != 0 || delay != -1)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "burst= and delay= go with rate=, not quota=");
        return NGX_CONF_ERROR;
    }

    if (exact) {
        if (rule->kind != GW_LIMIT_QUOTA) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"exact\" goes with quota=, not rate=");
            return NGX_CONF_ERROR;
        }

        if (rule->count > GW_LIMIT_LOG_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "an exact quota counts at most %d requests "
                               "per window (8 bytes each per key)",
                               GW_LIMIT_LOG_MAX);
            return NGX_CONF_ERROR;
        }

        rule->kind = GW_LIMIT_LOG;
    }

    if (delay > burst) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "delay=%i is more than burst=%i", delay, burst);
        return NGX_CONF_ERROR;
    }

    rule->burst = (double) burst;
    rule->delay = (delay == -1) ? (double) burst : (double) delay;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_limit_value(ngx_str_t *arg, const char *name, ngx_str_t *value)
{
    size_t  len;

    len = ngx_strlen(name);

    if (arg->len < len || ngx_strncmp(arg->data, name, len) != 0) {
        return NGX_DECLINED;
    }

    value->data = arg->data + len;
    value->len = arg->len - len;

    return NGX_OK;
}


/* $gw_consumer_plan, compiled once for every level without a plan key */

/*
 * When key= is one variable and nothing else ("$binary_remote_addr"), its
 * index, so that a request reads the variable as the complex value would
 * (flushed when not cacheable; no value: an empty key) without running
 * the script engine and copying the bytes; otherwise NGX_ERROR.
 */

static ngx_int_t
ngx_http_gw_limit_key_var(ngx_conf_t *cf, ngx_str_t *key, ngx_int_t *index)
{
    u_char     *p;
    ngx_str_t   name;

    *index = NGX_ERROR;

    if (key->len < 2 || key->data[0] != '$') {
        return NGX_OK;
    }

    for (p = key->data + 1; p < key->data + key->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return NGX_OK;
        }
    }

    name.data = key->data + 1;
    name.len = key->len - 1;

    *index = ngx_http_get_variable_index(cf, &name);

    return (*index == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


static ngx_http_complex_value_t *
ngx_http_gw_limit_default_plan_key(ngx_conf_t *cf)
{
    ngx_str_t                          v;
    ngx_http_compile_complex_value_t   ccv;
    ngx_http_gw_limit_main_conf_t     *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);

    if (lmcf->default_plan_key != NULL) {
        return lmcf->default_plan_key;
    }

    lmcf->default_plan_key = ngx_pcalloc(cf->pool,
                                         sizeof(ngx_http_complex_value_t));
    if (lmcf->default_plan_key == NULL) {
        return NULL;
    }

    ngx_str_set(&v, "$gw_consumer_plan");
    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &v;
    ccv.complex_value = lmcf->default_plan_key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return lmcf->default_plan_key;
}


/* gw_limit_zone name:size */

char *
ngx_http_gw_limit_conf_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char          *p;
    ssize_t          size;
    ngx_str_t       *value, name, s;
    ngx_shm_zone_t  *zone;

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_zone: \"%V\" is not name:size, e.g. "
                           "api:10m", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_zone: invalid size \"%V\", at least "
                           "%uzk", &s, 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    zone = ngx_http_gw_limit_zone_add(cf, &name, size);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->shm.size != (size_t) size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_zone: \"%V\" is already defined",
                           &name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void *
ngx_http_gw_limit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_limit_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_limit_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->plans, cf->pool, 4,
                       sizeof(ngx_http_gw_limit_plan_t))
        != NGX_OK)
    {
        return NULL;
    }

    return lmcf;
}


void *
ngx_http_gw_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_limit_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_limit_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->limits = NULL;
     *     conf->plan_key = NULL;
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->nodes = NGX_CONF_UNSET_UINT;
    conf->redis_down = NGX_CONF_UNSET_UINT;
    conf->status = NGX_CONF_UNSET_UINT;
    conf->headers = NGX_CONF_UNSET;
    conf->legacy_headers = NGX_CONF_UNSET;
    conf->dry_run = NGX_CONF_UNSET;
    conf->key_max = NGX_CONF_UNSET_SIZE;
    conf->log_level = NGX_CONF_UNSET_UINT;
    conf->zone_full = NGX_CONF_UNSET_UINT;
    conf->batch = NGX_CONF_UNSET_UINT;

    return conf;
}


char *
ngx_http_gw_limit_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_limit_loc_conf_t *prev = parent;
    ngx_http_gw_limit_loc_conf_t *conf = child;

    ngx_uint_t                      i, j;
    ngx_http_gw_limit_t            *limit;
    ngx_http_gw_limit_plan_t       *plan, **pp;
    ngx_http_gw_limit_main_conf_t  *lmcf;

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    if (conf->plan_key == NULL) {
        conf->plan_key = prev->plan_key;
    }

    if (conf->plan_key == NULL) {
        conf->plan_key = ngx_http_gw_limit_default_plan_key(cf);
        if (conf->plan_key == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_GW_LIMIT_LOCAL);
    ngx_conf_merge_uint_value(conf->nodes, prev->nodes, 1);
    ngx_conf_merge_uint_value(conf->redis_down, prev->redis_down,
                              NGX_HTTP_GW_LIMIT_FALLBACK);
    ngx_conf_merge_uint_value(conf->status, prev->status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_value(conf->headers, prev->headers, 1);
    ngx_conf_merge_value(conf->legacy_headers, prev->legacy_headers, 0);
    ngx_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    ngx_conf_merge_size_value(conf->key_max, prev->key_max, 256);
    ngx_conf_merge_uint_value(conf->log_level, prev->log_level,
                              NGX_LOG_INFO);
    ngx_conf_merge_uint_value(conf->zone_full, prev->zone_full,
                              NGX_HTTP_GW_LIMIT_REJECT);
    ngx_conf_merge_uint_value(conf->batch, prev->batch, 64);

    if (conf->key_max < 16 || conf->key_max > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_key_max: 16 to 4096 bytes");
        return NGX_CONF_ERROR;
    }

    if (conf->limits == NULL) {
        return NGX_CONF_OK;
    }

    /*
     * Limits not yet settled (those of this level, or of the http level,
     * which is never merged into): their mode, from gw_limit_mode where
     * they are first used, and the plans naming them.
     */

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);

    limit = conf->limits->elts;
    plan = lmcf->plans.elts;

    for (i = 0; i < conf->limits->nelts; i++) {

        if (limit[i].settled) {
            continue;
        }

        limit[i].settled = 1;

        if (limit[i].mode == 0) {
            limit[i].mode = conf->mode;
        }

        if (limit[i].mode == NGX_HTTP_GW_LIMIT_LEASE) {
            if (limit[i].rule.kind != GW_LIMIT_QUOTA) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "gw_limit \"%V\": mode=lease takes "
                                   "quota= without \"exact\" only: an "
                                   "admission spent after it was counted "
                                   "could exceed a rate's burst or an "
                                   "exact quota's window; use mode=global",
                                   &limit[i].name);
                return NGX_CONF_ERROR;
            }

            lmcf->lease = 1;
        }

        if (limit[i].mode != NGX_HTTP_GW_LIMIT_LOCAL) {
            lmcf->global = 1;   /* a plan may make a lease's a rate */
        }

        for (j = 0; j < lmcf->plans.nelts; j++) {

            if (plan[j].limit.len != limit[i].name.len
                || ngx_strncmp(plan[j].limit.data, limit[i].name.data,
                               limit[i].name.len) != 0)
            {
                continue;
            }

            if (limit[i].plans == NULL) {
                limit[i].plans = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_gw_limit_plan_t *));
                if (limit[i].plans == NULL) {
                    return NGX_CONF_ERROR;
                }
            }

            pp = ngx_array_push(limit[i].plans);
            if (pp == NULL) {
                return NGX_CONF_ERROR;
            }

            *pp = &plan[j];
        }
    }

    return NGX_CONF_OK;
}
