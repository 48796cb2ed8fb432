
/*
 * Copyright (C) Tollgate
 *
 * Runs one fuzz driver over corpus files without libFuzzer, so that every
 * driver also builds with gcc alone and its corpus is replayed as a
 * regression test under AddressSanitizer and UBSan (`make fuzz-replay`,
 * part of `make test`).  Arguments are files or folders; a folder's
 * regular files run in name order, so a failure is reproducible.  Each
 * input is copied into a buffer of exactly its size, as libFuzzer does,
 * so that a read past its end is caught.  A driver that finds a bug
 * aborts; reaching the summary line means that every input passed.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));


static int replay_path(const char *path, size_t *n);
static int replay_dir(const char *path, size_t *n);
static int replay_file(const char *path);


int
main(int argc, char **argv)
{
    int          i;
    size_t       n;
    const char  *name;

    if (argc < 2) {
        fprintf(stderr, "usage: %s corpus-folder-or-file ...\n", argv[0]);
        return 2;
    }

    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }

    n = 0;

    for (i = 1; i < argc; i++) {
        if (replay_path(argv[i], &n) != 0) {
            return 1;
        }
    }

    name = strrchr(argv[0], '/');
    name = (name != NULL) ? name + 1 : argv[0];

    if (n == 0) {
        printf("not ok - fuzz/%s: no input found\n", name);
        return 1;
    }

    printf("ok - fuzz/%s: %zu inputs replayed\n", name, n);

    return 0;
}


static int
replay_path(const char *path, size_t *n)
{
    struct stat  st;

    if (stat(path, &st) == -1) {
        perror(path);
        return -1;
    }

    if (S_ISDIR(st.st_mode)) {
        return replay_dir(path, n);
    }

    if (replay_file(path) != 0) {
        return -1;
    }

    (*n)++;

    return 0;
}


static int
replay_dir(const char *path, size_t *n)
{
    int              i, count, rc;
    char             file[4096];
    struct stat      st;
    struct dirent  **list;

    count = scandir(path, &list, NULL, alphasort);
    if (count == -1) {
        perror(path);
        return -1;
    }

    rc = 0;

    for (i = 0; i < count; i++) {
        if (rc == 0 && list[i]->d_name[0] != '.') {
            snprintf(file, sizeof(file), "%s/%s", path, list[i]->d_name);

            if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(file) != 0) {
                    rc = -1;

                } else {
                    (*n)++;
                }
            }
        }

        free(list[i]);
    }

    free(list);

    return rc;
}


static int
replay_file(const char *path)
{
    long            len;
    FILE           *f;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        perror(path);
        fclose(f);
        return -1;
    }

    /* exactly len bytes; an empty input gets one that it must not read */

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        fclose(f);
        return -1;
    }

    if (fread(buf, 1, len, f) != (size_t) len) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }

    fclose(f);

    LLVMFuzzerTestOneInput(buf, len);

    free(buf);

    return 0;
}
