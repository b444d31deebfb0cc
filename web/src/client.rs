//! A minimal blocking HTTP/1.1 client over one keep-alive connection, for the load command and
//! the tests.
//!
//! A load generator should cost as little as possible next to the server it measures: this
//! one writes each request with a single `write` and parses answers with `httparse` (the
//! parser hyper uses), with no pool, no redirects and no chunked bodies (the app always sends
//! `Content-Length`). The stream is generic, so the same client speaks TLS over a rustls
//! stream.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The largest response head or body accepted: the app's answers are a few hundred bytes.
const MAX_RESPONSE: usize = 64 * 1024;

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every `Set-Cookie` header value.
    pub set_cookies: Vec<String>,
    /// Every header, name in lower case (`Set-Cookie` included), value lossy.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (lower case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The value of the `name` cookie set by this answer, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().find_map(|header| {
            let pair = header.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then_some(value.trim())
        })
    }
}

/// One HTTP/1.1 connection.
pub struct Client<S> {
    stream: S,
    host: String,
    cookie_name: &'static str,
    buf: Vec<u8>,
    request: Vec<u8>,
}

impl Client<TcpStream> {
    /// Connects over plain TCP, with `timeout` on every read and write so that a server that
    /// stops answering is an error, not a hang.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self::new(stream, &addr.to_string()))
    }
}

impl<S: Read + Write> Client<S> {
    /// A client over an open stream to `host`.
    pub fn new(stream: S, host: &str) -> Self {
        Self {
            stream,
            host: host.to_owned(),
            cookie_name: crate::cookie::NAME,
            buf: Vec::with_capacity(4096),
            request: Vec::new(),
        }
    }

    /// Sends the session under cookie `name` (e.g. [`crate::cookie::SECURE_NAME`] under TLS).
    pub fn with_cookie_name(mut self, name: &'static str) -> Self {
        self.cookie_name = name;
        self
    }

    /// The stream underneath (e.g. to ask a TLS stream what it negotiated).
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Sends `method path` with extra `headers` and `body`, and reads the answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> io::Result<Response> {
        let request = &mut self.request;
        request.clear();
        write!(
            request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        )?;
        if !body.is_empty() {
            request.extend_from_slice(b"Content-Type: application/x-www-form-urlencoded\r\n");
        }
        for (name, value) in headers {
            request.extend_from_slice(name.as_bytes());
            request.extend_from_slice(b": ");
            request.extend_from_slice(value);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        self.stream.write_all(request)?;
        self.stream.flush()?;
        self.read_response()
    }

    /// `GET path` with the session cookie `session`, if any.
    pub fn get(&mut self, path: &str, session: Option<&str>) -> io::Result<Response> {
        self.with_session("GET", path, session, b"")
    }

    /// `POST path` with a form `body` and the session cookie `session`, if any.
    pub fn post(&mut self, path: &str, session: Option<&str>, body: &[u8]) -> io::Result<Response> {
        self.with_session("POST", path, session, body)
    }

    fn with_session(
        &mut self,
        method: &str,
        path: &str,
        session: Option<&str>,
        body: &[u8],
    ) -> io::Result<Response> {
        let cookie = session.map(|id| format!("{}={id}", self.cookie_name));
        let headers: Vec<(&str, &[u8])> = cookie.iter().map(|c| ("Cookie", c.as_bytes())).collect();
        self.request(method, path, &headers, body)
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_response(&mut self) -> io::Result<Response> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Response::new(&mut headers);
            let parsed =
                head.parse(&self.buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let httparse::Status::Complete(head_len) = parsed else {
                if self.buf.len() > MAX_RESPONSE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "response head too large",
                    ));
                }
                self.fill()?;
                continue;
            };
            let status = head.code.unwrap_or(0);
            let mut content_length = None;
            let mut set_cookies = Vec::new();
            let mut all = Vec::with_capacity(head.headers.len());
            for header in head.headers.iter() {
                all.push((
                    header.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(header.value).into_owned(),
                ));
                if header.name.eq_ignore_ascii_case("content-length") {
                    let value =
                        std::str::from_utf8(header.value).ok().and_then(|v| v.trim().parse().ok());
                    content_length = Some(value.ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length")
                    })?);
                } else if header.name.eq_ignore_ascii_case("set-cookie") {
                    set_cookies.push(String::from_utf8_lossy(header.value).into_owned());
                } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "chunked bodies are not supported",
                    ));
                }
            }
            let body_len: usize = content_length.unwrap_or(0);
            if body_len > MAX_RESPONSE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "response body too large"));
            }
            while self.buf.len() < head_len + body_len {
                self.fill()?;
            }
            let body = self.buf[head_len..head_len + body_len].to_vec();
            self.buf.drain(..head_len + body_len);
            return Ok(Response { status, set_cookies, headers: all, body });
        }
    }
}
