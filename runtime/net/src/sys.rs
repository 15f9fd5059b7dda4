//! The guest side: the `uk_sys_*` kernel calls, the global allocator, the panic handler and the
//! exported C functions of the ABI's library calls (include/ukernel_abi.h).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ffi::c_void;

use crate::abi::{Event, IoVec, ERR_INVALID, ERR_WOULD_BLOCK};
use crate::heap::Heap;
use crate::stack::{Kernel, Net};

extern "C" {
    fn uk_sys_exit(status: u32) -> !;
    fn uk_sys_log(level: u32, msg: *const c_void, len: u64) -> i64;
    fn uk_sys_handle_close(handle: u64) -> i64;
    fn uk_sys_io_register(handle: u64, interest: u32, user_data: u64) -> i64;
    fn uk_sys_io_unregister(handle: u64) -> i64;
    fn uk_sys_io_poll(events: *mut c_void, max: u64, timeout_ns: i64) -> i64;
    fn uk_sys_mem_map(len: u64) -> i64;
    fn uk_sys_mem_unmap(addr: u64, len: u64) -> i64;
    fn uk_sys_net_open() -> i64;
    fn uk_sys_net_info(dev: u64, buf: *mut c_void, len: u64) -> i64;
    fn uk_sys_net_send(dev: u64, frames: *const IoVec, count: u64) -> i64;
    fn uk_sys_net_recv(dev: u64, frames: *const IoVec, count: u64, lens: *mut c_void) -> i64;
}

pub struct SysKernel;

impl Kernel for SysKernel {
    fn net_open(&mut self) -> i64 {
        unsafe { uk_sys_net_open() }
    }
    fn net_info(&mut self, dev: u64, buf: &mut [u8]) -> i64 {
        unsafe { uk_sys_net_info(dev, buf.as_mut_ptr().cast(), buf.len() as u64) }
    }
    fn net_send(&mut self, dev: u64, frames: &[IoVec]) -> i64 {
        unsafe { uk_sys_net_send(dev, frames.as_ptr(), frames.len() as u64) }
    }
    fn net_recv(&mut self, dev: u64, frames: &[IoVec], lens: &mut [u64]) -> i64 {
        let n = frames.len().min(lens.len());
        unsafe { uk_sys_net_recv(dev, frames.as_ptr(), n as u64, lens.as_mut_ptr().cast()) }
    }
    fn io_register(&mut self, h: u64, interest: u32, user_data: u64) -> i64 {
        unsafe { uk_sys_io_register(h, interest, user_data) }
    }
    fn io_unregister(&mut self, h: u64) -> i64 {
        unsafe { uk_sys_io_unregister(h) }
    }
    fn io_poll(&mut self, events: &mut [Event], timeout_ns: i64) -> i64 {
        unsafe { uk_sys_io_poll(events.as_mut_ptr().cast(), events.len() as u64, timeout_ns) }
    }
    fn handle_close(&mut self, h: u64) -> i64 {
        unsafe { uk_sys_handle_close(h) }
    }
    fn tsc(&mut self) -> u64 {
        // rdtsc runs in ring 3 (CR4.TSD clear); needs no capability, unlike clock_now.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    fn log(&mut self, level: u32, msg: &[u8]) {
        unsafe { uk_sys_log(level, msg.as_ptr().cast(), msg.len() as u64) };
    }
}

// ---- the one library instance -------------------------------------------------------------

struct Global {
    net: UnsafeCell<Net<SysKernel>>,
    busy: UnsafeCell<bool>,
}

// SAFETY: ring 3 runs on one CPU; tasks are cooperative and switch only inside kernel calls.
unsafe impl Sync for Global {}

static GLOBAL: Global = Global { net: UnsafeCell::new(Net::new(SysKernel)), busy: UnsafeCell::new(false) };

/// Runs `f` on the library, or returns `busy` when another task is inside the library (waiting
/// in io_poll): the library is not re-entrant.
fn with<R>(busy: R, f: impl FnOnce(&mut Net<SysKernel>) -> R) -> R {
    unsafe {
        if *GLOBAL.busy.get() {
            return busy;
        }
        *GLOBAL.busy.get() = true;
        let r = f(&mut *GLOBAL.net.get());
        *GLOBAL.busy.get() = false;
        r
    }
}

#[no_mangle]
pub extern "C" fn uk_tcp_listen(port: u32, backlog: u32) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.tcp_listen(port, backlog))
}

#[no_mangle]
pub extern "C" fn uk_tcp_accept(listener: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.tcp_accept(listener))
}

