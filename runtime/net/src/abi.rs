//! Numbers of the kernel ABI (include/ukernel_abi.h, generated from abi/spec.ts). A host test
//! (tests/abi_numbers.rs) reads the header and fails when any of these disagrees with it.

pub const ERR_PERMISSION: i64 = -1;
pub const ERR_BAD_HANDLE: i64 = -2;
pub const ERR_BAD_POINTER: i64 = -3;
pub const ERR_INVALID: i64 = -4;
pub const ERR_NO_SPACE: i64 = -5;
pub const ERR_UNSUPPORTED: i64 = -7;
pub const ERR_EXISTS: i64 = -8;
pub const ERR_WOULD_BLOCK: i64 = -9;
pub const ERR_CONNECTION: i64 = -10;
pub const ERR_NOT_ALLOWED: i64 = -11;
pub const ERR_NOT_FOUND: i64 = -12;

pub const EV_READABLE: u32 = 1;
pub const EV_WRITABLE: u32 = 2;
pub const EV_HANGUP: u32 = 4;

pub const LOG_ERROR: u32 = 1;

pub const MAX_POLL_EVENTS: u64 = 64;
pub const TIMEOUT_INFINITE: i64 = -1;
pub const MAX_NET_BATCH: usize = 32;
pub const MAX_FRAME_BYTES: usize = 1514;
pub const MIN_FRAME_BYTES: usize = 14;
pub const MAX_NET_INFO_BYTES: usize = 4096;
pub const MAX_DNS_NAME_BYTES: usize = 253;
pub const MAX_DNS_ADDRS: usize = 4;
pub const PAGE_BYTES: usize = 4096;
pub const LARGE_PAGE_BYTES: usize = 2097152;

/// `struct uk_iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoVec {
    pub ptr: u64,
    pub len: u64,
}

/// `struct uk_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub user_data: u64,
    pub events: u32,
    pub reserved: u32,
}

/// Every (name, value) above that the header also defines, for the test that compares them.
pub const NAMED: &[(&str, i64)] = &[
    ("UK_ERR_PERMISSION", ERR_PERMISSION),
    ("UK_ERR_BAD_HANDLE", ERR_BAD_HANDLE),
    ("UK_ERR_BAD_POINTER", ERR_BAD_POINTER),
    ("UK_ERR_INVALID", ERR_INVALID),
    ("UK_ERR_NO_SPACE", ERR_NO_SPACE),
    ("UK_ERR_UNSUPPORTED", ERR_UNSUPPORTED),
    ("UK_ERR_EXISTS", ERR_EXISTS),
    ("UK_ERR_WOULD_BLOCK", ERR_WOULD_BLOCK),
    ("UK_ERR_CONNECTION", ERR_CONNECTION),
    ("UK_ERR_NOT_ALLOWED", ERR_NOT_ALLOWED),
    ("UK_ERR_NOT_FOUND", ERR_NOT_FOUND),
    ("UK_EV_READABLE", EV_READABLE as i64),
    ("UK_EV_WRITABLE", EV_WRITABLE as i64),
    ("UK_EV_HANGUP", EV_HANGUP as i64),
    ("UK_LOG_ERROR", LOG_ERROR as i64),
    ("UK_MAX_POLL_EVENTS", MAX_POLL_EVENTS as i64),
    ("UK_TIMEOUT_INFINITE", TIMEOUT_INFINITE),
    ("UK_MAX_NET_BATCH", MAX_NET_BATCH as i64),
    ("UK_MAX_FRAME_BYTES", MAX_FRAME_BYTES as i64),
    ("UK_MIN_FRAME_BYTES", MIN_FRAME_BYTES as i64),
    ("UK_MAX_NET_INFO_BYTES", MAX_NET_INFO_BYTES as i64),
    ("UK_MAX_DNS_NAME_BYTES", MAX_DNS_NAME_BYTES as i64),
    ("UK_MAX_DNS_ADDRS", MAX_DNS_ADDRS as i64),
    ("UK_PAGE_BYTES", PAGE_BYTES as i64),
    ("UK_LARGE_PAGE_BYTES", LARGE_PAGE_BYTES as i64),
    ("UK_CALL_TCP_LISTEN", 24),
    ("UK_CALL_UDP_RECV_FROM", 32),
    ("UK_CALL_DNS_QUERY", 33),
    ("UK_CALL_DNS_RESULT", 34),
];
