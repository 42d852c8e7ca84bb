//! The SSRF guard: which webhook URLs paymesh will post to, and which
//! addresses it will connect to.
//!
//! A webhook URL is checked when it is given ([`WebhookUrl::parse`]):
//! absolute, `http` or `https` (`https` only in live mode), no user name or
//! password, no fragment, a host that is a valid DNS name or an IP literal.
//! Its host is then resolved — at creation and again at every delivery —
//! and every address it resolves to must pass [`AddressPolicy::check`]; the
//! delivery connects to one of the addresses that were checked (never
//! resolving again), so a name that changes its answer in between (DNS
//! rebinding) cannot slip through, and redirects are not followed.
//!
//! Refused: loopback, private (RFC 1918), link-local (169.254.169.254, the
//! cloud metadata address, included), shared CGNAT (100.64.0.0/10),
//! multicast, broadcast, unspecified, unique-local IPv6 (fc00::/7),
//! documentation ranges, and reserved or special-purpose ones; IPv4 written
//! inside IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) is judged as the IPv4 address it carries. The development
//! setting `PAYMESH_WEBHOOK_ALLOW_PRIVATE` ([`AddressPolicy::allow_private`])
//! allows loopback, private, link-local, CGNAT and unique-local addresses,
//! so tests can run receivers on 127.0.0.1; cloud metadata addresses stay
//! refused even then.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use paymesh_kit::Violation;

/// The longest webhook URL, in characters.
pub const MAX_URL_CHARS: usize = 2048;

paymesh_kit::words! {
    /// What kind of address an IP address is, as the SSRF guard sees it.
    pub enum AddressClass {
        /// A globally routable unicast address: allowed.
        Public = "public",
        /// 127.0.0.0/8, ::1.
        Loopback = "loopback",
        /// RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
        Private = "private",
        /// Shared address space of carrier-grade NAT: 100.64.0.0/10.
        SharedCgnat = "cgnat",
        /// 169.254.0.0/16, fe80::/10.
        LinkLocal = "link_local",
        /// The instance metadata services of cloud providers
        /// (169.254.169.254, 169.254.170.2, fd00:ec2::254): link-local or
        /// unique-local, and refused even where those are allowed.
        CloudMetadata = "cloud_metadata",
        /// fc00::/7.
        UniqueLocal = "unique_local",
        /// 224.0.0.0/4, ff00::/8.
        Multicast = "multicast",
        /// 255.255.255.255.
        Broadcast = "broadcast",
        /// 0.0.0.0, ::.
        Unspecified = "unspecified",
        /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
        /// 3fff::/20.
        Documentation = "documentation",
        /// Other special-purpose ranges: 0.0.0.0/8, 192.0.0.0/24,
        /// 198.18.0.0/15, 192.88.99.0/24, 240.0.0.0/4, and IPv6 outside
        /// global unicast or inside ranges that reach elsewhere (Teredo,
        /// discard-only, IPv4-compatible, benchmarking, local NAT64).
        Reserved = "reserved",
    }
}

