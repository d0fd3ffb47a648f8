//! The BMC's management network as the kernel has it, for the IP Interface classes (DSP1036):
//! addresses from an rtnetlink RTM_GETADDR dump, default gateways from `/proc/net/route`.
//!
//! Which addresses count is decided by where the agent listens: listening on a specific address
//! (the host agent's default `127.0.0.1:5985`), the management network is that address; on the
//! unspecified address (the AST2600 image), it is every address of every interface but the
//! loopback.
//!
//! How an address was assigned is read from the kernel's own record: an address with an
//! infinite valid lifetime was configured (static); one with a finite lifetime was leased
//! (DHCP for IPv4, autoconfiguration for IPv6); link-scope addresses are link-local.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wsbmc_cim::{AddressOrigin, IpEndpointView};

/// One address as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelAddress {
    pub interface: String,
    pub address: IpAddr,
    pub prefix_len: u8,
    /// RT_SCOPE_*: 0 universe, 253 link, 254 host.
    pub scope: u8,
    /// The valid lifetime in seconds; `u32::MAX` is forever.
    pub valid_lifetime: u32,
}

const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;

fn origin_of(a: &KernelAddress) -> AddressOrigin {
    let link_local = match a.address {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    if a.scope == RT_SCOPE_LINK || link_local {
        AddressOrigin::LinkLocal
    } else if a.valid_lifetime == u32::MAX {
        AddressOrigin::Static
    } else if a.address.is_ipv4() {
        AddressOrigin::Dhcp
    } else {
        AddressOrigin::Stateless
    }
}

/// The endpoints of the management network: see the module documentation for which.
pub fn endpoints(
    listen: SocketAddr,
    addresses: &[KernelAddress],
    gateways: &HashMap<String, Ipv4Addr>,
) -> Vec<IpEndpointView> {
    let wanted = |a: &&KernelAddress| {
        if listen.ip().is_unspecified() {
            a.scope != RT_SCOPE_HOST && !a.address.is_loopback()
        } else {
            a.address == listen.ip()
        }
    };
    let mut next: HashMap<(String, bool), u8> = HashMap::new();
    let mut out: Vec<IpEndpointView> = addresses
        .iter()
        .filter(wanted)
        .map(|a| {
            let slot = next
                .entry((a.interface.clone(), a.address.is_ipv4()))
                .or_insert(0);
            let index = *slot;
            *slot = slot.saturating_add(1);
            IpEndpointView {
                interface: a.interface.clone(),
                index,
                address: a.address,
                prefix_len: a.prefix_len,
                gateway: a
                    .address
                    .is_ipv4()
                    .then(|| gateways.get(&a.interface).map(|g| IpAddr::V4(*g)))
                    .flatten(),
                origin: origin_of(a),
            }
        })
        .collect();
    // Listening on an address the kernel did not list (a namespace without netlink, say): the
    // listening address itself, as configured.
    if out.is_empty() && !listen.ip().is_unspecified() {
        out.push(IpEndpointView {
            interface: "listen".into(),
            index: 0,
            address: listen.ip(),
            prefix_len: if listen.is_ipv4() { 32 } else { 128 },
            gateway: None,
            origin: AddressOrigin::Static,
        });
    }
    out
}

/// Default IPv4 gateways by interface, from `/proc/net/route` text.
pub fn parse_routes(text: &str) -> HashMap<String, Ipv4Addr> {
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" {
            continue;
        }
        // The kernel prints the network-order address as a native-endian number.
        if let Ok(g) = u32::from_str_radix(f[2], 16)
            && g != 0
        {
            out.entry(f[0].to_string())
                .or_insert(Ipv4Addr::from(g.to_ne_bytes()));
        }
    }
    out
}

/// Reads the endpoints now; an unreadable kernel interface gives what could be read.
pub fn read(listen: SocketAddr) -> Vec<IpEndpointView> {
    let addresses = match netlink::dump_addresses() {
        Ok(a) => a,
        Err(e) => {
            log::warn!("cannot list the network addresses: {e}");
            Vec::new()
        }
    };
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    endpoints(listen, &addresses, &parse_routes(&routes))
}

