//! Zigu build: the kernel (x86_64 freestanding, no SSE), its built-in ring-3 workloads (with SSE),
//! the PVH stub the boot benchmark compares against, and the host unit tests of the kernel's pure core.
const std = @import("std");


pub fn build(b: *std.Build) void {
    const optimize = b.standardOptimizeOption(.{});
    // The built-in workloads default to ReleaseSafe even in a Debug kernel: the kernel copies every
    // byte of their image with emulated ring-0 instructions under kvm-pvm, and a Debug workload is
    // twenty times the size (160 ms of boot against 5 ms).
    const workload_optimize = b.option(std.lang.Optimize, "workload-optimize", "Optimize mode of the built-in workloads (default safe, i.e. ReleaseSafe)") orelse .safe;

    const kernel_target = b.resolveTargetQuery(.{
        .cpu_arch = .x86_64,
        .os_tag = .freestanding,
        .abi = .none,
        .cpu_model = .baseline,
        // The kernel never touches SSE/AVX state: ring-0 SSE kills a kvm-pvm VM, and the workload's
        // registers then need no saving on kernel entry.
        .cpu_features_sub = std.Target.x86.featureSet(&.{ .mmx, .sse, .sse2, .sse3, .ssse3, .sse4_1, .sse4_2, .avx, .avx2, .popcnt }),
    });
    const user_target = b.resolveTargetQuery(.{
        .cpu_arch = .x86_64,
        .os_tag = .freestanding,
        .abi = .none,
        .cpu_model = .baseline,
    });

    // The guest's network library (runtime/net, scripts/net-lib): linked into the js workload and
    // into a user's workload when given; their io_poll, io_register, io_unregister and handle_close
    // then go to it first (user/ukernel_abi_guest.zig).
    const net_lib = b.option([]const u8, "net-lib", "The network library archive (scripts/net-lib: .deps/lib/libzigu_net.a)");

    // Ring-3 workloads built into the kernel image: the sample and the ones the boot tests need.
    const layout_mod = b.createModule(.{ .root_source_file = b.path("kernel/layout.zig") });
    const user_lib = b.createModule(.{ .root_source_file = b.path("user/zigu.zig"), .target = user_target, .optimize = workload_optimize });
    user_lib.addImport("layout", layout_mod);
    user_lib.addImport("abi_numbers", b.createModule(.{ .root_source_file = b.path("kernel/core/abi_numbers.zig") }));
    const workloads = [_]struct { name: []const u8, path: []const u8, c_source: ?[]const u8 = null }{
        .{ .name = "hello", .path = "examples/hello/main.zig" },
        .{ .name = "fault", .path = "tests/kernel/workloads/fault.zig" },
        .{ .name = "exitcode", .path = "tests/kernel/workloads/exitcode.zig" },
        .{ .name = "hang", .path = "tests/kernel/workloads/hang.zig" },
        .{ .name = "idle", .path = "tests/kernel/workloads/idle.zig" },
        .{ .name = "snapshot", .path = "tests/kernel/workloads/snapshot.zig" },
        .{ .name = "abi", .path = "tests/kernel/workloads/abi.zig" },
        .{ .name = "abibench", .path = "tests/kernel/workloads/abibench.zig" },
        .{ .name = "tasks", .path = "tests/kernel/workloads/tasks.zig" },
        .{ .name = "hostile", .path = "tests/kernel/workloads/hostile.zig" },
        .{ .name = "bigbss", .path = "tests/kernel/workloads/bigbss.zig" },
        // C through include/ukernel_abi.h; the same source also runs against libukernel_abi.so.
        .{ .name = "abi_smoke", .path = "tests/kernel/workloads/c_main.zig", .c_source = "tests/kernel/abi_smoke.c" },
        .{ .name = "memory", .path = "tests/kernel/workloads/memory.zig" },
        .{ .name = "net", .path = "tests/kernel/workloads/net.zig" },
    };
    var workload_names: [workloads.len][]const u8 = undefined;
    for (workloads, 0..) |w, i| workload_names[i] = w.name;
    const options = b.addOptions();
    options.addOption([]const []const u8, "workloads", &workload_names);

    const kernel_mod = b.createModule(.{
        .root_source_file = b.path("kernel/main.zig"),
        .target = kernel_target,
        .optimize = optimize,
        .code_model = .kernel,
        .red_zone = false,
        .pic = false,
        .stack_protector = false,
        .stack_check = true, // probes big frames onto the guard pages (entry.S: __zig_probe_stack)
        .single_threaded = true,
        .no_builtin = true,
        .omit_frame_pointer = false,
    });
    kernel_mod.addOptions("build_options", options);
    kernel_mod.addAssemblyFile(b.path("kernel/arch/x86_64/boot.S"));
    kernel_mod.addAssemblyFile(b.path("kernel/arch/x86_64/entry.S"));

    for (workloads) |w| {
        const app = b.createModule(.{ .root_source_file = b.path(w.path), .target = user_target, .optimize = workload_optimize });
        app.addImport("zigu", user_lib);
        if (w.c_source) |c_source| {
            const guest_c_abi = guestCAbi(b, user_lib, user_target, workload_optimize, false);
            app.addImport("ukernel_abi_guest", guest_c_abi);
            app.addIncludePath(b.path("include"));
            app.addCSourceFile(.{ .file = b.path(c_source), .flags = &.{ "-std=c11", "-ffreestanding", "-Wall", "-Wextra", "-Werror", "-fPIC" } });
        }
        const exe = addWorkload(b, w.name, app, user_lib, user_target, workload_optimize);
        b.getInstallStep().dependOn(&b.addInstallArtifact(exe, .{ .dest_dir = .{ .override = .{ .custom = "workloads" } } }).step);
        kernel_mod.addAnonymousImport(b.fmt("workload_{s}", .{w.name}), .{ .root_source_file = exe.getEmittedBin() });
    }

    // The JavaScript runtime (runtime/js/, runtime/libc/): QuickJS-NG on picolibc in ring 3, from
    // the archives scripts/runtime-deps builds into .deps/lib. Built only when asked
    // (-Djs-deps=<that .deps folder>), into <prefix>/workloads/js, and never embedded in the
    // kernel: it boots as an initrd or from a root image.
    if (b.option([]const u8, "js-deps", "Folder holding the runtime's sources and archives (scripts/runtime-deps: .deps)")) |deps| {
        const script = b.option([]const u8, "js-script", "The script built into the js workload") orelse "runtime/js/hello.js";
        const app = b.createModule(.{ .root_source_file = b.path("runtime/js/main.zig"), .target = user_target, .optimize = workload_optimize });
        app.addImport("zigu", user_lib);
        app.addAnonymousImport("script", .{ .root_source_file = b.path(script) });
        app.addImport("tar", b.createModule(.{ .root_source_file = b.path("kernel/workload/tar.zig") }));
        const guest_c_abi = guestCAbi(b, user_lib, user_target, workload_optimize, net_lib != null);
        app.addImport("ukernel_abi_guest", guest_c_abi);
        const hl = b.fmt("{s}/src/hyperlight-libc-0.18.0", .{deps});
        const pl = b.fmt("{s}/third_party/picolibc", .{hl});
        const qj = b.fmt("{s}/src/libquickjs-ng-sys-0.14.0/embed/quickjs", .{deps});
        app.addIncludePath(b.path("runtime/libc/include"));
        for ([_][]const u8{ b.fmt("{s}/include", .{hl}), b.fmt("{s}/libc/stdio", .{pl}), b.fmt("{s}/libc/include", .{pl}), qj }) |dir| {
            app.addIncludePath(.{ .cwd_relative = dir });
        }
        app.addIncludePath(b.path("include"));
        const c_flags = &[_][]const u8{ "-std=gnu11", "-nostdlibinc", "-Wno-unused-command-line-argument", "-fno-stack-protector", "-funsigned-char", "-D_POSIX_MONOTONIC_CLOCK=1", "-D_GNU_SOURCE", "-DQUICKJS_NG_BUILD", "-D__STDC_NO_ATOMICS__=1", "-Wall", "-Wextra", "-Werror" };
        // zigu_libc.c first: its sbrk (the heap over mem_map) must be defined before the engine's
        // objects make the linker fetch malloc, or malloc's reference fetches picolibc's own
        // misc/picosbrk.c from the archive, and the two collide.
        app.addCSourceFile(.{ .file = b.path("runtime/libc/zigu_libc.c"), .flags = c_flags });
        app.addCSourceFile(.{ .file = b.path("runtime/js/runtime.c"), .flags = c_flags });
        app.addCSourceFile(.{ .file = b.path("runtime/js/load.c"), .flags = c_flags });
        app.addObjectFile(.{ .cwd_relative = b.fmt("{s}/lib/libquickjs.a", .{deps}) });
        app.addObjectFile(.{ .cwd_relative = b.fmt("{s}/lib/libpicolibc.a", .{deps}) });
        // After picolibc: Rust's compiler builtins in the network library carry their own
        // soft-float pow, exp, … (x86_64-unknown-none passes doubles in integer registers), which
        // must never stand in for picolibc's; lld takes a symbol from the first archive naming it.
        if (net_lib) |lib| app.addObjectFile(.{ .cwd_relative = lib });
        const exe = addWorkload(b, "js", app, user_lib, user_target, workload_optimize);
        b.getInstallStep().dependOn(&b.addInstallArtifact(exe, .{ .dest_dir = .{ .override = .{ .custom = "workloads" } } }).step);

        // zigu-qjsc (runtime/js/compile.c): the same engine sources built for the host, which
        // compile a bundle to the bytecode the guest reads (runtime/js/bytecode.h). The flags that
        // shape the engine match the guest's (scripts/runtime-deps: qjs_flags); always optimized
        // and without C sanitizers, whatever -Doptimize says: a tool, built once. It compiles the
        // fetched quickjs.c: the guest's copy carries runtime/libc/patches/quickjs-node.patch,
        // which changes only what runs (Math, JSON.parse's numbers, BigInt/Number comparison,
        // Object.isFrozen/isSealed), never the parser or the bytecode (the engine folds no
        // constants); a patch to those would have to apply here too.
        const compiler_mod = b.createModule(.{ .target = b.graph.host, .optimize = .fast, .link_libc = true, .sanitize_c = .off });
        compiler_mod.addIncludePath(.{ .cwd_relative = qj });
        const engine_flags = &[_][]const u8{ "-std=gnu11", "-funsigned-char", "-D_POSIX_MONOTONIC_CLOCK=1", "-D_GNU_SOURCE", "-DQUICKJS_NG_BUILD", "-D__STDC_NO_ATOMICS__=1", "-DNDEBUG", "-w" };
        compiler_mod.addCSourceFiles(.{ .root = .{ .cwd_relative = qj }, .files = &.{ "quickjs.c", "libregexp.c", "libunicode.c", "dtoa.c" }, .flags = engine_flags });
        compiler_mod.addCSourceFile(.{ .file = b.path("runtime/js/compile.c"), .flags = &.{ "-std=gnu11", "-funsigned-char", "-DQUICKJS_NG_BUILD", "-Wall", "-Wextra", "-Werror" } });
        const compiler = b.addExecutable(.{ .name = "zigu-qjsc", .root_module = compiler_mod });
        const compiler_step = b.step("js-compiler", "Build zigu-qjsc, the host compiler of JavaScript to the runtime's bytecode (needs -Djs-deps)");
        compiler_step.dependOn(&b.addInstallArtifact(compiler, .{}).step);

        // The prelude (runtime/js/prelude/: one ES module, bundled by the CLI, src/runtime-js.ts),
        // built into the runtime as bytecode by zigu-qjsc: the guest parses none of its 0.5 MB.
        const prelude = b.option([]const u8, "js-prelude", "The runtime's bundled prelude (src/runtime-js.ts writes it)") orelse
            @panic("-Djs-deps needs -Djs-prelude=<bundle>: build through the CLI or src/runtime-js.ts (jsBuildArgs)");
        const compile_prelude = b.addRunArtifact(compiler);
        // Without the functions' source text (1.46 MB of bytecode with it, 0.56 MB without):
        // only Function.prototype.toString of the runtime's own functions notices.
        compile_prelude.addArg("--strip-source");
        compile_prelude.addFileArg(.{ .cwd_relative = prelude });
        const prelude_bytecode = compile_prelude.addOutputFileArg("prelude.qjbc");
        compile_prelude.addArg("zigu:prelude");
        app.addAnonymousImport("prelude", .{ .root_source_file = prelude_bytecode });
    }

    // A user's workload, built apart from the kernel (the ukernel CLI): passed to the VM as its
    // initrd, so no image contents are baked into the kernel.
    if (b.option([]const u8, "workload-src", "Absolute path of a Zig workload's main file (ukernel build)")) |src| {
        const name = b.option([]const u8, "workload-name", "Its name") orelse "workload";
        const app = b.createModule(.{ .root_source_file = .{ .cwd_relative = src }, .target = user_target, .optimize = workload_optimize });
        app.addImport("zigu", user_lib);
        // With the network library: the sockets' C functions, and the folded calls through it.
        if (net_lib) |lib| app.addObjectFile(.{ .cwd_relative = lib });
        const exe = addWorkloadWith(b, name, app, user_lib, user_target, workload_optimize, if (net_lib != null) guestCAbi(b, user_lib, user_target, workload_optimize, true) else null);
        const step = b.step("workload", "Build the workload given by -Dworkload-src");
        step.dependOn(&b.addInstallArtifact(exe, .{ .dest_dir = .{ .override = .{ .custom = "workload" } } }).step);
    }

    const kernel = b.addExecutable(.{ .name = "zigu.elf", .root_module = kernel_mod, .use_llvm = true, .use_lld = true });
    kernel.setLinkerScript(b.path("kernel/linker.ld"));
    kernel.entry = .{ .symbol_name = "_start64" };
    kernel.bundle_compiler_rt = false;
    kernel.bundle_ubsan_rt = false;
    b.installArtifact(kernel);

    // The benchmarks' baselines: the boot's (prints one byte, resets the VM) and the density's
    // (prints one byte, halts for ever).
    const stub_step = b.step("stub", "Build the minimal PVH stubs: the boot benchmark's baseline and the density benchmark's (idle)");
    stub_step.dependOn(&b.addInstallArtifact(addStub(b, kernel_target, "pvh-stub.elf", "bench/stub/stub.S"), .{}).step);
    stub_step.dependOn(&b.addInstallArtifact(addStub(b, kernel_target, "pvh-idle-stub.elf", "bench/stub/idle.S"), .{}).step);

    // libukernel_abi.so: the same ABI on the host (host/lib.zig over the kernel's pure core), for local runs.
    const host_mod = b.createModule(.{
        .root_source_file = b.path("host/lib.zig"),
        .target = b.graph.host,
        .optimize = optimize,
        .link_libc = true,
    });
    host_mod.addImport("core", b.createModule(.{ .root_source_file = b.path("kernel/core/core.zig") }));
    const host_lib = b.addLibrary(.{ .name = "ukernel_abi", .linkage = .dynamic, .root_module = host_mod });
    b.installArtifact(host_lib);
    // The library alone (`ukernel adapter`), without the kernel and its workloads.
    const host_lib_step = b.step("host-lib", "Build libukernel_abi.so, the ABI on the host, alone");
    host_lib_step.dependOn(&b.addInstallArtifact(host_lib, .{}).step);

    // Host unit tests of the kernel's pure core (boot info, command line, ELF, allocators).
    const host_tests = b.addTest(.{ .root_module = b.createModule(.{
        .root_source_file = b.path("kernel/host_tests.zig"),
        .target = b.graph.host,
        .optimize = optimize,
    }) });
    const test_step = b.step("test", "Run the kernel's unit tests on the host");
    test_step.dependOn(&b.addRunArtifact(host_tests).step);

    // Fuzz targets for the parsers of untrusted bytes (tests/fuzz/fuzz.zig), a bounded number of
    // rounds from their committed corpus, in a safety-checked build.
    const fuzz_options = b.addOptions();
    fuzz_options.addOption(usize, "rounds", b.option(usize, "fuzz-rounds", "Mutated inputs per fuzz target (default 200000)") orelse 200_000);
    fuzz_options.addOption(u64, "seed", b.option(u64, "fuzz-seed", "Fuzz seed (default fixed, so a failure reproduces)") orelse 0x5A16_F022);
    const fuzz_mod = b.createModule(.{ .root_source_file = b.path("tests/fuzz/fuzz.zig"), .target = b.graph.host, .optimize = .safe });
    fuzz_mod.addOptions("fuzz_options", fuzz_options);
    for ([_][]const u8{ "tar", "elf", "cmdline", "bootinfo" }) |name| {
        const dir = if (std.mem.eql(u8, name, "tar") or std.mem.eql(u8, name, "elf")) "workload" else "boot";
        fuzz_mod.addImport(name, b.createModule(.{ .root_source_file = b.path(b.fmt("kernel/{s}/{s}.zig", .{ dir, name })) }));
    }
    fuzz_mod.addImport("netpolicy", b.createModule(.{ .root_source_file = b.path("kernel/core/netpolicy.zig") }));
    const fuzz_tests = b.addTest(.{ .root_module = fuzz_mod });
    test_step.dependOn(&b.addRunArtifact(fuzz_tests).step);
}

