//! The socket calls over smoltcp, written against the `Kernel` trait (the kernel calls the
//! library uses), so that host tests can run two stacks over an in-memory wire.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, dns, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, Ipv4Address};

use crate::abi::*;
use crate::handles::{self, Table, TAG_DNS, TAG_LISTENER, TAG_TCP, TAG_UDP};
use crate::info::{self, Address, NetInfo};

/// The kernel calls the library makes (`uk_sys_*` in the guest, a mock in host tests).
pub trait Kernel {
    fn net_open(&mut self) -> i64;
    fn net_info(&mut self, dev: u64, buf: &mut [u8]) -> i64;
    fn net_send(&mut self, dev: u64, frames: &[IoVec]) -> i64;
    fn net_recv(&mut self, dev: u64, frames: &[IoVec], lens: &mut [u64]) -> i64;
    fn io_register(&mut self, h: u64, interest: u32, user_data: u64) -> i64;
    fn io_unregister(&mut self, h: u64) -> i64;
    fn io_poll(&mut self, events: &mut [Event], timeout_ns: i64) -> i64;
    fn handle_close(&mut self, h: u64) -> i64;
    /// The time-stamp counter (rdtsc), converted with net_info's tsc_hz.
    fn tsc(&mut self) -> u64;
    fn log(&mut self, level: u32, msg: &[u8]);
}

/// Sockets (TCP, UDP, listening and closing ones together) the library keeps at most.
pub const MAX_SOCKETS: usize = 256;
/// Library handles at most (listeners, TCP and UDP sockets).
pub const MAX_HANDLES: usize = 256;
/// Listening sockets one tcp_listen keeps at most (each holds its buffers).
pub const MAX_BACKLOG: u32 = 64;
/// Connections a listener holds that were not accepted yet, listening ones included: smoltcp
/// answers a SYN only from a socket in LISTEN, so `backlog` of them are kept listening, topped up
/// after every poll, and a burst of connections is not refused while the program accepts.
pub const MAX_PENDING: usize = 256;
pub const TCP_BUFFER_BYTES: usize = 32 * 1024;
pub const UDP_BUFFER_BYTES: usize = 64 * 1024;
pub const UDP_PACKETS: usize = 64;
/// Frames waiting for the device at most (smoltcp holds back beyond this).
pub const TX_QUEUE_FRAMES: usize = 256;
/// Receive batches one pump takes at most before it lets the caller see events.
const MAX_RX_BATCHES: usize = 8;
/// The user_data under which the library registers the device with the kernel: its events are
/// filtered out of what io_poll returns. A workload that registers one of its own handles with
/// this user_data would lose its events (the value spells "zigu-net" in ASCII).
pub const DEVICE_USER_DATA: u64 = 0x7465_6e2d_7567_697a;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const CLOSE_LINGER: Duration = Duration::from_secs(60);
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_CLOSING: usize = 128;
const EPHEMERAL_FIRST: u16 = 49152;
/// A query still unanswered past this has failed (smoltcp gives up on a silent resolver after
/// 10 s of retransmits; this also bounds a query waiting for an address from DHCP).
const DNS_TIMEOUT: Duration = Duration::from_secs(12);

/// Counters for the benchmark (`zigu_net_stats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Kernel entries for the network: net_recv + net_send + io_poll + io_(un)register.
    pub entries: u64,
    pub net_recv_calls: u64,
    pub net_send_calls: u64,
    pub io_poll_calls: u64,
    pub frames_in: u64,
    pub frames_out: u64,
    /// Frames net_send refused outright (ERR_INVALID): dropped.
    pub frames_dropped: u64,
    pub register_calls: u64,
}

impl Stats {
    pub fn as_array(&self) -> [u64; 8] {
        [
            self.entries,
            self.net_recv_calls,
            self.net_send_calls,
            self.io_poll_calls,
            self.frames_in,
            self.frames_out,
            self.frames_dropped,
            self.register_calls,
        ]
    }
}

// ---- the smoltcp device over the frame batches ---------------------------------------------

struct RxSide {
    bufs: Vec<Box<[u8]>>,
    lens: [u64; MAX_NET_BATCH],
    count: usize,
    next: usize,
}

struct TxSide {
    queue: VecDeque<Vec<u8>>,
    pool: Vec<Vec<u8>>,
}

struct Phy {
    rx: RxSide,
    tx: TxSide,
    mtu: usize,
}

pub struct RxToken<'a>(&'a [u8]);
pub struct TxToken<'a>(&'a mut TxSide);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.0.pool.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.0.queue.push_back(buf);
        r
    }
}

impl Device for Phy {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if self.rx.next >= self.rx.count {
            return None;
        }
        let i = self.rx.next;
        self.rx.next += 1;
        let len = (self.rx.lens[i] as usize).min(MAX_FRAME_BYTES);
        Some((RxToken(&self.rx.bufs[i][..len]), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxToken<'_>> {
        if self.tx.queue.len() >= TX_QUEUE_FRAMES {
            return None;
        }
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        caps
    }
}

// ---- the library's objects ------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Reg {
    interest: u32,
    user_data: u64,
}

struct Listener {
    port: u16,
    backlog: usize,
    socks: Vec<SocketHandle>,
    reg: Option<Reg>,
}

struct TcpObj {
    sh: SocketHandle,
    reg: Option<Reg>,
    /// A connect waiting for an address (DHCP): (remote, local port).
    pending: Option<(IpEndpoint, u16)>,
    /// SYN-SENT past this: the connection failed.
    connect_deadline: Option<Instant>,
}

struct UdpObj {
    sh: SocketHandle,
    reg: Option<Reg>,
}

enum DnsAnswer {
    /// Not sent yet (no address or resolver yet), or sent as this smoltcp query.
    Pending(Option<dns::QueryHandle>),
    Done(Vec<u32>),
    Failed,
}

struct DnsObj {
    /// The name as dns_query took it (checked by valid_host_name).
    name: alloc::string::String,
    answer: DnsAnswer,
    deadline: Instant,
    reg: Option<Reg>,
}

enum Obj {
    Listener(Listener),
    Tcp(TcpObj),
    Udp(UdpObj),
    Dns(DnsObj),
}

