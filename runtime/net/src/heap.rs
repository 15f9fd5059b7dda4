//! The library's heap: power-of-two size classes (16 B .. 1 MiB) with free lists, carved from
//! 2 MiB chunks that `mem_map` hands out on demand (a multiple of 2 MiB is mapped 2 MiB-aligned
//! with large pages: no page faults, few mappings). Larger blocks get a mapping of their own.
//! Freed blocks go back to their class; chunks are never returned. Single-threaded (ring 3
//! workloads run cooperative tasks on one CPU; the library is never entered concurrently).

use core::alloc::Layout;
use core::ptr;

pub const CHUNK_BYTES: usize = 2 * 1024 * 1024;
const MIN_CLASS: usize = 16;
const CLASSES: usize = 17; // 16 << 16 = 1 MiB
const MAX_CLASS: usize = MIN_CLASS << (CLASSES - 1);
const PAGE: usize = 4096;

pub struct Heap {
    free: [usize; CLASSES],
    bump: usize,
    end: usize,
    /// Bytes mapped so far (for tests and statistics).
    pub mapped: usize,
}

fn class_of(size: usize) -> (usize, usize) {
    let s = size.max(MIN_CLASS).next_power_of_two();
    (s.trailing_zeros() as usize - MIN_CLASS.trailing_zeros() as usize, s)
}

impl Heap {
    pub const fn new() -> Self {
        Heap { free: [0; CLASSES], bump: 0, end: 0, mapped: 0 }
    }

    fn block_size(layout: Layout) -> usize {
        layout.size().max(layout.align())
    }

    /// `map(len)` returns an address or a negative error (uk_sys_mem_map).
    pub fn alloc(&mut self, layout: Layout, map: &mut dyn FnMut(usize) -> i64) -> *mut u8 {
        let want = Self::block_size(layout);
        if want > MAX_CLASS {
            if layout.align() > PAGE {
                return ptr::null_mut();
            }
            let len = match want.checked_add(PAGE - 1) {
                Some(l) => l & !(PAGE - 1),
                None => return ptr::null_mut(),
            };
            let a = map(len);
            if a <= 0 {
                return ptr::null_mut();
            }
            self.mapped += len;
            return a as usize as *mut u8;
        }
        let (i, s) = class_of(want);
        if self.free[i] != 0 {
            let p = self.free[i];
            // SAFETY: a free block holds the address of the next one in its first word.
            self.free[i] = unsafe { (p as *const usize).read() };
            return p as *mut u8;
        }
        let mut start = (self.bump + s - 1) & !(s - 1);
        if self.bump == 0 || start + s > self.end {
            let a = map(CHUNK_BYTES);
            if a <= 0 {
                return ptr::null_mut();
            }
            self.mapped += CHUNK_BYTES;
            self.bump = a as usize;
            self.end = self.bump + CHUNK_BYTES;
            start = (self.bump + s - 1) & !(s - 1);
            if start + s > self.end {
                return ptr::null_mut();
            }
        }
        self.bump = start + s;
        start as *mut u8
    }

    /// `unmap(addr, len)` gives a large block's own mapping back.
    pub fn dealloc(&mut self, p: *mut u8, layout: Layout, unmap: &mut dyn FnMut(usize, usize)) {
        let want = Self::block_size(layout);
        if want > MAX_CLASS {
            let len = (want + PAGE - 1) & !(PAGE - 1);
            self.mapped -= len;
            unmap(p as usize, len);
            return;
        }
        let (i, _) = class_of(want);
        // SAFETY: the block is at least 16 bytes and ours again.
        unsafe { (p as *mut usize).write(self.free[i]) };
        self.free[i] = p as usize;
    }
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}
