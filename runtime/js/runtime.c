/* The JavaScript runtime of a Zigu workload: QuickJS-NG in ring 3, on picolibc, over the kernel
 * ABI. It enters every capability the policy allows, evaluates the prelude (runtime/js/prelude/:
 * console, Web APIs, process, the `zigu` module, written in TypeScript over the primitives of
 * `__zigu` below), then the workload's module, and runs an event loop in Node's order (libuv's
 * phases): after each callback the nextTick queue and the Promise jobs are drained; each loop
 * iteration runs the timers due at the iteration's time (deadline order, FIFO for equal
 * deadlines), then waits in io_poll on one ABI timer armed for the earliest deadline (not when
 * immediates are pending), then runs the immediates queued before that phase. It ends when
 * nothing is pending. An uncaught exception or unhandled rejection prints the error and its stack
 * and ends with 1; process.exit(n) ends with n. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "ukernel_abi.h"

void zigu_libc_flush(void);
/* A file of the root image (main.zig), or NULL: the image is mapped read-only into the workload. */
const uint8_t *zigu_image_file(const char *name, size_t name_len, size_t *len);

/* ---- the loop's clock ---------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    int64_t t = uk_clock_now(UK_CLOCK_MONOTONIC);
    return t < 0 ? 0 : (uint64_t)t;
}

/* libuv's loop time: read at the start of each iteration. The timers phase runs the timers due
 * at that time (one created during the phase waits for the next iteration, as in Node); a timer's
 * deadline counts from when it is created, an interval's next one from the phase's time. */
static uint64_t loop_ns;

/* How often this VM was restored from a snapshot taken at the ready point (0: a cold start). */
static int64_t restores;

/* ---- timers -------------------------------------------------------------------------------- */

#define MAX_TIMERS 4096
#define MAX_ARGS 4

struct timer {
    int64_t id; /* 0: free */
    uint64_t deadline_ns;
    uint64_t seq;
    uint64_t interval_ns; /* 0: one-shot */
    JSValue fn;
    int argc;
    JSValue argv[MAX_ARGS];
};

static struct timer timers[MAX_TIMERS];
static int timers_live = 0;
static int64_t next_timer_id = 1;
static uint64_t next_seq = 1;
static uk_handle_t wake_timer;

static void free_timer(JSContext *ctx, struct timer *t) {
    JS_FreeValue(ctx, t->fn);
    for (int i = 0; i < t->argc; i++) JS_FreeValue(ctx, t->argv[i]);
    t->id = 0;
    timers_live--;
}

static JSValue set_timer(JSContext *ctx, int argc, JSValueConst *argv, int repeat) {
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) return JS_ThrowTypeError(ctx, "The \"callback\" argument must be of type function");
    double ms = 0;
    if (argc > 1 && JS_ToFloat64(ctx, &ms, argv[1])) return JS_EXCEPTION;
    if (!(ms >= 1)) ms = 1; /* Node: NaN, negative and below 1 are 1 */
    if (ms > 2147483647.0) ms = 1;
    ms = (double)(int64_t)ms; /* Node truncates to whole milliseconds */
    if (argc - 2 > MAX_ARGS) return JS_ThrowRangeError(ctx, "a timer takes at most %d arguments for its callback", MAX_ARGS);
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct timer *t = &timers[i];
        if (t->id != 0) continue;
        t->id = next_timer_id++;
        t->interval_ns = repeat ? (uint64_t)(ms * 1e6) : 0;
        t->deadline_ns = now_ns() + (uint64_t)(ms * 1e6); /* Node: from the time it is created */
        t->seq = next_seq++;
        t->fn = JS_DupValue(ctx, argv[0]);
        t->argc = 0;
        for (int a = 2; a < argc; a++) t->argv[t->argc++] = JS_DupValue(ctx, argv[a]);
        timers_live++;
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
    if (argc < 1 || !JS_IsNumber(argv[0]) || JS_ToInt64(ctx, &id, argv[0])) return JS_UNDEFINED;
    for (int i = 0; i < MAX_TIMERS; i++) {
        if (timers[i].id == id && id != 0) free_timer(ctx, &timers[i]);
    }
    return JS_UNDEFINED;
}