impl Obj {
    fn reg_mut(&mut self) -> &mut Option<Reg> {
        match self {
            Obj::Listener(l) => &mut l.reg,
            Obj::Tcp(t) => &mut t.reg,
            Obj::Udp(u) => &mut u.reg,
            Obj::Dns(d) => &mut d.reg,
        }
    }

    fn reg(&self) -> Option<Reg> {
        match self {
            Obj::Listener(l) => l.reg,
            Obj::Tcp(t) => t.reg,
            Obj::Udp(u) => u.reg,
            Obj::Dns(d) => d.reg,
        }
    }
}

/// A host name as dns_query takes it: dot-separated labels of 1..63 letters, digits, '-' and '_'
/// (no label starts or ends with '-'), at most MAX_DNS_NAME_BYTES in all, no trailing dot.
pub fn valid_host_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DNS_NAME_BYTES
        && name.split(|&c| c == b'.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l[0] != b'-'
                && l[l.len() - 1] != b'-'
                && l.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// A dotted IPv4 address (four decimal parts 0..255, no leading zeros), as a number.
pub fn parse_ipv4(name: &[u8]) -> Option<u32> {
    let mut parts = 0;
    let mut addr = 0u32;
    for p in name.split(|&c| c == b'.') {
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p[0] == b'0') || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v: u32 = p.iter().fold(0, |a, &c| a * 10 + (c - b'0') as u32);
        if v > 255 {
            return None;
        }
        addr = addr << 8 | v;
        parts += 1;
    }
    (parts == 4).then_some(addr)
}

struct State {
    dev: u64,
    info: NetInfo,
    phy: Phy,
    iface: Interface,
    sockets: SocketSet<'static>,
    socket_count: usize,
    table: Table<Obj>,
    closing: Vec<(SocketHandle, Instant)>,
    dhcp: Option<SocketHandle>,
    /// The resolver's socket, made with the first query.
    dns: Option<SocketHandle>,
    /// The interest the device is registered with in the kernel.
    dev_interest: u32,
    /// Whether net_recv may find frames (last batch was full, or the kernel said readable).
    rx_hint: bool,
    /// The device did not take all queued frames: wait for it to be writable.
    tx_blocked: bool,
    /// user_data of handles closed while registered: one EV_HANGUP each.
    hangups: VecDeque<u64>,
    rng: u64,
    tsc_base: u64,
}

pub struct Net<K: Kernel> {
    pub k: K,
    st: Option<Box<State>>,
    pub stats: Stats,
}

fn tcp_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; TCP_BUFFER_BYTES]),
        tcp::SocketBuffer::new(vec![0u8; TCP_BUFFER_BYTES]),
    );
    s.set_timeout(Some(IDLE_TIMEOUT));
    s
}

/// An ARP request (broadcast) for `target`, from our MAC and `src`. Sent for the gateway as soon
/// as the interface has its address: the gateway (QEMU's user network, a bridge's router) learns
/// our MAC from it and smoltcp learns the gateway's from the reply, before the first connection.
/// Without it, a burst of connections to a fresh guest begins with an ARP request from the
/// gateway for every queued SYN (slirp holds each SYN until the guest answers) and ARP replies
/// from the guest: round trips through a guest that is slowest on its first burst, while the host's
/// connections wait behind slirp's host-side listen socket (backlog 1). Those the host cannot
/// queue are retried on its SYN-ACK backoff and reset when the retries run out (~100 s).
fn arp_request_frame(mac: [u8; 6], src: Ipv4Address, target: Ipv4Address) -> Vec<u8> {
    use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr};
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac),
        source_protocol_addr: src,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let eth = EthernetRepr { src_addr: EthernetAddress(mac), dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Arp };
    // Padded to Ethernet's 60-byte minimum, as a NIC would.
    let mut buf = vec![0u8; (eth.buffer_len() + arp.buffer_len()).max(60)];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

fn v4(addr: u32) -> Ipv4Address {
    Ipv4Address::from_bits(addr)
}

fn check_buf(ptr_null: bool, len: u64) -> Result<(), i64> {
    if ptr_null && len > 0 {
        Err(ERR_BAD_POINTER)
    } else {
        Ok(())
    }
}

impl State {
    fn now(&self, tsc: u64) -> Instant {
        let d = tsc.wrapping_sub(self.tsc_base);
        let hz = self.info.tsc_hz;
        let us = d / hz * 1_000_000 + (d % hz) * 1_000_000 / hz;
        Instant::from_micros(us as i64)
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn port_in_use(&self, port: u16, tcp_side: bool) -> bool {
        self.sockets.iter().any(|(_, s)| match s {
            smoltcp::socket::Socket::Tcp(t) if tcp_side => {
                t.listen_endpoint().port == port || t.local_endpoint().map(|e| e.port) == Some(port)
            }
            smoltcp::socket::Socket::Udp(u) if !tcp_side => u.endpoint().port == port,
            _ => false,
        }) || (tcp_side
            && self.table.iter().any(|(_, o)| match o {
                Obj::Listener(l) => l.port == port,
                Obj::Tcp(t) => t.pending.map(|p| p.1) == Some(port),
                _ => false,
            }))
    }

    fn ephemeral_port(&mut self, tcp_side: bool) -> Result<u16, i64> {
        let span = 65536 - EPHEMERAL_FIRST as u32;
        let start = (self.next_rand() % span as u64) as u32;
        for i in 0..span {
            let p = EPHEMERAL_FIRST + ((start + i) % span) as u16;
            if !self.port_in_use(p, tcp_side) {
                return Ok(p);
            }
        }
        Err(ERR_NO_SPACE)
    }

    fn add_socket<T: smoltcp::socket::AnySocket<'static>>(&mut self, s: T) -> Result<SocketHandle, i64> {
        if self.socket_count >= MAX_SOCKETS {
            return Err(ERR_NO_SPACE);
        }
        self.socket_count += 1;
        Ok(self.sockets.add(s))
    }

    fn remove_socket(&mut self, sh: SocketHandle) {
        self.sockets.remove(sh);
        self.socket_count -= 1;
    }

    fn new_listening(&mut self, port: u16) -> Result<SocketHandle, i64> {
        let mut s = tcp_socket();
        s.listen(IpListenEndpoint { addr: None, port }).map_err(|_| ERR_INVALID)?;
        self.add_socket(s)
    }

    fn has_address(&self) -> bool {
        self.iface.ipv4_addr().is_some()
    }

