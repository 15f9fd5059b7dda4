/* zigu-qjsc: compiles a workload's bundle to QuickJS-NG bytecode on the host, so that the guest
 * runs it without parsing source at boot (`ukernel build` runs it on main.js; build.zig's
 * js-compiler step builds it from the same engine sources and flags as the guest's runtime).
 *
 *   zigu-qjsc [--strip-source] <input.js> <output.qjbc> [<module name>]
 *
 * The input is compiled as one ES module named <module name> (default: the input's file name):
 * that name is what stacks show, as they do when the guest parses the source itself. Debug
 * information is kept: line and column tables, so stacks name positions, and each function's
 * source text, so Function.prototype.toString gives it as under Node (and Node's inspect tells a
 * class from a function by it). That text is most of the file (a function's text is stored again
 * in each function around it: ~3x the bundle's size); --strip-source leaves it out (~1.2x), and
 * toString then gives `function name() { [native code] }`. The output is bytecode.h's header
 * and JS_WriteObject's bytes, written to a temporary file and renamed into place. A syntax error
 * prints `<input>:<line>:<column>: SyntaxError: <message>` and exits with 1; other failures (I/O,
 * memory) exit with 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "bytecode.h"

static const char *input_path;

static _Noreturn void fail(const char *what, const char *detail) {
    fprintf(stderr, "zigu-qjsc: %s: %s\n", what, detail);
    exit(2);
}

/* The whole file, NUL-terminated (JS_Eval reads input[len] and wants '\0' there). */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail(path, strerror(errno));
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    if (!buf) fail(path, "out of memory");
    for (;;) {
        if (used + 1 >= cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) fail(path, "out of memory");
            buf = grown;
        }
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (n == 0) break;
    }
    if (ferror(f)) fail(path, strerror(errno));
    fclose(f);
    buf[used] = '\0';
    *len = used;
    return buf;
}

/* `<input>:<line>:<col>: <Name>: <message>` for a parse error: the position is the first frame of
 * the error's stack, "    at <module name>:<line>:<col>". */
static void report_syntax_error(JSContext *ctx, const char *module_name) {
    JSValue err = JS_GetException(ctx);
    const char *msg = JS_ToCString(ctx, err);
    int line = 0, col = 0;
    JSValue stack = JS_GetPropertyStr(ctx, err, "stack");
    const char *st = JS_IsString(stack) ? JS_ToCString(ctx, stack) : NULL;
    if (st) {
        const char *at = strstr(st, module_name);
        if (at) sscanf(at + strlen(module_name), ":%d:%d", &line, &col);
    }
    if (line > 0) fprintf(stderr, "%s:%d:%d: %s\n", input_path, line, col, msg ? msg : "SyntaxError");
    else fprintf(stderr, "%s: %s\n", input_path, msg ? msg : "SyntaxError");
    if (st) JS_FreeCString(ctx, st);
    if (msg) JS_FreeCString(ctx, msg);
    JS_FreeValue(ctx, stack);
    JS_FreeValue(ctx, err);
}

int main(int argc, char **argv) {
    int write_flags = JS_WRITE_OBJ_BYTECODE;
    if (argc > 1 && strcmp(argv[1], "--strip-source") == 0) {
        write_flags |= JS_WRITE_OBJ_STRIP_SOURCE;
        argv++;
        argc--;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: zigu-qjsc [--strip-source] <input.js> <output.qjbc> [<module name>]\n");
        return 2;
    }
    input_path = argv[1];
    const char *output = argv[2];
    const char *module_name = argc == 4 ? argv[3] : (strrchr(input_path, '/') ? strrchr(input_path, '/') + 1 : input_path);

    size_t len;
    char *source = read_all(input_path, &len);
    JSRuntime *rt = JS_NewRuntime();
    if (!rt) fail("engine", "out of memory");
    JSContext *ctx = JS_NewContext(rt);
    if (!ctx) fail("engine", "out of memory");

    JSValue module = JS_Eval(ctx, source, len, module_name, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(module)) {
        report_syntax_error(ctx, module_name);
        return 1;
    }
    size_t body_bytes;
    uint8_t *body = JS_WriteObject(ctx, &body_bytes, module, write_flags);
    if (!body) fail(input_path, "the engine could not write the module's bytecode");
    if (body_bytes < 5 || body[0] != ZIGU_QJBC_BC_VERSION) fail("engine", "its bytecode version is not bytecode.h's ZIGU_QJBC_BC_VERSION: update it with the engine");
    /* One body in 2^32 has QuickJS's "no checksum" value, which the guest refuses. */
    if (zigu_qjbc_get_u32(body + 1) == ZIGU_QJBC_NO_CHECKSUM) fail(input_path, "its bytecode's checksum is the one value the guest refuses: change the program by a byte");
    if (body_bytes > UINT32_MAX - ZIGU_QJBC_HEADER_BYTES) fail(input_path, "the bytecode is larger than 4 GiB");

    uint8_t header[ZIGU_QJBC_HEADER_BYTES];
    zigu_qjbc_header(header, body, (uint32_t)body_bytes);
    size_t tmp_len = strlen(output) + 5;
    char *tmp = malloc(tmp_len);
    if (!tmp) fail(output, "out of memory");
    snprintf(tmp, tmp_len, "%s.tmp", output);
    FILE *f = fopen(tmp, "wb");
    if (!f) fail(tmp, strerror(errno));
    if (fwrite(header, 1, sizeof header, f) != sizeof header || fwrite(body, 1, body_bytes, f) != body_bytes || fclose(f) != 0) fail(tmp, strerror(errno));
    if (rename(tmp, output) != 0) fail(output, strerror(errno));

    js_free(ctx, body);
    JS_FreeValue(ctx, module);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    free(tmp);
    free(source);
    return 0;
}
