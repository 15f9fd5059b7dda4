/* The ABI from C, through include/ukernel_abi.h only. The same source runs as a ring-3 workload in
 * a microVM (linked with user/ukernel_abi_guest.zig) and as a host program linked with
 * libukernel_abi.so. Expects the policy log,time,random,task. Prints "abi_smoke: N passed, M failed". */
#include "ukernel_abi.h"

static int passed, failed;

/* Two cooperative tasks: each records itself, yields, records again and ends with its number. */
static unsigned char task_stacks[2][16384] __attribute__((aligned(16)));
static int order[8];
static int order_len;

static void task_fn(uint64_t arg) {
    order[order_len++] = (int)arg;
    uk_task_yield();
    order[order_len++] = (int)arg + 10;
    uk_task_exit((uint32_t)arg);
}

static uint64_t len_of(const char *s) {
    uint64_t n = 0;
    while (s[n]) n++;
    return n;
}

static void say(const char *s) { uk_log(UK_LOG_INFO, s, len_of(s)); }

/* "<label>: <value>" without printf: the guest has no libc. */
static void say_num(const char *label, int64_t v) {
    char buf[96];
    uint64_t i = 0, n = len_of(label);
    for (uint64_t k = 0; k < n && i < 60; k++) buf[i++] = label[k];
    buf[i++] = ' ';
    if (v < 0) { buf[i++] = '-'; v = -v; }
    char digits[24];
    int d = 0;
    do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v > 0);
    while (d > 0) buf[i++] = digits[--d];
    uk_log(UK_LOG_INFO, buf, i);
}

static void check(const char *what, int ok) {
    if (ok) { passed++; return; }
    failed++;
    char buf[128] = "abi_smoke: FAIL ";
    uint64_t i = len_of(buf), n = len_of(what);
    for (uint64_t k = 0; k < n && i < sizeof buf; k++) buf[i++] = what[k];
    uk_log(UK_LOG_ERROR, buf, i);
}

