#ifndef CVAULT_CSYSTEM_H
#define CVAULT_CSYSTEM_H
// Linux calls Swift cannot import directly (variadic, or hidden behind _GNU_SOURCE), wrapped as plain
// functions. Like swift-nio's CNIOLinux: C lives here and nowhere else.

/// prctl(PR_SET_DUMPABLE, 0): no core dumps, no ptrace attach by the same uid. Returns 0 on success.
int cvault_set_nondumpable(void);
/// prctl(PR_GET_DUMPABLE): 1 if the process may dump core, 0 if not, -1 on error.
int cvault_get_dumpable(void);
/// setpriority(PRIO_PROCESS, gettid(), nice): on Linux the calling thread's own nice value, so background
/// work on one thread yields the CPU to the others. Returns 0 on success.
int cvault_set_thread_nice(int nice);
/// pthread_setname_np(pthread_self(), name): names the calling thread as the kernel shows it (`top -H`, perf);
/// at most 15 bytes are kept. Returns 0 on success.
int cvault_set_thread_name(const char *name);
/// pthread_getname_np(pthread_self(), ...): the calling thread's kernel name into `buffer` (16 bytes hold
/// any). Returns 0 on success.
int cvault_get_thread_name(char *buffer, unsigned long size);
#endif
