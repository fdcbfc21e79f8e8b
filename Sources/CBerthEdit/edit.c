// libedit for the REPL's line editing, dlopen'd on first use instead of
// linked, as libcurl and libseccomp are: `berth ps`, `berth run` and every
// container monitor (a fork of the CLI that lives as long as its container)
// then never map libedit and the three libraries it pulls in (libtinfo,
// libbsd, libmd), which cost every start the loader's time and every
// monitor their relocated pages. Only the build needs histedit.h
// (libedit-dev); at run time libedit.so.2 (Debian's libedit2) is enough.
// Without it berth_el_init returns NULL and the REPL reads plain lines.
#define _GNU_SOURCE
#include "CBerthEdit.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static struct {
    int loaded; /* 1 ok, -1 failed */
    EditLine *(*el_init)(const char *, FILE *, FILE *, FILE *);
    void (*el_end)(EditLine *);
    int (*el_set)(EditLine *, int, ...);
    int (*el_get)(EditLine *, int, ...);
    const char *(*el_gets)(EditLine *, int *);
    const LineInfo *(*el_line)(EditLine *);
    int (*el_insertstr)(EditLine *, const char *);
    void (*el_deletestr)(EditLine *, int);
    int (*el_cursor)(EditLine *, int);
    void (*el_push)(EditLine *, const char *);
    void (*el_resize)(EditLine *);
    History *(*history_init)(void);
    void (*history_end)(History *);
    int (*history)(History *, HistEvent *, int, ...);
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_library(void) {
    lib.loaded = -1;
    void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
#define SYM(field, name) \
    if (!(*(void **)&lib.field = dlsym(h, name))) return;
    SYM(el_init, "el_init")
    SYM(el_end, "el_end")
    SYM(el_set, "el_set")
    SYM(el_get, "el_get")
    SYM(el_gets, "el_gets")
    SYM(el_line, "el_line")
    SYM(el_insertstr, "el_insertstr")
    SYM(el_deletestr, "el_deletestr")
    SYM(el_cursor, "el_cursor")
    SYM(el_push, "el_push")
    SYM(el_resize, "el_resize")
    SYM(history_init, "history_init")
    SYM(history_end, "history_end")
    SYM(history, "history")
#undef SYM
    lib.loaded = 1;
}

static int loaded(void) {
    pthread_once(&load_once, load_library);
    return lib.loaded > 0;
}

EditLine *berth_el_init(const char *prog) { return loaded() ? lib.el_init(prog, stdin, stdout, stderr) : NULL; }
void berth_el_end(EditLine *el) { lib.el_end(el); }

int berth_el_set_prompt(EditLine *el, char *(*fn)(EditLine *)) { return lib.el_set(el, EL_PROMPT, fn); }
int berth_el_set_editor(EditLine *el, const char *mode) { return lib.el_set(el, EL_EDITOR, mode); }
int berth_el_set_signal(EditLine *el, int on) { return lib.el_set(el, EL_SIGNAL, on); }
int berth_el_set_history(EditLine *el, History *h) { return lib.el_set(el, EL_HIST, lib.history, h); }

int berth_el_addfn(EditLine *el, const char *name, const char *help,
                   unsigned char (*fn)(EditLine *, int)) {
    return lib.el_set(el, EL_ADDFN, name, help, fn);
}

int berth_el_bind(EditLine *el, const char *key, const char *fn) {
    return lib.el_set(el, EL_BIND, key, fn, (const char *)NULL);
}

int berth_el_setty(EditLine *el, const char *a, const char *b) {
    return lib.el_set(el, EL_SETTY, a, b, (const char *)NULL);
}

int berth_el_set_clientdata(EditLine *el, void *data) { return lib.el_set(el, EL_CLIENTDATA, data); }

void *berth_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    if (lib.el_get(el, EL_CLIENTDATA, &data) != 0) return NULL;
    return data;
}

int berth_el_columns(EditLine *el) {
    int cols = 0;
    if (lib.el_get(el, EL_GETTC, "co", &cols, (void *)NULL) != 0 || cols <= 0) return 80;
    return cols;
}

void berth_el_write(const char *text) {
    fputs(text, stdout);
    fflush(stdout);
}

const char *berth_el_gets(EditLine *el, int *count) { return lib.el_gets(el, count); }
const LineInfo *berth_el_line(EditLine *el) { return lib.el_line(el); }
int berth_el_insertstr(EditLine *el, const char *text) { return lib.el_insertstr(el, text); }
void berth_el_deletestr(EditLine *el, int count) { lib.el_deletestr(el, count); }
int berth_el_cursor(EditLine *el, int offset) { return lib.el_cursor(el, offset); }
void berth_el_push(EditLine *el, const char *text) { lib.el_push(el, text); }
void berth_el_resize(EditLine *el) { lib.el_resize(el); }

History *berth_history_init(int size, int unique) {
    if (!loaded()) return NULL;
    History *h = lib.history_init();
    if (h == NULL) return NULL;
    HistEvent ev;
    lib.history(h, &ev, H_SETSIZE, size);
    lib.history(h, &ev, H_SETUNIQUE, unique);
    return h;
}

void berth_history_end(History *h) { lib.history_end(h); }

int berth_history_enter(History *h, const char *line) {
    HistEvent ev;
    return lib.history(h, &ev, H_ENTER, line);
}

int berth_history_load(History *h, const char *path) {
    HistEvent ev;
    return lib.history(h, &ev, H_LOAD, path);
}

int berth_history_save(History *h, const char *path) {
    HistEvent ev;
    return lib.history(h, &ev, H_SAVE, path);
}

int berth_history_count(History *h) {
    HistEvent ev;
    if (lib.history(h, &ev, H_GETSIZE) != 0) return 0;
    return ev.num;
}