/// The C functions of include/ukernel_abi.h for a guest workload (user/ukernel_abi_guest.zig);
/// `net`: the network library (runtime/net) is linked and sees the folded calls first.
/// A bare PVH guest from one assembly file (bench/stub/).
fn addStub(b: *std.Build, target: std.Build.ResolvedTarget, name: []const u8, source: []const u8) *std.Build.Step.Compile {
    const mod = b.createModule(.{ .target = target, .optimize = .small, .code_model = .kernel, .pic = false });
    mod.addAssemblyFile(b.path(source));
    const exe = b.addExecutable(.{ .name = name, .root_module = mod, .use_llvm = true, .use_lld = true });
    exe.setLinkerScript(b.path("bench/stub/linker.ld"));
    exe.entry = .{ .symbol_name = "_start32" };
    exe.bundle_compiler_rt = false;
    exe.bundle_ubsan_rt = false;
    return exe;
}

fn guestCAbi(b: *std.Build, user_lib: *std.Build.Module, target: std.Build.ResolvedTarget, optimize: std.lang.Optimize, net: bool) *std.Build.Module {
    const m = b.createModule(.{ .root_source_file = b.path("user/ukernel_abi_guest.zig"), .target = target, .optimize = optimize });
    m.addImport("zigu", user_lib);
    const options = b.addOptions();
    options.addOption(bool, "net", net);
    m.addOptions("guest_abi_options", options);
    return m;
}

