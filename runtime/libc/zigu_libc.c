/* The embedder's side of picolibc for Zigu workloads: the few system functions picolibc and
 * QuickJS-NG call, over the kernel ABI (include/ukernel_abi.h). Output goes to the console through
 * `log` (one call per line), clocks through `clock_now`, the heap is a .bss region the kernel maps
 * with 2 MiB pages and does not zero (memory it never handed out is zero already), and ending the
 * process is `exit`. Files do not exist yet: reading, seeking and opening fail with ENOSYS. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>
#include <time.h>
#include "ukernel_abi.h"

/* The heap picolibc's malloc carves with sbrk (misc/picosbrk.c): __heap_start .. __heap_end. */
#ifndef ZIGU_HEAP_BYTES
#define ZIGU_HEAP_BYTES (64u << 20)
#endif
__attribute__((aligned(2 << 20), used)) char zigu_heap[ZIGU_HEAP_BYTES];
__asm__(".globl __heap_start\n.set __heap_start, zigu_heap\n"
        ".globl __heap_end\n.set __heap_end, zigu_heap + " "67108864" "\n");
_Static_assert(ZIGU_HEAP_BYTES == 67108864, "keep the __heap_end expression in step");

/* stdout and stderr: whole lines through `log` (stderr at the error level); a line longer than
 * the buffer goes out in pieces. */
#define LINE_BYTES 1024
static char line[2][LINE_BYTES];
static size_t line_len[2];

static void flush_line(int which) {
    if (line_len[which] == 0) return;
    uk_log(which == 0 ? UK_LOG_INFO : UK_LOG_ERROR, line[which], line_len[which]);
    line_len[which] = 0;
}

void zigu_libc_flush(void) {
    flush_line(0);
    flush_line(1);
}

ssize_t write(int fd, const void *buf, size_t n) {
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    int which = fd - 1;
    const char *p = buf;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            /* The kernel ends every log call with a newline of its own. */
            if (line_len[which] == 0) uk_log(which == 0 ? UK_LOG_INFO : UK_LOG_ERROR, "", 0);
            flush_line(which);
            continue;
        }
        if (line_len[which] == LINE_BYTES) flush_line(which);
        line[which][line_len[which]++] = p[i];
    }
    return (ssize_t)n;
}

ssize_t read(int fd, void *buf, size_t n) {
    (void)fd; (void)buf; (void)n;
    errno = ENOSYS;
    return -1;
}

off_t lseek(int fd, off_t off, int whence) {
    (void)fd; (void)off; (void)whence;
    errno = ENOSYS;
    return -1;
}

int close(int fd) {
    (void)fd;
    return 0;
}

_Noreturn void _exit(int status) {
    zigu_libc_flush();
    uk_exit((uint32_t)status & 0xff);
}

_Noreturn void abort(void) {
    zigu_libc_flush();
    static const char msg[] = "abort() called";
    uk_log(UK_LOG_ERROR, msg, sizeof msg - 1);
    uk_exit(134);
}

int clock_gettime(clockid_t clk, struct timespec *ts) {
    int64_t ns = uk_clock_now(clk == CLOCK_REALTIME ? UK_CLOCK_WALL : UK_CLOCK_MONOTONIC);
    if (ns < 0) {
        errno = ns == UK_ERR_PERMISSION ? EPERM : EINVAL;
        return -1;
    }
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
    return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}
