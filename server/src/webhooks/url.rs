//! Which endpoint URLs are accepted: HTTPS anywhere, plain HTTP only to the
//! loopback interface (a receiver on the same machine, or a test).

use std::net::IpAddr;

/// Checks an endpoint URL; the error says what is wrong.
pub fn check(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("credentials in the URL are not accepted".into());
    }
    if parsed.fragment().is_some() {
        return Err("a URL with a #fragment is not accepted".into());
    }
    let host = parsed.host_str().unwrap_or("");
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(host) => Ok(parsed),
        "http" => Err(
            "plain http is only allowed to loopback (127.0.0.1, [::1], localhost); use https"
                .into(),
        ),
        other => Err(format!("scheme {other:?} is not accepted; use https")),
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert!(check("https://hooks.example.com/motp").is_ok());
        assert!(check("http://127.0.0.1:9000/hook").is_ok());
        assert!(check("http://127.8.9.10/hook").is_ok());
        assert!(check("http://[::1]:9000/hook").is_ok());
        assert!(check("http://localhost/hook").is_ok());
        assert!(check("http://hooks.example.com/hook").is_err());
        assert!(check("http://10.0.0.1/hook").is_err());
        assert!(check("http://127.0.0.1.nip.io/hook").is_err());
        assert!(check("ftp://127.0.0.1/hook").is_err());
        assert!(check("https://user:pw@example.com/").is_err());
        assert!(check("not a url").is_err());
    }
}