#[no_mangle]
pub extern "C" fn uk_tcp_connect(addr: u32, port: u32) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.tcp_connect(addr, port))
}

#[no_mangle]
pub extern "C" fn uk_sock_send(sock: u64, buf: *const c_void, len: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.sock_send(sock, buf.cast(), len))
}

#[no_mangle]
pub extern "C" fn uk_sock_recv(sock: u64, buf: *mut c_void, len: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.sock_recv(sock, buf.cast(), len))
}

#[no_mangle]
pub extern "C" fn uk_sock_shutdown(sock: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.sock_shutdown(sock))
}

#[no_mangle]
pub extern "C" fn uk_udp_bind(port: u32) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.udp_bind(port))
}

#[no_mangle]
pub extern "C" fn uk_udp_send_to(sock: u64, buf: *const c_void, len: u64, to: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.udp_send_to(sock, buf.cast(), len, to))
}

#[no_mangle]
pub extern "C" fn uk_udp_recv_from(sock: u64, buf: *mut c_void, len: u64, from: *mut c_void) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.udp_recv_from(sock, buf.cast(), len, from.cast()))
}

#[no_mangle]
pub extern "C" fn uk_dns_query(name: *const c_void, len: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.dns_query(name.cast(), len))
}

#[no_mangle]
pub extern "C" fn uk_dns_result(query: u64, addrs: *mut c_void, max: u64) -> i64 {
    with(ERR_WOULD_BLOCK, |n| n.dns_result(query, addrs.cast(), max))
}

#[no_mangle]
pub extern "C" fn zigu_net_handle_close(h: u64) -> i64 {
    if !crate::handles::is_library(h) {
        return unsafe { uk_sys_handle_close(h) };
    }
    with(ERR_WOULD_BLOCK, |n| n.handle_close(h))
}

#[no_mangle]
pub extern "C" fn zigu_net_io_register(h: u64, interest: u32, user_data: u64) -> i64 {
    if !crate::handles::is_library(h) {
        return unsafe { uk_sys_io_register(h, interest, user_data) };
    }
    with(ERR_WOULD_BLOCK, |n| n.io_register(h, interest, user_data))
}

#[no_mangle]
pub extern "C" fn zigu_net_io_unregister(h: u64) -> i64 {
    if !crate::handles::is_library(h) {
        return unsafe { uk_sys_io_unregister(h) };
    }
    with(ERR_WOULD_BLOCK, |n| n.io_unregister(h))
}

#[no_mangle]
pub extern "C" fn zigu_net_io_poll(events: *mut c_void, max: u64, timeout_ns: i64) -> i64 {
    // Another task already polls the library: this one waits on the kernel alone.
    let busy = || unsafe { uk_sys_io_poll(events, max, timeout_ns) };
    unsafe {
        if *GLOBAL.busy.get() {
            return busy();
        }
    }
    with(ERR_INVALID, |n| n.io_poll(events.cast(), max, timeout_ns))
}

/// Counters for benchmarks: writes up to `n` of [kernel entries, net_recv calls, net_send calls,
/// io_poll calls, frames in, frames out, frames dropped, io_(un)register calls] to `out` and
/// returns how many it wrote.
#[no_mangle]
pub extern "C" fn zigu_net_stats(out: *mut u64, n: u64) -> i64 {
    if out.is_null() && n > 0 {
        return crate::abi::ERR_BAD_POINTER;
    }
    let s = unsafe { (*GLOBAL.net.get()).stats.as_array() };
    let k = (n as usize).min(s.len());
    for (i, v) in s.iter().take(k).enumerate() {
        unsafe { out.add(i).write_unaligned(*v) };
    }
    k as i64
}

// ---- allocator and panics --------------------------------------------------------------------

struct SysHeap(UnsafeCell<Heap>);

// SAFETY: see Global.
unsafe impl Sync for SysHeap {}

unsafe impl GlobalAlloc for SysHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        (*self.0.get()).alloc(layout, &mut |len| uk_sys_mem_map(len as u64))
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        (*self.0.get()).dealloc(p, layout, &mut |a, len| {
            uk_sys_mem_unmap(a as u64, len as u64);
        })
    }
}

#[global_allocator]
static HEAP: SysHeap = SysHeap(UnsafeCell::new(Heap::new()));

struct Line {
    buf: [u8; 256],
    len: usize,
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write;
    let mut line = Line { buf: [0; 256], len: 0 };
    let _ = write!(line, "zigu-net: panic: {}", info);
    unsafe {
        uk_sys_log(crate::abi::LOG_ERROR, line.buf.as_ptr().cast(), line.len as u64);
        uk_sys_exit(134)
    }
}
