//! The text `uk_net_info` writes: `key=value` lines (docs/kernel-abi.md), parsed strictly. Known
//! keys with a malformed value, a repeated known key, a line without `=` or text longer than
//! MAX_NET_INFO_BYTES are errors; unknown keys are ignored (forward compatibility).

use alloc::vec::Vec;

use crate::abi::MAX_NET_INFO_BYTES;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    /// Address (host order) and prefix length.
    Static(u32, u8),
    Dhcp,
}

/// One entry of the connect list: destinations `net/prefix`, ports `lo..=hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub net: u32,
    pub prefix: u8,
    pub lo: u16,
    pub hi: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub listen: Vec<u16>,
    pub connect: Vec<Rule>,
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

impl Policy {
    pub fn allows_listen(&self, port: u16) -> bool {
        port != 0 && self.listen.contains(&port)
    }

    pub fn allows_connect(&self, addr: u32, port: u16) -> bool {
        port != 0
            && self.connect.iter().any(|r| {
                let m = mask(r.prefix);
                addr & m == r.net & m && r.lo <= port && port <= r.hi
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInfo {
    pub mac: [u8; 6],
    pub mtu: u16,
    pub tsc_hz: u64,
    pub address: Address,
    pub gateway: Option<u32>,
    pub dns: Option<u32>,
    pub policy: Policy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    TooLong,
    NotText,
    NoEquals,
    Duplicate(&'static str),
    Bad(&'static str),
    Missing(&'static str),
}

/// A decimal number without sign or leading zeros (except "0" itself), at most `max`.
pub fn dec(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if v > max {
        None
    } else {
        Some(v)
    }
}

/// A dotted-quad IPv4 address, host order.
pub fn ipv4(s: &[u8]) -> Option<u32> {
    let mut out: u32 = 0;
    let mut n = 0;
    for part in s.split(|&c| c == b'.') {
        if n == 4 || part.len() > 3 {
            return None;
        }
        out = (out << 8) | dec(part, 255)? as u32;
        n += 1;
    }
    if n == 4 {
        Some(out)
    } else {
        None
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub fn mac(s: &[u8]) -> Option<[u8; 6]> {
    if s.len() != 17 {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, b) in out.iter_mut().enumerate() {
        let p = &s[i * 3..i * 3 + 2];
        if i < 5 && s[i * 3 + 2] != b':' {
            return None;
        }
        *b = hex(p[0])? << 4 | hex(p[1])?;
    }
    Some(out)
}

/// `a.b.c.d` or `a.b.c.d/n`; without a prefix: /32.
pub fn cidr(s: &[u8]) -> Option<(u32, u8)> {
    match s.iter().position(|&c| c == b'/') {
        None => Some((ipv4(s)?, 32)),
        Some(i) => Some((ipv4(&s[..i])?, dec(&s[i + 1..], 32)? as u8)),
    }
}

fn port(s: &[u8]) -> Option<u16> {
    let p = dec(s, 65535)? as u16;
    if p == 0 {
        None
    } else {
        Some(p)
    }
}

/// `*`, `N` or `N-M` (N <= M).
fn port_range(s: &[u8]) -> Option<(u16, u16)> {
    if s == b"*" {
        return Some((1, 65535));
    }
    match s.iter().position(|&c| c == b'-') {
        None => {
            let p = port(s)?;
            Some((p, p))
        }
        Some(i) => {
            let (lo, hi) = (port(&s[..i])?, port(&s[i + 1..])?);
            if lo <= hi {
                Some((lo, hi))
            } else {
                None
            }
        }
    }
}

fn list<T>(s: &[u8], item: impl Fn(&[u8]) -> Option<T>) -> Option<Vec<T>> {
    let mut out = Vec::new();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(|&c| c == b',') {
        out.push(item(part)?);
    }
    Some(out)
}

pub fn rule(s: &[u8]) -> Option<Rule> {
    let colon = s.iter().rposition(|&c| c == b':')?;
    let (net, prefix) = cidr(&s[..colon])?;
    let (lo, hi) = port_range(&s[colon + 1..])?;
    Some(Rule { net: net & mask(prefix), prefix, lo, hi })
}

pub fn parse(text: &[u8]) -> Result<NetInfo, ParseError> {
    if text.len() > MAX_NET_INFO_BYTES {
        return Err(ParseError::TooLong);
    }
    let (mut m, mut mtu, mut hz, mut addr) = (None, None, None, None);
    let (mut gw, mut dns, mut listen, mut connect) = (None, None, None, None);
    for line in text.split(|&c| c == b'\n') {
        if line.is_empty() {
            continue;
        }
        if line.iter().any(|&c| !(0x20..0x7f).contains(&c)) {
            return Err(ParseError::NotText);
        }
        let eq = line.iter().position(|&c| c == b'=').ok_or(ParseError::NoEquals)?;
        let (key, v) = (&line[..eq], &line[eq + 1..]);
        fn set<T>(slot: &mut Option<T>, name: &'static str, v: Option<T>) -> Result<(), ParseError> {
            if slot.is_some() {
                return Err(ParseError::Duplicate(name));
            }
            *slot = Some(v.ok_or(ParseError::Bad(name))?);
            Ok(())
        }
        match key {
            b"mac" => set(&mut m, "mac", mac(v))?,
            b"mtu" => set(&mut mtu, "mtu", dec(v, 1500).filter(|&x| x >= 576).map(|x| x as u16))?,
            b"tsc_hz" => set(&mut hz, "tsc_hz", dec(v, u64::MAX).filter(|&x| x >= 1_000_000))?,
            b"address" => set(
                &mut addr,
                "address",
                if v == b"dhcp" {
                    Some(Address::Dhcp)
                } else {
                    cidr(v).filter(|&(a, _)| a != 0).map(|(a, p)| Address::Static(a, p))
                },
            )?,
            b"gateway" => set(&mut gw, "gateway", ipv4(v))?,
            b"dns" => set(&mut dns, "dns", ipv4(v))?,
            b"listen" => set(&mut listen, "listen", list(v, port))?,
            b"connect" => set(&mut connect, "connect", list(v, rule))?,
            b"" => return Err(ParseError::Bad("key")),
            _ => {}
        }
    }
    Ok(NetInfo {
        mac: m.ok_or(ParseError::Missing("mac"))?,
        mtu: mtu.ok_or(ParseError::Missing("mtu"))?,
        tsc_hz: hz.ok_or(ParseError::Missing("tsc_hz"))?,
        address: addr.ok_or(ParseError::Missing("address"))?,
        gateway: gw,
        dns,
        policy: Policy { listen: listen.unwrap_or_default(), connect: connect.unwrap_or_default() },
    })
}
