
/*
 * Copyright (C) Tollgate
 *
 * A private redis-server for a unit test: on a unix socket in a temporary
 * folder, persistence off, never the system's.  redis_start() returns a
 * connection to it (NULL when redis-server cannot be run: the caller
 * skips); redis_stop() ends it and removes the folder.  Included by the
 * unit tests that run Lua scripts against their C twins.
 */


#ifndef _REDIS_SERVER_H_INCLUDED_
#define _REDIS_SERVER_H_INCLUDED_


#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>


static pid_t  redis_pid = -1;
static char   redis_dir[] = "/tmp/tollgate-unit-XXXXXX";
static char   redis_sock[64];


static redisContext *
redis_start(void)
{
    int            i;
    redisContext  *c;

    if (mkdtemp(redis_dir) == NULL) {
        return NULL;
    }

    snprintf(redis_sock, sizeof(redis_sock), "%s/redis.sock", redis_dir);

    redis_pid = fork();
    if (redis_pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL) {
            _exit(127);
        }

        execlp("redis-server", "redis-server", "--port", "0",
               "--unixsocket", redis_sock, "--save", "", "--appendonly",
               "no", "--dir", redis_dir, (char *) NULL);
        _exit(127);
    }

    for (i = 0; i < 100; i++) {
        c = redisConnectUnix(redis_sock);
        if (c != NULL && c->err == 0) {
            return c;
        }

        if (c != NULL) {
            redisFree(c);
        }

        usleep(50000);
    }

    return NULL;
}


static void
redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
    }

    unlink(redis_sock);
    rmdir(redis_dir);
}


#endif /* _REDIS_SERVER_H_INCLUDED_ */
