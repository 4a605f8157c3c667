#ifndef ENERGY_MONITOR_SYSTEM_SHIMS_H
#define ENERGY_MONITOR_SYSTEM_SHIMS_H
// glibc calls Swift's Glibc module does not show (they need _GNU_SOURCE or <malloc.h>).
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

// Names the calling thread (15 bytes at most), so that top -H and /proc show the polling threads.
static inline int energy_monitor_name_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }

// Caps malloc's arenas: by default every busy thread (NIO, GRDB's queues, the pools) may get one of its own.
static inline int energy_monitor_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

// Atomic loads, stores and additions on memory shared between processes (energyd's --clock-file).
static inline long long energy_monitor_atomic_load(const long long *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
static inline void energy_monitor_atomic_store(long long *word, long long value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
static inline long long energy_monitor_atomic_add(long long *word, long long value) {
    return __atomic_add_fetch(word, value, __ATOMIC_SEQ_CST);
}

#endif
