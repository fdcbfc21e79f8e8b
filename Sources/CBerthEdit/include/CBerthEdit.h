#ifndef CBERTH_EDIT_H
#define CBERTH_EDIT_H
#include <stdio.h>
#include <histedit.h>

/// Wrappers around libedit, which edit.c dlopens on first use (so no other
/// command, and no container monitor, maps it): every libedit call goes
/// through here. el_set, el_get and history() are variadic, so Swift cannot
/// call them; the standard FILE streams are C globals that Swift 6 refuses
/// to touch. Everything libedit keeps globally stays on this side.

/// el_init on stdin/stdout/stderr; NULL when libedit.so.2 cannot be loaded.
EditLine *berth_el_init(const char *prog);
void berth_el_end(EditLine *el);

/// EL_PROMPT: a function returning the prompt text.
int berth_el_set_prompt(EditLine *el, char *(*fn)(EditLine *));
/// EL_EDITOR: "emacs" or "vi".
int berth_el_set_editor(EditLine *el, const char *mode);
/// EL_SIGNAL: whether libedit installs its own handlers (SIGWINCH, SIGTSTP…).
int berth_el_set_signal(EditLine *el, int on);
/// EL_HIST with history() as the function.
int berth_el_set_history(EditLine *el, History *h);
/// EL_ADDFN: a named editor function.
int berth_el_addfn(EditLine *el, const char *name, const char *help,
                   unsigned char (*fn)(EditLine *, int));
/// EL_BIND key function.
int berth_el_bind(EditLine *el, const char *key, const char *fn);
/// EL_SETTY with up to two arguments, e.g. ("-d", "-isig"); b may be NULL.
int berth_el_setty(EditLine *el, const char *a, const char *b);
/// EL_CLIENTDATA set/get.
int berth_el_set_clientdata(EditLine *el, void *data);
void *berth_el_get_clientdata(EditLine *el);
/// EL_GETTC "co": the terminal width in columns (80 if unknown).
int berth_el_columns(EditLine *el);
/// Writes text on libedit's output stream (stdout) and flushes it.
void berth_el_write(const char *text);

/// el_gets, el_line, el_insertstr, el_deletestr, el_cursor, el_push, el_resize.
const char *berth_el_gets(EditLine *el, int *count);
const LineInfo *berth_el_line(EditLine *el);
int berth_el_insertstr(EditLine *el, const char *text);
void berth_el_deletestr(EditLine *el, int count);
int berth_el_cursor(EditLine *el, int offset);
void berth_el_push(EditLine *el, const char *text);
void berth_el_resize(EditLine *el);

/// history_init plus H_SETSIZE and H_SETUNIQUE; NULL when libedit cannot be loaded.
History *berth_history_init(int size, int unique);
void berth_history_end(History *h);
/// H_ENTER, H_LOAD, H_SAVE; each returns history()'s result (-1 on failure).
int berth_history_enter(History *h, const char *line);
int berth_history_load(History *h, const char *path);
int berth_history_save(History *h, const char *path);
/// H_GETSIZE: the number of entries.
int berth_history_count(History *h);

#endif