impl AddressClass {
    /// How a refusal names the class to a partner.
    pub const fn described(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private (RFC 1918) address",
            Self::SharedCgnat => "a shared (CGNAT) address",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "a cloud metadata address",
            Self::UniqueLocal => "a unique-local IPv6 address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Unspecified => "the unspecified address",
            Self::Documentation => "a documentation address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// The class of `ip`.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, d] = ip.octets();
    match (a, b, c, d) {
        (0, 0, 0, 0) => Unspecified,
        (255, 255, 255, 255) => Broadcast,
        (169, 254, 169, 254) | (169, 254, 170, 2) => CloudMetadata,
        (0, ..) => Reserved,
        (127, ..) => Loopback,
        (10, ..) | (192, 168, ..) => Private,
        (172, 16..=31, ..) => Private,
        (100, 64..=127, ..) => SharedCgnat,
        (169, 254, ..) => LinkLocal,
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => Documentation,
        (192, 0, 0, _) | (192, 88, 99, _) | (198, 18..=19, ..) => Reserved,
        (224..=239, ..) => Multicast,
        (240..=255, ..) => Reserved,
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => Loopback,
        // IPv4-compatible (deprecated) and the rest of ::/96.
        [0, 0, 0, 0, 0, 0, _, _] => Reserved,
        // NAT64: the gateway reaches the IPv4 address inside.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => classify_v4(embedded(hi, lo)),
        // Local-use NAT64 (RFC 8215).
        [0x64, 0xff9b, 1, ..] => Reserved,
        // Discard-only.
        [0x100, 0, 0, 0, ..] => Reserved,
        // Teredo tunnels to anywhere; benchmarking.
        [0x2001, 0, ..] | [0x2001, 2, 0, ..] => Reserved,
        [0x2001, 0xdb8, ..] => Documentation,
        // 6to4: the relay reaches the IPv4 address inside.
        [0x2002, hi, lo, ..] => classify_v4(embedded(hi, lo)),
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => CloudMetadata,
        [0x3fff, second, ..] if second < 0x1000 => Documentation,
        [first, ..] if first & 0xfe00 == 0xfc00 => UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfe80 => LinkLocal,
        // Site-local (deprecated): private in practice.
        [first, ..] if first & 0xffc0 == 0xfec0 => Private,
        [first, ..] if first & 0xff00 == 0xff00 => Multicast,
        // Global unicast is 2000::/3; nothing else is assigned.
        [first, ..] if first & 0xe000 == 0x2000 => Public,
        _ => Reserved,
    }
}

/// Which addresses webhooks may reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Development and tests only (`PAYMESH_WEBHOOK_ALLOW_PRIVATE`): also
    /// allow loopback, private, link-local, CGNAT and unique-local
    /// addresses.
    pub allow_private: bool,
}

impl AddressPolicy {
    /// Whether addresses of `class` may be reached.
    pub const fn permits(self, class: AddressClass) -> bool {
        match class {
            AddressClass::Public => true,
            AddressClass::Loopback
            | AddressClass::Private
            | AddressClass::SharedCgnat
            | AddressClass::LinkLocal
            | AddressClass::UniqueLocal => self.allow_private,
            AddressClass::CloudMetadata
            | AddressClass::Multicast
            | AddressClass::Broadcast
            | AddressClass::Unspecified
            | AddressClass::Documentation
            | AddressClass::Reserved => false,
        }
    }

    /// `Ok` if `ip` may be reached, else why not.
    pub fn check(self, ip: IpAddr) -> Result<(), RefusedAddress> {
        let class = classify(ip);
        if self.permits(class) { Ok(()) } else { Err(RefusedAddress { ip, class }) }
    }
}

/// An address the policy refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusedAddress {
    /// The address.
    pub ip: IpAddr,
    /// Its class.
    pub class: AddressClass,
}

impl fmt::Display for RefusedAddress {
    /// As a webhook log's `error` says it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused address {}: {}", self.ip, self.class.described())
    }
}

impl RefusedAddress {
    /// The problem with a webhook's `url` whose host resolved here.
    pub fn violation(self) -> Violation {
        Violation::new(
            "url",
            format!(
                "The URL's host resolves to {} ({}), which webhooks may not reach",
                self.class.described(),
                self.ip
            ),
        )
    }
}

/// A webhook URL's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An IP literal, checked already.
    Ip(IpAddr),
    /// A DNS name, lower case, to resolve (and check) before each
    /// connection.
    Name(String),
}

/// A webhook URL that passed every rule that does not need DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The URL as given (trimmed).
    pub text: String,
    /// Whether it is `https`.
    pub https: bool,
    /// Its host.
    pub host: Host,
    /// Its port (the scheme's default when none is given).
    pub port: u16,
}

