
/*
 * Copyright (C) Tollgate
 *
 * A reply from a file (gw_svc_reply_file()).  A download of tens of
 * megabytes must not cost the service as many megabytes: the file goes
 * into the answer as a libevent file segment, which the connection's
 * output drains with sendfile(2) straight from the page cache.  The
 * segment only becomes a sendfile one when the buffer it is added to is
 * marked as draining to a descriptor; without that mark libevent maps
 * the whole file, and every page sent counts in the service's resident
 * memory.  So the body buffer gets the mark, and evhttp moves its chain
 * as it is into the connection's output.
 *
 * The segment owns the descriptor (EVBUF_FS_CLOSE_ON_FREE) and is freed
 * when the last chain referring to it is: after the last byte is
 * written, or when the connection closes early.  The kit's reply path
 * (gw_svc_reply_buffer) does the rest: headers, count, log, free.
 */


#include <unistd.h>

#include <event2/buffer.h>

#include "gw_svc_int.h"


void
gw_svc_reply_file(gw_svc_req_t *req, int status, const char *content_type,
    int fd, off_t size)
{
    struct evbuffer                *buf;
    struct evbuffer_file_segment   *seg;

    if (fd < 0 || size < 0) {
        if (fd >= 0) {
            close(fd);
        }

        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "no file to send");
        return;
    }

    buf = evbuffer_new();
    if (buf == NULL) {
        close(fd);
        gw_svc_reply_buffer(req, 503, NULL, NULL);
        return;
    }

    if (size == 0) {
        close(fd);
        gw_svc_reply_buffer(req, status, content_type, buf);
        evbuffer_free(buf);
        return;
    }

    (void) evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD);

    seg = evbuffer_file_segment_new(fd, 0, size, EVBUF_FS_CLOSE_ON_FREE);
    if (seg == NULL) {
        close(fd);
        evbuffer_free(buf);
        gw_svc_reply_buffer(req, 503, NULL, NULL);
        return;
    }

    /* the buffer's chain holds a reference; ours is dropped just after */

    if (evbuffer_add_file_segment(buf, seg, 0, size) != 0) {
        evbuffer_file_segment_free(seg);
        evbuffer_free(buf);
        gw_svc_reply_buffer(req, 503, NULL, NULL);
        return;
    }

    evbuffer_file_segment_free(seg);

    gw_svc_reply_buffer(req, status, content_type, buf);
    evbuffer_free(buf);
}