    /// Queues an ARP request for the gateway (see `arp_request_frame`), when there is one on our
    /// network; it goes out with the next flush.
    fn resolve_gateway(&mut self) {
        let (Some(gw), Some(own)) = (self.info.gateway, self.iface.ipv4_addr()) else { return };
        let gw = v4(gw);
        let on_link = self.iface.ip_addrs().iter().any(|c| c.contains_addr(&IpAddress::Ipv4(gw)));
        if gw == own || !on_link {
            return;
        }
        let frame = arp_request_frame(self.info.mac, own, gw);
        self.phy.tx.queue.push_back(frame);
    }

    /// After each iface.poll: DHCP, deferred connects, listeners' backlogs, closing sockets.
    fn maintain(&mut self, now: Instant) {
        if let Some(dh) = self.dhcp {
            let ev = self.sockets.get_mut::<dhcpv4::Socket>(dh).poll();
            match ev {
                Some(dhcpv4::Event::Configured(cfg)) => {
                    let (addr, router, dns) = (cfg.address, cfg.router, cfg.dns_servers.first().copied());
                    self.iface.update_ip_addrs(|a| {
                        a.clear();
                        let _ = a.push(IpCidr::Ipv4(addr));
                    });
                    match router {
                        Some(r) => {
                            let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                        }
                        None => {
                            self.iface.routes_mut().remove_default_ipv4_route();
                        }
                    }
                    self.info.gateway = router.map(|r| r.to_bits());
                    self.info.dns = dns.map(|d| d.to_bits());
                    if let Some(sh) = self.dns {
                        let servers: Vec<IpAddress> = dns.map(IpAddress::Ipv4).into_iter().collect();
                        self.sockets.get_mut::<dns::Socket>(sh).update_servers(&servers);
                    }
                    self.resolve_gateway();
                }
                Some(dhcpv4::Event::Deconfigured) => {
                    self.iface.update_ip_addrs(|a| a.clear());
                    self.iface.routes_mut().remove_default_ipv4_route();
                }
                None => {}
            }
        }
        let has_addr = self.has_address();
        let mut rearm: Vec<(u64, usize)> = Vec::new();
        for (h, obj) in self.table.iter_mut() {
            match obj {
                Obj::Tcp(t) => {
                    let s = self.sockets.get_mut::<tcp::Socket>(t.sh);
                    if let Some((remote, local)) = t.pending {
                        if has_addr {
                            t.pending = None;
                            // An unaddressable destination fails the socket: it reads as ERR_CONNECTION.
                            let _ = s.connect(self.iface.context(), remote, local);
                        }
                    } else if s.state() == tcp::State::SynSent {
                        if t.connect_deadline.is_some_and(|d| now >= d) {
                            s.abort();
                        }
                    } else {
                        t.connect_deadline = None;
                    }
                }
                Obj::Listener(l) => {
                    let mut listening = 0;
                    for &sh in &l.socks {
                        let s = self.sockets.get_mut::<tcp::Socket>(sh);
                        if s.state() == tcp::State::Closed {
                            let _ = s.listen(IpListenEndpoint { addr: None, port: l.port });
                        }
                        if s.state() == tcp::State::Listen {
                            listening += 1;
                        }
                    }
                    let missing = (l.backlog - listening.min(l.backlog)).min(MAX_PENDING.saturating_sub(l.socks.len()));
                    if missing > 0 {
                        rearm.push((h, missing));
                    }
                }
                Obj::Udp(_) => {}
                Obj::Dns(d) => {
                    let DnsAnswer::Pending(q) = d.answer else { continue };
                    match (q, self.dns) {
                        (None, Some(sh)) if has_addr && self.info.dns.is_some() => {
                            let s = self.sockets.get_mut::<dns::Socket>(sh);
                            // The name was checked by dns_query: a refusal here cannot be fixed by waiting.
                            d.answer = match s.start_query(self.iface.context(), &d.name, smoltcp::wire::DnsQueryType::A) {
                                Ok(q) => DnsAnswer::Pending(Some(q)),
                                Err(_) => DnsAnswer::Failed,
                            };
                        }
                        (Some(q), Some(sh)) => {
                            let s = self.sockets.get_mut::<dns::Socket>(sh);
                            match s.get_query_result(q) {
                                Ok(addrs) => {
                                    let v4s: Vec<u32> = addrs.iter().map(|a| match a {
                                        IpAddress::Ipv4(a) => a.to_bits(),
                                    }).collect();
                                    d.answer = if v4s.is_empty() { DnsAnswer::Failed } else { DnsAnswer::Done(v4s) };
                                }
                                Err(dns::GetQueryResultError::Pending) => {
                                    if now >= d.deadline {
                                        s.cancel_query(q);
                                        d.answer = DnsAnswer::Failed;
                                    }
                                }
                                Err(dns::GetQueryResultError::Failed) => d.answer = DnsAnswer::Failed,
                            }
                        }
                        _ => {
                            if now >= d.deadline {
                                d.answer = DnsAnswer::Failed;
                            }
                        }
                    }
                }
            }
        }
        for (h, missing) in rearm {
            let port = match self.table.get(h, Some(TAG_LISTENER)) {
                Ok(Obj::Listener(l)) => l.port,
                _ => continue,
            };
            for _ in 0..missing {
                match self.new_listening(port) {
                    Ok(sh) => {
                        if let Ok(Obj::Listener(l)) = self.table.get_mut(h, Some(TAG_LISTENER)) {
                            l.socks.push(sh);
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        // Closing sockets: gone once closed (or in TIME-WAIT), aborted after their linger.
        let mut i = 0;
        while i < self.closing.len() {
            let (sh, deadline) = self.closing[i];
            let s = self.sockets.get_mut::<tcp::Socket>(sh);
            match s.state() {
                tcp::State::Closed | tcp::State::TimeWait => {
                    self.closing.swap_remove(i);
                    self.remove_socket(sh);
                    continue;
                }
                _ if now >= deadline => s.abort(),
                _ => {}
            }
            i += 1;
        }
        while self.closing.len() > MAX_CLOSING {
            let (sh, _) = self.closing.remove(0);
            self.sockets.get_mut::<tcp::Socket>(sh).abort();
            self.closing.push((sh, now));
            if self.closing.len() > MAX_CLOSING * 2 {
                break;
            }
        }
    }

    /// The events of one library object (before masking with its interest).
    fn readiness(&self, obj: &Obj) -> u32 {
        match obj {
            Obj::Listener(l) => {
                if l.socks.iter().any(|&sh| {
                    matches!(
                        self.sockets.get::<tcp::Socket>(sh).state(),
                        tcp::State::Established | tcp::State::CloseWait
                    )
                }) {
                    EV_READABLE
                } else {
                    0
                }
            }
            Obj::Tcp(t) => {
                if t.pending.is_some() {
                    return 0;
                }
                let s = self.sockets.get::<tcp::Socket>(t.sh);
                match s.state() {
                    tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Listen => 0,
                    tcp::State::Closed => EV_READABLE | EV_HANGUP,
                    _ => {
                        let mut ev = 0;
                        if s.can_recv() || !s.may_recv() {
                            ev |= EV_READABLE;
                        }
                        if s.can_send() {
                            ev |= EV_WRITABLE;
                        }
                        ev
                    }
                }
            }
            Obj::Udp(u) => {
                let s = self.sockets.get::<udp::Socket>(u.sh);
                let mut ev = 0;
                if s.can_recv() {
                    ev |= EV_READABLE;
                }
                if s.can_send() {
                    ev |= EV_WRITABLE;
                }
                ev
            }
            Obj::Dns(d) => match d.answer {
                DnsAnswer::Pending(_) => 0,
                _ => EV_READABLE,
            },
        }
    }

    /// Hang-ups of closed registrations, then ready registered handles, into `out`.
    fn collect(&mut self, out: &mut [Event]) -> usize {
        let mut n = 0;
        while n < out.len() {
            match self.hangups.pop_front() {
                Some(ud) => {
                    out[n] = Event { user_data: ud, events: EV_HANGUP, reserved: 0 };
                    n += 1;
                }
                None => break,
            }
        }
        for (_, obj) in self.table.iter() {
            if n == out.len() {
                break;
            }
            let Some(reg) = obj.reg() else { continue };
            let ev = self.readiness(obj) & (reg.interest | EV_HANGUP);
            if ev != 0 {
                out[n] = Event { user_data: reg.user_data, events: ev, reserved: 0 };
                n += 1;
            }
        }
        n
    }
}

impl<K: Kernel> Net<K> {
    pub const fn new(k: K) -> Self {
        Net { k, st: None, stats: Stats { entries: 0, net_recv_calls: 0, net_send_calls: 0, io_poll_calls: 0, frames_in: 0, frames_out: 0, frames_dropped: 0, register_calls: 0 } }
    }

    pub fn initialised(&self) -> bool {
        self.st.is_some()
    }

    /// The parsed net_info, once initialised.
    pub fn info(&self) -> Option<&NetInfo> {
        self.st.as_ref().map(|s| &s.info)
    }

    /// Whether the interface has an IPv4 address (static, or from DHCP).
    pub fn has_address(&self) -> bool {
        self.st.as_ref().is_some_and(|s| s.has_address())
    }

    fn init(&mut self) -> Result<(), i64> {
        if self.st.is_some() {
            return Ok(());
        }
        let dev = self.k.net_open();
        if dev < 0 {
            return Err(dev);
        }
        let dev = dev as u64;
        let mut text = vec![0u8; MAX_NET_INFO_BYTES];
        let n = self.k.net_info(dev, &mut text);
        let parsed = if n < 0 { Err(n) } else { info::parse(&text[..(n as usize).min(text.len())]).map_err(|_| ERR_INVALID) };
        let info = match parsed {
            Ok(i) => i,
            Err(e) => {
                self.k.log(LOG_ERROR, b"zigu-net: net_info unreadable; network not started");
                self.k.handle_close(dev);
                return Err(e);
            }
        };
        let r = self.k.io_register(dev, EV_READABLE, DEVICE_USER_DATA);
        self.stats.entries += 1;
        self.stats.register_calls += 1;
        if r < 0 {
            self.k.handle_close(dev);
            return Err(r);
        }
        let tsc = self.k.tsc();
        let mut phy = Phy {
            rx: RxSide {
                bufs: (0..MAX_NET_BATCH).map(|_| vec![0u8; MAX_FRAME_BYTES].into_boxed_slice()).collect(),
                lens: [0; MAX_NET_BATCH],
                count: 0,
                next: 0,
            },
            tx: TxSide { queue: VecDeque::new(), pool: Vec::new() },
            mtu: info.mtu as usize,
        };
        let seed = tsc ^ u64::from_le_bytes([info.mac[0], info.mac[1], info.mac[2], info.mac[3], info.mac[4], info.mac[5], 0x5a, 0xa5]).rotate_left(17);
        let mut config = Config::new(EthernetAddress(info.mac).into());
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut phy, Instant::from_micros(0));
        let mut sockets = SocketSet::new(Vec::new());
        let mut dhcp = None;
        match info.address {
            Address::Static(a, prefix) => {
                iface.update_ip_addrs(|addrs| {
                    let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(v4(a)), prefix));
                });
                if let Some(gw) = info.gateway {
                    let _ = iface.routes_mut().add_default_ipv4_route(v4(gw));
                }
            }
            Address::Dhcp => {
                dhcp = Some(sockets.add(dhcpv4::Socket::new()));
            }
        }
        self.st = Some(Box::new(State {
            dev,
            info,
            phy,
            iface,
            sockets,
            socket_count: 0,
            table: Table::new(MAX_HANDLES),
            closing: Vec::new(),
            dhcp,
            dns: None,
            dev_interest: EV_READABLE,
            rx_hint: true,
            tx_blocked: false,
            hangups: VecDeque::new(),
            rng: seed | 1,
            tsc_base: tsc,
        }));
        // With a static address the gateway is asked at once (with DHCP, once configured).
        let st = self.st.as_mut().unwrap();
        st.resolve_gateway();
        Self::flush(&mut self.k, &mut self.stats, st);
        Ok(())
    }

    fn st(&mut self) -> Result<&mut State, i64> {
        self.init()?;
        Ok(self.st.as_mut().unwrap())
    }

    /// The library's clock (microseconds since init).
    pub fn now(&mut self) -> Instant {
        let tsc = self.k.tsc();
        match &self.st {
            Some(st) => st.now(tsc),
            None => Instant::from_micros(0),
        }
    }

    /// Moves frames: receive batches from the device, run smoltcp, send what it queued.
    pub fn pump(&mut self) {
        let Some(st) = self.st.as_mut() else { return };
        for _ in 0..MAX_RX_BATCHES {
            let mut got = 0;
            if st.rx_hint {
                let iov: [IoVec; MAX_NET_BATCH] = core::array::from_fn(|i| IoVec {
                    ptr: st.phy.rx.bufs[i].as_ptr() as u64,
                    len: MAX_FRAME_BYTES as u64,
                });
                let r = self.k.net_recv(st.dev, &iov, &mut st.phy.rx.lens);
                self.stats.entries += 1;
                self.stats.net_recv_calls += 1;
                got = if r > 0 { (r as usize).min(MAX_NET_BATCH) } else { 0 };
                self.stats.frames_in += got as u64;
                st.rx_hint = got == MAX_NET_BATCH;
            }
            st.phy.rx.count = got;
            st.phy.rx.next = 0;
            let now = st.now(self.k.tsc());
            st.iface.poll(now, &mut st.phy, &mut st.sockets);
            st.phy.rx.count = 0;
            st.maintain(now);
            // What maintenance changed (re-armed listeners, aborts) goes out in the same pass.
            st.iface.poll(now, &mut st.phy, &mut st.sockets);
            Self::flush(&mut self.k, &mut self.stats, st);
            if got < MAX_NET_BATCH {
                break;
            }
        }
    }

    fn flush(k: &mut K, stats: &mut Stats, st: &mut State) {
        st.tx_blocked = false;
        while !st.phy.tx.queue.is_empty() {
            let n = st.phy.tx.queue.len().min(MAX_NET_BATCH);
            let mut iov = [IoVec::default(); MAX_NET_BATCH];
            for (i, f) in st.phy.tx.queue.iter().take(n).enumerate() {
                iov[i] = IoVec { ptr: f.as_ptr() as u64, len: f.len() as u64 };
            }
            let r = k.net_send(st.dev, &iov[..n]);
            stats.entries += 1;
            stats.net_send_calls += 1;
            let taken = if r < 0 {
                // A frame the device refuses outright would be refused for ever: drop the batch.
                stats.frames_dropped += n as u64;
                n
            } else {
                stats.frames_out += (r as usize).min(n) as u64;
                (r as usize).min(n)
            };
            for _ in 0..taken {
                let f = st.phy.tx.queue.pop_front().unwrap();
                if st.phy.tx.pool.len() < TX_QUEUE_FRAMES {
                    st.phy.tx.pool.push(f);
                }
            }
            if taken < n {
                st.tx_blocked = true;
                break;
            }
        }
    }

    /// The smoltcp state of a TCP socket handle, for tests and diagnostics.
    #[doc(hidden)]
    pub fn debug_tcp(&self, h: u64) -> Option<alloc::string::String> {
        let st = self.st.as_ref()?;
        match st.table.get(h, Some(TAG_TCP)) {
            Ok(Obj::Tcp(t)) => {
                let s = st.sockets.get::<tcp::Socket>(t.sh);
                Some(alloc::format!("{} rx={} tx={} pending={}", s.state(), s.recv_queue(), s.send_queue(), t.pending.is_some()))
            }
            _ => None,
        }
    }

    /// Sockets alive in smoltcp (listening, open and closing ones), for tests.
    #[doc(hidden)]
    pub fn debug_socket_count(&self) -> usize {
        self.st.as_ref().map_or(0, |s| s.socket_count)
    }

    // ---- the socket calls ----------------------------------------------------------------

    pub fn tcp_listen(&mut self, port: u32, backlog: u32) -> i64 {
        self.tcp_listen_impl(port, backlog).unwrap_or_else(|e| e)
    }

    fn tcp_listen_impl(&mut self, port: u32, backlog: u32) -> Result<i64, i64> {
        let st = self.st()?;
        if port == 0 || port > 65535 {
            return Err(ERR_INVALID);
        }
        let port = port as u16;
        if !st.info.policy.allows_listen(port) {
            return Err(ERR_NOT_ALLOWED);
        }
        if st.table.iter().any(|(_, o)| matches!(o, Obj::Listener(l) if l.port == port)) {
            return Err(ERR_EXISTS);
        }
        let backlog = backlog.clamp(1, MAX_BACKLOG) as usize;
        let first = st.new_listening(port)?;
        let h = match st.table.insert(TAG_LISTENER, Obj::Listener(Listener { port, backlog, socks: vec![first], reg: None })) {
            Ok(h) => h,
            Err(e) => {
                st.remove_socket(first);
                return Err(e);
            }
        };
        // The rest of the backlog now, as far as sockets allow (maintenance tops it up later).
        for _ in 1..backlog {
            match st.new_listening(port) {
                Ok(sh) => {
                    if let Ok(Obj::Listener(l)) = st.table.get_mut(h, Some(TAG_LISTENER)) {
                        l.socks.push(sh);
                    }
                }
                Err(_) => break,
            }
        }
        Ok(h as i64)
    }

    pub fn tcp_accept(&mut self, listener: u64) -> i64 {
        self.tcp_accept_impl(listener).unwrap_or_else(|e| e)
    }

    fn tcp_accept_impl(&mut self, listener: u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Listener(l) = st.table.get(listener, Some(TAG_LISTENER))? else { return Err(ERR_BAD_HANDLE) };
        let port = l.port;
        let ready = l.socks.iter().position(|&sh| {
            matches!(st.sockets.get::<tcp::Socket>(sh).state(), tcp::State::Established | tcp::State::CloseWait)
        });
        let Some(i) = ready else { return Err(ERR_WOULD_BLOCK) };
        let sh = l.socks[i];
        let h = st.table.insert(TAG_TCP, Obj::Tcp(TcpObj { sh, reg: None, pending: None, connect_deadline: None }))?;
        let replacement = st.new_listening(port).ok();
        if let Ok(Obj::Listener(l)) = st.table.get_mut(listener, Some(TAG_LISTENER)) {
            match replacement {
                Some(r) => l.socks[i] = r,
                None => {
                    l.socks.swap_remove(i);
                }
            }
        }
        Ok(h as i64)
    }

    pub fn tcp_connect(&mut self, addr: u32, port: u32) -> i64 {
        self.tcp_connect_impl(addr, port).unwrap_or_else(|e| e)
    }

    fn tcp_connect_impl(&mut self, addr: u32, port: u32) -> Result<i64, i64> {
        self.init()?;
        let tsc = self.k.tsc();
        let st = self.st.as_mut().unwrap();
        if port == 0 || port > 65535 || addr == 0 || addr == u32::MAX || addr >> 28 == 0xe {
            return Err(ERR_INVALID);
        }
        if !st.info.policy.allows_connect(addr, port as u16) {
            return Err(ERR_NOT_ALLOWED);
        }
        let local = st.ephemeral_port(true)?;
        let remote = IpEndpoint::new(IpAddress::Ipv4(v4(addr)), port as u16);
        let mut s = tcp_socket();
        let pending = if st.has_address() {
            s.connect(st.iface.context(), remote, local).map_err(|_| ERR_CONNECTION)?;
            None
        } else {
            Some((remote, local))
        };
        let sh = st.add_socket(s)?;
        let now = st.now(tsc);
        match st.table.insert(TAG_TCP, Obj::Tcp(TcpObj { sh, reg: None, pending, connect_deadline: Some(now + CONNECT_TIMEOUT) })) {
            Ok(h) => Ok(h as i64),
            Err(e) => {
                st.remove_socket(sh);
                Err(e)
            }
        }
    }

    pub fn sock_send(&mut self, sock: u64, buf: *const u8, len: u64) -> i64 {
        self.sock_send_impl(sock, buf, len).unwrap_or_else(|e| e)
    }

    fn sock_send_impl(&mut self, sock: u64, buf: *const u8, len: u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Tcp(t) = st.table.get(sock, Some(TAG_TCP))? else { return Err(ERR_BAD_HANDLE) };
        check_buf(buf.is_null(), len)?;
        if len == 0 {
            return Ok(0);
        }
        if t.pending.is_some() {
            return Err(ERR_WOULD_BLOCK);
        }
        let s = st.sockets.get_mut::<tcp::Socket>(t.sh);
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => return Err(ERR_WOULD_BLOCK),
            tcp::State::Established | tcp::State::CloseWait => {}
            _ => return Err(ERR_CONNECTION),
        }
        let data = unsafe { core::slice::from_raw_parts(buf, len.min(isize::MAX as u64) as usize) };
        match s.send_slice(data) {
            Ok(0) => Err(ERR_WOULD_BLOCK),
            Ok(n) => Ok(n as i64),
            Err(_) => Err(ERR_CONNECTION),
        }
    }

    pub fn sock_recv(&mut self, sock: u64, buf: *mut u8, len: u64) -> i64 {
        self.sock_recv_impl(sock, buf, len).unwrap_or_else(|e| e)
    }

    fn sock_recv_impl(&mut self, sock: u64, buf: *mut u8, len: u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Tcp(t) = st.table.get(sock, Some(TAG_TCP))? else { return Err(ERR_BAD_HANDLE) };
        check_buf(buf.is_null(), len)?;
        if t.pending.is_some() {
            return Err(ERR_WOULD_BLOCK);
        }
        let s = st.sockets.get_mut::<tcp::Socket>(t.sh);
        if matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived) {
            return Err(ERR_WOULD_BLOCK);
        }
        if len == 0 {
            return Ok(0);
        }
        let out = unsafe { core::slice::from_raw_parts_mut(buf, len.min(isize::MAX as u64) as usize) };
        match s.recv_slice(out) {
            Ok(0) => Err(ERR_WOULD_BLOCK),
            Ok(n) => Ok(n as i64),
            Err(tcp::RecvError::Finished) => Ok(0),
            Err(tcp::RecvError::InvalidState) => Err(ERR_CONNECTION),
        }
    }

