//! The JavaScript workload's entry: runs runtime.c's event loop on the program. A packed
//! workload finds it as `main.qjbc` (or `main.js`) in its root image (mapped read-only by the
//! kernel; `ukernel pack` writes it), and an image without either ends with status 66; booted
//! without an image (an initrd), the script built into this ELF (build.zig's anonymous import
//! "script") runs. The prelude (runtime/js/prelude/, bundled by the CLI: src/runtime-js.ts) is
//! built in and runs first.
const zigu = @import("zigu");
const tar = @import("tar");

comptime {
    _ = @import("ukernel_abi_guest");
}

extern fn zigu_js_main(prelude: [*]const u8, prelude_len: usize, source: [*]const u8, len: usize, filename: [*:0]const u8) callconv(.c) c_int;

const built_in = @embedFile("script");
const prelude = @embedFile("prelude");

/// A file of the root image for runtime.c (`__zigu.file`): its bytes, or null.
export fn zigu_image_file(name: [*]const u8, name_len: usize, len: *usize) callconv(.c) ?[*]const u8 {
    const image = zigu.rootImage();
    if (image.len == 0) return null;
    const file = tar.find(image, name[0..name_len]) catch return null;
    const data = file orelse return null;
    len.* = data.len;
    return data.ptr;
}

/// QuickJS recurses on the C stack, several C frames per JavaScript call: the 2 MiB stack the
/// kernel gives holds ~1,000 nested calls, Node ~10,000. The engine runs on a stack of its own
/// from mem_map (counted against the memory limit), and keeps 1 MiB of it for C; where the
/// limit refuses it, on the kernel's stack with a 1 MiB engine limit.
const js_stack_bytes = 16 << 20;
const fallback_js_limit = 1 << 20;

extern var zigu_js_stack_limit: usize;

const Program = struct { source: []const u8, name: [*:0]const u8 };
var program: Program = undefined;

fn run() callconv(.c) noreturn {
    const status = zigu_js_main(prelude.ptr, prelude.len, program.source.ptr, program.source.len, program.name);
    zigu.exit(@truncate(@as(c_uint, @bitCast(status))));
}

extern fn zigu_js_enter_capabilities() callconv(.c) void;

/// For runtime.c: the kinds the policy allows (zigu.policy), so it asks for nothing else.
export fn zigu_policy() callconv(.c) u64 {
    return zigu.policy();
}

/// The engine's stack: 16 MiB, or 4 MiB, whichever leaves `heap_room` under the memory limit
/// (a small limit must not go to the stack), else null (the kernel's stack).
const heap_room = 8 << 20;
fn engineStack() ?[]align(4096) u8 {
    for ([_]u64{ js_stack_bytes, 4 << 20 }) |size| {
        const stack = zigu.memMap(size) catch continue;
        const probe = zigu.memMap(heap_room) catch {
            zigu.memUnmap(stack) catch {};
            continue;
        };
        zigu.memUnmap(probe) catch {};
        return stack;
    }
    return null;
}

pub fn main() u8 {
    // Every capability the policy allows, before anything (runtime.c says why).
    zigu_js_enter_capabilities();
    const image = zigu.rootImage();
    // The bundle compiled on the host (`ukernel build`: runtime/js/compile.c), else its source;
    // runtime/js/load.c tells them apart by the name.
    const bytecode = if (image.len > 0) tar.find(image, "main.qjbc") catch null else null;
    const source = if (image.len > 0) tar.find(image, "main.js") catch null else null;
    if (image.len > 0 and bytecode == null and source == null) {
        // A root image is the program's: without one in it, running the built-in script would be
        // a wrong answer, not a fallback.
        const msg = "zigu js: the root image holds neither main.qjbc nor main.js (ukernel pack puts the program there)";
        zigu.logAt(.err, msg) catch {};
        zigu.exit(66);
    }
    program = .{
        .source = bytecode orelse source orelse built_in,
        .name = if (bytecode != null) "main.qjbc" else "main.js",
    };
    const stack = engineStack() orelse {
        zigu_js_stack_limit = fallback_js_limit;
        run();
    };
    zigu_js_stack_limit = stack.len - (1 << 20);
    // Onto the new stack for good: zigu_js_main never returns (it ends the workload).
    asm volatile (
        \\ mov %[top], %%rsp
        \\ call *%[f]
        \\ ud2
        :
        : [top] "r" (@intFromPtr(stack.ptr) + stack.len),
          [f] "r" (&run),
    );
    unreachable;
}
