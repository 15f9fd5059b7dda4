//! The net_info parser and the policy it yields.

use zigu_net::info::*;

const GOOD: &str = "mac=52:54:00:12:34:56\nmtu=1500\ntsc_hz=2500000000\naddress=10.0.2.15/24\ngateway=10.0.2.2\ndns=10.0.2.3\nlisten=80,8080\nconnect=10.0.2.2/32:80,0.0.0.0/0:443,10.1.0.0/16:*,1.2.3.4:1000-2000\n";

#[test]
fn the_documented_example() {
    let i = parse(GOOD.as_bytes()).unwrap();
    assert_eq!(i.mac, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    assert_eq!(i.mtu, 1500);
    assert_eq!(i.tsc_hz, 2_500_000_000);
    assert_eq!(i.address, Address::Static(0x0a00_020f, 24));
    assert_eq!(i.gateway, Some(0x0a00_0202));
    assert_eq!(i.dns, Some(0x0a00_0203));
    assert_eq!(i.policy.listen, vec![80, 8080]);
    let p = &i.policy;
    assert!(p.allows_listen(80) && p.allows_listen(8080));
    assert!(!p.allows_listen(81) && !p.allows_listen(0));
    assert!(p.allows_connect(0x0a00_0202, 80));
    assert!(!p.allows_connect(0x0a00_0202, 81));
    assert!(!p.allows_connect(0x0a00_0203, 80));
    assert!(p.allows_connect(0x0808_0808, 443));
    assert!(p.allows_connect(0x0a01_ffff, 1) && p.allows_connect(0x0a01_0000, 65535));
    assert!(!p.allows_connect(0x0a02_0000, 22));
    assert!(p.allows_connect(0x0102_0304, 1000) && p.allows_connect(0x0102_0304, 2000));
    assert!(!p.allows_connect(0x0102_0304, 999) && !p.allows_connect(0x0102_0304, 2001));
    assert!(!p.allows_connect(0x0102_0305, 1500));
    assert!(!p.allows_connect(0x0a00_0202, 0));
}

#[test]
fn minimal_dhcp_and_unknown_keys() {
    let i = parse(b"future=1\nmac=00:00:00:00:00:01\nmtu=576\ntsc_hz=1000000\naddress=dhcp\nlisten=\nconnect=\nx_y=a=b\n").unwrap();
    assert_eq!(i.address, Address::Dhcp);
    assert_eq!(i.gateway, None);
    assert!(i.policy.listen.is_empty() && i.policy.connect.is_empty());
    assert!(!i.policy.allows_connect(0x0a00_0202, 80));
    // No trailing newline, no listen/connect at all.
    let j = parse(b"mac=00:00:00:00:00:01\nmtu=1500\ntsc_hz=3000000000\naddress=192.168.1.2").unwrap();
    assert_eq!(j.address, Address::Static(0xc0a8_0102, 32));
    // Host bits in a rule's network are masked off.
    let k = parse(b"mac=00:00:00:00:00:01\nmtu=1500\ntsc_hz=3000000000\naddress=dhcp\nconnect=10.0.2.77/24:1").unwrap();
    assert!(k.policy.allows_connect(0x0a00_0201, 1));
}

#[test]
fn hostile_inputs_are_refused() {
    let base = "mac=52:54:00:12:34:56\nmtu=1500\ntsc_hz=2500000000\naddress=10.0.2.15/24\n";
    let bad = [
        "mac=52:54:00:12:34\n",
        "mac=52:54:00:12:34:5g\n",
        "mac=52-54-00-12-34-56\n",
        "mac=52:54:00:12:34:567\n",
        "mtu=0\n",
        "mtu=1501\n",
        "mtu=-1\n",
        "mtu=+1500\n",
        "mtu=01500\n",
        "mtu=99999999999999999999999\n",
        "tsc_hz=0\n",
        "tsc_hz=18446744073709551616\n",
        "address=10.0.2.15/33\n",
        "address=10.0.2.256/24\n",
        "address=10.0.2/24\n",
        "address=10.0.2.15.1/24\n",
        "address=0.0.0.0/0\n",
        "address=010.0.2.15/24\n",
        "address=10.0.2.15/\n",
        "address=\n",
        "gateway=10.0.2\n",
        "dns= 10.0.2.3\n",
        "listen=80,\n",
        "listen=,80\n",
        "listen=0\n",
        "listen=65536\n",
        "listen=80 ,8080\n",
        "connect=10.0.2.2\n",
        "connect=10.0.2.2:0\n",
        "connect=10.0.2.2:2000-1000\n",
        "connect=10.0.2.2:1-\n",
        "connect=10.0.2.2/40:80\n",
        "connect=10.0.2.2:**\n",
        "connect=10.0.2.2:80,,10.0.2.3:80\n",
        "connect=:80\n",
        "no equals sign\n",
        "=value\n",
        "mtu=1500\n",    // a repeated key
        "listen=80\r\n", // a control character
        "dns=10.0.2.3\u{0}\n",
    ];
    for b in bad {
        let text = format!("{base}{b}");
        assert!(parse(text.as_bytes()).is_err(), "accepted: {b:?}");
    }
    for missing in ["mac", "mtu", "tsc_hz", "address"] {
        let text: String = base.lines().filter(|l| !l.starts_with(missing)).map(|l| format!("{l}\n")).collect();
        assert_eq!(parse(text.as_bytes()), Err(ParseError::Missing(match missing {
            "mac" => "mac",
            "mtu" => "mtu",
            "tsc_hz" => "tsc_hz",
            _ => "address",
        })));
    }
    let long = format!("{base}pad={}\n", "x".repeat(4096));
    assert_eq!(parse(long.as_bytes()), Err(ParseError::TooLong));
    assert!(parse(&[0xff, 0xfe]).is_err());
}

#[test]
fn random_bytes_never_panic() {
    let mut x = 0x1234_5678u64;
    let alphabet = b"mac=tsu_hzdrlgw:./*-,0123456789\n";
    for _ in 0..20_000 {
        let len = (x % 200) as usize;
        let mut t = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        let _ = parse(&t);
        let _ = rule(&t);
        let _ = cidr(&t);
    }
}
