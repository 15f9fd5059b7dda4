//! A mock kernel for host tests: the frame device is one end of an in-memory wire (optionally
//! lossy and reordering), time is virtual (tsc_hz = 1 GHz: one tick per nanosecond).
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use zigu_net::abi::*;
use zigu_net::stack::{Kernel, Net};

pub const DEV: u64 = (1 << 24) | (4 << 16) | 3; // a kernel-format handle (generation 1, tag 4)

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub struct Wire {
    /// q[0]: frames towards side 0; q[1]: towards side 1.
    pub q: [VecDeque<Vec<u8>>; 2],
    /// Frames a queue holds at most: net_send takes fewer when it is full.
    pub cap: usize,
    /// Per mille of frames dropped / moved ahead of earlier ones.
    pub drop_pm: u64,
    pub reorder_pm: u64,
    pub rng: Rng,
    pub sent: u64,
    pub dropped: u64,
    pub reordered: u64,
    pub refused: u64,
    /// ARP frames sent, by side (either direction).
    pub arp: [u64; 2],
}

impl Wire {
    pub fn new() -> Rc<RefCell<Wire>> {
        Rc::new(RefCell::new(Wire {
            q: [VecDeque::new(), VecDeque::new()],
            cap: 1024,
            drop_pm: 0,
            reorder_pm: 0,
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            sent: 0,
            dropped: 0,
            reordered: 0,
            refused: 0,
            arp: [0, 0],
        }))
    }
}

pub struct Mock {
    pub wire: Rc<RefCell<Wire>>,
    pub side: usize,
    pub clock: Rc<Cell<u64>>,
    pub info: String,
    pub open_result: i64,
    pub opened: bool,
    pub dev_reg: Option<(u32, u64)>,
    /// Events of other kernel handles, returned by io_poll.
    pub kernel_events: VecDeque<Event>,
    pub closed: Vec<u64>,
    pub registered: Vec<(u64, u32, u64)>,
    /// How long io_poll waited (virtual ns), in total, and the longest single wait.
    pub waited_ns: u64,
    pub polls: u64,
}

impl Mock {
    pub fn new(wire: Rc<RefCell<Wire>>, side: usize, clock: Rc<Cell<u64>>, info: &str) -> Mock {
        Mock {
            wire,
            side,
            clock,
            info: info.to_string(),
            open_result: DEV as i64,
            opened: false,
            dev_reg: None,
            kernel_events: VecDeque::new(),
            closed: Vec::new(),
            registered: Vec::new(),
            waited_ns: 0,
            polls: 0,
        }
    }

    fn dev_events(&self) -> u32 {
        let Some((interest, _)) = self.dev_reg else { return 0 };
        let w = self.wire.borrow();
        let mut ev = 0;
        if !w.q[self.side].is_empty() {
            ev |= EV_READABLE;
        }
        if w.q[1 - self.side].len() < w.cap {
            ev |= EV_WRITABLE;
        }
        ev & interest
    }
}

impl Kernel for Mock {
    fn net_open(&mut self) -> i64 {
        if self.open_result < 0 {
            return self.open_result;
        }
        if self.opened {
            return ERR_EXISTS;
        }
        self.opened = true;
        self.open_result
    }

    fn net_info(&mut self, dev: u64, buf: &mut [u8]) -> i64 {
        assert_eq!(dev, DEV);
        let t = self.info.as_bytes();
        if t.len() > buf.len() {
            return ERR_NO_SPACE;
        }
        buf[..t.len()].copy_from_slice(t);
        t.len() as i64
    }

    fn net_send(&mut self, dev: u64, frames: &[IoVec]) -> i64 {
        assert_eq!(dev, DEV);
        assert!(frames.len() <= MAX_NET_BATCH, "a batch of {} frames", frames.len());
        for f in frames {
            let len = f.len as usize;
            if !(MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&len) {
                return ERR_INVALID;
            }
        }
        let mut w = self.wire.borrow_mut();
        let to = 1 - self.side;
        let mut taken = 0;
        for f in frames {
            if w.q[to].len() >= w.cap {
                break;
            }
            let frame = unsafe { std::slice::from_raw_parts(f.ptr as *const u8, f.len as usize) }.to_vec();
            taken += 1;
            w.sent += 1;
            if frame.len() >= 14 && frame[12..14] == [0x08, 0x06] {
                w.arp[self.side] += 1;
            }
            let (dpm, rpm) = (w.drop_pm, w.reorder_pm);
            if dpm > 0 && w.rng.below(1000) < dpm {
                w.dropped += 1;
                continue;
            }
            if rpm > 0 && !w.q[to].is_empty() && w.rng.below(1000) < rpm {
                let back = 1 + w.rng.below(4) as usize;
                let at = w.q[to].len().saturating_sub(back);
                w.q[to].insert(at, frame);
                w.reordered += 1;
            } else {
                w.q[to].push_back(frame);
            }
        }
        taken
    }

