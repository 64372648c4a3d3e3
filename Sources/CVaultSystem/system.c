#define _GNU_SOURCE
#include "CVaultSystem.h"
#include <sys/resource.h>
#include <unistd.h>
#include <sys/prctl.h>

int cvault_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
int cvault_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
int cvault_set_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)gettid(), nice); }
