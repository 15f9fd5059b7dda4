//! cbrt for the ring-3 libm: the pinned Zig's own (std.math.cbrt, a port of musl's, which is
//! FreeBSD's s_cbrt.c, the algorithm V8 uses for Math.cbrt). picolibc's older fdlibm cbrt is one
//! ulp off Node for some inputs. scripts/runtime-deps puts it into libpicolibc.a instead of
//! picolibc's libm/common/s_cbrt.c.
const std = @import("std");

export fn cbrt(x: f64) f64 {
    return std.math.cbrt(x);
}