    fn net_recv(&mut self, dev: u64, frames: &[IoVec], lens: &mut [u64]) -> i64 {
        assert_eq!(dev, DEV);
        assert!(frames.len() <= MAX_NET_BATCH);
        let mut w = self.wire.borrow_mut();
        let mut n = 0;
        for f in frames {
            assert!(f.len as usize >= MAX_FRAME_BYTES, "a receive buffer below MAX_FRAME_BYTES");
            let Some(frame) = w.q[self.side].pop_front() else { break };
            let out = unsafe { std::slice::from_raw_parts_mut(f.ptr as *mut u8, f.len as usize) };
            let len = frame.len().min(MAX_FRAME_BYTES);
            out[..len].copy_from_slice(&frame[..len]);
            lens[n] = len as u64;
            n += 1;
        }
        n as i64
    }

    fn io_register(&mut self, h: u64, interest: u32, user_data: u64) -> i64 {
        if h == DEV {
            if self.dev_reg.is_some() {
                return ERR_EXISTS;
            }
            self.dev_reg = Some((interest, user_data));
        } else {
            self.registered.push((h, interest, user_data));
        }
        0
    }

    fn io_unregister(&mut self, h: u64) -> i64 {
        if h == DEV {
            if self.dev_reg.take().is_none() {
                return ERR_INVALID;
            }
            return 0;
        }
        match self.registered.iter().position(|r| r.0 == h) {
            Some(i) => {
                self.registered.remove(i);
                0
            }
            None => ERR_BAD_HANDLE,
        }
    }

    fn io_poll(&mut self, events: &mut [Event], timeout_ns: i64) -> i64 {
        assert!(!events.is_empty() && events.len() as u64 <= MAX_POLL_EVENTS);
        assert!(timeout_ns >= -1);
        self.polls += 1;
        let mut n = 0;
        let dev = self.dev_events();
        if dev != 0 {
            events[n] = Event { user_data: self.dev_reg.unwrap().1, events: dev, reserved: 0 };
            n += 1;
        }
        while n < events.len() {
            match self.kernel_events.pop_front() {
                Some(e) => {
                    events[n] = e;
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 && timeout_ns != 0 {
            // Nothing can arrive while this side sleeps (the test drives the other side): let
            // virtual time pass instead, as a real wait would. "Infinite" waits are cut to 1 s.
            let t = if timeout_ns < 0 { 1_000_000_000 } else { timeout_ns as u64 };
            self.clock.set(self.clock.get() + t);
            self.waited_ns += t;
        }
        n as i64
    }

    fn handle_close(&mut self, h: u64) -> i64 {
        self.closed.push(h);
        0
    }

    fn tsc(&mut self) -> u64 {
        self.clock.get()
    }

    fn log(&mut self, _level: u32, msg: &[u8]) {
        eprintln!("[mock log] {}", String::from_utf8_lossy(msg));
    }
}

pub fn info(ip: &str, mac_last: u8, listen: &str, connect: &str) -> String {
    format!(
        "mac=52:54:00:12:34:{mac_last:02x}\nmtu=1500\ntsc_hz=1000000000\naddress={ip}/24\ngateway=10.0.0.254\nlisten={listen}\nconnect={connect}\nfuture_key=whatever\n"
    )
}

pub struct Pair {
    pub wire: Rc<RefCell<Wire>>,
    pub clock: Rc<Cell<u64>>,
    /// Side 0: the server, 10.0.0.1.
    pub a: Net<Mock>,
    /// Side 1: the client, 10.0.0.2.
    pub b: Net<Mock>,
}

pub const A_ADDR: u32 = 0x0a00_0001;
pub const B_ADDR: u32 = 0x0a00_0002;

impl Pair {
    pub fn new() -> Pair {
        Self::with_policies(info("10.0.0.1", 1, "80,53,81", "10.0.0.0/24:*"), info("10.0.0.2", 2, "", "10.0.0.0/24:*"))
    }

    pub fn with_policies(a: String, b: String) -> Pair {
        let wire = Wire::new();
        let clock = Rc::new(Cell::new(1_000_000));
        let a = Net::new(Mock::new(wire.clone(), 0, clock.clone(), &a));
        let b = Net::new(Mock::new(wire.clone(), 1, clock.clone(), &b));
        Pair { wire, clock, a, b }
    }

    /// Both sides run their stacks once (io_poll with timeout 0), then `us` microseconds pass.
    pub fn step(&mut self, us: u64) {
        let mut ev = [Event::default(); 64];
        if self.a.initialised() {
            assert!(self.a.poll_slice(&mut ev, 0) >= 0);
        }
        if self.b.initialised() {
            assert!(self.b.poll_slice(&mut ev, 0) >= 0);
        }
        self.clock.set(self.clock.get() + us * 1000);
    }

    /// Steps until `f` holds; panics after `max` steps.
    pub fn until(&mut self, max: usize, mut f: impl FnMut(&mut Pair) -> bool) {
        for _ in 0..max {
            if f(self) {
                return;
            }
            self.step(100);
        }
        panic!("condition not reached in {max} steps");
    }
}

/// The events io_poll returns for the given side (timeout 0).
pub fn poll(n: &mut Net<Mock>) -> Vec<Event> {
    let mut ev = [Event::default(); 64];
    let r = n.poll_slice(&mut ev, 0);
    assert!(r >= 0, "io_poll: {r}");
    ev[..r as usize].to_vec()
}
