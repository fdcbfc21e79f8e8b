#include "CBerthEdit.h"