/* The earliest timer due at `at` (deadline order, then FIFO), or NULL. */
static struct timer *earliest(uint64_t at) {
    struct timer *best = NULL;
    if (timers_live == 0) return NULL;
    for (int i = 0; i < MAX_TIMERS; i++) {
        struct timer *t = &timers[i];
        if (t->id == 0 || t->deadline_ns > at) continue;
        if (!best || t->deadline_ns < best->deadline_ns || (t->deadline_ns == best->deadline_ns && t->seq < best->seq)) best = t;
    }
    return best;
}

/* ---- immediates: a FIFO ring of callbacks for the check phase ------------------------------ */

#define MAX_IMMEDIATES 4096

struct immediate {
    int64_t id; /* 0: cleared */
    JSValue fn;
    int argc;
    JSValue argv[MAX_ARGS];
};

static struct immediate immediates[MAX_IMMEDIATES];
static uint32_t imm_head, imm_tail; /* [head, tail) are queued */
static int64_t next_immediate_id = 1;

static JSValue js_set_immediate(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    if (argc < 1 || !JS_IsFunction(ctx, argv[0])) return JS_ThrowTypeError(ctx, "The \"callback\" argument must be of type function");
    if (argc - 1 > MAX_ARGS) return JS_ThrowRangeError(ctx, "setImmediate takes at most %d arguments for its callback", MAX_ARGS);
    if (imm_tail - imm_head == MAX_IMMEDIATES) return JS_ThrowRangeError(ctx, "too many immediates (%d)", MAX_IMMEDIATES);
    struct immediate *im = &immediates[imm_tail++ % MAX_IMMEDIATES];
    im->id = next_immediate_id++;
    im->fn = JS_DupValue(ctx, argv[0]);
    im->argc = 0;
    for (int a = 1; a < argc; a++) im->argv[im->argc++] = JS_DupValue(ctx, argv[a]);
    /* Negative ids: never equal to a timer's, so clearTimeout(immediate) is a no-op as in Node. */
    return JS_NewInt64(ctx, -im->id);
}

static void release_immediate(JSContext *ctx, struct immediate *im) {
    JS_FreeValue(ctx, im->fn);
    for (int i = 0; i < im->argc; i++) JS_FreeValue(ctx, im->argv[i]);
    im->id = 0;
}

static JSValue js_clear_immediate(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    int64_t id;
    if (argc < 1 || !JS_IsNumber(argv[0]) || JS_ToInt64(ctx, &id, argv[0]) || id >= 0) return JS_UNDEFINED;
    for (uint32_t i = imm_head; i != imm_tail; i++) {
        struct immediate *im = &immediates[i % MAX_IMMEDIATES];
        if (im->id == -id) release_immediate(ctx, im);
    }
    return JS_UNDEFINED;
}

/* ---- errors and the end -------------------------------------------------------------------- */

/* Rejections no handler has taken yet: as Node, the workload ends on one only when a callback and
 * the jobs after it are done and it is still unhandled (a .catch() attached later in the same
 * turn takes it). */
struct unhandled {
    JSValue promise, reason;
};
static struct unhandled *unhandled; /* grows: a turn may reject thousands before it handles them */
static size_t unhandled_count = 0, unhandled_cap = 0;
/* The prelude's reporter: prints an uncaught error as Node does (util.inspect, mapped stack). */
static JSValue reporter;
static int have_reporter = 0;

static void log_line(uint32_t level, const char *s, size_t len) {
    while (len > UK_MAX_LOG_BYTES) {
        uk_log(level, s, UK_MAX_LOG_BYTES);
        s += UK_MAX_LOG_BYTES;
        len -= UK_MAX_LOG_BYTES;
    }
    uk_log(level, s, len);
}

/* The reporter, when the prelude set one and it works; else the error's text and stack. */
static void print_exception(JSContext *ctx, JSValueConst err) {
    if (have_reporter) {
        JSValue r = JS_Call(ctx, reporter, JS_UNDEFINED, 1, &err);
        if (!JS_IsException(r)) {
            JS_FreeValue(ctx, r);
            return;
        }
        JS_FreeValue(ctx, JS_GetException(ctx));
    }
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

/* ---- process.stdout / process.stderr: whole lines through log (stderr at the error level) --- */

static char out_line[2][UK_MAX_LOG_BYTES];
static size_t out_len[2];

static int64_t flush_out(int which) {
    int64_t r = uk_log(which == 0 ? UK_LOG_INFO : UK_LOG_ERROR, out_line[which], out_len[which]);
    out_len[which] = 0;
    return r;
}

/* __zigu.write(fd, text): a line goes out at its newline (a longer one in pieces of
 * MAX_LOG_BYTES), the rest at the end; returns the first error of the ABI, else 0. */
static JSValue js_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    int32_t fd;
    if (argc < 2 || JS_ToInt32(ctx, &fd, argv[0]) || (fd != 1 && fd != 2)) return JS_ThrowTypeError(ctx, "write(fd 1|2, text)");
    size_t len;
    const char *s = JS_ToCStringLen(ctx, &len, argv[1]);
    if (!s) return JS_EXCEPTION;
    int which = fd - 1;
    int64_t r = 0;
    for (size_t i = 0; i < len && r >= 0; i++) {
        if (s[i] == '\n') {
            r = flush_out(which);
            continue;
        }
        if (out_len[which] == UK_MAX_LOG_BYTES) r = flush_out(which);
        out_line[which][out_len[which]++] = s[i];
    }
    JS_FreeCString(ctx, s);
    if (r < 0) out_len[which] = 0;
    return JS_NewInt64(ctx, r < 0 ? r : 0);
}

