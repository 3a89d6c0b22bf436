/*
 * fuzz_replay.h - a main() for fuzz drivers built without libFuzzer.
 *
 * Included at the end of each driver.  With SV_FUZZ_REPLAY defined the driver
 * becomes a plain program that feeds every file named on the command line
 * (directories: every regular file in them) to LLVMFuzzerTestOneInput once,
 * so seed corpora and crash reproducers run as ordinary tests.  Without the
 * macro this header is empty and libFuzzer supplies main().
 * Depends only on libc and POSIX directory functions.
 */
#ifndef SV_FUZZ_REPLAY_H
#define SV_FUZZ_REPLAY_H

#ifdef SV_FUZZ_REPLAY

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sv__replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    int failed = !data || ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(data);
        return -1;
    }
    /* A copy of exactly len bytes, so that ASan catches reads past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int sv__replay_path(const char *path, size_t *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no such file\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return sv__replay_file(path, count);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "%s: cannot open directory\n", path);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        if (!child) {
            rc = -1;
            break;
        }
        snprintf(child, n, "%s/%s", path, e->d_name);
        if (stat(child, &st) == 0 && S_ISREG(st.st_mode) && sv__replay_file(child, count) != 0)
            rc = -1;
        free(child);
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (sv__replay_path(argv[i], &count) != 0)
            rc = 1;
    printf("%s: replayed %zu inputs\n", argv[0], count);
    if (count == 0)
        rc = 1;
    return rc;
}

#endif /* SV_FUZZ_REPLAY */
#endif
