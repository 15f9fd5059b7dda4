/* The CPU benchmark's host side (bench/js.ts): the guest's engine — QuickJS-NG 0.18.0 with our
 * patches, the same engine flags — built for the host with its libc, running a script with a
 * console.log of its own. Ring 3 runs natively, so guest against this is the cost of Zigu
 * (picolibc's malloc and libm, the kernel), not of the engine.
 *
 *   qjs-host <script.js> */
#include <stdio.h>
#include <stdlib.h>
#include "quickjs.h"

static JSValue js_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    (void)this_val;
    for (int i = 0; i < argc; i++) {
        const char *s = JS_ToCString(ctx, argv[i]);
        if (!s) return JS_EXCEPTION;
        printf("%s%s", i ? " " : "", s);
        JS_FreeCString(ctx, s);
    }
    putchar('\n');
    return JS_UNDEFINED;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: qjs-host <script.js>\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    static char src[1 << 20];
    size_t len = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[len] = 0;
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue console = JS_NewObject(ctx);
    JS_SetPropertyStr(ctx, console, "log", JS_NewCFunction(ctx, js_log, "log", 1));
    JS_SetPropertyStr(ctx, global, "console", console);
    JS_FreeValue(ctx, global);
    JSValue r = JS_Eval(ctx, src, len, argv[1], JS_EVAL_TYPE_MODULE);
    if (JS_IsException(r)) {
        JSValue e = JS_GetException(ctx);
        const char *s = JS_ToCString(ctx, e);
        fprintf(stderr, "%s\n", s ? s : "exception");
        return 1;
    }
    JS_FreeValue(ctx, r);
    JSContext *job;
    while (JS_ExecutePendingJob(rt, &job) > 0) {
    }
    return 0;
}