static _Noreturn void finish(int status) {
    for (int which = 0; which < 2; which++) {
        if (out_len[which]) flush_out(which);
    }
    zigu_libc_flush();
    uk_exit((uint32_t)status & 0xff);
}

static void report_and_exit(JSContext *ctx) {
    /* Uncatchable errors too (QuickJS makes "out of memory" one): printed, status 1.
     * process.exit() does not come here: it ends the workload itself. */
    JSValue err = JS_GetException(ctx);
    print_exception(ctx, err);
    JS_FreeValue(ctx, err);
    finish(1);
}

static void rejection_tracker(JSContext *ctx, JSValueConst promise, JSValueConst reason, bool is_handled, void *opaque) {
    (void)opaque;
    if (is_handled) {
        /* Newest first: a handler usually follows its rejection closely. */
        for (size_t i = unhandled_count; i-- > 0;) {
            if (!JS_IsStrictEqual(ctx, unhandled[i].promise, promise)) continue;
            JS_FreeValue(ctx, unhandled[i].promise);
            JS_FreeValue(ctx, unhandled[i].reason);
            memmove(&unhandled[i], &unhandled[i + 1], (unhandled_count - i - 1) * sizeof *unhandled);
            unhandled_count--;
            return;
        }
        return;
    }
    if (unhandled_count == unhandled_cap) {
        size_t cap = unhandled_cap ? unhandled_cap * 2 : 64;
        struct unhandled *grown = realloc(unhandled, cap * sizeof *grown);
        if (!grown) { /* out of memory: end on this one now */
            print_exception(ctx, reason);
            finish(1);
        }
        unhandled = grown;
        unhandled_cap = cap;
    }
    unhandled[unhandled_count].promise = JS_DupValue(ctx, promise);
    unhandled[unhandled_count].reason = JS_DupValue(ctx, reason);
    unhandled_count++;
}

/* After a callback and its jobs: the first rejection still unhandled ends the workload. */
static void check_unhandled(JSContext *ctx) {
    if (unhandled_count == 0) return;
    print_exception(ctx, unhandled[0].reason);
    finish(1);
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

static JSValue js_exit(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    int32_t code = exit_code_or(ctx, 0);
    if (argc > 0 && !JS_IsUndefined(argv[0])) JS_ToInt32(ctx, &code, argv[0]);
    finish(code);
}

/* ---- nextTick: the prelude's queue, run before the Promise jobs as Node runs it ------------ */

static JSValue tick_runner;
static int have_tick_runner = 0;
static int ticks_requested = 0;

static JSValue js_request_ticks(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)ctx; (void)this_val; (void)argc; (void)argv;
    ticks_requested = 1;
    return JS_UNDEFINED;
}

/* After each callback: the nextTick queue, then every Promise job, until both are empty. After
 * the program's module, the Promise jobs come first: Node evaluates an ES module in a job. */
static void drain(JSContext *ctx, int jobs_first) {
    JSRuntime *rt = JS_GetRuntime(ctx);
    JSContext *job_ctx;
    for (;;) {
        if (ticks_requested && have_tick_runner && !jobs_first) {
            ticks_requested = 0;
            JSValue r = JS_Call(ctx, tick_runner, JS_UNDEFINED, 0, NULL);
            if (JS_IsException(r)) report_and_exit(ctx);
            JS_FreeValue(ctx, r);
        }
        for (;;) {
            int r = JS_ExecutePendingJob(rt, &job_ctx);
            if (r == 0) break;
            if (r < 0) report_and_exit(job_ctx);
        }
        jobs_first = 0;
        if (!ticks_requested) return;
    }
}

