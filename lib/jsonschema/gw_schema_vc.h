
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


#endif /* _GW_SCHEMA_VC_H_INCLUDED_ */
