#ifndef CVAULT_CLIBPQ_SHIM_H
#define CVAULT_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
