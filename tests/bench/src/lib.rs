//! Shared pieces of the benchmarks: request envelopes and a tiny HTTP/1.1 client.
//!
//! The client is deliberately minimal (pre-built request bytes, Content-Length framing, byte
//! searches instead of XML parsing) so that on one core it costs far less than the server it
//! measures; otherwise the figures would describe the load generator.

use std::io;

// The std images' embassy-time driver, for every bench binary that links this library.
use wsbmc_time_std as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const NUMERIC_SENSOR: &str =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor";

/// The agent's Identify reply on the bench board (authenticated, plain HTTP), byte for byte: what
/// both fixed-reply responders send, so their figures compare with the agent's Identify.
pub const IDENTIFY_REPLY: &[u8] = concat!(
    r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/>"#,
    r#"<s:Body><wsmid:IdentifyResponse>"#,
    r#"<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>"#,
    r#"<wsmid:ProductVendor>wsbmc</wsmid:ProductVendor>"#,
    r#"<wsmid:ProductVersion>OS: 0.1.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"#,
    r#"<wsmid:SecurityProfiles><wsmid:SecurityProfileName>"#,
    r#"http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic"#,
    r#"</wsmid:SecurityProfileName></wsmid:SecurityProfiles>"#,
    r#"</wsmid:IdentifyResponse></s:Body></s:Envelope>"#,
)
.as_bytes();

const HEAD: &str = concat!(
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
    r#"xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" "#,
    r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>"#,
    r#"<a:To>http://127.0.0.1/wsman</a:To>"#,
    r#"<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"#,
    r#"<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>"#,
    r#"<a:MessageID>uuid:4ED2993C-4339-4E99-81FC-C2FD3812781A</a:MessageID>"#,
    r#"<w:OperationTimeout>PT60.000S</w:OperationTimeout>"#,
);