static void drain_jobs(JSContext *ctx) {
    drain(ctx, 0);
}

static void call_callback(JSContext *ctx, JSValue fn, int argc, JSValue *argv) {
    JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, argc, argv);
    JS_FreeValue(ctx, fn);
    for (int i = 0; i < argc; i++) JS_FreeValue(ctx, argv[i]);
    if (JS_IsException(r)) report_and_exit(ctx);
    JS_FreeValue(ctx, r);
    drain_jobs(ctx);
    check_unhandled(ctx);
}

/* ---- the primitives the prelude builds on (`__zigu`, removed from the global by the prelude) - */

/* __zigu.clock(which): nanoseconds as a number (exact below 2^53 ns, 104 days), or the error. */
static JSValue js_clock(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint32_t which = 0;
    if (argc > 0 && JS_ToUint32(ctx, &which, argv[0])) return JS_EXCEPTION;
    return JS_NewFloat64(ctx, (double)uk_clock_now(which));
}

/* __zigu.random(uint8array): fills it (in pieces of MAX_RANDOM_BYTES); returns the ABI result. */
static JSValue js_random(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    size_t len;
    uint8_t *buf = argc > 0 ? JS_GetUint8Array(ctx, &len, argv[0]) : NULL;
    if (!buf) return JS_EXCEPTION;
    int64_t r = 0;
    for (size_t off = 0; off < len && r >= 0; off += UK_MAX_RANDOM_BYTES) {
        size_t take = len - off > UK_MAX_RANDOM_BYTES ? UK_MAX_RANDOM_BYTES : len - off;
        r = uk_random(buf + off, take);
    }
    return JS_NewInt64(ctx, r < 0 ? r : 0);
}

/* The capabilities entered before the program's first line, and those dropped since. */
static uint32_t caps_active = 0;

static JSValue js_caps(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val; (void)argc; (void)argv;
    return JS_NewUint32(ctx, caps_active);
}

static JSValue js_restores(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val; (void)argc; (void)argv;
    return JS_NewInt64(ctx, restores);
}

static JSValue js_cap_drop(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint32_t kind;
    if (argc < 1 || JS_ToUint32(ctx, &kind, argv[0])) return JS_EXCEPTION;
    int64_t r = uk_cap_drop(kind);
    if (r >= 0 && kind < 32) caps_active &= ~(1u << kind);
    return JS_NewInt64(ctx, r);
}

/* __zigu.file(name): a root-image file's bytes as an ArrayBuffer (a copy), or undefined. */
static JSValue js_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    size_t name_len;
    const char *name = argc > 0 ? JS_ToCStringLen(ctx, &name_len, argv[0]) : NULL;
    if (!name) return JS_EXCEPTION;
    size_t len = 0;
    const uint8_t *data = zigu_image_file(name, name_len, &len);
    JS_FreeCString(ctx, name);
    if (!data) return JS_UNDEFINED;
    return JS_NewArrayBufferCopy(ctx, data, len);
}

/* __zigu.promise(p): [state, result]: 0 pending, 1 fulfilled, 2 rejected (for util.inspect). */
static JSValue js_promise(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    if (argc < 1) return JS_ThrowTypeError(ctx, "promise(p)");
    JSPromiseStateEnum state = JS_PromiseState(ctx, argv[0]);
    if ((int)state < 0) return JS_ThrowTypeError(ctx, "not a promise");
    JSValue r = JS_NewArray(ctx);
    JS_SetPropertyUint32(ctx, r, 0, JS_NewInt32(ctx, state == JS_PROMISE_PENDING ? 0 : state == JS_PROMISE_FULFILLED ? 1 : 2));
    JS_SetPropertyUint32(ctx, r, 1, state == JS_PROMISE_PENDING ? JS_UNDEFINED : JS_PromiseResult(ctx, argv[0]));
    return r;
}

/* runtime/libc/patches/quickjs-node.patch: a Map or Set iterator's entries not yet yielded. */
JSValue JS_ZiguIteratorPreview(JSContext *ctx, JSValueConst val, bool *is_key_value);