/// Parses one RTM_NEWADDR payload (the `ifaddrmsg` and its attributes).
fn parse_addr_message(
    payload: &[u8],
    name_of: impl Fn(u32) -> Option<String>,
) -> Option<KernelAddress> {
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_LABEL: u16 = 3;
    const IFA_CACHEINFO: u16 = 6;
    let header = payload.get(..8)?;
    let family = header[0];
    let prefix_len = header[1];
    let scope = header[3];
    let index = u32::from_ne_bytes(header[4..8].try_into().ok()?);
    let (mut address, mut local, mut label, mut valid) = (None, None, None, u32::MAX);
    let mut rest = payload.get(8..)?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            break;
        }
        let data = &rest[4..len];
        match kind {
            IFA_ADDRESS => address = ip_of(family, data),
            IFA_LOCAL => local = ip_of(family, data),
            IFA_LABEL => {
                label = std::str::from_utf8(data)
                    .ok()
                    .map(|s| s.trim_end_matches('\0').to_string())
            }
            // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
            IFA_CACHEINFO if data.len() >= 8 => {
                valid = u32::from_ne_bytes(data[4..8].try_into().ok()?)
            }
            _ => {}
        }
        let step = (len + 3) & !3;
        rest = rest.get(step..).unwrap_or(&[]);
    }
    // IPv4 point-to-point links put the peer in IFA_ADDRESS; the own address is IFA_LOCAL.
    let address = local.or(address)?;
    let interface = label
        .filter(|l| !l.is_empty())
        .or_else(|| name_of(index))
        .unwrap_or_else(|| format!("if{index}"));
    Some(KernelAddress {
        interface,
        address,
        prefix_len,
        scope,
        valid_lifetime: valid,
    })
}

