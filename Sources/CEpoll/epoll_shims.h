#ifndef ENERGY_MONITOR_EPOLL_SHIMS_H
#define ENERGY_MONITOR_EPOLL_SHIMS_H
// epoll and eventfd for the polling threads. Kept apart from CSystemShims, which defines _GNU_SOURCE: under it
// <sys/select.h> declares fd_set differently from Dispatch's and Glibc's modules, and a clean build refuses both.
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
// epoll for the polling threads; struct epoll_event is packed on x86-64, so Swift sees only plain arguments.
static inline int energy_monitor_epoll_add(int epoll, int fd, uint32_t events) {
    struct epoll_event event = {.events = events, .data.fd = fd};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}
static inline int energy_monitor_epoll_remove(int epoll, int fd) { return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, 0); }
// Waits like epoll_wait (at most 256 events), up to timeout_ns (< 0: no limit) to the nanosecond (a simulated
// clock at 43 200 times real speed has ticks 1.4 ms apart), and writes each ready descriptor and its events.
static inline int energy_monitor_epoll_wait(int epoll, int *fds, uint32_t *events, int max, int64_t timeout_ns) {
    struct epoll_event ready[256];
    int capacity = max < 256 ? max : 256;
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int count = epoll_pwait2(epoll, ready, capacity, timeout_ns < 0 ? 0 : &timeout, 0);
    if (count < 0 && errno == ENOSYS) {  // kernels before 5.11: whole milliseconds, rounded up
        count = epoll_wait(epoll, ready, capacity, timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));
    }
    for (int i = 0; i < count; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return count;
}
#endif
