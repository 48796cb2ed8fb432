
/*
 * Copyright (C) Tollgate
 *
 * Route policies (docs/routing.md, "Route policies"): how a route of the
 * admin API gets what directives give a location.
 *
 * A route's policies are one JSON object (the snapshot's "policy" text),
 * one member per kind: "key_auth", "jwt", "auth", "limits", "schemas",
 * "request_id", "plugins".  A module that implements a kind registers it
 * here, at configuration time; the router then makes, in each worker and
 * once per route and policy text, a location configuration for the
 * route: a copy of the gw_router location's module configurations in
 * which every module that has a member gets its own, made by the
 * module's create_loc_conf, filled by its set() from the member, and
 * merged with the gw_router location's by its merge_loc_conf, exactly as
 * if the member had been written as that module's directives in a nested
 * location.  The request then runs the ordinary phase handlers with
 * r->loc_conf switched to the route's: the same code as directives.
 *
 * So a module is the one place that knows its kind; the order in which
 * kinds run is the order of the phases and of ngx_modules/config's
 * gw_features, as for directives; and adding a kind means adding a
 * module (and its member in the route schema), never editing the others.
 */


#ifndef _NGX_HTTP_GW_POLICY_H_INCLUDED_
#define _NGX_HTTP_GW_POLICY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


/*
 * Fills conf (fresh from the module's create_loc_conf) from value, the
 * member's JSON.  cf is a run-time configuration context: cf->pool lives
 * as long as the route's configuration, cf->log is the cycle's, cf->ctx
 * the http block's configuration (main and server confs are there),
 * cf->name names the route for messages.  Must not add shared memory
 * zones or variables (too late at run time): a policy refers to what the
 * http block declared (a zone by name, say).  Returns NGX_OK, or
 * NGX_ERROR with *err set (a message naming the member and the bad
 * value, in cf->pool), and then the route answers 500 and the error is
 * logged once per route and policy text.
 */
typedef ngx_int_t (*ngx_http_gw_policy_set_pt)(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);


typedef struct {
    ngx_str_t                   name;       /* the member */
    ngx_module_t               *module;     /* whose loc conf it fills */
    ngx_http_gw_policy_set_pt   set;
} ngx_http_gw_policy_t;


/*
 * Registers a kind, from a module's preconfiguration or postconfiguration
 * (policy must live as long as the cycle).  Two kinds may fill the same
 * module's configuration (set() runs in registration order on one conf);
 * one name once.  Returns NGX_OK or NGX_ERROR (logged).
 */
ngx_int_t ngx_http_gw_policy_add(ngx_conf_t *cf, ngx_http_gw_policy_t *policy);

/*
 * Phase handlers are registered only where they are used: a module whose
 * kind a route may carry registers its handlers (in postconfiguration)
 * when its directives are used OR when ngx_http_gw_policy_routed(cf) is
 * true: some location of the http block has gw_router, whose directive
 * calls ngx_http_gw_policy_route(cf).
 */
void ngx_http_gw_policy_route(ngx_conf_t *cf);
ngx_uint_t ngx_http_gw_policy_routed(ngx_conf_t *cf);

/*
 * The router's call: makes the location configuration of a route from
 * its policy object, based on base (the gw_router location's
 * r->loc_conf), in cf->pool; an unknown member is an error.  Returns
 * NGX_OK with *loc_conf set, or NGX_ERROR with *err set.
 */
ngx_int_t ngx_http_gw_policy_loc_conf(ngx_conf_t *cf, void **base,
    json_t *policy, void ***loc_conf, ngx_str_t *err);


#endif /* _NGX_HTTP_GW_POLICY_H_INCLUDED_ */