impl WebhookUrl {
    /// Checks `text` as the URL of a webhook of a partner in `livemode`.
    /// An IP literal host is checked against `policy` here; a name is
    /// checked once resolved ([`AddressPolicy::check`] on each address).
    pub fn parse(text: &str, livemode: bool, policy: AddressPolicy) -> Result<Self, Violation> {
        let problem = |why: &str| Violation::new("url", why);
        let text = text.trim();
        if text.is_empty() {
            return Err(problem("Required"));
        }
        if text.chars().count() > MAX_URL_CHARS {
            return Err(problem("A URL has at most 2048 characters"));
        }
        if text.contains('#') {
            return Err(problem("A webhook URL has no fragment (#…)"));
        }
        let uri: http::Uri = text.parse().map_err(|_| problem("Not a valid absolute URL"))?;
        let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => true,
            Some("http") if livemode => return Err(problem("Live-mode webhooks must use https")),
            Some("http") => false,
            _ => return Err(problem("A webhook URL starts with https:// (or http:// in test mode)")),
        };
        let Some(authority) = uri.authority() else { return Err(problem("Not a valid absolute URL")) };
        if authority.as_str().contains('@') {
            return Err(problem("A webhook URL may not carry a user name or password"));
        }
        let port = match authority.port_u16() {
            Some(0) => return Err(problem("Port 0 cannot be reached")),
            Some(port) => port,
            None if https => 443,
            None => 80,
        };
        let host =
            parse_host(authority.host()).ok_or_else(|| problem("The URL's host is not a valid name"))?;
        if let Host::Ip(ip) = host {
            policy.check(ip).map_err(RefusedAddress::violation)?;
        }
        if let Host::Name(name) = &host
            && !policy.allow_private
            && is_local_name(name)
        {
            return Err(problem("The URL's host is a local name, which webhooks may not reach"));
        }
        Ok(Self { text: text.to_owned(), https, host, port })
    }
}

/// An IP literal (IPv6 in brackets) or a DNS name: labels of ASCII letters,
/// digits and hyphens (IDNs in their `xn--` form), at most 253 characters,
/// whose last label is not numeric (which resolvers would read as an IPv4
/// address in another notation, like `2130706433` or `0x7f.1`).
fn parse_host(host: &str) -> Option<Host> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(|ip| Host::Ip(IpAddr::V6(ip)));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric_last = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    (labels_ok && !numeric_last).then_some(Host::Name(name))
}

