
/*
 * Copyright (C) Tollgate
 *
 * Secrets read from files at start (gw_svc.h, "secret files"): a key,
 * a client secret, named by a configuration key.  A secret file must be
 * a regular file readable by its owner only (a file others can read is
 * refused, not warned about), short, without a NUL; its trailing white
 * space (a newline) is not part of the secret.  Every copy this file
 * makes on the stack is cleansed.  Errors go to stderr, naming the
 * configuration key and the path, never the content.
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gw_svc.h"


int
gw_svc_secret_file(const char *key, const char *path, char *buf,
    size_t size, size_t *len)
{
    int          fd;
    ssize_t      n;
    struct stat  st;

    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "%s: required\n", key);
        return -1;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "%s: %s: %s\n", key, path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
        fprintf(stderr, "%s: %s: not a regular file readable by its owner "
                "only (chmod 600)\n", key, path);
        close(fd);
        return -1;
    }

    n = read(fd, buf, size);
    close(fd);

    if (n < 0 || (size_t) n >= size) {
        OPENSSL_cleanse(buf, size);
        fprintf(stderr, "%s: %s: unreadable or past %zu bytes\n", key, path,
                size - 1);
        return -1;
    }

    while (n > 0 && isspace((unsigned char) buf[n - 1])) {
        n--;
    }

    buf[n] = '\0';

    if (n == 0 || strlen(buf) != (size_t) n) {
        OPENSSL_cleanse(buf, size);
        fprintf(stderr, "%s: %s: empty or holding a NUL\n", key, path);
        return -1;
    }

    *len = (size_t) n;

    return 0;
}


int
gw_svc_secret_key(const char *key, const char *path, unsigned char *out)
{
    int     i, hi, lo;
    char    buf[130];
    size_t  len;

    if (gw_svc_secret_file(key, path, buf, sizeof(buf), &len) != 0) {
        return -1;
    }

    for (i = 0; i < 64 && len == 64; i++) {
        if (!isxdigit((unsigned char) buf[i])) {
            break;
        }
    }

    if (len != 64 || i != 64) {
        OPENSSL_cleanse(buf, sizeof(buf));
        fprintf(stderr, "%s: %s: not 64 hex digits\n", key, path);
        return -1;
    }

    for (i = 0; i < 32; i++) {
        hi = isdigit((unsigned char) buf[2 * i])
             ? buf[2 * i] - '0' : (tolower(buf[2 * i]) - 'a' + 10);
        lo = isdigit((unsigned char) buf[2 * i + 1])
             ? buf[2 * i + 1] - '0' : (tolower(buf[2 * i + 1]) - 'a' + 10);
        out[i] = (unsigned char) (hi << 4 | lo);
    }

    OPENSSL_cleanse(buf, sizeof(buf));

    return 0;
}
