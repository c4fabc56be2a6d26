//! The host name of a URL target, as the reference infers `endpoint_domain`
//! for `url` targets: Go's `url.Parse(value).Hostname()`, lowercased, or ""
//! when Go's parser rejects the URL.
//!
//! Only the parts of Go's parser that decide *whether there is a host and
//! what it is* matter here, plus every check that can make `Parse` fail for
//! a URL that has a host (control bytes, a bad port, characters not allowed
//! in a host, bad percent escapes in the host, path, user info or fragment,
//! and bracketed hosts that are not IPv6 addresses).

use std::net::Ipv6Addr;

use super::gostr::lower_bytes;

/// The lowercased host name of `value`, or "" when there is none or Go's
/// `url.Parse` would fail.
pub(crate) fn url_hostname(value: &str) -> String {
    match parse_host(value.trim().as_bytes()) {
        Some(host) => {
            let name = strip_port_and_brackets(&host);
            lower_bytes(name).trim().to_owned()
        }
        None => String::new(),
    }
}

/// Which part of a URL a percent-escaped string belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Path, fragment or user info: only the escapes are checked.
    Other,
    /// Host: escapes may only encode non-ASCII bytes (or `%25`), and only
    /// host characters may appear unescaped.
    Host,
    /// IPv6 zone identifier.
    Zone,
}

/// ASCII bytes allowed unescaped in a host (besides letters and digits).
fn host_byte_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
        )
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes percent escapes, or `None` where Go's `unescape` reports an
/// error for this part.
fn unescape(s: &[u8], part: Part) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            let hi = s.get(i + 1).copied().and_then(hex_val)?;
            let lo = s.get(i + 2).copied().and_then(hex_val)?;
            let is_25 = hi == 2 && lo == 5;
            let decoded = (hi << 4) | lo;
            match part {
                Part::Host if hi < 8 && !is_25 => return None,
                Part::Zone if !is_25 && decoded != b' ' && !host_byte_allowed(decoded) => {
                    return None;
                }
                _ => {}
            }
            out.push(decoded);
            i += 3;
        } else {
            if matches!(part, Part::Host | Part::Zone) && b < 0x80 && !host_byte_allowed(b) {
                return None;
            }
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// `^(:[0-9]*)?$`
fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

fn find(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn rfind(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().rposition(|&b| b == needle)
}

/// The scheme (lowercased) and the rest, or `Err` for a leading `:`.
fn split_scheme(raw: &[u8]) -> Result<(Vec<u8>, &[u8]), ()> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(()),
            b':' => {
                let scheme = raw.get(..i).unwrap_or_default().to_ascii_lowercase();
                return Ok((scheme, raw.get(i + 1..).unwrap_or_default()));
            }
            _ => return Ok((Vec::new(), raw)),
        }
    }
    Ok((Vec::new(), raw))
}

/// The URL's host (`u.Host`, still with port and brackets), `Some(empty)`
/// when the URL parses without an authority, `None` when it does not parse.
fn parse_host(raw: &[u8]) -> Option<Vec<u8>> {
    let (url, fragment) = match find(raw, b'#') {
        Some(i) => (raw.get(..i)?, raw.get(i + 1..)?),
        None => (raw, &b""[..]),
    };
    let host = parse_without_fragment(url)?;
    if !fragment.is_empty() {
        unescape(fragment, Part::Other)?;
    }
    Some(host)
}

fn parse_without_fragment(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return None;
    }
    if raw == b"*" {
        return Some(Vec::new());
    }
    let (scheme, rest) = split_scheme(raw).ok()?;
    // The query is never validated; it only ends the path.
    let rest = match find(rest, b'?') {
        Some(i) => rest.get(..i)?,
        None => rest,
    };
    if !rest.starts_with(b"/") {
        if !scheme.is_empty() {
            // `scheme:opaque`: no host.
            return Some(Vec::new());
        }
        let segment = match find(rest, b'/') {
            Some(i) => rest.get(..i)?,
            None => rest,
        };
        if segment.contains(&b':') {
            return None;
        }
    }
    let mut host = Vec::new();
    let mut path = rest;
    if rest.starts_with(b"//") && (!scheme.is_empty() || !rest.starts_with(b"///")) {
        let after = rest.get(2..)?;
        let (authority, tail) = match find(after, b'/') {
            Some(i) => (after.get(..i)?, after.get(i..)?),
            None => (after, &b""[..]),
        };
        host = parse_authority(&scheme, authority)?;
        path = tail;
    }
    unescape(path, Part::Other)?;
    Some(host)
}

