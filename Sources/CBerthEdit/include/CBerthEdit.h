#ifndef CBERTH_EDIT_H
#define CBERTH_EDIT_H
#include <stdio.h>
#include <histedit.h>
#endif
