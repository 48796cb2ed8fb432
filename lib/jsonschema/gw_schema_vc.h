
/*
 * Copyright (C) Tollgate
 *
 * What the files of validation share (gw_schema_validate.c, the walk;
 * gw_schema_vtypes.c, the keywords of each instance type;
 * gw_schema_report.c, the error list): the state of one validation and
 * the annotations that "unevaluated*" need.
 */


#ifndef _GW_SCHEMA_VC_H_INCLUDED_
#define _GW_SCHEMA_VC_H_INCLUDED_


#include <string.h>

#include "gw_schema_int.h"


/* what a node evaluated of an object's members or an array's items */
typedef struct {
    size_t          n;
    unsigned char  *mark;       /* 1: evaluated */
} gw_sch_ann_t;


typedef struct {
    gw_schema_t         *s;
    gw_schema_result_t  *res;
    unsigned             quiet;     /* > 0: errors are not reported */
    unsigned             depth;     /* nodes being evaluated */
    unsigned             idepth;    /* instance nesting */
    size_t               nk;        /* s->kpath in use */
    size_t               nscope;    /* s->scope in use */
    size_t               ni;        /* s->ipath in use */
    int                  aborted;
    int                  abort_rc;  /* the result then: 0 or -1 */
    const char          *abort_why; /* the error then, NULL: no memory */
} gw_sch_vc_t;


/* whether errors are still wanted after a failure */

static inline int
gw_sch_more(gw_sch_vc_t *vc)
{
    return vc->res != NULL && vc->quiet == 0 && !vc->aborted;
}


/* "type": a real is an integer only when no number will do */

static inline int
gw_sch_type_ok(const gw_sch_node_t *n, const gw_schema_value_t *inst)
{
    switch (inst->type) {
    case GW_SCHEMA_OBJECT:
        return (n->types & GW_SCH_T_OBJECT) != 0;
    case GW_SCHEMA_ARRAY:
        return (n->types & GW_SCH_T_ARRAY) != 0;
    case GW_SCHEMA_STRING:
        return (n->types & GW_SCH_T_STRING) != 0;
    case GW_SCHEMA_INTEGER:
        return (n->types & (GW_SCH_T_NUMBER | GW_SCH_T_INTEGER)) != 0;
    case GW_SCHEMA_REAL:
    case GW_SCHEMA_DECIMAL:
        if (n->types & GW_SCH_T_NUMBER) {
            return 1;
        }

        return (n->types & GW_SCH_T_INTEGER) && gw_sch_is_integer(inst);
    case GW_SCHEMA_TRUE:
    case GW_SCHEMA_FALSE:
        return (n->types & GW_SCH_T_BOOLEAN) != 0;
    default:
        return (n->types & GW_SCH_T_NULL) != 0;
    }
}


/*
 * Whether len bytes at a and b are the same: names are short, and loads
 * of eight or four bytes (the last one overlapping) beat a call to
 * memcmp() or a loop over bytes.
 */

static inline int
gw_sch_same(const char *a, const char *b, size_t len)
{
    size_t    i;
    uint32_t  u, v;
    uint64_t  x, y;

    if (len >= 8) {
        for (i = 0; i + 8 < len; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);

            if (x != y) {
                return 0;
            }
        }

        memcpy(&x, a + len - 8, 8);
        memcpy(&y, b + len - 8, 8);

        return x == y;
    }

    if (len >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);

        if (u != v) {
            return 0;
        }

        memcpy(&u, a + len - 4, 4);
        memcpy(&v, b + len - 4, 4);

        return u == v;
    }

    /* the first, middle and last bytes are all of three or fewer */

    return len == 0
           || (a[0] == b[0] && a[len / 2] == b[len / 2]
               && a[len - 1] == b[len - 1]);
}


/*
 * The property of n named key.  Members usually come in the order of
 * the schema's "properties": the one after the last found (*next) is
 * tried first, and the hash table only when it is not the one.
 */