/// Names that only ever mean this machine or its network.
fn is_local_name(name: &str) -> bool {
    ["localhost", "local", "internal", "localdomain", "home.arpa"]
        .iter()
        .any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        classify(text.parse().unwrap())
    }

    #[test]
    fn every_refused_ipv4_class_is_recognised() {
        let cases = [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("10.0.0.7", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::SharedCgnat),
            ("100.127.255.254", AddressClass::SharedCgnat),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("169.254.169.254", AddressClass::CloudMetadata),
            ("224.0.0.1", AddressClass::Multicast),
            ("239.255.255.250", AddressClass::Multicast),
            ("255.255.255.255", AddressClass::Broadcast),
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::Reserved),
            ("192.0.2.10", AddressClass::Documentation),
            ("198.51.100.10", AddressClass::Documentation),
            ("203.0.113.10", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Reserved),
            ("240.0.0.1", AddressClass::Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
            assert!(AddressPolicy::default().check(ip.parse().unwrap()).is_err(), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass_including_neighbours_of_refused_ranges() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "11.0.0.1",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
            assert!(AddressPolicy::default().check(ip.parse().unwrap()).is_ok(), "{ip}");
        }
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001::200e", "3fff:1000::1", "3ff0::1"] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn every_refused_ipv6_class_is_recognised() {
        let cases = [
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Unspecified),
            ("fc00::1", AddressClass::UniqueLocal),
            ("fd12:3456::1", AddressClass::UniqueLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("ff02::1", AddressClass::Multicast),
            ("2001:db8::1", AddressClass::Documentation),
            ("3fff::1", AddressClass::Documentation),
            ("3fff:fff::1", AddressClass::Documentation),
            ("fd00:ec2::254", AddressClass::CloudMetadata),
            ("2001::1", AddressClass::Reserved),
            ("100::1", AddressClass::Reserved),
            ("::7f00:1", AddressClass::Reserved),
            ("4000::1", AddressClass::Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_the_ipv4_address() {
        assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("::ffff:169.254.169.254"), AddressClass::CloudMetadata);
        assert_eq!(class("::ffff:10.1.2.3"), AddressClass::Private);
        assert_eq!(class("::ffff:8.8.8.8"), AddressClass::Public);
        assert_eq!(class("64:ff9b::10.0.0.1"), AddressClass::Private);
        assert_eq!(class("64:ff9b::8.8.8.8"), AddressClass::Public);
        assert_eq!(class("2002:7f00:1::"), AddressClass::Loopback);
        assert_eq!(class("2002:0808:0808::1"), AddressClass::Public);
    }

    #[test]
    fn the_development_setting_allows_private_addresses_but_never_metadata() {
        let dev = AddressPolicy { allow_private: true };
        for ip in ["127.0.0.1", "10.0.0.1", "192.168.0.10", "100.64.0.1", "169.254.1.1", "::1", "fd00::1"] {
            assert!(dev.check(ip.parse().unwrap()).is_ok(), "{ip}");
        }
        for ip in ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1"]
        {
            assert!(dev.check(ip.parse().unwrap()).is_err(), "{ip}");
        }
    }

    #[test]
    fn refusals_say_which_address_and_why() {
        let refused = AddressPolicy::default().check("10.0.0.7".parse().unwrap()).unwrap_err();
        assert_eq!(refused.to_string(), "refused address 10.0.0.7: a private (RFC 1918) address");
        let violation = refused.violation();
        assert_eq!(violation.field, "url");
        assert!(violation.description.contains("10.0.0.7"), "{}", violation.description);
    }

    #[test]
    fn live_mode_requires_https() {
        let policy = AddressPolicy::default();
        let live = WebhookUrl::parse("https://hooks.example.com/paymesh", true, policy).unwrap();
        assert!(live.https);
        assert_eq!(live.port, 443);
        assert_eq!(live.host, Host::Name("hooks.example.com".to_owned()));
        assert!(WebhookUrl::parse("http://hooks.example.com/paymesh", true, policy).is_err());
        let test = WebhookUrl::parse("http://hooks.example.com:8080/x?y=1", false, policy).unwrap();
        assert!(!test.https);
        assert_eq!(test.port, 8080);
    }

    #[test]
    fn urls_with_credentials_fragments_or_other_schemes_are_refused() {
        let policy = AddressPolicy::default();
        for bad in [
            "",
            "   ",
            "hooks.example.com/path",
            "ftp://hooks.example.com/",
            "file:///etc/passwd",
            "https://user:pass@hooks.example.com/",
            "https://user@hooks.example.com/",
            "https://hooks.example.com/#frag",
            "https://hooks.example.com:0/",
            "https://-bad-.example.com/",
            "https://under_score.example.com/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://localhost/",
            "https://api.localhost:8443/",
            "https://printer.local/",
            "https://metadata.google.internal/",
        ] {
            let problem = WebhookUrl::parse(bad, false, policy).unwrap_err();
            assert_eq!(problem.field, "url", "{bad}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(WebhookUrl::parse(&long, false, policy).is_err());
    }

    #[test]
    fn ip_literal_hosts_are_checked_at_once() {
        let policy = AddressPolicy::default();
        for bad in [
            "https://127.0.0.1/",
            "https://10.0.0.1:8443/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://0.0.0.0/",
        ] {
            let problem = WebhookUrl::parse(bad, false, policy).unwrap_err();
            assert!(problem.description.contains("may not reach"), "{bad}: {}", problem.description);
        }
        let public = WebhookUrl::parse("https://[2606:4700:4700::1111]:8443/h", true, policy).unwrap();
        assert_eq!(public.host, Host::Ip("2606:4700:4700::1111".parse().unwrap()));
        assert_eq!(public.port, 8443);
        let dev = AddressPolicy { allow_private: true };
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook", false, dev).is_ok());
        assert!(WebhookUrl::parse("http://localhost:9000/hook", false, dev).is_ok());
    }

    #[test]
    fn names_are_lower_cased_and_may_end_in_a_dot() {
        let url = WebhookUrl::parse("https://Hooks.Example.COM./x", true, AddressPolicy::default()).unwrap();
        assert_eq!(url.host, Host::Name("hooks.example.com".to_owned()));
        assert!(WebhookUrl::parse("https://xn--bcher-kva.example/", true, AddressPolicy::default()).is_ok());
    }
}
