//! HTTP Digest authentication as SIP trunks use it (RFC 3261 §22.4,
//! RFC 2617, RFC 7616 / RFC 8760 for SHA-256).
//!
//! A trunk that authenticates by credentials answers the first INVITE with
//! 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`); the UAC sends
//! the INVITE again once with `Authorization` / `Proxy-Authorization`.
//! Supported: `MD5` (what nearly every trunk offers), `MD5-sess`,
//! `SHA-256` and `SHA-256-sess`; `qop=auth`, `qop=auth-int`, and the
//! RFC 2069 form without `qop`. When a trunk offers several challenges
//! the strongest supported algorithm wins.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Which hash a challenge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5` (the default when a challenge names none).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Self> {
        [
            ("MD5", Self::Md5),
            ("MD5-sess", Self::Md5Sess),
            ("SHA-256", Self::Sha256),
            ("SHA-256-sess", Self::Sha256Sess),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, a)| a)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    fn hash_bytes(self, data: &[u8]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data)),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }
}

/// Quality of protection chosen for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// `auth`: method and URI are protected.
    Auth,
    /// `auth-int`: the body too.
    AuthInt,
}

/// A `Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back when present.
    pub opaque: Option<String>,
    /// The hash to use.
    pub algorithm: Algorithm,
    /// `None`: the RFC 2069 form (no `qop` offered).
    pub qop: Option<Qop>,
}

impl Challenge {
    /// Parses one `WWW-Authenticate` / `Proxy-Authenticate` value. `None`
    /// for other schemes, unsupported algorithms or qops, or garbage.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim_start();
        let scheme = value.get(..6)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let rest = &value[6..];
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return None;
        }
        let params = auth_params(rest)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let algorithm = match get("algorithm") {
            Some(name) => Algorithm::parse(&name)?,
            None => Algorithm::Md5,
        };
        let qop = match get("qop") {
            None => None,
            Some(list) => {
                let offered: Vec<&str> = list.split(',').map(str::trim).collect();
                if offered.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
                    Some(Qop::Auth)
                } else if offered.iter().any(|q| q.eq_ignore_ascii_case("auth-int")) {
                    Some(Qop::AuthInt)
                } else {
                    return None;
                }
            }
        };
        Some(Self {
            realm: get("realm")?,
            nonce: get("nonce")?,
            opaque: get("opaque"),
            algorithm,
            qop,
        })
    }

    /// The strongest supported challenge among a response's header values.
    pub fn pick<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        values
            .into_iter()
            .filter_map(Self::parse)
            .max_by_key(|c| c.algorithm)
    }

    /// The `Authorization` / `Proxy-Authorization` value answering this
    /// challenge for `method` on `uri` with `body` (used by `auth-int`).
    /// `cnonce` must be fresh and unpredictable per answer.
    pub fn answer(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        body: &[u8],
        cnonce: &str,
    ) -> String {
        let alg = self.algorithm;
        let nc = "00000001";
        let mut ha1 = alg.hash(&format!("{username}:{}:{password}", self.realm));
        if alg.is_sess() {
            ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = match self.qop {
            Some(Qop::AuthInt) => alg.hash(&format!("{method}:{uri}:{}", alg.hash_bytes(body))),
            _ => alg.hash(&format!("{method}:{uri}")),
        };
        let response = match self.qop {
            Some(qop) => {
                let qop = qop_name(qop);
                alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce))
            }
            None => alg.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
        };
        let mut out = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{response}\", algorithm={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            alg.name(),
        );
        if let Some(qop) = self.qop {
            out.push_str(&format!(
                ", qop={}, nc={nc}, cnonce=\"{}\"",
                qop_name(qop),
                quote(cnonce)
            ));
        } else if alg.is_sess() {
            out.push_str(&format!(", cnonce=\"{}\"", quote(cnonce)));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
        }
        out
    }
}

fn qop_name(qop: Qop) -> &'static str {
    match qop {
        Qop::Auth => "auth",
        Qop::AuthInt => "auth-int",
    }
}

/// `a="x", b=y, c="q\"uoted"` → pairs. `None` on malformed input
/// (unterminated quote, missing `=`, empty name).
pub fn auth_params(input: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
        if out.len() > 32 {
            return None;
        }
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example() {
        // RFC 2617 §3.5 (an HTTP example; the arithmetic is the same).
        let c = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.algorithm, Algorithm::Md5);
        let answer = c.answer(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            b"",
            "0a4f113b",
        );
        assert!(
            answer.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{answer}"
        );
        assert!(answer.contains("qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
        assert!(answer.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#));
    }

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 §3.9.1.
        let c = Challenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .unwrap();
        let answer = c.answer(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            b"",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            answer.contains(
                r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
            ),
            "{answer}"
        );
    }

    #[test]
    fn rfc2069_without_qop_and_picking() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
        assert_eq!(c.qop, None);
        let a = c.answer("u", "p", "INVITE", "sip:x@y", b"", "c");
        let ha1 = Algorithm::Md5.hash("u:r:p");
        let ha2 = Algorithm::Md5.hash("INVITE:sip:x@y");
        let want = Algorithm::Md5.hash(&format!("{ha1}:n:{ha2}"));
        assert!(a.contains(&want));
        assert!(!a.contains("cnonce"));
        let best = Challenge::pick([
            r#"Digest realm="r", nonce="1""#,
            r#"Digest realm="r", nonce="2", algorithm=SHA-256"#,
            r#"Basic realm="r""#,
        ])
        .unwrap();
        assert_eq!(best.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "Basic realm=\"x\"",
            "Digestrealm=\"x\", nonce=\"y\"",
            "Digest realm=\"x\"",
            "Digest realm=\"x, nonce=y",
            "Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512",
            "Digest realm=\"x\", nonce=\"y\", qop=\"other\"",
            "Digest =x",
            "Digést",
        ] {
            assert_eq!(Challenge::parse(bad), None, "{bad}");
        }
        let c = Challenge::parse(r#"Digest realm="a\"b", nonce="n""#).unwrap();
        assert_eq!(c.realm, "a\"b");
        assert!(c
            .answer("u\"", "p", "INVITE", "sip:x", b"", "c")
            .contains(r#"username="u\"""#));
    }
}
