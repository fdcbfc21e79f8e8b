// Memory a long-lived process gives back to the kernel.
#include <malloc.h>
#include "CBerthLinux.h"

int berth_release_free_memory(void) { return malloc_trim(0); }
