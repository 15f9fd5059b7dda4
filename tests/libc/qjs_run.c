/* Runs the script on stdin with the guest's engine and libc (.deps/lib/libquickjs.a and
 * libpicolibc.a) as a static x86_64-linux program, with console.log and nothing else: what
 * tests/libc/libc.test.ts uses to compare the guest's Math with Node's without booting a VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "quickjs.h"

static JSValue console_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    for (int i = 0; i < argc; i++) {
        const char *s = JS_ToCString(ctx, argv[i]);
        if (!s) return JS_EXCEPTION;
        fputs(i ? " " : "", stdout);
        fputs(s, stdout);
        JS_FreeCString(ctx, s);
    }
    fputc('\n', stdout);
    return JS_UNDEFINED;
}

static int report(JSContext *ctx) {
    JSValue e = JS_GetException(ctx);
    const char *s = JS_ToCString(ctx, e);
    fprintf(stderr, "uncaught: %s\n", s ? s : "?");
    JS_FreeCString(ctx, s);
    JS_FreeValue(ctx, e);
    return 1;
}

int main(void) {
    size_t cap = 1 << 20, len = 0;
    char *src = malloc(cap + 1);
    for (;;) {
        if (len == cap) src = realloc(src, (cap *= 2) + 1);
        ssize_t n = read(0, src + len, cap - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    src[len] = 0;
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue console = JS_NewObject(ctx);
    JS_SetPropertyStr(ctx, console, "log", JS_NewCFunction(ctx, console_log, "log", 1));
    JS_SetPropertyStr(ctx, global, "console", console);
    JS_FreeValue(ctx, global);
    int status = 0;
    JSValue r = JS_Eval(ctx, src, len, "main.js", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(r)) status = report(ctx);
    JS_FreeValue(ctx, r);
    JSContext *job;
    while (status == 0 && JS_ExecutePendingJob(rt, &job) > 0) {}
    fflush(stdout);
    return status;
}
