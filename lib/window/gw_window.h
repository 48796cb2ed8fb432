
/*
 * Copyright (C) Tollgate
 *
 * Windowed aggregation on event time (docs/processing.md, "Windows"):
 * the processing engine keeps one gw_window_t per task (pipeline stage,
 * partition) and feeds it the task's records in stream order.  No Redis,
 * no event loop: records in, closed windows' results out, and the whole
 * state as JSON for checkpoints.
 *
 * Windows:
 *     tumbling   [k*size, (k+1)*size)
 *     hopping    [k*hop, k*hop+size), every one that holds the time
 *     session    per key, events closer than gap merge into one window
 *                [first, last + gap)
 * The watermark is the largest event time seen minus the allowed
 * lateness.  A record is late when it belongs to no window that is still
 * open: for tumbling and hopping, when every window holding its time ends
 * at or before the watermark; for a session, when its time + gap is at
 * or before the watermark, or when it is within gap of a session of its
 * key that has closed (it would change a result already out).  A late
 * record changes nothing and is reported (GW_WINDOW_LATE) so the caller
 * sends it to the side stream; a hopping record late for some of its
 * windows goes into the open ones only.  A window closes, and its result
 * is emitted, once its end is at or before the watermark.  The watermark
 * is computed with the record's own time (so a record that moves it is
 * never late itself); late and failed records do not move it.
 *
 * A result is one JSON object: {"key": ..., "start": ms, "end": ms,
 * "<as>": value, ...} with one member per aggregate; results come out
 * ordered by end, then start, then key (bytewise), so a run is
 * reproducible, however often the caller flushes.  A key that is not
 * UTF-8 comes as "key_hex" (lower-case hex) instead of "key".  Numbers
 * are doubles; an integral one within 2^53 is written as an integer.
 * Times are int64 ms: a record whose window would start or end beyond
 * that range fails (GW_WINDOW_FAILED), and the watermark stops at
 * INT64_MIN.
 */


#ifndef _GW_WINDOW_H_INCLUDED_
#define _GW_WINDOW_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


#define GW_WINDOW_KEYS_MAX       100000   /* open (key, window) pairs */
#define GW_WINDOW_DISTINCT_MAX   100000   /* values per distinct count */
#define GW_WINDOW_AGGS_MAX       16
#define GW_WINDOW_HOPS_MAX       1000     /* windows one record falls in,
                                             ceil(size / hop) */


typedef enum {
    GW_WINDOW_TUMBLING = 0,
    GW_WINDOW_HOPPING,
    GW_WINDOW_SESSION
} gw_window_kind_e;


typedef enum {
    GW_WINDOW_COUNT = 0,        /* records */
    GW_WINDOW_SUM,              /* of a number member */
    GW_WINDOW_MIN,
    GW_WINDOW_MAX,
    GW_WINDOW_AVG,              /* sum / count of the numbers seen */
    GW_WINDOW_DISTINCT,         /* distinct values (JSON, compared by
                                   their canonical text) */
    GW_WINDOW_REDUCE            /* the caller's reducer; not for
                                   sessions, which merge */
} gw_window_op_e;


/*
 * A reducer: acc is the window's accumulator (JSON null for a new
 * window), rec the record.  Returns the new accumulator (a new
 * reference) or NULL with err filled on failure; the record then counts
 * as failed (GW_WINDOW_FAILED) and the window is unchanged.
 */
typedef json_t *(*gw_window_reduce_pt)(void *data, json_t *acc,
    json_t *rec, char *err, size_t errlen);


typedef struct {
    gw_window_op_e          op;
    const char             *field;      /* a JSON pointer into the record
                                           ("/amount"); NULL for COUNT and
                                           REDUCE */
    const char             *as;         /* the result's member name */
} gw_window_agg_t;


typedef struct {
    gw_window_kind_e        kind;
    int64_t                 size;       /* ms; tumbling and hopping */
    int64_t                 hop;        /* ms; hopping, 0 < hop <= size */
    int64_t                 gap;        /* ms; session */
    int64_t                 lateness;   /* ms, >= 0 */
    gw_window_agg_t         aggs[GW_WINDOW_AGGS_MAX];
    size_t                  naggs;
    gw_window_reduce_pt     reduce;     /* for GW_WINDOW_REDUCE */
    void                   *reduce_data;
} gw_window_conf_t;


typedef enum {
    GW_WINDOW_ADDED = 0,
    GW_WINDOW_LATE,             /* later than the watermark: not added */
    GW_WINDOW_FAILED,           /* a field is missing or not a number, the
                                   reducer failed, or a cap was reached:
                                   err says which; nothing changed */
    GW_WINDOW_ERROR             /* out of memory: the set may be half
                                   changed; load the last checkpoint */
} gw_window_rc_e;


typedef struct gw_window_s  gw_window_t;


/*
 * A window set from conf (copied; the strings must outlive it), or NULL
 * with err filled when conf is inconsistent.
 */
gw_window_t *gw_window_new(const gw_window_conf_t *conf, char *err,
    size_t errlen);

/*
 * Parses the "window" member of a pipeline document into conf, e.g.
 *   {"type": "tumbling", "size": "1m", "lateness": "5s",
 *    "aggregate": [{"op": "count", "as": "n"},
 *                  {"op": "sum", "field": "/amount", "as": "total"}]}
 * (durations: a number of ms, or "<n>ms|s|m|h|d"; "as" defaults to the
 * op's name; unknown members are refused).  conf's strings point into
 * json, which must outlive conf; the caller sets reduce.  -1 with err
 * "<pointer>: <why>", the pointer taking the member to be "/window".
 */
int gw_window_conf_parse(json_t *json, gw_window_conf_t *conf, char *err,
    size_t errlen);

/* the same, the member being at the JSON pointer "at" ("/window" above) */
int gw_window_conf_parse_at(json_t *json, const char *at,
    gw_window_conf_t *conf, char *err, size_t errlen);

/* adds one record with its key (klen bytes, any bytes) and event time */
gw_window_rc_e gw_window_add(gw_window_t *w, const char *key, size_t klen,
    int64_t time, json_t *rec, char *err, size_t errlen);

/*
 * Closes every window whose end is at or before the watermark, appending
 * their results to out (a JSON array).  0, or -1 when out of memory.
 */
int gw_window_flush(gw_window_t *w, json_t *out);

/* the watermark (INT64_MIN before the first record) */
int64_t gw_window_watermark(gw_window_t *w);

/* open (key, window) pairs, for metrics */
size_t gw_window_open(gw_window_t *w);

/*
 * The whole state (open windows, accumulators, the largest time seen)
 * as a new JSON value, and a window set restored from it with the same
 * conf: a restored set given the same records gives the same results.
 * NULL on failure (load: err says why).
 */
json_t *gw_window_save(gw_window_t *w);
gw_window_t *gw_window_load(const gw_window_conf_t *conf, json_t *state,
    char *err, size_t errlen);

/* NULL is accepted */
void gw_window_free(gw_window_t *w);


#endif /* _GW_WINDOW_H_INCLUDED_ */
