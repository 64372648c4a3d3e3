#define _GNU_SOURCE
#include "CVaultSystem.h"
#include <sys/resource.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <pthread.h>

int cvault_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
int cvault_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
int cvault_set_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)gettid(), nice); }
int cvault_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }
int cvault_get_thread_name(char *buffer, unsigned long size) {
    return pthread_getname_np(pthread_self(), buffer, size);
}
