//! Zigu's ring-3 network library: the socket calls of the kernel ABI (calls 24..32 of
//! include/ukernel_abi.h) and the four folded calls (handle_close, io_register, io_unregister,
//! io_poll), over smoltcp and the kernel's frame device (net_open/net_info/net_send/net_recv).
//!
//! Everything but `sys` builds on the host too, so that tests can run two stacks against each
//! other over an in-memory wire (tests/).
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

pub mod abi;
pub mod handles;
pub mod heap;
pub mod info;
pub mod stack;

#[cfg(target_os = "none")]
mod sys;
