//! Which `Host` and `Origin` values may reach `/mcp`, against DNS rebinding: a web page on
//! another site that resolves its name to this server sends that name as `Host`, and a page on
//! another origin sends its own `Origin`. Loopback names and the listen address's host are
//! always allowed; behind a proxy the public names are added by configuration (`*` allows any).
//! A request without `Origin` (any client that is not a browser) passes the origin check.

/// The hosts and origins allowed.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts {
    /// Host names, lower case, without ports; `*` allows any.
    hosts: Vec<String>,
    /// Whole origins (`https://app.example.com`), lower case; `*` allows any.
    origins: Vec<String>,
}

/// Names every machine calls itself.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl AllowedHosts {
    /// Loopback plus `hosts` (names, or `host:port` whose port is ignored) and `origins`.
    pub(crate) fn new(hosts: &[String], origins: &[String]) -> Self {
        let hosts = LOOPBACK
            .iter()
            .map(|host| (*host).to_owned())
            .chain(hosts.iter().map(|host| host_name(host)))
            .collect();
        let origins = origins
            .iter()
            .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        Self { hosts, origins }
    }

    /// Why `host` (the `Host` header) and `origin` (the `Origin` header, if sent) are refused,
    /// or `Ok` when both are allowed.
    pub(crate) fn check(&self, host: Option<&str>, origin: Option<&str>) -> Result<(), String> {
        let Some(host) = host else {
            return Err("a Host header is required".into());
        };
        if !self.allows_host(&host_name(host)) {
            return Err(format!(
                "Host {host:?} is not allowed: add its name to mcp.allowed_hosts"
            ));
        }
        match origin {
            Some(origin) if !self.allows_origin(origin) => Err(format!(
                "Origin {origin:?} is not allowed: add it to mcp.allowed_origins"
            )),
            _ => Ok(()),
        }
    }

    fn allows_host(&self, name: &str) -> bool {
        self.hosts
            .iter()
            .any(|allowed| allowed == "*" || allowed == name)
    }

    /// An origin listed whole, or one whose host is an allowed host.
    fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self
            .origins
            .iter()
            .any(|allowed| allowed == "*" || *allowed == origin)
        {
            return true;
        }
        origin.split_once("://").is_some_and(|(scheme, authority)| {
            matches!(scheme, "http" | "https") && self.allows_host(&host_name(authority))
        })
    }
}

/// The lower-case host name of an authority (`Example.com:8080` → `example.com`, `[::1]:3000`
/// → `::1`).
fn host_name(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed
            .split_once(']')
            .map_or(bracketed, |(address, _)| address)
            .to_owned();
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_owned()
        }
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(hosts: &[&str], origins: &[&str]) -> AllowedHosts {
        let owned = |values: &[&str]| {
            values
                .iter()
                .map(|value| (*value).to_owned())
                .collect::<Vec<_>>()
        };
        AllowedHosts::new(&owned(hosts), &owned(origins))
    }

    #[test]
    fn loopback_is_always_allowed_whatever_the_port() {
        let hosts = allowed(&[], &[]);
        for host in [
            "localhost:3000",
            "127.0.0.1:41234",
            "[::1]:3000",
            "LOCALHOST",
        ] {
            assert_eq!(hosts.check(Some(host), None), Ok(()), "{host}");
        }
        assert!(hosts.check(Some("evil.example:3000"), None).is_err());
        assert!(hosts.check(None, None).is_err());
    }

    #[test]
    fn configured_hosts_and_origins_are_added() {
        let hosts = allowed(
            &["gateway.example.com", "10.0.0.5:3000"],
            &["https://app.example.com"],
        );
        assert_eq!(hosts.check(Some("gateway.example.com"), None), Ok(()));
        assert_eq!(hosts.check(Some("10.0.0.5:8080"), None), Ok(()));
        let origin = |origin| hosts.check(Some("gateway.example.com"), Some(origin));
        assert_eq!(origin("https://app.example.com"), Ok(()));
        assert_eq!(origin("https://gateway.example.com"), Ok(()));
        assert_eq!(origin("http://localhost:5173"), Ok(()));
        assert!(origin("https://evil.example").is_err());
        assert!(origin("null").is_err());
    }

    #[test]
    fn a_star_allows_any() {
        let hosts = allowed(&["*"], &["*"]);
        assert_eq!(
            hosts.check(Some("anything.example"), Some("https://else.example")),
            Ok(())
        );
    }
}
