//! The allocator's size classes over a fake mem_map.

use std::alloc::Layout;
use zigu_net::heap::{Heap, CHUNK_BYTES};

#[test]
fn classes_alignment_reuse_and_big_blocks() {
    let mut maps: Vec<(usize, usize)> = Vec::new();
    let mut map = |len: usize| -> i64 {
        let align = if len % CHUNK_BYTES == 0 { CHUNK_BYTES } else { 4096 };
        let p = unsafe { std::alloc::alloc_zeroed(Layout::from_size_align(len, align).unwrap()) };
        maps.push((p as usize, len));
        p as i64
    };
    let mut h = Heap::new();
    let mut blocks = Vec::new();
    for (size, align) in [(1, 1), (16, 8), (17, 8), (100, 4), (4096, 4096), (65536, 8), (1 << 20, 16), (3 << 20, 8), (24, 64)] {
        let l = Layout::from_size_align(size, align).unwrap();
        let p = h.alloc(l, &mut map);
        assert!(!p.is_null());
        assert_eq!(p as usize % align, 0);
        unsafe { std::ptr::write_bytes(p, 0xab, size) };
        blocks.push((p, l));
    }
    // No two live blocks overlap.
    let mut spans: Vec<(usize, usize)> = blocks.iter().map(|(p, l)| (*p as usize, *p as usize + l.size())).collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap: {:x?}", w);
    }
    let mapped = h.mapped;
    let mut unmapped = Vec::new();
    for (p, l) in blocks.drain(..) {
        h.dealloc(p, l, &mut |a, len| unmapped.push((a, len)));
    }
    assert_eq!(unmapped.len(), 1, "only the 3 MiB block has its own mapping");
    // Freed blocks come back before anything new is mapped.
    let l = Layout::from_size_align(65536, 8).unwrap();
    let mut map2 = |_len: usize| -> i64 { panic!("mapped again") };
    let a = h.alloc(l, &mut map2);
    assert!(!a.is_null());
    assert!(h.mapped <= mapped);
    // A failing mem_map gives null, not a crash.
    let mut fail = |_len: usize| -> i64 { -5 };
    assert!(h.alloc(Layout::from_size_align(5 << 20, 8).unwrap(), &mut fail).is_null());
}