/* __zigu.preview(iterator): [entries, isKeyValue] (util.inspect's previewEntries), or undefined. */
static JSValue js_preview(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    bool kv = false;
    JSValue entries = JS_ZiguIteratorPreview(ctx, argc > 0 ? argv[0] : JS_UNDEFINED, &kv);
    if (JS_IsException(entries) || JS_IsUndefined(entries)) return entries;
    JSValue r = JS_NewArray(ctx);
    JS_SetPropertyUint32(ctx, r, 0, entries);
    JS_SetPropertyUint32(ctx, r, 1, JS_NewBool(ctx, kv));
    return r;
}

static JSValue js_set_hooks(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    if (argc < 2 || !JS_IsFunction(ctx, argv[0]) || !JS_IsFunction(ctx, argv[1])) return JS_ThrowTypeError(ctx, "setHooks(tickRunner, reporter)");
    tick_runner = JS_DupValue(ctx, argv[0]);
    have_tick_runner = 1;
    reporter = JS_DupValue(ctx, argv[1]);
    have_reporter = 1;
    return JS_UNDEFINED;
}

/* ---- sockets and I/O watches ---------------------------------------------------------------- */
/* The sockets are the network library's (runtime/net, linked in: its io_poll folds them into the
 * kernel's). A watch is a handle registered with io_poll and the function the poll phase calls
 * with its events; a live watch keeps the loop running, as a libuv handle does. */

#define MAX_WATCHES 1024

struct watch {
    uk_handle_t handle; /* 0: free */
    uint32_t interest;
    JSValue fn;
};

static struct watch watches[MAX_WATCHES];
static int watches_live = 0;

static int to_handle(JSContext *ctx, JSValueConst v, uk_handle_t *h) {
    double d;
    if (JS_ToFloat64(ctx, &d, v)) return -1;
    *h = d > 0 && d < 9007199254740992.0 ? (uk_handle_t)d : 0;
    return 0;
}

static JSValue result(JSContext *ctx, int64_t r) {
    return JS_NewFloat64(ctx, (double)r);
}

/* __zigu.watch(handle, interest, fn): the poll phase calls fn(events) while it is ready; a new
 * interest or function replaces the old. Interest 0 removes the watch. */
static JSValue js_watch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uk_handle_t h;
    uint32_t interest = 0;
    if (argc < 2 || to_handle(ctx, argv[0], &h) || JS_ToUint32(ctx, &interest, argv[1])) return JS_EXCEPTION;
    int free_slot = -1;
    for (int i = 0; i < MAX_WATCHES; i++) {
        struct watch *w = &watches[i];
        if (w->handle == h && h != 0) {
            uk_io_unregister(h);
            JS_FreeValue(ctx, w->fn);
            w->handle = 0;
            watches_live--;
            free_slot = i;
            break;
        }
        if (w->handle == 0 && free_slot < 0) free_slot = i;
    }
    if (interest == 0) return JS_NewInt32(ctx, 0);
    if (argc < 3 || !JS_IsFunction(ctx, argv[2])) return JS_ThrowTypeError(ctx, "watch: a function is needed");
    if (free_slot < 0) return JS_ThrowRangeError(ctx, "too many sockets watched at once (%d)", MAX_WATCHES);
    int64_t r = uk_io_register(h, interest, (uint64_t)free_slot + 1);
    if (r < 0) return result(ctx, r);
    watches[free_slot] = (struct watch){ .handle = h, .interest = interest, .fn = JS_DupValue(ctx, argv[2]) };
    watches_live++;
    return JS_NewInt32(ctx, 0);
}

static JSValue js_tcp_listen(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint32_t port = 0, backlog = 0;
    if (argc < 2 || JS_ToUint32(ctx, &port, argv[0]) || JS_ToUint32(ctx, &backlog, argv[1])) return JS_EXCEPTION;
    return result(ctx, uk_tcp_listen(port, backlog));
}

static JSValue js_tcp_connect(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint32_t addr = 0, port = 0;
    if (argc < 2 || JS_ToUint32(ctx, &addr, argv[0]) || JS_ToUint32(ctx, &port, argv[1])) return JS_EXCEPTION;
    return result(ctx, uk_tcp_connect(addr, port));
}

/* __zigu.sock(op, handle): accept (0), shutdown (1), close (2). */
static JSValue js_sock(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uint32_t op = 0;
    uk_handle_t h;
    if (argc < 2 || JS_ToUint32(ctx, &op, argv[0]) || to_handle(ctx, argv[1], &h)) return JS_EXCEPTION;
    switch (op) {
    case 0: return result(ctx, uk_tcp_accept(h));
    case 1: return result(ctx, uk_sock_shutdown(h));
    default: return result(ctx, uk_handle_close(h));
    }
}