static inline const gw_sch_prop_t *
gw_sch_prop_find(const gw_sch_node_t *n, const char *key, size_t len,
    size_t *next)
{
    uint32_t              h, slot;
    const gw_sch_prop_t  *p;

    if (*next < n->nprops) {
        p = &n->props[*next];

        if (p->len == len && gw_sch_same(p->name, key, len)) {
            (*next)++;
            return p;
        }
    }

    h = gw_sch_keyhash(key, len);

    for (slot = h; n->ptab[slot & n->ptab_mask] != 0; slot++) {
        p = &n->props[n->ptab[slot & n->ptab_mask] - 1];

        if (p->hash != h || p->len != len) {
            continue;
        }

        if (gw_sch_same(p->name, key, len)) {
            *next = (p - n->props) + 1;
            return p;
        }
    }

    return NULL;
}


/* gw_schema_validate.c */
int gw_sch_eval(gw_sch_vc_t *vc, const gw_sch_node_t *n, const char *seg,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann);
int gw_sch_eval_at(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const char *seg, const gw_schema_value_t *inst, const char *key, size_t len,
    size_t index);

/* gw_schema_report.c */
int gw_sch_abort(gw_sch_vc_t *vc, int rc, const char *why);
int gw_sch_report(gw_sch_vc_t *vc, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gw_sch_report_at(gw_sch_vc_t *vc, const char *key, size_t len,
    const char *kw);
int gw_sch_ann_init(gw_sch_ann_t *a, size_t n);
void gw_sch_ann_merge(gw_sch_ann_t *to, const gw_sch_ann_t *from);
const char *gw_sch_num_str(const gw_schema_value_t *v, char *buf,
    size_t size);
const char *gw_sch_type_names(unsigned types, char *buf, size_t size);

/* gw_schema_vtypes.c */
int gw_sch_numbers(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst);
int gw_sch_strings(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst);
int gw_sch_arrays(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann);
int gw_sch_objects(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann);


/*
 * A node of only "type" and scalar keywords (the usual schema of a
 * property), checked without the bookkeeping of gw_sch_eval(): no
 * location pushed, no error reported.  1 valid, 0 invalid.
 */

static inline int
gw_sch_leaf(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst)
{
    int  rc;

    if (!((n->vtypes >> inst->type) & 1) && !gw_sch_type_ok(n, inst)) {
        return 0;
    }

    switch (inst->type) {

    case GW_SCHEMA_INTEGER:
    case GW_SCHEMA_REAL:
    case GW_SCHEMA_DECIMAL:
        if (!(n->kw & GW_SCH_KW_NUMBER)) {
            return 1;
        }

        if (n->range && inst->type == GW_SCHEMA_INTEGER) {
            return inst->u.i >= n->imin && inst->u.i <= n->imax;
        }

        if (n->range && inst->type == GW_SCHEMA_REAL) {
            return inst->u.d >= n->fmin && inst->u.d <= n->fmax;
        }

        vc->quiet++;
        rc = gw_sch_numbers(vc, n, inst);
        vc->quiet--;

        return rc;

    case GW_SCHEMA_STRING:
        if (!(n->kw & GW_SCH_KW_STRING)) {
            return 1;
        }

        vc->quiet++;
        rc = gw_sch_strings(vc, n, inst);
        vc->quiet--;

        return rc;

    default:
        return 1;
    }
}


/*
 * A scalar against n where its location is already taken care of (the
 * one-pass check): the short way for a leaf node, else gw_sch_eval().
 */

static inline int
gw_sch_scalar(gw_sch_vc_t *vc, const gw_sch_node_t *n, const char *seg,
    const gw_schema_value_t *inst)
{
    if (n->leaf && vc->res == NULL && vc->depth < vc->s->opts.max_eval)
    {
        return gw_sch_leaf(vc, n, inst);
    }

    return gw_sch_eval(vc, n, seg, inst, NULL);
}


#endif /* _GW_SCHEMA_VC_H_INCLUDED_ */
