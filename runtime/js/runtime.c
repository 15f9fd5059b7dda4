/* The JavaScript runtime of a Zigu workload: QuickJS-NG in ring 3, on picolibc, over the kernel
 * ABI. It enters every capability the policy allows, evaluates the workload's script, and runs
 * an event loop in Node's order: after each macrotask the Promise jobs are drained, then the due
 * timers run (deadline order, FIFO for equal deadlines), and when none is due the loop waits in
 * io_poll on one ABI timer armed for the earliest deadline. It ends when nothing is pending.
 * An uncaught exception or unhandled rejection prints the error and its stack and ends with 1;
 * process.exit(n) ends with n. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "quickjs.h"
#include "ukernel_abi.h"

void zigu_libc_flush(void);

/* ---- console ------------------------------------------------------------------------------- */

static void log_line(uint32_t level, const char *s, size_t len) {
    while (len > UK_MAX_LOG_BYTES) {
        uk_log(level, s, UK_MAX_LOG_BYTES);
        s += UK_MAX_LOG_BYTES;
        len -= UK_MAX_LOG_BYTES;
    }
    uk_log(level, s, len);
}

/* The arguments as String(arg) joined with spaces: the first step towards Node's formatting. */
static JSValue console_print(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int level) {
    (void)this_val;
    char buf[UK_MAX_LOG_BYTES];
    size_t used = 0;
    for (int i = 0; i < argc; i++) {
        size_t len;
        const char *s = JS_ToCStringLen(ctx, &len, argv[i]);
        if (!s) return JS_EXCEPTION;
        if (i > 0 && used < sizeof buf) buf[used++] = ' ';
        size_t take = len < sizeof buf - used ? len : sizeof buf - used;
        memcpy(buf + used, s, take);
        used += take;
        JS_FreeCString(ctx, s);
    }
    int64_t r = uk_log((uint32_t)level, buf, used);
    if (r < 0) return JS_ThrowTypeError(ctx, "console: the log capability is not active (ERR %lld)", (long long)r);
    return JS_UNDEFINED;
}

/* ---- timers -------------------------------------------------------------------------------- */

#define MAX_TIMERS 4096

struct timer {
    int64_t id; /* 0: free */
    uint64_t deadline_ns;
    uint64_t seq;
    uint64_t interval_ns; /* 0: one-shot */
    JSValue fn;
    int argc;
    JSValue argv[4];
};

static struct timer timers[MAX_TIMERS];
static int64_t next_timer_id = 1;
static uint64_t next_seq = 1;
static uk_handle_t wake_timer;

static uint64_t now_ns(void) {
    int64_t t = uk_clock_now(UK_CLOCK_MONOTONIC);
    return t < 0 ? 0 : (uint64_t)t;
}

static void free_timer(JSContext *ctx, struct timer *t) {
    JS_FreeValue(ctx, t->fn);
    for (int i = 0; i < t->argc; i++) JS_FreeValue(ctx, t->argv[i]);
    t->id = 0;
}

static JSValue set_timer(JSContext *ctx, int argc, JSValueConst *argv, int repeat) {
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) return JS_ThrowTypeError(ctx, "The \"callback\" argument must be of type function");
    double ms = 0;
    if (argc > 1 && JS_ToFloat64(ctx, &ms, argv[1])) return JS_EXCEPTION;
    if (!(ms >= 1)) ms = 1; /* Node: NaN, negative and below 1 are 1 */
    if (ms > 2147483647.0) ms = 1;
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct timer *t = &timers[i];
        if (t->id != 0) continue;
        t->id = next_timer_id++;
        t->interval_ns = repeat ? (uint64_t)(ms * 1e6) : 0;
        t->deadline_ns = now_ns() + (uint64_t)(ms * 1e6);
        t->seq = next_seq++;
        t->fn = JS_DupValue(ctx, argv[0]);
        t->argc = 0;
        for (int a = 2; a < argc && t->argc < 4; a++) t->argv[t->argc++] = JS_DupValue(ctx, argv[a]);
        return JS_NewInt64(ctx, t->id);
    }
    return JS_ThrowRangeError(ctx, "too many timers (%d)", MAX_TIMERS);
}

static JSValue js_set_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    return set_timer(ctx, argc, argv, 0);
}

