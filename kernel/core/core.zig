//! The kernel's pure core as one module, for the host library (host/lib.zig), which runs the same
//! calls on the host: the objects (capabilities, handles, timers, poll set, tasks), what each call
//! does, and the ABI's generated numbers.
pub const objects = @import("objects.zig");
pub const calls = @import("calls.zig");
pub const memory = @import("memory.zig");
pub const numbers = @import("abi_numbers.zig");
