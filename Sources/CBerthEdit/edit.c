#include "CBerthEdit.h"
#include <stdlib.h>

EditLine *berth_el_init(const char *prog) { return el_init(prog, stdin, stdout, stderr); }
void berth_el_end(EditLine *el) { el_end(el); }

int berth_el_set_prompt(EditLine *el, char *(*fn)(EditLine *)) { return el_set(el, EL_PROMPT, fn); }
int berth_el_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
int berth_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }
int berth_el_set_history(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }

int berth_el_addfn(EditLine *el, const char *name, const char *help,
                   unsigned char (*fn)(EditLine *, int)) {
    return el_set(el, EL_ADDFN, name, help, fn);
}

int berth_el_bind(EditLine *el, const char *key, const char *fn) {
    return el_set(el, EL_BIND, key, fn, (const char *)NULL);
}

int berth_el_setty(EditLine *el, const char *a, const char *b) {
    return el_set(el, EL_SETTY, a, b, (const char *)NULL);
}

int berth_el_set_clientdata(EditLine *el, void *data) { return el_set(el, EL_CLIENTDATA, data); }

void *berth_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    if (el_get(el, EL_CLIENTDATA, &data) != 0) return NULL;
    return data;
}

int berth_el_columns(EditLine *el) {
    int cols = 0;
    if (el_get(el, EL_GETTC, "co", &cols, (void *)NULL) != 0 || cols <= 0) return 80;
    return cols;
}

void berth_el_write(const char *text) {
    fputs(text, stdout);
    fflush(stdout);
}

History *berth_history_init(int size, int unique) {
    History *h = history_init();
    if (h == NULL) return NULL;
    HistEvent ev;
    history(h, &ev, H_SETSIZE, size);
    history(h, &ev, H_SETUNIQUE, unique);
    return h;
}

void berth_history_end(History *h) { history_end(h); }

int berth_history_enter(History *h, const char *line) {
    HistEvent ev;
    return history(h, &ev, H_ENTER, line);
}

int berth_history_load(History *h, const char *path) {
    HistEvent ev;
    return history(h, &ev, H_LOAD, path);
}

int berth_history_save(History *h, const char *path) {
    HistEvent ev;
    return history(h, &ev, H_SAVE, path);
}

int berth_history_count(History *h) {
    HistEvent ev;
    if (history(h, &ev, H_GETSIZE) != 0) return 0;
    return ev.num;
}
