/* The embedder's side of picolibc for Zigu workloads: the few system functions picolibc and
 * QuickJS-NG call, over the kernel ABI (include/ukernel_abi.h). Output goes to the console through
 * `log` (one call per line), clocks through `clock_now`, the heap grows through `mem_map`, and
 * ending the process is `exit`. Files do not exist yet: reading, seeking and opening fail with
 * ENOSYS. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>
#include <time.h>
#include "ukernel_abi.h"

/* The heap. picolibc's malloc (stdlib/malloc.c) asks sbrk for more memory and never gives any
 * back; this sbrk (which keeps misc/picosbrk.c and its fixed __heap_start..__heap_end out of the
 * link) grows the break through mem_map, so the workload's memory follows its use up to its
 * limit (ukernel.toml's workload.memory_limit_mib). Past the limit mem_map is UK_ERR_NO_SPACE,
 * sbrk fails with ENOMEM, malloc returns NULL, and QuickJS throws its out-of-memory error.
 *
 * Mappings are whole 2 MiB pages (mem_map places them on 2 MiB boundaries and maps each with one
 * page: no fault, no ring-0 work per 4 KiB), and grow by a quarter of the heap at a time (at most
 * 64 MiB), so a big heap needs few of the workload's 256 mappings; a step the limit refuses is
 * retried at the size needed. mem_map places each mapping at the lowest free address above the
 * last, so the heap stays one contiguous range; if another mapping ever sits in the way, the
 * break moves to the new mapping and the rest of the old one stays unused (malloc accepts a
 * break that jumps). */
#define HEAP_STEP_BYTES UK_LARGE_PAGE_BYTES
#define HEAP_MAX_STEP_BYTES (64u << 20)
static uintptr_t brk_cur, brk_end; /* [brk_cur, brk_end): mapped, not yet handed to malloc */
static uint64_t heap_mapped_bytes;

static uint64_t round_step(uint64_t n) {
    return (n + HEAP_STEP_BYTES - 1) & ~(uint64_t)(HEAP_STEP_BYTES - 1);
}

/* mem_map of `len` (a whole number of steps): the address, or 0. */
static uintptr_t map_heap(uint64_t len) {
    int64_t r = uk_mem_map(len);
    if (r <= 0) return 0;
    heap_mapped_bytes += len;
    return (uintptr_t)r;
}

static void unmap_heap(uintptr_t at, uint64_t len) {
    if (uk_mem_unmap((uint64_t)at, len) == UK_OK) heap_mapped_bytes -= len;
}

void *sbrk(ptrdiff_t incr) {
    if (incr < 0) { /* never from picolibc's malloc; memory stays mapped */
        errno = ENOMEM;
        return (void *)-1;
    }
    uint64_t want = (uint64_t)incr;
    if (want <= brk_end - brk_cur) {
        void *ret = (void *)brk_cur;
        brk_cur += want;
        return ret;
    }
    if (want > UK_MAX_MAP_BYTES) {
        errno = ENOMEM;
        return (void *)-1;
    }
    /* Room for the request plus malloc's alignment call that may follow it (a few bytes). */
    uint64_t need = round_step(want - (brk_end - brk_cur) + 64);
    uint64_t grow = heap_mapped_bytes / 4 > HEAP_MAX_STEP_BYTES ? HEAP_MAX_STEP_BYTES : round_step(heap_mapped_bytes / 4);
    uintptr_t at = 0;
    uint64_t got = 0;
    if (grow > need) {
        at = map_heap(grow);
        got = grow;
    }
    if (at == 0) {
        at = map_heap(need);
        got = need;
    }
    if (at == 0) {
        errno = ENOMEM;
        return (void *)-1;
    }
    if (at != brk_end) {
        /* Not adjacent: start over in the new mapping, sized for the whole request. */
        if (got < round_step(want + 64)) {
            uint64_t rest = round_step(want + 64) - got;
            uintptr_t more = map_heap(rest);
            if (more != at + got) { /* give both back rather than hold what malloc cannot use */
                unmap_heap(at, got);
                if (more) unmap_heap(more, rest);
                errno = ENOMEM;
                return (void *)-1;
            }
            got += rest;
        }
        brk_cur = at;
    }
    brk_end = at + got;
    void *ret = (void *)brk_cur;
    brk_cur += want;
    return ret;
}

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

/* sqrt as the CPU does it: picolibc's is fdlibm's bit-by-bit software square root (Math.sqrt ran
 * 4x slower than the same engine on the host). SQRTSD is IEEE 754's correctly rounded square root,
 * so every result is the same, NaN and -0 included; ring 3 has SSE. */
double sqrt(double x) {
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
}
