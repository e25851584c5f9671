//! SIP messages (RFC 3261 §7): parsed from a UDP datagram, built to be sent.
//!
//! Everything that arrives on a SIP socket is untrusted: a trunk with a bug,
//! or anybody who can send a datagram to the port. So the parser is small,
//! allocation-bounded and total: any byte string yields either a
//! [`Message`] or a [`ParseError`], never a panic (a cargo-fuzz target,
//! `server/fuzz/fuzz_targets/sip_message.rs`, holds it to that, and to
//! `parse(to_bytes(m)) == m`).
//!
//! It understands exactly what a UAC placing flash calls needs: the start
//! line, headers (with line folding and compact names such as `v` for
//! `Via`), and the body framed by `Content-Length`. Header *values* stay
//! text; the few that the call flow reads are picked apart by the helpers
//! at the end of this file ([`NameAddr`], [`param`], [`split_list`],
//! [`parse_cseq`]), which are equally total.
//!
//! Building is the mirror image: [`Message::request`] / [`Message::response`]
//! plus [`Message::push`]. The builder strips control characters from
//! values, so a number or a configured host can never smuggle a header
//! in (CRLF injection), and it always writes `Content-Length` itself.

use std::fmt;

/// The largest datagram accepted; a UDP datagram cannot be larger.
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// The most header lines accepted in one message. Real calls carry about
/// a dozen; the cap keeps a hostile datagram from costing more than a few
/// allocations.
pub const MAX_HEADERS: usize = 128;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD request-uri SIP/2.0`
    Request {
        /// `INVITE`, `ACK`, … (a token; case-sensitive per RFC 3261).
        method: String,
        /// The Request-URI, e.g. `sip:+447700900123@trunk.example;user=phone`.
        uri: String,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// 100–699.
        code: u16,
        /// The reason phrase (informational only; may be empty).
        reason: String,
    },
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in order, except `Content-Length`, which only frames the
    /// body and is written from `body.len()` by [`Message::to_bytes`].
    headers: Vec<(String, String)>,
    /// The body (an SDP offer, or empty).
    pub body: Vec<u8>,
}

/// Why a datagram is not a SIP message. The receiver drops it (RFC 3261
/// §18.3: a malformed datagram is discarded silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but blank lines (a keep-alive).
    #[error("empty datagram")]
    Empty,
    /// Larger than [`MAX_MESSAGE_LEN`].
    #[error("message too large")]
    TooLarge,
    /// The start line or a header line is not UTF-8 or holds control
    /// characters.
    #[error("invalid characters in the message head")]
    BadCharacters,
    /// Neither a request line nor a status line.
    #[error("bad start line")]
    BadStartLine,
    /// A header line without a name and colon, or a continuation line
    /// with no header before it.
    #[error("bad header line")]
    BadHeader,
    /// More than [`MAX_HEADERS`] header lines.
    #[error("too many headers")]
    TooManyHeaders,
    /// No empty line ends the head.
    #[error("no end of headers")]
    NoHeaderEnd,
    /// `Content-Length` is not a number, or two disagree.
    #[error("bad Content-Length")]
    BadContentLength,
    /// `Content-Length` promises more bytes than the datagram holds
    /// (RFC 3261 §18.3: discard).
    #[error("body shorter than Content-Length")]
    Truncated,
}

impl Message {
    /// A request with no headers yet.
    pub fn request(method: &str, uri: &str) -> Self {
        Self {
            start: StartLine::Request {
                method: method.chars().filter(|c| is_token_char(*c)).collect(),
                uri: uri
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with no headers yet. `code` is clamped into 100–699.
    pub fn response(code: u16, reason: &str) -> Self {
        Self {
            start: StartLine::Response {
                code: code.clamp(100, 699),
                reason: clean_value(reason),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Appends a header. Control characters (CR, LF, …) in `value` become
    /// spaces and characters that may not appear in a header name are
    /// dropped from `name`, so nothing pushed here can start a new header
    /// line. `Content-Length` is ignored: [`Message::to_bytes`] writes it.
    pub fn push(&mut self, name: &str, value: impl AsRef<str>) -> &mut Self {
        let name: String = name.chars().filter(|c| is_token_char(*c)).collect();
        if !name.is_empty() && canonical(&name) != "content-length" {
            self.headers.push((name, clean_value(value.as_ref())));
        }
        self
    }

    /// Replaces every header called `name` by one with `value` (appended
    /// when there was none), with the same cleaning as [`Message::push`].
    pub fn set(&mut self, name: &str, value: impl AsRef<str>) -> &mut Self {
        let wanted = canonical(name).to_ascii_lowercase();
        match self
            .headers
            .iter()
            .position(|(n, _)| canonical(n).eq_ignore_ascii_case(&wanted))
        {
            Some(first) => {
                self.headers[first].1 = clean_value(value.as_ref());
                let mut index = 0;
                self.headers.retain(|(n, _)| {
                    index += 1;
                    index - 1 == first || !canonical(n).eq_ignore_ascii_case(&wanted)
                });
                self
            }
            None => self.push(name, value),
        }
    }

    /// Sets the body and its `Content-Type`.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) -> &mut Self {
        self.headers.retain(|(n, _)| canonical(n) != "content-type");
        self.push("Content-Type", content_type);
        self.body = body;
        self
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first header called `name` (case-insensitive; compact forms
    /// such as `f` for `From` match too).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).next()
    }

    /// Every header called `name`, in order.
    pub fn headers_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let wanted = canonical(name).to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| canonical(n).eq_ignore_ascii_case(&wanted))
            .map(|(_, v)| v.as_str())
    }

    /// All headers in order (without `Content-Length`).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The message as it goes on the wire, `Content-Length` last.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256 + self.headers.len() * 48);
        match &self.start {
            StartLine::Request { method, uri } => {
                out.push_str(method);
                out.push(' ');
                out.push_str(uri);
                out.push_str(" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.push_str("SIP/2.0 ");
                out.push_str(&code.to_string());
                out.push(' ');
                out.push_str(reason);
                out.push_str("\r\n");
            }
        }
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("Content-Length: ");
        out.push_str(&self.body.len().to_string());
        out.push_str("\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Parses one datagram. Total: never panics, whatever `bytes` holds.
    ///
    /// Liberal where RFC 3261 asks receivers to be (leading blank lines,
    /// bare LF line ends, folded headers, whitespace before the colon, a
    /// missing `Content-Length` meaning "the rest of the datagram"),
    /// strict where leniency would hide garbage (control characters,
    /// non-UTF-8 heads, bad lengths).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge);
        }
        let start = bytes
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .ok_or(ParseError::Empty)?;
        let mut lines: Vec<&str> = Vec::new();
        let mut pos = start;
        let body_start = loop {
            let Some(offset) = bytes[pos..].iter().position(|b| *b == b'\n') else {
                return Err(ParseError::NoHeaderEnd);
            };
            let end = pos + offset;
            let raw = &bytes[pos..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            pos = end + 1;
            if raw.is_empty() {
                break pos;
            }
            if lines.len() > MAX_HEADERS {
                return Err(ParseError::TooManyHeaders);
            }
            let line = std::str::from_utf8(raw).map_err(|_| ParseError::BadCharacters)?;
            if line.chars().any(|c| c.is_control() && c != '\t') {
                return Err(ParseError::BadCharacters);
            }
            lines.push(line);
        };
        let (first, rest) = lines.split_first().ok_or(ParseError::BadStartLine)?;
        let start = parse_start_line(first)?;
        let headers = parse_headers(rest)?;

        let mut content_length: Option<usize> = None;
        let mut kept = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            if canonical(&name) == "content-length" {
                let n = parse_content_length(&value)?;
                if content_length.is_some_and(|m| m != n) {
                    return Err(ParseError::BadContentLength);
                }
                content_length = Some(n);
            } else {
                kept.push((name, value));
            }
        }
        let rest = &bytes[body_start..];
        let body = match content_length {
            Some(n) if n > rest.len() => return Err(ParseError::Truncated),
            Some(n) => rest[..n].to_vec(),
            None => rest.to_vec(),
        };
        Ok(Self {
            start,
            headers: kept,
            body,
        })
    }
}

impl fmt::Display for Message {
    /// The head only (never the body), for debugging.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.start {
            StartLine::Request { method, uri } => write!(f, "{method} {uri}"),
            StartLine::Response { code, reason } => write!(f, "{code} {reason}"),
        }
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = strip_prefix_ignore_case(line, "SIP/2.0 ") {
        let digits = rest.get(..3).ok_or(ParseError::BadStartLine)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStartLine);
        }
        let code: u16 = digits.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadStartLine);
        }
        let reason = match &rest[3..] {
            "" => "",
            more => more.strip_prefix(' ').ok_or(ParseError::BadStartLine)?,
        };
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    let method_ok = !method.is_empty() && method.chars().all(is_token_char);
    let uri_ok = !uri.is_empty() && !uri.contains('\t');
    if !method_ok || !uri_ok || !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ParseError::BadStartLine);
    }
    Ok(StartLine::Request {
        method: method.to_string(),
        uri: uri.to_string(),
    })
}

fn parse_headers(lines: &[&str]) -> Result<Vec<(String, String)>, ParseError> {
    let mut headers: Vec<(String, String)> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (RFC 3261 §7.3.1).
            let (_, value) = headers.last_mut().ok_or(ParseError::BadHeader)?;
            let more = trim_lws(line);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(ParseError::BadHeader)?;
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(ParseError::BadHeader);
        }
        headers.push((name.to_string(), trim_lws(value).to_string()));
    }
    Ok(headers)
}

fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    if value.is_empty() || value.len() > 5 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadContentLength);
    }
    let n: usize = value.parse().map_err(|_| ParseError::BadContentLength)?;
    if n > MAX_MESSAGE_LEN {
        return Err(ParseError::BadContentLength);
    }
    Ok(n)
}

/// The long form of a compact header name (RFC 3261 §7.3.3), lower case
/// for the ones the call flow reads; other names come back unchanged.
fn canonical(name: &str) -> &str {
    match name {
        "i" | "I" => "call-id",
        "m" | "M" => "contact",
        "e" | "E" => "content-encoding",
        "l" | "L" => "content-length",
        "c" | "C" => "content-type",
        "f" | "F" => "from",
        "s" | "S" => "subject",
        "k" | "K" => "supported",
        "t" | "T" => "to",
        "v" | "V" => "via",
        n if n.eq_ignore_ascii_case("content-length") => "content-length",
        n if n.eq_ignore_ascii_case("content-type") => "content-type",
        n => n,
    }
}

/// RFC 3261 `token` characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

fn trim_lws(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn clean_value(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    trim_lws(&cleaned).to_string()
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

// ---------------------------------------------------------------------------
// Header value helpers. Each is total over arbitrary strings.

/// Splits a comma-separated header value (`Via: a, b`, `Record-Route: <x>,
/// <y>`) at the commas that are outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth_angle = false;
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '<' => depth_angle = true,
            '>' => depth_angle = false,
            ',' if !depth_angle => {
                parts.push(trim_lws(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(trim_lws(&value[start..]));
    parts.retain(|p| !p.is_empty());
    parts
}

/// The value of parameter `name` in a header value's `;name=value` list
/// (outside any `<…>` URI), e.g. `tag` of a `To` or `branch` of a `Via`.
/// `Some("")` for a parameter without a value.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = match value.rfind('>') {
        Some(end) => &value[end + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (key, val) = match p.split_once('=') {
            Some((k, v)) => (k, v),
            None => (p, ""),
        };
        trim_lws(key)
            .eq_ignore_ascii_case(name)
            .then(|| trim_lws(val).trim_matches('"'))
    })
}

