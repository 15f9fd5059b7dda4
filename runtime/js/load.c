/* The workload's program into the engine: source (main.js, or the script built into the ELF) is
 * parsed as an ES module; bytecode (main.qjbc, written on the host by compile.c: `ukernel build`)
 * is read, its imports resolved, and evaluated, without parsing anything. Either way the result
 * is what JS_Eval gives for a module: the promise of its evaluation, or an exception.
 *
 * Bytecode comes from the user's own `ukernel build` and QuickJS reads it without verifying it, so
 * the checks here are for a damaged or stale file, not a hostile one (bytecode.h). They run before
 * the engine reads a byte; each failure, and any error of the engine's reader after them, is one
 * error line and exit status 65 (sysexits' EX_DATAERR). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "quickjs.h"
#include "ukernel_abi.h"
#include "bytecode.h"

void zigu_libc_flush(void);

#define EXIT_BAD_BYTECODE 65

static _Noreturn void refuse(const char *filename, const char *why) {
    char line[UK_MAX_LOG_BYTES];
    int n = snprintf(line, sizeof line, "%s: %s; rebuild the image (ukernel build, ukernel pack)", filename, why);
    uk_log(UK_LOG_ERROR, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    zigu_libc_flush();
    uk_exit(EXIT_BAD_BYTECODE);
}

/* The header and QuickJS's own preamble (version byte, checksum): a reason to refuse, or NULL. */
static const char *check_header(const uint8_t *p, size_t len, char *why, size_t why_len) {
    if (len < ZIGU_QJBC_HEADER_BYTES + 5) {
        snprintf(why, why_len, "truncated (%zu bytes; the smallest is %u)", len, ZIGU_QJBC_HEADER_BYTES + 5);
        return why;
    }
    if (memcmp(p, ZIGU_QJBC_MAGIC, 8) != 0) return "not Zigu bytecode (no ZIGUQJBC magic)";
    uint32_t format = zigu_qjbc_get_u32(p + 8);
    if (format != ZIGU_QJBC_FORMAT) {
        snprintf(why, why_len, "header format %u, this runtime reads %u", format, ZIGU_QJBC_FORMAT);
        return why;
    }
    uint32_t body = zigu_qjbc_get_u32(p + 12);
    if (body != len - ZIGU_QJBC_HEADER_BYTES) {
        snprintf(why, why_len, "%s (the header gives %u bytes of bytecode, the file holds %zu)", body > len - ZIGU_QJBC_HEADER_BYTES ? "truncated" : "has trailing bytes", body, len - ZIGU_QJBC_HEADER_BYTES);
        return why;
    }
    uint8_t expected[ZIGU_QJBC_ENGINE_BYTES] = {0};
    memcpy(expected, ZIGU_QJBC_ENGINE, sizeof(ZIGU_QJBC_ENGINE) - 1);
    if (memcmp(p + 16, expected, sizeof expected) != 0) {
        size_t n = strnlen((const char *)p + 16, ZIGU_QJBC_ENGINE_BYTES);
        for (size_t i = 0; i < n; i++) {
            if (p[16 + i] < 0x20 || p[16 + i] > 0x7e) n = 0; /* not a name: say nothing of it */
        }
        snprintf(why, why_len, "compiled by \"%.*s\", this runtime is %s", (int)n, (const char *)p + 16, ZIGU_QJBC_ENGINE);
        return why;
    }
    const uint8_t *bc = p + ZIGU_QJBC_HEADER_BYTES;
    uint64_t want = (uint64_t)zigu_qjbc_get_u32(p + 32) | (uint64_t)zigu_qjbc_get_u32(p + 36) << 32;
    if (zigu_qjbc_hash(bc, body) != want) return "damaged (its hash does not match its bytes)";
    if (bc[0] != ZIGU_QJBC_BC_VERSION) {
        snprintf(why, why_len, "bytecode version %u, this runtime reads %u", bc[0], ZIGU_QJBC_BC_VERSION);
        return why;
    }
    if (zigu_qjbc_get_u32(bc + 1) == ZIGU_QJBC_NO_CHECKSUM) return "its checksum is the value that turns QuickJS's check off";
    return NULL;
}

static JSValue load_bytecode(JSContext *ctx, const uint8_t *p, size_t len, const char *filename, void (*before_run)(JSContext *)) {
    char why[160];
    const char *bad = check_header(p, len, why, sizeof why);
    if (bad) refuse(filename, bad);
    JSValue module = JS_ReadObject(ctx, p + ZIGU_QJBC_HEADER_BYTES, len - ZIGU_QJBC_HEADER_BYTES, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(module)) {
        JSValue err = JS_GetException(ctx);
        const char *msg = JS_ToCString(ctx, err);
        snprintf(why, sizeof why, "unreadable bytecode (%s)", msg ? msg : "?");
        refuse(filename, why);
    }
    if (JS_VALUE_GET_TAG(module) != JS_TAG_MODULE) refuse(filename, "the bytecode is not an ES module");
    if (JS_ResolveModule(ctx, module) < 0) {
        JS_FreeValue(ctx, module);
        return JS_EXCEPTION;
    }
    if (before_run) before_run(ctx);
    return JS_EvalFunction(ctx, module);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* runtime.c's one entry into the program: `filename` names the file it came from (main.qjbc is
 * bytecode; anything else is source, which JS_Eval wants NUL-terminated at source[len]).
 * `before_run`, if given, runs once the program is read and before any of it runs: the ready
 * point (runtime.c). */
JSValue zigu_js_load(JSContext *ctx, const char *program, size_t len, const char *filename, void (*before_run)(JSContext *)) {
    if (ends_with(filename, ".qjbc")) return load_bytecode(ctx, (const uint8_t *)program, len, filename, before_run);
    JSValue module = JS_Eval(ctx, program, len, filename, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(module)) return module;
    if (before_run) before_run(ctx);
    return JS_EvalFunction(ctx, module);
}