int main(void) {
    /* Nothing active yet: refused. Logging cannot report it yet, so remember. */
    int denied_before = uk_clock_now(UK_CLOCK_MONOTONIC) == UK_ERR_PERMISSION;
    int log_denied = uk_log(UK_LOG_INFO, "x", 1) == UK_ERR_PERMISSION;

    uk_handle_t caps[4];
    caps[0] = (uk_handle_t)uk_cap_acquire(UK_CAP_LOG);
    caps[1] = (uk_handle_t)uk_cap_acquire(UK_CAP_TIME);
    caps[2] = (uk_handle_t)uk_cap_acquire(UK_CAP_RANDOM);
    caps[3] = (uk_handle_t)uk_cap_acquire(UK_CAP_TASK);
    int acquired_not_entered = uk_clock_now(UK_CLOCK_MONOTONIC) == UK_ERR_PERMISSION;
    int64_t entered = uk_cap_enter(caps, 4);
    check("cap_enter log, time, random, task", entered == UK_OK);
    check("clock refused before any capability", denied_before);
    check("log refused before any capability", log_denied);
    check("clock refused when acquired but not entered", acquired_not_entered);
    check("net is outside the policy", uk_cap_acquire(UK_CAP_NET) == UK_ERR_PERMISSION);
    check("unknown capability kind", uk_cap_acquire(99) == UK_ERR_INVALID);
    check("nop", uk_nop() == UK_OK);

    int64_t t0 = uk_clock_now(UK_CLOCK_MONOTONIC);
    check("monotonic clock", t0 >= 0);

    /* A timer through io_poll. */
    int64_t timer = uk_timer_create();
    check("timer_create", timer > 0);
    check("io_register", uk_io_register((uk_handle_t)timer, UK_EV_READABLE, 42) == UK_OK);
    check("timer_arm 2 ms", uk_timer_arm((uk_handle_t)timer, 2000000, 0) == UK_OK);
    struct uk_event ev[4];
    int64_t n = uk_io_poll(ev, 4, UK_TIMEOUT_INFINITE);
    check("io_poll returns the timer", n == 1 && ev[0].user_data == 42 && (ev[0].events & UK_EV_TIMER));
    check("not before its deadline", uk_clock_now(UK_CLOCK_MONOTONIC) - t0 >= 2000000);
    check("poll with timeout 0 finds nothing", uk_io_poll(ev, 4, 0) == 0);

    /* Stale handles. */
    check("close", uk_handle_close((uk_handle_t)timer) == UK_OK);
    check("hang-up of the closed registration", uk_io_poll(ev, 4, 0) == 1 && ev[0].events == UK_EV_HANGUP);
    check("stale handle refused", uk_timer_arm((uk_handle_t)timer, 1, 0) == UK_ERR_BAD_HANDLE);
    check("forged handle refused", uk_handle_close(0x12345678) == UK_ERR_BAD_HANDLE);

    /* Tasks: spawned from C, run round robin, joined with their statuses. */
    int64_t t1 = uk_task_spawn((uint64_t)(uintptr_t)task_fn, 1, task_stacks[0], sizeof task_stacks[0]);
    int64_t t2 = uk_task_spawn((uint64_t)(uintptr_t)task_fn, 2, task_stacks[1], sizeof task_stacks[1]);
    check("task_spawn", t1 > 0 && t2 > 0);
    check("join the first task", uk_task_join((uk_handle_t)t1) == 1);
    check("join the second task", uk_task_join((uk_handle_t)t2) == 2);
    check("tasks ran round robin", order_len == 4 && order[0] == 1 && order[1] == 2 && order[2] == 11 && order[3] == 12);
    check("a tiny stack is refused", uk_task_spawn((uint64_t)(uintptr_t)task_fn, 3, task_stacks[0], 64) == UK_ERR_INVALID);
    check("the initial task cannot task_exit", uk_task_exit(0) == UK_ERR_INVALID);
    uk_handle_close((uk_handle_t)t1);
    uk_handle_close((uk_handle_t)t2);

    /* Random, then dropped for good. */
    unsigned char rnd[32] = {0};
    check("random fills", uk_random(rnd, sizeof rnd) == (int64_t)sizeof rnd);
    int nonzero = 0;
    for (unsigned k = 0; k < sizeof rnd; k++) nonzero |= rnd[k];
    check("random bytes are not all zero", nonzero != 0);
    check("cap_drop random", uk_cap_drop(UK_CAP_RANDOM) == UK_OK);
    check("random after drop", uk_random(rnd, 8) == UK_ERR_PERMISSION);
    check("re-acquire after drop", uk_cap_acquire(UK_CAP_RANDOM) == UK_ERR_PERMISSION);

    /* Bad pointers are errors, not crashes. */
    check("null log pointer", uk_log(UK_LOG_INFO, (const void *)0, 8) == UK_ERR_BAD_POINTER);
    check("wrapping log range", uk_log(UK_LOG_INFO, (const void *)-8, 64) == UK_ERR_BAD_POINTER);
    check("log too long", uk_log(UK_LOG_INFO, "x", UK_MAX_LOG_BYTES + 1) == UK_ERR_INVALID);

    /* Memory: mem_map and mem_unmap, the same in both homes of the ABI. */
    check("mem_map of 0 bytes", uk_mem_map(0) == UK_ERR_INVALID);
    check("mem_map of part of a page", uk_mem_map(4095) == UK_ERR_INVALID);
    check("mem_map of a length that wraps", uk_mem_map(UINT64_MAX - 4095) == UK_ERR_INVALID);
    int64_t m = uk_mem_map(2u << 20);
    check("mem_map 2 MiB", m > 0);
    if (m > 0) {
        volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)m;
        uint64_t acc = 0;
        for (unsigned k = 0; k < (2u << 20) / 8; k++) acc |= words[k];
        check("mapped memory reads as zero", acc == 0);
        for (unsigned k = 0; k < (2u << 20) / 8; k += 512) words[k] = k + 1;
        check("mapped memory keeps what is written", words[512] == 513);
        uint64_t on_stack = 0;
        check("half a mapping cannot be unmapped", uk_mem_unmap((uint64_t)m, 1u << 20) == UK_ERR_INVALID);
        check("the stack cannot be unmapped", uk_mem_unmap((uint64_t)(uintptr_t)&on_stack & ~4095ull, 4096) == UK_ERR_INVALID);
        check("mem_unmap", uk_mem_unmap((uint64_t)m, 2u << 20) == UK_OK);
        check("a second mem_unmap is refused", uk_mem_unmap((uint64_t)m, 2u << 20) == UK_ERR_INVALID);
    }
    /* 2 MiB at a time up to 8 of them (16 MiB), or until the memory limit says no_space. */
    int64_t held[8];
    int count = 0;
    int64_t last = 0;
    while (count < 8 && (last = uk_mem_map(2u << 20)) > 0) held[count++] = last;
    check("mem_map stops only at 8 or with no_space", count == 8 || last == UK_ERR_NO_SPACE);
    say_num("abi_smoke: mem_map 2 MiB times", count);
    for (int k = 0; k < count; k++) check("mem_unmap each", uk_mem_unmap((uint64_t)held[k], 2u << 20) == UK_OK);
    int64_t again = uk_mem_map(4096);
    check("after unmapping all, a page maps again, zero", again > 0 && *(volatile uint64_t *)(uintptr_t)again == 0);
    if (again > 0) uk_mem_unmap((uint64_t)again, 4096);

    say_num("abi_smoke: passed", passed);
    say_num("abi_smoke: failed", failed);
    say(failed == 0 ? "abi_smoke: ok" : "abi_smoke: FAILED");
    return failed == 0 ? 0 : 1;
}