    pub fn sock_shutdown(&mut self, sock: u64) -> i64 {
        self.sock_shutdown_impl(sock).unwrap_or_else(|e| e)
    }

    fn sock_shutdown_impl(&mut self, sock: u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Tcp(t) = st.table.get_mut(sock, Some(TAG_TCP))? else { return Err(ERR_BAD_HANDLE) };
        if t.pending.take().is_some() {
            // Never started: nothing to close but the socket itself (it reads as failed).
            st.sockets.get_mut::<tcp::Socket>(t.sh).abort();
            return Ok(0);
        }
        st.sockets.get_mut::<tcp::Socket>(t.sh).close();
        Ok(0)
    }

    pub fn udp_bind(&mut self, port: u32) -> i64 {
        self.udp_bind_impl(port).unwrap_or_else(|e| e)
    }

    fn udp_bind_impl(&mut self, port: u32) -> Result<i64, i64> {
        let st = self.st()?;
        if port > 65535 {
            return Err(ERR_INVALID);
        }
        let port = if port == 0 {
            st.ephemeral_port(false)?
        } else {
            let p = port as u16;
            if !st.info.policy.allows_listen(p) {
                return Err(ERR_NOT_ALLOWED);
            }
            if st.port_in_use(p, false) {
                return Err(ERR_EXISTS);
            }
            p
        };
        let buffer = || {
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0u8; UDP_BUFFER_BYTES])
        };
        let mut s = udp::Socket::new(buffer(), buffer());
        s.bind(port).map_err(|_| ERR_INVALID)?;
        let sh = st.add_socket(s)?;
        match st.table.insert(TAG_UDP, Obj::Udp(UdpObj { sh, reg: None })) {
            Ok(h) => Ok(h as i64),
            Err(e) => {
                st.remove_socket(sh);
                Err(e)
            }
        }
    }

    pub fn udp_send_to(&mut self, sock: u64, buf: *const u8, len: u64, to: u64) -> i64 {
        self.udp_send_to_impl(sock, buf, len, to).unwrap_or_else(|e| e)
    }

    fn udp_send_to_impl(&mut self, sock: u64, buf: *const u8, len: u64, to: u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Udp(u) = st.table.get(sock, Some(TAG_UDP))? else { return Err(ERR_BAD_HANDLE) };
        check_buf(buf.is_null(), len)?;
        let (addr, port) = ((to >> 16) as u32, to as u16);
        if to >> 48 != 0 || port == 0 || addr == 0 {
            return Err(ERR_INVALID);
        }
        if !st.info.policy.allows_connect(addr, port) {
            return Err(ERR_NOT_ALLOWED);
        }
        // No IP fragmentation: one datagram fits one frame.
        if len > st.info.mtu as u64 - 28 {
            return Err(ERR_INVALID);
        }
        let data = unsafe { core::slice::from_raw_parts(buf, len as usize) };
        let s = st.sockets.get_mut::<udp::Socket>(u.sh);
        match s.send_slice(data, IpEndpoint::new(IpAddress::Ipv4(v4(addr)), port)) {
            Ok(()) => Ok(len as i64),
            Err(udp::SendError::BufferFull) => Err(ERR_WOULD_BLOCK),
            Err(udp::SendError::Unaddressable) => Err(ERR_INVALID),
        }
    }

    pub fn udp_recv_from(&mut self, sock: u64, buf: *mut u8, len: u64, from: *mut u64) -> i64 {
        self.udp_recv_from_impl(sock, buf, len, from).unwrap_or_else(|e| e)
    }

    fn udp_recv_from_impl(&mut self, sock: u64, buf: *mut u8, len: u64, from: *mut u64) -> Result<i64, i64> {
        let st = self.st()?;
        let Obj::Udp(u) = st.table.get(sock, Some(TAG_UDP))? else { return Err(ERR_BAD_HANDLE) };
        check_buf(buf.is_null(), len)?;
        if from.is_null() {
            return Err(ERR_BAD_POINTER);
        }
        let s = st.sockets.get_mut::<udp::Socket>(u.sh);
        match s.recv() {
            Ok((data, meta)) => {
                let n = data.len().min(len.min(isize::MAX as u64) as usize);
                if n > 0 {
                    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), buf, n) };
                }
                let a = match meta.endpoint.addr {
                    IpAddress::Ipv4(a) => a.to_bits() as u64,
                };
                unsafe { from.write_unaligned(a << 16 | meta.endpoint.port as u64) };
                Ok(n as i64)
            }
            Err(_) => Err(ERR_WOULD_BLOCK),
        }
    }

    pub fn dns_query(&mut self, name: *const u8, len: u64) -> i64 {
        self.dns_query_impl(name, len).unwrap_or_else(|e| e)
    }

    fn dns_query_impl(&mut self, name: *const u8, len: u64) -> Result<i64, i64> {
        let tsc = self.k.tsc();
        let st = self.st()?;
        if len == 0 || len > MAX_DNS_NAME_BYTES as u64 {
            return Err(ERR_INVALID);
        }
        check_buf(name.is_null(), len)?;
        let name = unsafe { core::slice::from_raw_parts(name, len as usize) };
        if !valid_host_name(name) {
            return Err(ERR_INVALID);
        }
        let now = st.now(tsc);
        let answer = match parse_ipv4(name) {
            Some(a) => DnsAnswer::Done(vec![a]),
            // No resolver, and none can come from DHCP: nothing to ask.
            None if st.info.dns.is_none() && !matches!(st.info.address, Address::Dhcp) => DnsAnswer::Failed,
            None => {
                if st.dns.is_none() {
                    let servers: Vec<IpAddress> = st.info.dns.map(|d| IpAddress::Ipv4(v4(d))).into_iter().collect();
                    st.dns = Some(st.add_socket(dns::Socket::new(&servers, Vec::new()))?);
                }
                DnsAnswer::Pending(None)
            }
        };
        // valid_host_name admits ASCII only.
        let name = alloc::string::String::from_utf8(name.to_vec()).map_err(|_| ERR_INVALID)?;
        let h = st.table.insert(TAG_DNS, Obj::Dns(DnsObj { name, answer, deadline: now + DNS_TIMEOUT, reg: None }))?;
        // Sent with this pass (or as soon as there is an address), not at the next io_poll.
        self.pump();
        Ok(h as i64)
    }

    pub fn dns_result(&mut self, query: u64, addrs: *mut u32, max: u64) -> i64 {
        self.dns_result_impl(query, addrs, max).unwrap_or_else(|e| e)
    }

    fn dns_result_impl(&mut self, query: u64, addrs: *mut u32, max: u64) -> Result<i64, i64> {
        let st = self.st()?;
        if max == 0 || max > MAX_DNS_ADDRS as u64 {
            return Err(ERR_INVALID);
        }
        check_buf(addrs.is_null(), max)?;
        let Obj::Dns(d) = st.table.get(query, Some(TAG_DNS))? else { return Err(ERR_BAD_HANDLE) };
        match &d.answer {
            DnsAnswer::Pending(_) => Err(ERR_WOULD_BLOCK),
            DnsAnswer::Failed => Err(ERR_NOT_FOUND),
            DnsAnswer::Done(v) => {
                let n = v.len().min(max as usize);
                for (i, a) in v.iter().take(n).enumerate() {
                    unsafe { addrs.add(i).write_unaligned(*a) };
                }
                Ok(n as i64)
            }
        }
    }

    // ---- the folded kernel calls ---------------------------------------------------------

    pub fn handle_close(&mut self, h: u64) -> i64 {
        if !handles::is_library(h) {
            return self.k.handle_close(h);
        }
        let Some(st) = self.st.as_mut() else { return ERR_BAD_HANDLE };
        let obj = match st.table.remove(h, None) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let now = st.now(self.k.tsc());
        let reg = match obj {
            Obj::Listener(l) => {
                for sh in l.socks {
                    let s = st.sockets.get_mut::<tcp::Socket>(sh);
                    if s.state() == tcp::State::Listen || s.state() == tcp::State::Closed {
                        st.remove_socket(sh);
                    } else {
                        // A connection nobody accepted: reset it (sent on the next poll).
                        s.abort();
                        st.closing.push((sh, now));
                    }
                }
                l.reg
            }
            Obj::Tcp(t) => {
                let s = st.sockets.get_mut::<tcp::Socket>(t.sh);
                if t.pending.is_some() || s.state() == tcp::State::Closed {
                    st.remove_socket(t.sh);
                } else {
                    s.close();
                    st.closing.push((t.sh, now + CLOSE_LINGER));
                }
                t.reg
            }
            Obj::Udp(u) => {
                st.remove_socket(u.sh);
                u.reg
            }
            Obj::Dns(d) => {
                if let (DnsAnswer::Pending(Some(q)), Some(sh)) = (d.answer, st.dns) {
                    st.sockets.get_mut::<dns::Socket>(sh).cancel_query(q);
                }
                d.reg
            }
        };
        if let Some(r) = reg {
            st.hangups.push_back(r.user_data);
        }
        0
    }

    pub fn io_register(&mut self, h: u64, interest: u32, user_data: u64) -> i64 {
        if !handles::is_library(h) {
            return self.k.io_register(h, interest, user_data);
        }
        let Some(st) = self.st.as_mut() else { return ERR_BAD_HANDLE };
        let obj = match st.table.get_mut(h, None) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if interest == 0 || interest & !(EV_READABLE | EV_WRITABLE) != 0 {
            return ERR_INVALID;
        }
        let reg = obj.reg_mut();
        if reg.is_some() {
            return ERR_EXISTS;
        }
        *reg = Some(Reg { interest, user_data });
        0
    }

    pub fn io_unregister(&mut self, h: u64) -> i64 {
        if !handles::is_library(h) {
            return self.k.io_unregister(h);
        }
        let Some(st) = self.st.as_mut() else { return ERR_BAD_HANDLE };
        match st.table.get_mut(h, None) {
            Ok(o) => match o.reg_mut().take() {
                Some(_) => 0,
                None => ERR_INVALID,
            },
            Err(e) => e,
        }
    }

    /// The kernel's io_poll with the device's events taken out; Err on a kernel error.
    fn kernel_poll(&mut self, out: &mut [Event], timeout_ns: i64) -> Result<(usize, bool), i64> {
        self.stats.entries += 1;
        self.stats.io_poll_calls += 1;
        let r = self.k.io_poll(out, timeout_ns);
        if r < 0 {
            return Err(r);
        }
        let r = (r as usize).min(out.len());
        let (mut kept, mut dev_event) = (0, false);
        for i in 0..r {
            if out[i].user_data == DEVICE_USER_DATA {
                dev_event = true;
                if out[i].events & EV_READABLE != 0 {
                    if let Some(st) = self.st.as_mut() {
                        st.rx_hint = true;
                    }
                }
                continue;
            }
            out[kept] = out[i];
            kept += 1;
        }
        Ok((kept, dev_event))
    }

    fn set_device_interest(&mut self) {
        let Some(st) = self.st.as_mut() else { return };
        let want = if st.tx_blocked { EV_READABLE | EV_WRITABLE } else { EV_READABLE };
        if st.dev_interest == want {
            return;
        }
        self.k.io_unregister(st.dev);
        let r = self.k.io_register(st.dev, want, DEVICE_USER_DATA);
        self.stats.entries += 2;
        self.stats.register_calls += 2;
        st.dev_interest = if r < 0 { 0 } else { want };
    }

    /// How long smoltcp may sleep, in ns (-1: no timer).
    fn stack_delay_ns(&mut self) -> i64 {
        let tsc = self.k.tsc();
        let Some(st) = self.st.as_mut() else { return -1 };
        let now = st.now(tsc);
        let mut d = st.iface.poll_delay(now, &st.sockets).map(|d| d.total_micros() as i64 * 1000);
        // Deferred connects, connect deadlines and closing sockets are the library's own timers.
        let mut own = |at: Instant| {
            let ns = (at - now).total_micros() as i64 * 1000;
            let ns = if at <= now { 0 } else { ns };
            d = Some(d.map_or(ns, |x| x.min(ns)));
        };
        for (_, o) in st.table.iter() {
            match o {
                Obj::Tcp(t) => {
                    if let Some(dl) = t.connect_deadline {
                        own(dl);
                    }
                }
                Obj::Dns(d) if matches!(d.answer, DnsAnswer::Pending(_)) => own(d.deadline),
                _ => {}
            }
        }
        for &(_, dl) in &st.closing {
            own(dl);
        }
        d.unwrap_or(-1)
    }

    pub fn io_poll(&mut self, events: *mut Event, max: u64, timeout_ns: i64) -> i64 {
        if max == 0 || timeout_ns < TIMEOUT_INFINITE {
            return ERR_INVALID;
        }
        if events.is_null() {
            return ERR_BAD_POINTER;
        }
        let max = max.min(MAX_POLL_EVENTS) as usize;
        let out = unsafe { core::slice::from_raw_parts_mut(events, max) };
        if self.st.is_none() {
            return self.k.io_poll(out, timeout_ns);
        }
        self.poll_slice(out, timeout_ns)
    }

    pub fn poll_slice(&mut self, out: &mut [Event], timeout_ns: i64) -> i64 {
        let start = self.now();
        let deadline = if timeout_ns > 0 { Some(start + Duration::from_micros((timeout_ns as u64).div_ceil(1000))) } else { None };
        let mut rounds = 0u32;
        let mut idle_zero = 0u32;
        loop {
            rounds += 1;
            self.pump();
            let n = self.st.as_mut().unwrap().collect(out);
            if n > 0 {
                if n < out.len() {
                    match self.kernel_poll(&mut out[n..], 0) {
                        Ok((m, _)) => return (n + m) as i64,
                        Err(_) => return n as i64,
                    }
                }
                return n as i64;
            }
            let remaining: i64 = match (timeout_ns, deadline) {
                (TIMEOUT_INFINITE, _) => -1,
                (_, Some(dl)) => {
                    let now = self.now();
                    if now >= dl {
                        if rounds > 1 {
                            return 0;
                        }
                        0
                    } else {
                        (dl - now).total_micros() as i64 * 1000
                    }
                }
                _ => 0,
            };
            let mut wait = match (remaining, self.stack_delay_ns()) {
                (-1, d) => d,
                (r, -1) => r,
                (r, d) => r.min(d),
            };
            // smoltcp says "now" while frames wait for a full device: the device's writable event
            // wakes us, but never spin on a timer that keeps saying zero.
            if wait == 0 && remaining != 0 {
                idle_zero += 1;
                if idle_zero > 2 {
                    wait = 50_000;
                }
            } else {
                idle_zero = 0;
            }
            self.set_device_interest();
            match self.kernel_poll(out, wait) {
                Err(e) => return e,
                Ok((m, _)) if m > 0 => return m as i64,
                Ok((_, dev_event)) => {
                    if timeout_ns == 0 && (rounds > 1 || !dev_event) {
                        // One more pass after a device event, then give up: timeout 0 never waits.
                        if !dev_event {
                            return 0;
                        }
                        self.pump();
                        return self.st.as_mut().unwrap().collect(out) as i64;
                    }
                }
            }
        }
    }
}