/// A ring-3 workload: user/start.zig as its entry, `app` (whose `main` it runs) and the user
/// library, position-independent code linked at the user image base, stripped.
fn addWorkload(b: *std.Build, name: []const u8, app: *std.Build.Module, user_lib: *std.Build.Module, target: std.Build.ResolvedTarget, optimize: std.lang.Optimize) *std.Build.Step.Compile {
    return addWorkloadWith(b, name, app, user_lib, target, optimize, null);
}

/// `c_abi`: the guest's C functions (guestCAbi), linked in even though the workload never
/// imports them (the network library calls them).
fn addWorkloadWith(b: *std.Build, name: []const u8, app: *std.Build.Module, user_lib: *std.Build.Module, target: std.Build.ResolvedTarget, optimize: std.lang.Optimize, c_abi: ?*std.Build.Module) *std.Build.Step.Compile {
    const start = b.createModule(.{
        .root_source_file = b.path("user/start.zig"),
        .target = target,
        .optimize = optimize,
        .pic = true,
        .red_zone = true,
        .single_threaded = true,
        .stack_check = false,
        .stack_protector = false,
        .strip = true,
    });
    start.addImport("zigu", user_lib);
    start.addImport("app", app);
    start.addImport("guest_c_abi", c_abi orelse b.createModule(.{ .root_source_file = b.path("user/no_c_abi.zig") }));
    const exe = b.addExecutable(.{ .name = name, .root_module = start, .use_llvm = true, .use_lld = true });
    exe.setLinkerScript(b.path("user/linker.ld"));
    exe.entry = .{ .symbol_name = "_start" };
    exe.pie = false;
    return exe;
}
