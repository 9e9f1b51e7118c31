/*
 * ops_fwd_bwd.c — the training ops (see ops_impl.h) compiled twice: in float
 * for training (names ending _f) and in double for the finite-difference
 * gradient checks (names ending _d). The maths is written once.
 */
#include "train_ops.h"

#include <math.h>
#include <string.h>

#define REAL float
#define EXP expf
#define FN(name) name##_f
#include "ops_impl.h"
#undef REAL
#undef EXP
#undef FN

#define REAL double
#define EXP exp
#define FN(name) name##_d
#include "ops_impl.h"
#undef REAL
#undef EXP
#undef FN
