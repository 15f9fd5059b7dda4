/* main.qjbc: a workload's program as QuickJS-NG bytecode, written on the host by compile.c and
 * read in the guest by load.c. A 40-byte header of ours, then JS_WriteObject's output for one
 * ES module:
 *
 *   0  magic   "ZIGUQJBC"
 *   8  u32 LE  format of this header (ZIGU_QJBC_FORMAT)
 *  12  u32 LE  length of the body that follows, in bytes (the file is exactly 40 + that)
 *  16  char[16] engine that wrote the body, NUL-padded (ZIGU_QJBC_ENGINE)
 *  32  u64 LE  FNV-1a (64-bit) of the body: any one changed byte changes it. QuickJS's own
 *              checksum leaves the body's last 4 bytes out when its length is a multiple of 4
 *  40  body    QuickJS's own format: its version byte (ZIGU_QJBC_BC_VERSION), that checksum,
 *              the atom table, the module
 *
 * QuickJS's reader trusts its input (quickjs.h: "only enable JS_READ_OBJ_BYTECODE on input from a
 * trusted source"): the header and these checks catch a file that is truncated, damaged or from
 * another engine before the engine reads it, so that such a file ends with a clear error line.
 * A file crafted to pass them is code the workload runs: it can do what the workload's own ELF in
 * the same image can do, in ring 3, under the same policy. */
#ifndef ZIGU_BYTECODE_H
#define ZIGU_BYTECODE_H

#include <stdint.h>
#include <string.h>
#include "quickjs.h"

#define ZIGU_QJBC_MAGIC "ZIGUQJBC"
#define ZIGU_QJBC_FORMAT 1u
#define ZIGU_QJBC_HEADER_BYTES 40u
#define ZIGU_QJBC_ENGINE_BYTES 16u

#define ZIGU_QJBC_STR2(x) #x
#define ZIGU_QJBC_STR(x) ZIGU_QJBC_STR2(x)
/* The engine's release; the bytecode's layout also depends on its build flags, which compile.c
 * and the guest share (build.zig's js-compiler step, scripts/runtime-deps). */
#define ZIGU_QJBC_ENGINE \
    "qjs-ng " ZIGU_QJBC_STR(QJS_VERSION_MAJOR) "." ZIGU_QJBC_STR(QJS_VERSION_MINOR) "." ZIGU_QJBC_STR(QJS_VERSION_PATCH)
/* quickjs.c's BC_VERSION (not in quickjs.h): the first byte of the body. compile.c refuses to
 * write a body that starts otherwise, so an engine update that changes it cannot go unnoticed. */
#define ZIGU_QJBC_BC_VERSION 29u
/* A body checksum of all ones makes QuickJS skip its check (a testing hatch): never accepted. */
#define ZIGU_QJBC_NO_CHECKSUM 0xffffffffu

_Static_assert(sizeof(ZIGU_QJBC_MAGIC) - 1 == 8, "the magic is 8 bytes");
_Static_assert(sizeof(ZIGU_QJBC_ENGINE) <= ZIGU_QJBC_ENGINE_BYTES, "the engine name fits its field");

static inline uint32_t zigu_qjbc_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void zigu_qjbc_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t zigu_qjbc_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static inline void zigu_qjbc_header(uint8_t out[ZIGU_QJBC_HEADER_BYTES], const uint8_t *body, uint32_t body_bytes) {
    memset(out, 0, ZIGU_QJBC_HEADER_BYTES);
    memcpy(out, ZIGU_QJBC_MAGIC, 8);
    zigu_qjbc_put_u32(out + 8, ZIGU_QJBC_FORMAT);
    zigu_qjbc_put_u32(out + 12, body_bytes);
    memcpy(out + 16, ZIGU_QJBC_ENGINE, sizeof(ZIGU_QJBC_ENGINE) - 1);
    uint64_t h = zigu_qjbc_hash(body, body_bytes);
    zigu_qjbc_put_u32(out + 32, (uint32_t)h);
    zigu_qjbc_put_u32(out + 36, (uint32_t)(h >> 32));
}

#endif