/* __zigu.send(handle, bytes): bytes taken, or a negative error code. */
static JSValue js_send(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uk_handle_t h;
    size_t len = 0;
    if (argc < 2 || to_handle(ctx, argv[0], &h)) return JS_EXCEPTION;
    uint8_t *bytes = JS_GetUint8Array(ctx, &len, argv[1]);
    if (!bytes) return JS_EXCEPTION;
    return result(ctx, uk_sock_send(h, bytes, len));
}

/* __zigu.recv(handle, max): a Uint8Array of what arrived, null at the end of the stream, or a
 * negative error code (ERR_WOULD_BLOCK: nothing yet). */
static JSValue js_recv(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    static uint8_t buf[65536];
    uk_handle_t h;
    uint32_t max = 0;
    if (argc < 2 || to_handle(ctx, argv[0], &h) || JS_ToUint32(ctx, &max, argv[1])) return JS_EXCEPTION;
    if (max > sizeof buf) max = sizeof buf;
    int64_t r = uk_sock_recv(h, buf, max);
    if (r < 0) return result(ctx, r);
    if (r == 0) return JS_NULL;
    return JS_NewUint8ArrayCopy(ctx, buf, (size_t)r);
}

/* __zigu.dnsQuery(name): a query handle (readable once answered), or a negative error code. */
static JSValue js_dns_query(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    size_t len = 0;
    if (argc < 1) return JS_EXCEPTION;
    const char *name = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!name) return JS_EXCEPTION;
    int64_t r = uk_dns_query(name, len);
    JS_FreeCString(ctx, name);
    return result(ctx, r);
}

/* __zigu.dnsResult(query): its IPv4 addresses (numbers), or a negative error code. */
static JSValue js_dns_result(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    uk_handle_t h;
    uint32_t addrs[UK_MAX_DNS_ADDRS];
    if (argc < 1 || to_handle(ctx, argv[0], &h)) return JS_EXCEPTION;
    int64_t r = uk_dns_result(h, addrs, UK_MAX_DNS_ADDRS);
    if (r < 0) return result(ctx, r);
    JSValue list = JS_NewArray(ctx);
    for (int64_t i = 0; i < r && i < UK_MAX_DNS_ADDRS; i++) JS_SetPropertyUint32(ctx, list, (uint32_t)i, JS_NewUint32(ctx, addrs[i]));
    return list;
}

/* ---- setup and the loop -------------------------------------------------------------------- */

static void add_fn(JSContext *ctx, JSValue obj, const char *name, JSCFunction *fn, int len) {
    JS_SetPropertyStr(ctx, obj, name, JS_NewCFunction(ctx, fn, name, len));
}

static void install_globals(JSContext *ctx) {
    JSValue global = JS_GetGlobalObject(ctx);
    add_fn(ctx, global, "setTimeout", js_set_timeout, 2);
    add_fn(ctx, global, "setInterval", js_set_interval, 2);
    add_fn(ctx, global, "clearTimeout", js_clear_timer, 1);
    add_fn(ctx, global, "clearInterval", js_clear_timer, 1);
    add_fn(ctx, global, "setImmediate", js_set_immediate, 1);
    add_fn(ctx, global, "clearImmediate", js_clear_immediate, 1);
    JSValue native = JS_NewObject(ctx);
    add_fn(ctx, native, "write", js_write, 2);
    add_fn(ctx, native, "promise", js_promise, 1);
    add_fn(ctx, native, "preview", js_preview, 1);
    add_fn(ctx, native, "clock", js_clock, 1);
    add_fn(ctx, native, "random", js_random, 1);
    add_fn(ctx, native, "caps", js_caps, 0);
    add_fn(ctx, native, "capDrop", js_cap_drop, 1);
    add_fn(ctx, native, "restores", js_restores, 0);
    add_fn(ctx, native, "file", js_file, 1);
    add_fn(ctx, native, "exit", js_exit, 1);
    add_fn(ctx, native, "requestTicks", js_request_ticks, 0);
    add_fn(ctx, native, "setHooks", js_set_hooks, 2);
    add_fn(ctx, native, "watch", js_watch, 3);
    add_fn(ctx, native, "tcpListen", js_tcp_listen, 2);
    add_fn(ctx, native, "tcpConnect", js_tcp_connect, 2);
    add_fn(ctx, native, "sock", js_sock, 2);
    add_fn(ctx, native, "send", js_send, 2);
    add_fn(ctx, native, "recv", js_recv, 2);
    add_fn(ctx, native, "dnsQuery", js_dns_query, 1);
    add_fn(ctx, native, "dnsResult", js_dns_result, 1);
    JS_SetPropertyStr(ctx, global, "__zigu", native);
    JS_FreeValue(ctx, global);
}

