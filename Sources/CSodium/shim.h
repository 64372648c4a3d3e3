#ifndef CVAULT_CSODIUM_SHIM_H
#define CVAULT_CSODIUM_SHIM_H
#include <sodium.h>
#endif
