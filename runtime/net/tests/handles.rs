//! The handle table: format, stale, forged and wrong-type handles, exhaustion.

use zigu_net::abi::{ERR_BAD_HANDLE, ERR_NO_SPACE};
use zigu_net::handles::*;

#[test]
fn format_and_lookup() {
    let mut t: Table<u32> = Table::new(4);
    let h = t.insert(TAG_TCP, 7).unwrap();
    assert_ne!(h, 0);
    assert_eq!(h & 0xffff, 0);
    assert_eq!(tag_of(h), TAG_TCP);
    assert_eq!(h >> 24, 1);
    assert!(is_library(h));
    assert!(!is_library((1 << 24) | (4 << 16)));
    assert_eq!(t.get(h, Some(TAG_TCP)), Ok(&7));
    assert_eq!(t.get(h, None), Ok(&7));
    assert_eq!(t.get(h, Some(TAG_UDP)), Err(ERR_BAD_HANDLE));
}

#[test]
fn stale_forged_and_wrong_type() {
    let mut t: Table<u32> = Table::new(4);
    let h = t.insert(TAG_TCP, 1).unwrap();
    assert_eq!(t.remove(h, None), Ok(1));
    assert_eq!(t.get(h, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.remove(h, None), Err(ERR_BAD_HANDLE));
    let h2 = t.insert(TAG_UDP, 2).unwrap();
    assert_eq!(h2 & 0xffff, h & 0xffff, "the slot is reused");
    assert_ne!(h2, h);
    assert_eq!(t.get(h, None), Err(ERR_BAD_HANDLE), "the old value stays refused");
    // Forged: the right slot and generation with another tag; high bits; other slots; zero.
    let retag = (h2 & !(0xff << 16)) | (TAG_LISTENER as u64) << 16;
    assert_eq!(t.get(retag, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(h2 | 1 << 55, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(h2 | 1 << 63, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(h2 + 1, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(0, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(u64::MAX, None), Err(ERR_BAD_HANDLE));
    assert_eq!(t.get(h2, Some(TAG_UDP)), Ok(&2));
}

#[test]
fn exhaustion_and_reuse() {
    let mut t: Table<usize> = Table::new(256);
    let hs: Vec<u64> = (0..256).map(|i| t.insert(TAG_UDP, i).unwrap()).collect();
    assert_eq!(t.insert(TAG_UDP, 999), Err(ERR_NO_SPACE));
    assert_eq!(t.len(), 256);
    let all: std::collections::HashSet<u64> = hs.iter().copied().collect();
    assert_eq!(all.len(), 256);
    t.remove(hs[100], None).unwrap();
    let h = t.insert(TAG_TCP, 1000).unwrap();
    assert_eq!(h & 0xffff, 100);
    assert_eq!(t.insert(TAG_UDP, 999), Err(ERR_NO_SPACE));
    // Many close/open cycles on one slot: every value differs from all earlier ones.
    let mut t: Table<u8> = Table::new(1);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let h = t.insert(TAG_LISTENER, 0).unwrap();
        assert!(seen.insert(h));
        t.remove(h, Some(TAG_LISTENER)).unwrap();
    }
    assert_eq!(t.iter().count(), 0);
}