uint64_t zigu_policy(void); /* main.zig: the kinds the policy allows, from the info page */

/* Every capability the policy allows, acquired and entered before the program's first line: a
 * plain program runs unchanged, and ukernel.toml's allow list stays the boundary. Only the kinds
 * the policy names are asked for: the kernel notes every refusal on the console. */
void zigu_js_enter_capabilities(void) { /* main.zig calls it first */
    uk_handle_t handles[8];
    uint32_t kinds = 0;
    uint64_t count = 0;
    uint64_t allowed = zigu_policy();
    for (uint32_t kind = 1; kind <= 6; kind++) {
        if (!(allowed & (1ull << kind))) continue;
        int64_t h = uk_cap_acquire(kind);
        if (h > 0) {
            handles[count++] = (uk_handle_t)h;
            kinds |= 1u << kind;
        }
    }
    if (uk_cap_enter(handles, count) >= 0) caps_active = kinds;
}

JSValue zigu_js_load(JSContext *ctx, const char *program, size_t len, const char *filename, void (*before_run)(JSContext *)); /* load.c */

/* ---- Math.random and the ready point ------------------------------------------------------- */

/* Math.random is xorshift128+ (V8's) over a state seeded from the CPU's generator, replacing the
 * engine's, which QuickJS seeds from the clock once per context and offers no way to reseed. A
 * snapshot start resumes many clones from one memory image: each reseeds at the ready point, so no
 * two share a sequence. */
static uint64_t rng_s0, rng_s1;

static int have_rdrand(void) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    return (c >> 30) & 1;
}

/* 64 random bits: rdrand (open to ring 3), else the random call (CAP_RANDOM), else the TSC
 * stirred (never reached on the VMMs Zigu runs on; still differs between clones). */