/// `CSeq: 314159 INVITE` → `(314159, "INVITE")`.
pub fn parse_cseq(value: &str) -> Option<(u32, &str)> {
    let mut parts = value.split_whitespace();
    let number = parts.next()?.parse().ok()?;
    let method = parts.next()?;
    parts.next().is_none().then_some((number, method))
}

/// A `name-addr` or `addr-spec` header value (`From`, `To`, `Contact`,
/// `P-Asserted-Identity`, `Record-Route`): `"Display" <uri>;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name without quotes (may be empty).
    pub display: &'a str,
    /// The URI, without the angle brackets.
    pub uri: &'a str,
}

impl<'a> NameAddr<'a> {
    /// Parses the first address of `value`.
    pub fn parse(value: &'a str) -> Option<Self> {
        let value = trim_lws(value);
        if let Some(open) = value.find('<') {
            let close = value[open..].find('>')? + open;
            let display = trim_lws(&value[..open]).trim_matches('"');
            let uri = trim_lws(&value[open + 1..close]);
            return (!uri.is_empty()).then_some(Self { display, uri });
        }
        // addr-spec: the URI runs to the first ';' (header parameters follow).
        let uri = trim_lws(value.split(';').next().unwrap_or(""));
        (!uri.is_empty() && !uri.contains(' ')).then_some(Self { display: "", uri })
    }

