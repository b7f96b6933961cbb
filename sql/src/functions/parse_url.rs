//! Flink's `PARSE_URL(url, part[, key])` (`SqlFunctionUtils.parseUrl`): a part of the URL as
//! `java.net.URL` parses it (`HOST`, `PATH`, `QUERY`, `REF`, `PROTOCOL`, `FILE`, `AUTHORITY`,
//! `USERINFO`, in upper case; any other part is NULL), or with a key the value of that query
//! parameter (the first `key=` at the start of the query or after a `&`). Text that
//! `new URL(text)` refuses (no protocol, a protocol the JDK has no handler for, a bad port) gives
//! NULL.
//!
//! The parser follows JDK 17's `URL(URL, String, URLStreamHandler)` and
//! `URLStreamHandler.parseURL` (the handler of `http`, `https`, `ftp`, `file`, `jrt` and
//! `jmod`), with the `mailto` and `jar` handlers' own rules.

use std::net::Ipv6Addr;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::rowwise::{Kind, Out, Returns, RowWise};

pub fn function() -> Arc<ScalarUDF> {
    use Kind::Str;
    RowWise::new(
        "parse_url",
        &[&[Str, Str], &[Str, Str, Str]],
        Returns::Fixed(DataType::Utf8),
        |a| {
            let (url, part) = (
                a[0].str().unwrap_or_default(),
                a[1].str().unwrap_or_default(),
            );
            Ok(match a.get(2) {
                None => parse_url(url, part),
                Some(key) => query_value(url, part, key.str().unwrap_or_default()),
            }
            .map_or(Out::Null, Out::Str))
        },
    )
    .udf()
}

fn parse_url(url: &str, part: &str) -> Option<String> {
    let u = Url::parse(url)?;
    match part {
        "HOST" => Some(u.host),
        "PATH" => Some(u.path),
        "QUERY" => u.query,
        "REF" => u.reference,
        "PROTOCOL" => Some(u.protocol),
        "FILE" => Some(match u.query {
            Some(q) => format!("{}?{q}", u.path),
            None => u.path,
        }),
        "AUTHORITY" => u.authority,
        "USERINFO" => u.user_info,
        _ => None,
    }
}

/// `Pattern.compile("(&|^)" + Pattern.quote(key) + "=([^&]*)")` found in the query: group 2.
fn query_value(url: &str, part: &str, key: &str) -> Option<String> {
    if part != "QUERY" {
        return None;
    }
    let query = parse_url(url, part)?;
    let needle = format!("{key}=");
    let starts = std::iter::once(0).chain(query.match_indices('&').map(|(i, _)| i + 1));
    starts
        .filter(|&p| query[p..].starts_with(&needle))
        .map(|p| {
            let rest = &query[p + needle.len()..];
            rest[..rest.find('&').unwrap_or(rest.len())].to_owned()
        })
        .next()
}

/// The fields of a `java.net.URL`.
#[derive(Debug, Default, PartialEq)]
struct Url {
    protocol: String,
    host: String,
    authority: Option<String>,
    user_info: Option<String>,
    path: String,
    query: Option<String>,
    reference: Option<String>,
}

/// The protocols JDK 17 has a `URLStreamHandler` for.
const PROTOCOLS: &[&str] = &[
    "file", "ftp", "http", "https", "jar", "jmod", "jrt", "mailto",
];

impl Url {
    /// `new URL(spec)`, `None` where it throws `MalformedURLException`.
    fn parse(spec: &str) -> Option<Url> {
        let b = spec.as_bytes();
        let mut limit = b.len();
        while limit > 0 && b[limit - 1] <= b' ' {
            limit -= 1;
        }
        let mut start = 0;
        while start < limit && b[start] <= b' ' {
            start += 1;
        }
        if b.len() >= start + 4 && b[start..start + 4].eq_ignore_ascii_case(b"url:") {
            start += 4;
        }
        if b.get(start) == Some(&b'#') {
            return None;
        }
        let colon = b[start..limit]
            .iter()
            .take_while(|&&c| c != b'/')
            .position(|&c| c == b':')?;
        let protocol = spec[start..start + colon].to_ascii_lowercase();
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return None;
        }
        start += colon + 1;
        let mut reference = None;
        if let Some(i) = spec[start..].find('#').map(|i| i + start) {
            reference = Some(spec[i + 1..limit].to_owned());
            limit = i;
        }
        match protocol.as_str() {
            "mailto" => Some(with_file(protocol, &spec[start.min(limit)..limit], None)),
            "jar" => {
                let file = &spec[start.min(limit)..limit];
                let bang = file.rfind("!/")?;
                if file.len() >= 4 && file[..4].eq_ignore_ascii_case("jar:") {
                    return None;
                }
                Url::parse(&file[..bang])?;
                let reference = spec[limit..]
                    .find('#')
                    .map(|i| spec[limit + i + 1..].to_owned());
                Some(with_file(protocol, file, reference))
            }
            _ => parse_hierarchical(protocol, spec, start, limit, reference),
        }
    }
}