fn ip_of(family: u8, data: &[u8]) -> Option<IpAddr> {
    match (i32::from(family), data.len()) {
        (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(
            data[0], data[1], data[2], data[3],
        ))),
        (libc::AF_INET6, 16) => {
            let b: [u8; 16] = data.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

mod netlink {
    //! The rtnetlink address dump, with the raw socket calls kept to this module.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::{KernelAddress, parse_addr_message};

    const RTM_NEWADDR: u16 = 20;
    const RTM_GETADDR: u16 = 22;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_DUMP: u16 = 0x300;
    /// Bounds the dump: no BMC has anywhere near this many addresses.
    const MAX_MESSAGES: usize = 4096;

    fn interface_name(index: u32) -> Option<String> {
        let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
        // SAFETY: `buf` is IF_NAMESIZE bytes, as if_indextoname requires; it writes a
        // NUL-terminated name into it or returns NULL.
        let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
        if p.is_null() {
            return None;
        }
        let bytes: Vec<u8> = buf
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8(bytes).ok()
    }

    pub fn dump_addresses() -> io::Result<Vec<KernelAddress>> {
        // SAFETY: plain socket(2); the result is checked before use and owned from then on.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // nlmsghdr (16 bytes) + ifaddrmsg (8 bytes, family AF_UNSPEC: every family).
        let mut req = [0u8; 24];
        req[0..4].copy_from_slice(&24u32.to_ne_bytes());
        req[4..6].copy_from_slice(&RTM_GETADDR.to_ne_bytes());
        req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        // SAFETY: `req` is a valid buffer of the length given; the kernel is the destination
        // (a zeroed sockaddr_nl would be the same, and send on an unbound netlink socket
        // addresses the kernel).
        let sent = unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        let mut messages = 0;
        loop {
            // SAFETY: `buf` is writable for its whole length.
            let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = usize::try_from(n).unwrap_or(0);
            if n == 0 {
                return Ok(out);
            }
            let mut rest = &buf[..n];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                if len < 16 || len > rest.len() {
                    return Ok(out);
                }
                match kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        return Err(io::Error::other("rtnetlink refused the address dump"));
                    }
                    RTM_NEWADDR => {
                        if let Some(a) = parse_addr_message(&rest[16..len], interface_name) {
                            out.push(a);
                        }
                    }
                    _ => {}
                }
                messages += 1;
                if messages > MAX_MESSAGES {
                    return Ok(out);
                }
                rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(interface: &str, a: &str, prefix: u8, scope: u8, valid: u32) -> KernelAddress {
        KernelAddress {
            interface: interface.into(),
            address: a.parse().unwrap(),
            prefix_len: prefix,
            scope,
            valid_lifetime: valid,
        }
    }

    fn kernel() -> Vec<KernelAddress> {
        vec![
            addr("lo", "127.0.0.1", 8, RT_SCOPE_HOST, u32::MAX),
            addr("eth0", "10.0.2.15", 24, 0, u32::MAX),
            addr("eth1", "192.168.1.20", 24, 0, 86_000),
            addr("lo", "::1", 128, RT_SCOPE_HOST, u32::MAX),
            addr(
                "eth0",
                "fe80::5054:ff:fe12:3456",
                64,
                RT_SCOPE_LINK,
                u32::MAX,
            ),
            addr("eth0", "2001:db8::15", 64, 0, 3_600),
        ]
    }

    #[test]
    fn routes_give_default_gateways() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let g = parse_routes(text);
        let want = Ipv4Addr::from(0x0202_000Au32.to_ne_bytes());
        assert_eq!(g.get("eth0"), Some(&want));
        assert_eq!(g.len(), 1);
        assert!(parse_routes("garbage\nnot a route\n").is_empty());
    }

    #[test]
    fn unspecified_listen_takes_every_interface_but_loopback() {
        let gw = HashMap::from([("eth0".to_string(), Ipv4Addr::new(10, 0, 2, 2))]);
        let e = endpoints("0.0.0.0:5985".parse().unwrap(), &kernel(), &gw);
        let names: Vec<String> = e.iter().map(|v| v.name()).collect();
        assert_eq!(
            names,
            ["eth0:IPv4:0", "eth1:IPv4:0", "eth0:IPv6:0", "eth0:IPv6:1"]
        );
        assert_eq!(e[0].origin, AddressOrigin::Static);
        assert_eq!(e[0].gateway, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2))));
        assert_eq!(e[1].origin, AddressOrigin::Dhcp);
        assert_eq!(e[1].gateway, None);
        assert_eq!(e[2].origin, AddressOrigin::LinkLocal);
        assert_eq!(e[3].origin, AddressOrigin::Stateless);
        assert_eq!(e[3].gateway, None);
    }

    #[test]
    fn a_specific_listen_address_is_the_network() {
        let e = endpoints(
            "127.0.0.1:5985".parse().unwrap(),
            &kernel(),
            &HashMap::new(),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name(), "lo:IPv4:0");
        assert_eq!(e[0].prefix_len, 8);
        // An address the kernel does not list is still where the agent listens.
        let e = endpoints("10.9.9.9:80".parse().unwrap(), &kernel(), &HashMap::new());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name(), "listen:IPv4:0");
        assert_eq!(e[0].prefix_len, 32);
    }

    #[test]
    fn address_messages_parse_and_truncation_is_safe() {
        // ifaddrmsg: AF_INET, /24, flags, scope 0, index 2; IFA_LOCAL 10.0.2.15; IFA_LABEL eth0;
        // IFA_CACHEINFO with an infinite valid lifetime.
        let mut m = vec![libc::AF_INET as u8, 24, 0x80, 0];
        m.extend(2u32.to_ne_bytes());
        m.extend(8u16.to_ne_bytes());
        m.extend(2u16.to_ne_bytes());
        m.extend([10, 0, 2, 15]);
        m.extend(9u16.to_ne_bytes());
        m.extend(3u16.to_ne_bytes());
        m.extend(b"eth0\0\0\0\0");
        m.extend(20u16.to_ne_bytes());
        m.extend(6u16.to_ne_bytes());
        m.extend(u32::MAX.to_ne_bytes());
        m.extend(u32::MAX.to_ne_bytes());
        m.extend([0; 8]);
        let a = parse_addr_message(&m, |_| None).unwrap();
        assert_eq!(a.interface, "eth0");
        assert_eq!(a.address, "10.0.2.15".parse::<IpAddr>().unwrap());
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.valid_lifetime, u32::MAX);
        for cut in 0..m.len() {
            let _ = parse_addr_message(&m[..cut], |_| None);
        }
        // A live dump on this machine works (the loopback is always there).
        let live = netlink::dump_addresses().unwrap();
        assert!(live.iter().any(|a| a.address.is_loopback()), "{live:?}");
    }
}
