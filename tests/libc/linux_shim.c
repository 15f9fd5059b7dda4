/* The embedder's side of picolibc for host tests: the same symbols runtime/libc/zigu_libc.c gives
 * the guest, over Linux system calls instead of the kernel ABI, so that a static x86_64-linux
 * program can run the very archive (.deps/lib/libpicolibc.a) the guest links. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static long result(long r) {
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

ssize_t write(int fd, const void *buf, size_t n) { return result(sys3(1, fd, (long)buf, (long)n)); }
ssize_t read(int fd, void *buf, size_t n) { return result(sys3(0, fd, (long)buf, (long)n)); }
off_t lseek(int fd, off_t off, int whence) { return result(sys3(8, fd, off, whence)); }
int close(int fd) { return (int)result(sys3(3, fd, 0, 0)); }

_Noreturn void _exit(int status) {
    for (;;) sys3(231, status, 0, 0); /* exit_group */
}

_Noreturn void abort(void) {
    static const char msg[] = "abort() called\n";
    write(2, msg, sizeof msg - 1);
    _exit(134);
}

int clock_gettime(clockid_t clk, struct timespec *ts) {
    /* picolibc's CLOCK_REALTIME is 1 and CLOCK_MONOTONIC 4; Linux's are 0 and 1. */
    return (int)result(sys3(228, clk == CLOCK_REALTIME ? 0 : 1, (long)ts, 0));
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

/* picolibc's malloc carves this with sbrk (misc/picosbrk.c). */
__attribute__((aligned(4096), used)) char linux_shim_heap[64u << 20];
__asm__(".globl __heap_start\n.set __heap_start, linux_shim_heap\n"
        ".globl __heap_end\n.set __heap_end, linux_shim_heap + 67108864\n");

int main(int argc, char **argv);
extern void exit(int);

/* Linux enters with rsp at argc, 16-byte aligned; the C ABI wants rsp+8 aligned at a call. */
__attribute__((used)) static void start_c(long *sp) {
    exit(main((int)sp[0], (char **)(sp + 1)));
}
__asm__(".globl _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call start_c\n hlt\n");