    /// The user part of a `sip:`/`sips:` URI, or the number of a `tel:`
    /// URI, percent-decoded and without user parameters: for
    /// `<sip:%2B447700900123;npdi@host;user=phone>` it is `+447700900123`.
    pub fn user(&self) -> Option<String> {
        uri_user(self.uri)
    }
}

/// See [`NameAddr::user`].
pub fn uri_user(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let user = if scheme.eq_ignore_ascii_case("tel") {
        rest.split(';').next()?
    } else if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        let (userinfo, _) = rest.split_once('@')?;
        let user = userinfo.split(':').next()?; // user:password (deprecated)
        user.split(';').next()?
    } else {
        return None;
    };
    let decoded = percent_decode(user)?;
    (!decoded.is_empty()).then_some(decoded)
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result
/// is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:+447700900123@trunk.example;user=phone SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
        Max-Forwards: 70\r\n\
        From: \"mOTP\" <sip:+442079460123@motp.example;user=phone>;tag=f1\r\n\
        To: <sip:+447700900123@trunk.example;user=phone>\r\n\
        Call-ID: x1@10.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\
        \r\n\
        v=0\r\n";

    #[test]
    fn parses_a_request() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.header("call-id"), Some("x1@10.0.0.1"));
        assert_eq!(m.header("i"), Some("x1@10.0.0.1"));
        assert_eq!(m.body, b"v=0\r");
        assert_eq!(m.header("Content-Length"), None);
        let from = NameAddr::parse(m.header("f").unwrap()).unwrap();
        assert_eq!(from.display, "mOTP");
        assert_eq!(from.user().as_deref(), Some("+442079460123"));
        assert_eq!(param(m.header("From").unwrap(), "tag"), Some("f1"));
        assert_eq!(
            param(m.header("Via").unwrap(), "branch"),
            Some("z9hG4bKabc")
        );
        assert_eq!(param(m.header("Via").unwrap(), "rport"), Some(""));
        assert_eq!(parse_cseq(m.header("CSeq").unwrap()), Some((1, "INVITE")));
        assert_eq!(Message::parse(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn parses_responses_with_folding_and_compact_names() {
        let raw = b"\r\nSIP/2.0 180 Ringing\nv: SIP/2.0/UDP a;branch=z9hG4bK1\nt: <sip:b@c>\n ;tag=9\nl: 0\n\n";
        let m = Message::parse(raw).unwrap();
        assert_eq!(m.code(), Some(180));
        assert_eq!(m.header("To"), Some("<sip:b@c> ;tag=9"));
        assert_eq!(param(m.header("To").unwrap(), "tag"), Some("9"));
        let m = Message::parse(b"SIP/2.0 200\r\n\r\n").unwrap();
        assert_eq!(
            m.start,
            StartLine::Response {
                code: 200,
                reason: String::new()
            }
        );
    }

    #[test]
    fn rejects_garbage() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            (b"", Empty),
            (b"\r\n\r\n", Empty),
            (b"SIP/2.0 99 Low\r\n\r\n", BadStartLine),
            (b"SIP/2.0 2000 OK\r\n\r\n", BadStartLine),
            (b"INVITE sip:a SIP/3.0\r\n\r\n", BadStartLine),
            (b"INVITE  sip:a SIP/2.0\r\n\r\n", BadStartLine),
            (b"INVITE sip:a SIP/2.0\r\nNoColon\r\n\r\n", BadHeader),
            (b"INVITE sip:a SIP/2.0\r\n folded\r\n\r\n", BadHeader),
            (b"INVITE sip:a SIP/2.0\r\nX: a\x00b\r\n\r\n", BadCharacters),
            (b"INVITE sip:a SIP/2.0\r\nX: \xff\r\n\r\n", BadCharacters),
            (b"INVITE sip:a SIP/2.0\r\nX: y\r\n", NoHeaderEnd),
            (b"INVITE sip:a SIP/2.0\r\nl: 5\r\n\r\nabc", Truncated),
            (b"INVITE sip:a SIP/2.0\r\nl: -1\r\n\r\n", BadContentLength),
            (
                b"INVITE sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
                BadContentLength,
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                Message::parse(raw),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        let many = format!("OPTIONS sip:a SIP/2.0\r\n{}\r\n", "X: y\r\n".repeat(200));
        assert_eq!(Message::parse(many.as_bytes()), Err(TooManyHeaders));
        assert_eq!(Message::parse(&vec![b'a'; 70_000]), Err(TooLarge));
    }

    #[test]
    fn builder_refuses_header_injection() {
        let mut m = Message::request("INVITE", "sip:a@b");
        m.push("From", "<sip:+1@x>\r\nX-Evil: 1");
        m.push("Content-Length", "999");
        m.push("Bad Name:", "v");
        m.push("CSeq", "1 INVITE")
            .push("cseq", "2 INVITE")
            .set("CSeq", "3 INVITE\r\n");
        assert_eq!(
            m.headers_named("CSeq").collect::<Vec<_>>(),
            vec!["3 INVITE"]
        );
        let parsed = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(parsed.headers().len(), 3);
        assert_eq!(parsed.header("X-Evil"), None);
        assert_eq!(parsed.header("BadName"), Some("v"));
        assert!(parsed.body.is_empty());
    }

    #[test]
    fn value_helpers() {
        assert_eq!(
            split_list("<sip:a;lr>, <sip:b,c;lr> ,\"x,y\" <sip:d>"),
            vec!["<sip:a;lr>", "<sip:b,c;lr>", "\"x,y\" <sip:d>"]
        );
        assert_eq!(
            uri_user("tel:+4420;phone-context=x").as_deref(),
            Some("+4420")
        );
        assert_eq!(uri_user("sip:%2B44%20@h").as_deref(), Some("+44 "));
        assert_eq!(uri_user("sip:%ZZ@h"), None);
        assert_eq!(uri_user("sip:%E2@h"), None);
        assert_eq!(uri_user("sip:host"), None);
        assert_eq!(uri_user("mailto:a@b"), None);
        let na = NameAddr::parse("sip:+1@h;tag=3").unwrap();
        assert_eq!(na.uri, "sip:+1@h");
        assert_eq!(NameAddr::parse("<>"), None);
        assert_eq!(NameAddr::parse("\"a\" <sip:x"), None);
        assert_eq!(parse_cseq("1 INVITE x"), None);
        assert_eq!(parse_cseq("99999999999 INVITE"), None);
        assert_eq!(param("<sip:a;tag=1>", "tag"), None);
    }
}