static uint64_t seed_word(void) {
    if (have_rdrand()) {
        for (int i = 0; i < 32; i++) {
            uint64_t v;
            unsigned char ok;
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
            if (ok) return v;
        }
    }
    uint64_t w;
    if (uk_random(&w, sizeof w) == (int64_t)sizeof w) return w;
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t z = ((uint64_t)hi << 32 | lo) + 0x9e3779b97f4a7c15ull; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void reseed_math_random(void) {
    do {
        rng_s0 = seed_word();
        rng_s1 = seed_word();
    } while (rng_s0 == 0 && rng_s1 == 0);
}

static JSValue js_math_random(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val, (void)argc, (void)argv;
    uint64_t s1 = rng_s0;
    const uint64_t s0 = rng_s1;
    rng_s0 = s0;
    s1 ^= s1 << 23;
    s1 ^= s1 >> 17;
    s1 ^= s0;
    s1 ^= s0 >> 26;
    rng_s1 = s1;
    return JS_NewFloat64(ctx, (double)((rng_s0 + rng_s1) >> 11) * 0x1.0p-53);
}

static void install_math_random(JSContext *ctx) {
    reseed_math_random();
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue math = JS_GetPropertyStr(ctx, global, "Math");
    JS_DefinePropertyValueStr(ctx, math, "random", JS_NewCFunction(ctx, js_math_random, "random", 0), JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_FreeValue(ctx, math);
    JS_FreeValue(ctx, global);
}

/* The ready point: the program is read, the engine and the prelude are warm, none of the program
 * has run. A snapshot start (`ukernel run --snapshot`) is snapshotted inside uk_ready and its
 * clones return from it: each reseeds its random state and its loop's clock. */
static void ready_point(JSContext *ctx) {
    (void)ctx;
    int64_t r = uk_ready();
    if (r > 0) {
        restores = r;
        reseed_math_random();
        loop_ns = now_ns();
    }
}

/* The prelude: an ES module compiled to bytecode at build time (build.zig), which must not fail. */
static void run_prelude(JSContext *ctx, const char *prelude, size_t prelude_len) {
    static const char msg[] = "zigu js: the runtime's prelude failed:";
    JSValue r = zigu_js_load(ctx, prelude, prelude_len, "prelude.qjbc", NULL);
    if (JS_IsException(r)) {
        uk_log(UK_LOG_ERROR, msg, sizeof msg - 1);
        report_and_exit(ctx);
    }
    drain(ctx, 1);
    if (JS_PromiseState(ctx, r) == JS_PROMISE_REJECTED) {
        uk_log(UK_LOG_ERROR, msg, sizeof msg - 1);
        print_exception(ctx, JS_PromiseResult(ctx, r));
        finish(70);
    }
    JS_FreeValue(ctx, r);
}

/* The engine's stack limit: main.zig sets it for the stack the engine runs on. */
size_t zigu_js_stack_limit = 1u << 20;

int zigu_js_main(const char *prelude, size_t prelude_len, const char *source, size_t len, const char *filename) {
    JSRuntime *rt = JS_NewRuntime();
    static const char no_memory[] = "zigu js: no memory for the engine (ukernel.toml: memory_limit_mib or memory_mib too small)";
    if (!rt) {
        uk_log(UK_LOG_ERROR, no_memory, sizeof no_memory - 1);
        finish(70);
    }
    JS_SetMaxStackSize(rt, zigu_js_stack_limit);
    JS_SetHostPromiseRejectionTracker(rt, rejection_tracker, NULL);
    JSContext *ctx = JS_NewContext(rt);
    if (!ctx) {
        uk_log(UK_LOG_ERROR, no_memory, sizeof no_memory - 1);
        finish(70);
    }
    loop_ns = now_ns();
    install_globals(ctx);
    install_math_random(ctx);
    run_prelude(ctx, prelude, prelude_len);

    JSValue result = zigu_js_load(ctx, source, len, filename, ready_point);
    if (JS_IsException(result)) report_and_exit(ctx);
    JS_FreeValue(ctx, result);
    drain(ctx, 1);
    check_unhandled(ctx);

    wake_timer = (uk_handle_t)uk_timer_create();
    uk_io_register(wake_timer, UK_EV_READABLE, 0);
    for (;;) {
        /* timers: those due at the iteration's time, each followed by the ticks and jobs */
        loop_ns = now_ns();
        struct timer *t;
        while ((t = earliest(loop_ns)) != NULL) {
            JSValue fn = JS_DupValue(ctx, t->fn);
            int argc = t->argc;
            JSValue argv[MAX_ARGS];
            for (int i = 0; i < argc; i++) argv[i] = JS_DupValue(ctx, t->argv[i]);
            if (t->interval_ns) {
                t->deadline_ns = loop_ns + t->interval_ns;
                t->seq = next_seq++;
            } else {
                free_timer(ctx, t);
            }
            call_callback(ctx, fn, argc, argv);
        }
        int immediates_pending = imm_head != imm_tail;
        if (!immediates_pending && timers_live == 0 && watches_live == 0) break;
        /* poll: wait for the next timer or a watched handle, unless immediates are pending */
        if (!immediates_pending || watches_live > 0) {
            struct timer *next = timers_live ? earliest(UINT64_MAX) : NULL;
            uint64_t now = now_ns();
            int64_t timeout = UK_TIMEOUT_INFINITE;
            if (immediates_pending || (next && next->deadline_ns <= now)) timeout = 0;
            else if (next) uk_timer_arm(wake_timer, next->deadline_ns - now, 0);
            struct uk_event ev[64];
            int64_t n = uk_io_poll(ev, 64, timeout); /* the only way this runtime waits */
            for (int64_t i = 0; i < n; i++) {
                uint64_t slot = ev[i].user_data;
                if (slot == 0 || slot > MAX_WATCHES) continue; /* the wake timer */
                struct watch *w = &watches[slot - 1];
                if (w->handle == 0) continue; /* unwatched by an earlier callback */
                JSValue arg = JS_NewUint32(ctx, ev[i].events);
                call_callback(ctx, JS_DupValue(ctx, w->fn), 1, &arg);
            }
            if (!immediates_pending) continue;
        }
        /* check: the immediates queued before this phase began */
        uint32_t end = imm_tail;
        while (imm_head != end) {
            struct immediate *im = &immediates[imm_head++ % MAX_IMMEDIATES];
            if (im->id == 0) continue;
            JSValue fn = im->fn;
            int argc = im->argc;
            JSValue argv[MAX_ARGS];
            for (int i = 0; i < argc; i++) argv[i] = im->argv[i];
            im->id = 0;
            call_callback(ctx, fn, argc, argv);
        }
    }
    finish(exit_code_or(ctx, 0));
}