static JSValue js_set_interval(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    return set_timer(ctx, argc, argv, 1);
}

static JSValue js_clear_timer(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    int64_t id;
    if (argc < 1 || JS_ToInt64(ctx, &id, argv[0])) return JS_UNDEFINED;
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (timers[i].id == id && id != 0) free_timer(ctx, &timers[i]);
    }
    return JS_UNDEFINED;
}

static struct timer *earliest(void) {
    struct timer *best = NULL;
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct timer *t = &timers[i];
        if (t->id == 0) continue;
        if (!best || t->deadline_ns < best->deadline_ns || (t->deadline_ns == best->deadline_ns && t->seq < best->seq)) best = t;
    }
    return best;
}

/* ---- errors and the end -------------------------------------------------------------------- */

static int exit_status = 0;
static int rejection_pending = 0;
/* The last reason reported: a module's top-level throw rejects both its evaluation promise and
 * the one returned for it, and the tracker hears of the same error twice. */
static JSValue last_reason;
static int have_last_reason = 0;

static void print_exception(JSContext *ctx, JSValueConst err) {
    const char *s = JS_ToCString(ctx, err);
    char line[UK_MAX_LOG_BYTES];
    int n = snprintf(line, sizeof line, "Uncaught %s", s ? s : "(exception)");
    if (s) JS_FreeCString(ctx, s);
    log_line(UK_LOG_ERROR, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (JS_IsError(err)) {
        JSValue stack = JS_GetPropertyStr(ctx, err, "stack");
        if (JS_IsString(stack)) {
            size_t len;
            const char *st = JS_ToCStringLen(ctx, &len, stack);
            if (st) {
                while (len > 0 && st[len - 1] == '\n') len--;
                if (len) log_line(UK_LOG_ERROR, st, len);
                JS_FreeCString(ctx, st);
            }
        }
        JS_FreeValue(ctx, stack);
    }
}

static _Noreturn void finish(int status) {
    zigu_libc_flush();
    uk_exit((uint32_t)status & 0xff);
}

static void report_and_exit(JSContext *ctx) {
    JSValue err = JS_GetException(ctx);
    if (JS_IsUncatchableError(err)) { /* process.exit() */
        JS_FreeValue(ctx, err);
        finish(exit_status);
    }
    print_exception(ctx, err);
    JS_FreeValue(ctx, err);
    finish(1);
}

static void rejection_tracker(JSContext *ctx, JSValueConst promise, JSValueConst reason, bool is_handled, void *opaque) {
    (void)promise;
    (void)opaque;
    if (is_handled) {
        if (rejection_pending > 0) rejection_pending--;
        return;
    }
    rejection_pending++;
    if (have_last_reason && JS_IsStrictEqual(ctx, reason, last_reason)) return;
    if (have_last_reason) JS_FreeValue(ctx, last_reason);
    last_reason = JS_DupValue(ctx, reason);
    have_last_reason = 1;
    print_exception(ctx, reason);
}

/* process.exitCode, when the program set a number there; else `fallback`. */
static int exit_code_or(JSContext *ctx, int fallback) {
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue process = JS_GetPropertyStr(ctx, global, "process");
    JSValue code = JS_GetPropertyStr(ctx, process, "exitCode");
    int32_t v = fallback;
    if (JS_IsNumber(code)) JS_ToInt32(ctx, &v, code);
    JS_FreeValue(ctx, code);
    JS_FreeValue(ctx, process);
    JS_FreeValue(ctx, global);
    return v;
}

static JSValue js_process_exit(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    int32_t code = exit_code_or(ctx, exit_status);
    if (argc > 0 && !JS_IsUndefined(argv[0])) JS_ToInt32(ctx, &code, argv[0]);
    finish(code);
}

static void drain_jobs(JSRuntime *rt) {
    JSContext *job_ctx;
    for (;;) {
        int r = JS_ExecutePendingJob(rt, &job_ctx);
        if (r == 0) return;
        if (r < 0) report_and_exit(job_ctx);
    }
}

/* ---- setup and the loop -------------------------------------------------------------------- */

static void add_fn(JSContext *ctx, JSValue obj, const char *name, JSCFunction *fn, int len) {
    JS_SetPropertyStr(ctx, obj, name, JS_NewCFunction(ctx, fn, name, len));
}

#define CONSOLE_FN(name, level) \
    static JSValue js_console_##name(JSContext *ctx, JSValueConst t, int argc, JSValueConst *argv) { return console_print(ctx, t, argc, argv, level); }
CONSOLE_FN(log, UK_LOG_INFO)
CONSOLE_FN(info, UK_LOG_INFO)
CONSOLE_FN(debug, UK_LOG_INFO)
CONSOLE_FN(warn, UK_LOG_WARN)
CONSOLE_FN(error, UK_LOG_ERROR)

static void install_globals(JSContext *ctx) {
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue console = JS_NewObject(ctx);
    add_fn(ctx, console, "log", js_console_log, 1);
    add_fn(ctx, console, "info", js_console_info, 1);
    add_fn(ctx, console, "debug", js_console_debug, 1);
    add_fn(ctx, console, "warn", js_console_warn, 1);
    add_fn(ctx, console, "error", js_console_error, 1);
    JS_SetPropertyStr(ctx, global, "console", console);
    add_fn(ctx, global, "setTimeout", js_set_timeout, 2);
    add_fn(ctx, global, "setInterval", js_set_interval, 2);
    add_fn(ctx, global, "clearTimeout", js_clear_timer, 1);
    add_fn(ctx, global, "clearInterval", js_clear_timer, 1);
    JSValue process = JS_NewObject(ctx);
    add_fn(ctx, process, "exit", js_process_exit, 1);
    JS_SetPropertyStr(ctx, process, "exitCode", JS_UNDEFINED);
    JS_SetPropertyStr(ctx, global, "process", process);
    JS_FreeValue(ctx, global);
}

/* Every capability the policy allows, acquired and entered before the program's first line: a
 * plain program runs unchanged, and ukernel.toml's allow list stays the boundary. */
static void enter_allowed_capabilities(void) {
    uk_handle_t handles[8];
    uint64_t count = 0;
    for (uint32_t kind = 1; kind <= 6; kind++) {
        int64_t h = uk_cap_acquire(kind);
        if (h > 0) handles[count++] = (uk_handle_t)h;
    }
    uk_cap_enter(handles, count);
}

int zigu_js_main(const char *source, size_t len, const char *filename) {
    enter_allowed_capabilities();
    JSRuntime *rt = JS_NewRuntime();
    if (!rt) finish(70);
    JS_SetMaxStackSize(rt, 1u << 20);
    JS_SetHostPromiseRejectionTracker(rt, rejection_tracker, NULL);
    JSContext *ctx = JS_NewContext(rt);
    if (!ctx) finish(70);
    install_globals(ctx);

    JSValue zigu_js_load(JSContext *ctx, const char *program, size_t len, const char *filename); /* load.c: source or bytecode */
    JSValue result = zigu_js_load(ctx, source, len, filename);
    if (JS_IsException(result)) report_and_exit(ctx);
    JS_FreeValue(ctx, result);

    wake_timer = (uk_handle_t)uk_timer_create();
    uk_io_register(wake_timer, UK_EV_READABLE, 0);
    for (;;) {
        drain_jobs(rt);
        if (rejection_pending) finish(1);
        struct timer *t = earliest();
        if (!t) break;
        uint64_t now = now_ns();
        if (t->deadline_ns > now) {
            struct uk_event ev[1];
            uk_timer_arm(wake_timer, t->deadline_ns - now, 0);
            uk_io_poll(ev, 1, UK_TIMEOUT_INFINITE); /* the only way this runtime waits */
            continue;
        }
        JSValue fn = JS_DupValue(ctx, t->fn);
        int argc = t->argc;
        JSValue argv[4];
        for (int i = 0; i < argc; i++) argv[i] = JS_DupValue(ctx, t->argv[i]);
        if (t->interval_ns) {
            t->deadline_ns += t->interval_ns;
            t->seq = next_seq++;
        } else {
            free_timer(ctx, t);
        }
        JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, argc, argv);
        JS_FreeValue(ctx, fn);
        for (int i = 0; i < argc; i++) JS_FreeValue(ctx, argv[i]);
        if (JS_IsException(r)) report_and_exit(ctx);
        JS_FreeValue(ctx, r);
    }
    finish(exit_code_or(ctx, exit_status));
}