/// `URLStreamHandler.setURL(u, protocol, "", -1, file, ref)`: the query after the last `?`.
fn with_file(protocol: String, file: &str, reference: Option<String>) -> Url {
    let (path, query) = match file.rfind('?') {
        Some(q) => (file[..q].to_owned(), Some(file[q + 1..].to_owned())),
        None => (file.to_owned(), None),
    };
    Url {
        protocol,
        path,
        query,
        reference,
        ..Url::default()
    }
}

/// `URLStreamHandler.parseURL` without a context URL.
fn parse_hierarchical(
    protocol: String,
    spec: &str,
    mut start: usize,
    mut limit: usize,
    reference: Option<String>,
) -> Option<Url> {
    let mut spec = spec;
    let mut query = None;
    let mut authority: Option<String> = None;
    let mut user_info = None;
    let mut host: Option<String> = None;
    let mut path: Option<String> = None;
    let mut query_only = false;
    if start < limit
        && let Some(q) = spec.find('?')
    {
        query_only = q == start;
        if q < limit {
            query = Some(spec[q + 1..limit].to_owned());
            limit = q;
            spec = &spec[..q];
        }
    }
    let b = spec.as_bytes();
    let unc = start + 4 <= limit && b[start..start + 4] == *b"////";
    if !unc && start + 2 <= limit && b[start] == b'/' && b[start + 1] == b'/' {
        start += 2;
        let i = match spec[start..].find('/') {
            Some(i) if i + start <= limit => i + start,
            _ => match spec[start..].find('?') {
                Some(i) if i + start <= limit => i + start,
                _ => limit,
            },
        };
        let auth = spec[start..i].to_owned();
        let mut h = Some(auth.clone());
        match (auth.find('@'), auth.rfind('@')) {
            (Some(first), Some(last)) if first != last => h = None,
            (Some(at), _) => {
                user_info = Some(auth[..at].to_owned());
                h = Some(auth[at + 1..].to_owned());
            }
            _ => {}
        }
        if let Some(hs) = h.take() {
            h = Some(split_port(&hs)?);
        }
        host = Some(h.unwrap_or_default());
        if !auth.is_empty() {
            path = Some(String::new());
        }
        authority = Some(auth);
        start = i;
    }
    let host = host.unwrap_or_default();
    if start < limit {
        if b[start] == b'/' {
            path = Some(spec[start..limit].to_owned());
        } else if path.as_deref().is_some_and(|p| !p.is_empty()) {
            // Only with a context URL (a relative path); never reached here.
            path = Some(spec[start..limit].to_owned());
        } else {
            let p = &spec[start..limit];
            path = Some(if authority.is_some() {
                format!("/{p}")
            } else {
                p.to_owned()
            });
        }
    } else if query_only && let Some(p) = &path {
        let ind = p.rfind('/').unwrap_or(0);
        path = Some(format!("{}/", &p[..ind]));
    }
    Some(Url {
        protocol,
        host,
        authority,
        user_info,
        path: path.unwrap_or_default(),
        query,
        reference,
    })
}

/// The host of `host[:port]` or `[v6][:port]`; `None` where Java throws (a port that
/// `Integer.parseInt` refuses or below -1, a bad IPv6 literal).
fn split_port(h: &str) -> Option<String> {
    let (host, port) = if h.starts_with('[') {
        let close = h.find(']').filter(|&i| i > 2)?;
        let literal = &h[1..close];
        let address = literal.split_once('%').map_or(literal, |(a, _)| a);
        address.parse::<Ipv6Addr>().ok()?;
        match &h[close + 1..] {
            "" => (&h[..=close], None),
            rest => (&h[..=close], Some(rest.strip_prefix(':')?)),
        }
    } else {
        match h.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    };
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        let port = crate::java::character::parse_int(port)?;
        if port < -1 {
            return None;
        }
    }
    Some(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_as_java_net_url_gives_them() {
        let u = Url::parse("http://user:pw@example.com:8080/a/b.html?x=1&y=2#frag").unwrap();
        assert_eq!(u.host, "example.com");
        assert_eq!(u.authority.as_deref(), Some("user:pw@example.com:8080"));
        assert_eq!(u.user_info.as_deref(), Some("user:pw"));
        assert_eq!(
            (u.path.as_str(), u.query.as_deref()),
            ("/a/b.html", Some("x=1&y=2"))
        );
        assert_eq!(u.reference.as_deref(), Some("frag"));
        assert!(Url::parse("unknown://x").is_none());
        assert!(Url::parse("//h/p").is_none());
        assert!(Url::parse("http://h:x/").is_none());
        assert_eq!(Url::parse("http://a@b@c/d").unwrap().host, "");
        assert_eq!(Url::parse(" http://h/ ").unwrap().path, "/");
    }

    #[test]
    fn query_values() {
        assert_eq!(
            query_value("http://h/p?xa=1&a=2", "QUERY", "a").as_deref(),
            Some("2")
        );
        assert_eq!(
            query_value("http://h/p?a.b=1", "QUERY", "a.b").as_deref(),
            Some("1")
        );
        assert_eq!(query_value("http://h/p?axb=1", "QUERY", "a.b"), None);
        assert_eq!(query_value("http://h/p?a=1", "HOST", "a"), None);
    }
}