fn envelope(action: Option<&str>, uri: Option<&str>, selectors: &str, body: &str) -> String {
    let mut s = String::from(HEAD);
    if let Some(a) = action {
        s += &format!(r#"<a:Action s:mustUnderstand="true">{a}</a:Action>"#);
    }
    if let Some(u) = uri {
        s += &format!(r#"<w:ResourceURI s:mustUnderstand="true">{u}</w:ResourceURI>"#);
    }
    s += selectors;
    s += "</s:Header><s:Body>";
    s += body;
    s += "</s:Body></s:Envelope>";
    s
}

pub fn identify() -> String {
    envelope(
        None,
        None,
        "",
        r#"<wsmid:Identify xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"/>"#,
    )
}

pub fn selector_set(selectors: &[(String, String)]) -> String {
    let mut s = String::from("<w:SelectorSet>");
    for (k, v) in selectors {
        s += &format!(r#"<w:Selector Name="{k}">{}</w:Selector>"#, xml_escape(v));
    }
    s + "</w:SelectorSet>"
}

pub fn get(uri: &str, selectors: &[(String, String)]) -> String {
    envelope(
        Some("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"),
        Some(uri),
        &selector_set(selectors),
        "",
    )
}

pub fn enumerate(uri: &str, max_elements: u32, mode: Option<&str>) -> String {
    let mode = mode
        .map(|m| format!("<w:EnumerationMode>{m}</w:EnumerationMode>"))
        .unwrap_or_default();
    envelope(
        Some("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"),
        Some(uri),
        "",
        &format!(
            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>{max_elements}</w:MaxElements>{mode}</n:Enumerate>"
        ),
    )
}

/// An optimized Enumerate (MaxElements `max_elements`) with a WQL filter.
pub fn enumerate_wql(uri: &str, max_elements: u32, query: &str) -> String {
    envelope(
        Some("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"),
        Some(uri),
        "",
        &format!(
            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>{max_elements}</w:MaxElements><w:Filter Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\">{}</w:Filter></n:Enumerate>",
            query
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        ),
    )
}

pub fn pull(uri: &str, context: &str, max_elements: u32) -> String {
    envelope(
        Some("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"),
        Some(uri),
        "",
        &format!(
            "<n:Pull><n:EnumerationContext>{context}</n:EnumerationContext><n:MaxElements>{max_elements}</n:MaxElements></n:Pull>"
        ),
    )
}

pub fn invoke(uri: &str, method: &str, selectors: &[(String, String)]) -> String {
    envelope(
        Some(&format!("{uri}/{method}")),
        Some(uri),
        &selector_set(selectors),
        &format!(r#"<p:{method}_INPUT xmlns:p="{uri}"/>"#),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The text between `<…open_local>` and the next `<` of the first element whose name ends with
/// `open_local` (prefix-agnostic, good enough for the server's own output).
pub fn element_text<'a>(xml: &'a str, local: &str) -> Option<&'a str> {
    let mut rest = xml;
    loop {
        let i = rest.find(local)?;
        let before = &rest[..i];
        let after = &rest[i + local.len()..];
        let is_tag = before.ends_with('<') || before.ends_with(':') && before.rfind('<').is_some();
        if is_tag
            && let Some(gt) = after.find('>')
            && !after[..gt].ends_with('/')
            && (after.starts_with('>') || after.starts_with(' '))
        {
            let body = &after[gt + 1..];
            let end = body.find('<')?;
            return Some(&body[..end]);
        }
        rest = after;
    }
}

/// One keep-alive HTTP/1.1 connection with pre-computed headers.
pub struct Client {
    stream: TcpStream,
    head: String,
    buf: Vec<u8>,
}

pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The password of a bench run, from a file (0600, written by the script that starts the run)
/// rather than argv, where every process on the machine could read it.
pub fn read_password_file(path: &std::path::Path) -> io::Result<String> {
    Ok(std::fs::read_to_string(path)?
        .trim_end_matches(['\r', '\n'])
        .to_owned())
}

impl Client {
    pub async fn connect(addr: &str, user: &str, password: &str) -> io::Result<Self> {
        use base64::Engine;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {cred}\r\n\
             Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: "
        );
        Ok(Self {
            stream,
            head,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `body` and reads one response (Content-Length framed, or chunked).
    pub async fn post(&mut self, body: &str) -> io::Result<HttpResponse> {
        let mut req = Vec::with_capacity(self.head.len() + 16 + body.len());
        req.extend_from_slice(self.head.as_bytes());
        req.extend_from_slice(format!("{}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(body.as_bytes());
        self.stream.write_all(&req).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> io::Result<HttpResponse> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])
                    .map_err(|_| io::Error::other("non-UTF-8 response head"))?;
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| io::Error::other("bad status line"))?;
                let chunked = head.lines().any(|l| {
                    l.split_once(':').is_some_and(|(k, v)| {
                        k.eq_ignore_ascii_case("transfer-encoding")
                            && v.trim().eq_ignore_ascii_case("chunked")
                    })
                });
                if chunked {
                    self.buf.drain(..end + 4);
                    let body = self.read_chunks().await?;
                    return Ok(HttpResponse { status, body });
                }
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                let total = end + 4 + len;
                while self.buf.len() < total {
                    self.fill().await?;
                }
                let body = self.buf[end + 4..total].to_vec();
                self.buf.drain(..total);
                return Ok(HttpResponse { status, body });
            }
            self.fill().await?;
        }
    }

    /// A chunked body, from the first size line through the empty trailer.
    async fn read_chunks(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = find(&self.buf, b"\r\n") {
                    break at;
                }
                self.fill().await?;
            };
            let size = std::str::from_utf8(&self.buf[..line_end])
                .ok()
                .and_then(|l| usize::from_str_radix(l.trim(), 16).ok())
                .ok_or_else(|| io::Error::other("bad chunk size line"))?;
            // The data and its CRLF; after the last chunk, the empty trailer's CRLF.
            let total = line_end + 2 + size + 2;
            while self.buf.len() < total {
                self.fill().await?;
            }
            if &self.buf[total - 2..total] != b"\r\n" {
                return Err(io::Error::other("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..total);
            if size == 0 {
                return Ok(body);
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_text_is_prefix_agnostic() {
        let x = "<s:B><n:EnumerationContext>uuid:1</n:EnumerationContext><w:Items/></s:B>";
        assert_eq!(element_text(x, "EnumerationContext"), Some("uuid:1"));
        assert_eq!(
            element_text(
                "<EnumerationContext>x</EnumerationContext>",
                "EnumerationContext"
            ),
            Some("x")
        );
        assert_eq!(
            element_text("<n:EnumerationContext/>", "EnumerationContext"),
            None
        );
    }

    #[test]
    fn envelopes_parse() {
        for e in [
            identify(),
            enumerate(NUMERIC_SENSOR, 32, None),
            pull(NUMERIC_SENSOR, "uuid:x", 32),
        ] {
            assert!(e.starts_with("<s:Envelope") && e.ends_with("</s:Envelope>"));
        }
    }
}
