/* state.c: lunik-oci's record of each container (ROOT/ID/state.json) and its runtime-spec status. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

const char *oci_root = OCI_DEFAULT_ROOT;

int oci_dir(const char *id, const char *name, char *buf, size_t n)
{
    if (!isalnum((unsigned char)id[0]))
        return -1;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return -1;
    int k = name ? snprintf(buf, n, "%s/%s/%s", oci_root, id, name)
                 : snprintf(buf, n, "%s/%s", oci_root, id);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

unsigned long long oci_proc_start(pid_t pid)
{
    char path[64], buf[1024], state;
    unsigned long long start = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');        /* comm may hold spaces */
    if (p == NULL || sscanf(p + 2, "%c", &state) != 1 || state == 'Z' ||
        state == 'X')
        return 0;
    /* Fields after comm: state is field 3, starttime field 22. */
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p == NULL || sscanf(p, "%llu", &start) != 1)
        return 0;
    return start;
}

int oci_state_write(const struct oci_state *st)
{
    char path[4096], tmp[4200];
    json_error_t jerr;
    json_t *ann = json_loads(st->annotations_json ? st->annotations_json
                                                  : "{}", 0, &jerr);
    json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:o}",
                          "id", st->id, "pid", (int)st->pid,
                          "start", (json_int_t)st->start,
                          "bundle", st->bundle, "created", st->created,
                          "annotations", ann ? ann : json_object());

    if (o == NULL || oci_dir(st->id, "state.json", path, sizeof path) != 0)
        return oci_error("cannot record container %s", st->id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int ok = fd >= 0 && text &&
             write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    free(text);
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0)
        return oci_error("cannot write %s: %s", path, strerror(errno));
    return 0;
}

int oci_state_read(const char *id, struct oci_state *st)
{
    char path[4096];
    json_error_t jerr;
    json_t *o;

    memset(st, 0, sizeof *st);
    if (oci_dir(id, "state.json", path, sizeof path) != 0 ||
        (o = json_load_file(path, 0, &jerr)) == NULL)
        return oci_error("container %s does not exist", id);
    snprintf(st->id, sizeof st->id, "%s", id);
    st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    st->start = (unsigned long long)json_integer_value(
        json_object_get(o, "start"));
    snprintf(st->bundle, sizeof st->bundle, "%s",
             json_string_value(json_object_get(o, "bundle")) ?: "");
    snprintf(st->created, sizeof st->created, "%s",
             json_string_value(json_object_get(o, "created")) ?: "");
    json_t *ann = json_object_get(o, "annotations");
    st->annotations_json = json_dumps(json_is_object(ann) ? ann
                                      : json_object(), JSON_COMPACT);
    json_decref(o);
    return 0;
}

const char *oci_status(const struct oci_state *st)
{
    char fifo[4096];
    struct stat sb;

    if (st->pid <= 0 || oci_proc_start(st->pid) != st->start)
        return "stopped";
    if (oci_dir(st->id, "exec.fifo", fifo, sizeof fifo) == 0 &&
        stat(fifo, &sb) == 0)
        return "created";
    return "running";
}
