/* quick.h: the quick mode (no script): every iteration sends the static request. */
#ifndef STAMPEDE_QUICK_H
#define STAMPEDE_QUICK_H

#include "engine/engine.h"

extern const struct vu_body quick_body;

#endif