fn parse_authority(scheme: &[u8], authority: &[u8]) -> Option<Vec<u8>> {
    let at = rfind(authority, b'@');
    let host_part = match at {
        Some(i) => authority.get(i + 1..)?,
        None => authority,
    };
    let host = parse_host_port(scheme, host_part)?;
    if let Some(i) = at {
        let userinfo = authority.get(..i)?;
        let ok = std::str::from_utf8(userinfo).ok()?.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.'
                        | '_'
                        | ':'
                        | '~'
                        | '!'
                        | '$'
                        | '&'
                        | '\''
                        | '('
                        | ')'
                        | '*'
                        | '+'
                        | ','
                        | ';'
                        | '='
                        | '%'
                        | '@'
                )
        });
        if !ok {
            return None;
        }
        match find(userinfo, b':') {
            Some(c) => {
                unescape(userinfo.get(..c)?, Part::Other)?;
                unescape(userinfo.get(c + 1..)?, Part::Other)?;
            }
            None => {
                unescape(userinfo, Part::Other)?;
            }
        }
    }
    Some(host)
}

fn parse_host_port(scheme: &[u8], host: &[u8]) -> Option<Vec<u8>> {
    match rfind(host, b'[') {
        Some(0) => {
            let close = rfind(host, b']')?;
            let colon_port = host.get(close + 1..)?;
            if !valid_optional_port(colon_port) {
                return None;
            }
            let inner = host.get(1..close)?;
            let mut name = match find_seq(inner, b"%25") {
                Some(z) => {
                    let mut h = unescape(inner.get(..z)?, Part::Host)?;
                    h.extend(unescape(inner.get(z..)?, Part::Zone)?);
                    h
                }
                None => unescape(inner, Part::Host)?,
            };
            if !is_ipv6_literal(&name) {
                return None;
            }
            let mut out = Vec::with_capacity(name.len() + colon_port.len() + 2);
            out.push(b'[');
            out.append(&mut name);
            out.push(b']');
            out.extend_from_slice(colon_port);
            Some(out)
        }
        Some(_) => None,
        None => {
            if let Some(first) = find(host, b':') {
                let last = rfind(host, b':').unwrap_or(first);
                // Several colons: http(s) hosts take the port from the first
                // one (so the rest must be digits); other schemes from the
                // last one.
                let at = if scheme == b"http" || scheme == b"https" {
                    first
                } else {
                    last
                };
                if !valid_optional_port(host.get(at..)?) {
                    return None;
                }
            }
            unescape(host, Part::Host)
        }
    }
}

fn find_seq(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether the bracket contents are an IPv6 address (optionally with a
/// non-empty `%zone`); IPv4 addresses and names are rejected.
fn is_ipv6_literal(name: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(name) else {
        return false;
    };
    let addr = match text.split_once('%') {
        Some((addr, zone)) => {
            if zone.is_empty() {
                return false;
            }
            addr
        }
        None => text,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

/// Go's `URL.Hostname`: drop a valid `:port`, then surrounding brackets.
fn strip_port_and_brackets(host: &[u8]) -> &[u8] {
    let mut name = host;
    if let Some(colon) = rfind(name, b':')
        && valid_optional_port(name.get(colon..).unwrap_or_default())
    {
        name = name.get(..colon).unwrap_or_default();
    }
    if name.len() >= 2 && name.starts_with(b"[") && name.ends_with(b"]") {
        name = name.get(1..name.len() - 1).unwrap_or_default();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for (input, want) in [
            ("https://API.Example.com/v1?q=1#frag", "api.example.com"),
            ("http://user:pw@host.example:8443/x", "host.example"),
            ("https://example.com:", "example.com"),
            ("https://[2001:DB8::1]:443/", "2001:db8::1"),
            ("https://[fe80::1%25en0]/", "fe80::1%en0"),
            ("https://[::ffff:1.2.3.4]/", "::ffff:1.2.3.4"),
            ("//cdn.example/lib.js", "cdn.example"),
            ("https://%C3%89cole.example/", "école.example"),
            ("ftp://a:b:21/", "a:b"),
            ("HTTPS://Example.COM", "example.com"),
            ("  https://trimmed.example  ", "trimmed.example"),
        ] {
            assert_eq!(url_hostname(input), want, "{input}");
        }
    }

    #[test]
    fn no_host_or_parse_error_gives_empty() {
        for input in [
            "",
            "api.example.com",        // relative path, no host
            "mailto:ops@example.com", // opaque
            "/just/a/path",
            "///triple",
            "https://example.com:abc/", // bad port
            "https://a:1:2/",           // http takes the first colon
            "https://a b/",             // space in host
            "https://a{b}/",
            "https://exa%41mple.com/",  // ASCII escaped in host
            "https://example.com/%zz",  // bad path escape
            "https://example.com/#%zz", // bad fragment escape
            "https://ü@example.com/",   // bad user info
            "https://[1.2.3.4]/",       // IPv4 in brackets
            "https://[v1.x]/",
            "https://[::1/", // missing ]
            "https://x[::1]/",
            "https://[::1%]/", // empty zone
            "://x",
            "1a:b/x",
            "https://exa\u{7f}mple.com/",
            "*",
        ] {
            assert_eq!(url_hostname(input), "", "{input}");
        }
    }

    #[test]
    fn invalid_utf8_in_host_is_replaced_per_byte() {
        assert_eq!(
            url_hostname("https://%FF%FE.example/"),
            "\u{FFFD}\u{FFFD}.example"
        );
    }
}
