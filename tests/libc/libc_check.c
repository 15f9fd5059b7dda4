/* Host checks of the guest's picolibc (.deps/lib/libpicolibc.a): reads one request a line on
 * stdin and answers one line on stdout, so that tests/libc/libc.test.ts computes what is expected
 * with Node and compares. Compiled with the picolibc headers QuickJS sees.
 *   strtod TEXT          -> bits of strtod(TEXT) (16 hex digits) and how many bytes it read
 *   printf FORMAT BITS   -> snprintf(FORMAT, the double with those bits)
 *   FN BITS [BITS]       -> bits of the libm function FN at those doubles
 * An unknown request answers "?". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double from_bits(const char *hex) {
    uint64_t u = strtoull(hex, NULL, 16);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void put_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    char out[17];
    for (int i = 15; i >= 0; i--, u >>= 4) out[i] = "0123456789abcdef"[u & 15];
    out[16] = 0;
    fputs(out, stdout);
}

typedef double (*fn1)(double);
typedef double (*fn2)(double, double);
/* The archive's functions themselves: `(name)` is never a function-like macro (picolibc's math.h
 * makes log2(x) the macro log(x)/ln2; the patched QuickJS calls (log2) too). */
#define F1(name) static double w_##name(double x) { return (name)(x); }
#define F2(name) static double w_##name(double x, double y) { return (name)(x, y); }
F1(acos) F1(acosh) F1(asin) F1(asinh) F1(atan) F1(atanh) F1(cbrt) F1(ceil) F1(cos) F1(cosh)
F1(exp) F1(expm1) F1(floor) F1(log) F1(log1p) F1(log10) F1(log2) F1(sin) F1(sinh) F1(sqrt)
F1(tan) F1(tanh) F1(trunc) F1(fabs) F2(atan2) F2(pow) F2(hypot) F2(fmod)
static const struct { const char *name; fn1 f1; fn2 f2; } fns[] = {
#define E1(name) { #name, w_##name, NULL },
#define E2(name) { #name, NULL, w_##name },
    E1(acos) E1(acosh) E1(asin) E1(asinh) E1(atan) E1(atanh) E1(cbrt) E1(ceil) E1(cos) E1(cosh)
    E1(exp) E1(expm1) E1(floor) E1(log) E1(log1p) E1(log10) E1(log2) E1(sin) E1(sinh) E1(sqrt)
    E1(tan) E1(tanh) E1(trunc) E1(fabs) E2(atan2) E2(pow) E2(hypot) E2(fmod)
};

static void answer(char *req) {
    char *sp = strchr(req, ' ');
    if (!sp) { fputs("?", stdout); return; }
    *sp = 0;
    char *arg = sp + 1;
    if (strcmp(req, "strtod") == 0) {
        char *end;
        double d = strtod(arg, &end);
        put_bits(d);
        printf(" %d", (int)(end - arg));
        return;
    }
    if (strcmp(req, "printf") == 0) {
        char *bits = strrchr(arg, ' ');
        if (!bits) { fputs("?", stdout); return; }
        *bits++ = 0;
        static char buf[2048];
        snprintf(buf, sizeof buf, arg, from_bits(bits));
        fputs(buf, stdout);
        return;
    }
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (strcmp(req, fns[i].name) != 0) continue;
        char *y = strchr(arg, ' ');
        if (fns[i].f1) put_bits(fns[i].f1(from_bits(arg)));
        else if (y) put_bits(fns[i].f2(from_bits(arg), from_bits(y + 1)));
        else fputs("?", stdout);
        return;
    }
    fputs("?", stdout);
}

int main(void) {
    static char req[8192];
    while (fgets(req, sizeof req, stdin)) {
        size_t n = strlen(req);
        if (n > 0 && req[n - 1] == '\n') req[n - 1] = 0;
        answer(req);
        fputc('\n', stdout);
    }
    fflush(stdout);
    return 0;
}
