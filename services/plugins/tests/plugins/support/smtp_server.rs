//! A small SMTP server on 127.0.0.1:0 implementing the subset of RFC 5321
//! lettre uses (EHLO/HELO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT), with plain, STARTTLS or implicit-TLS sessions. It
//! records every message it accepts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

#[derive(Clone)]
pub enum SmtpMode {
    /// No TLS offered.
    Plain,
    /// Plain connection offering STARTTLS.
    StartTls(TlsAcceptor),
    /// TLS from the first byte (SMTPS, port 465 style).
    ImplicitTls(TlsAcceptor),
}

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, CRLF line ends.
    pub data: String,
    /// `user:password` when the client authenticated.
    pub auth: Option<String>,
    /// Whether the message came over TLS.
    pub tls: bool,
}

impl Received {
    /// The value of header `name` in the message.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .split("\r\n")
            .take_while(|line| !line.is_empty())
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_string())
    }

    /// The message body (after the blank line).
    pub fn body(&self) -> String {
        self.data.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl SmtpServer {
    pub async fn start(mode: SmtpMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let received = received.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let received = received.clone();
                    let mode = mode.clone();
                    tokio::spawn(async move {
                        session(stream, mode, received).await.ok();
                    });
                }
            }
        });
        Self { addr, received, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn session(stream: TcpStream, mode: SmtpMode, received: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let (mut io, mut tls): (Box<dyn Io>, bool) = match &mode {
        SmtpMode::ImplicitTls(acceptor) => (Box::new(acceptor.accept(stream).await?), true),
        _ => (Box::new(stream), false),
    };
    io.write_all(b"220 localhost test ESMTP\r\n").await?;
    let mut reader = BufReader::new(io);
    let mut current = Received::default();
    let mut auth = None;
    loop {
        let Some(line) = read_line(&mut reader).await? else { return Ok(()) };
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            let mut reply = String::from("250-localhost greets you\r\n");
            if matches!(mode, SmtpMode::StartTls(_)) && !tls {
                reply.push_str("250-STARTTLS\r\n");
            }
            reply.push_str("250-AUTH PLAIN LOGIN\r\n250 HELP\r\n");
            write(&mut reader, &reply).await?;
        } else if upper.starts_with("HELO") {
            write(&mut reader, "250 localhost\r\n").await?;
        } else if upper == "STARTTLS" {
            let SmtpMode::StartTls(acceptor) = &mode else {
                write(&mut reader, "502 not offered\r\n").await?;
                continue;
            };
            write(&mut reader, "220 go ahead\r\n").await?;
            let plain = reader.into_inner();
            let upgraded: Box<dyn Io> = Box::new(acceptor.accept(plain).await?);
            reader = BufReader::new(upgraded);
            tls = true;
            current = Received::default();
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = line[10..].trim().to_string();
            let encoded = if initial.is_empty() {
                write(&mut reader, "334 \r\n").await?;
                read_line(&mut reader).await?.unwrap_or_default()
            } else {
                initial
            };
            let decoded = STANDARD.decode(encoded.trim()).unwrap_or_default();
            let parts: Vec<String> =
                decoded.split(|byte| *byte == 0).map(|part| String::from_utf8_lossy(part).into_owned()).collect();
            auth = Some(format!(
                "{}:{}",
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default()
            ));
            write(&mut reader, "235 2.7.0 accepted\r\n").await?;
        } else if upper.starts_with("AUTH LOGIN") {
            write(&mut reader, "334 VXNlcm5hbWU6\r\n").await?;
            let user = read_line(&mut reader).await?.unwrap_or_default();
            write(&mut reader, "334 UGFzc3dvcmQ6\r\n").await?;
            let password = read_line(&mut reader).await?.unwrap_or_default();
            let decode =
                |text: &str| String::from_utf8_lossy(&STANDARD.decode(text.trim()).unwrap_or_default()).into_owned();
            auth = Some(format!("{}:{}", decode(&user), decode(&password)));
            write(&mut reader, "235 2.7.0 accepted\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            current = Received { mail_from: address(&line[10..]), ..Received::default() };
            write(&mut reader, "250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            current.rcpt_to.push(address(&line[8..]));
            write(&mut reader, "250 ok\r\n").await?;
        } else if upper == "DATA" {
            write(&mut reader, "354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                let Some(data_line) = read_line(&mut reader).await? else { return Ok(()) };
                if data_line == "." {
                    break;
                }
                let unstuffed = data_line.strip_prefix('.').unwrap_or(&data_line);
                data.push_str(unstuffed);
                data.push_str("\r\n");
            }
            current.data = data;
            current.auth = auth.clone();
            current.tls = tls;
            received.lock().unwrap().push(std::mem::take(&mut current));
            write(&mut reader, "250 2.0.0 queued\r\n").await?;
        } else if upper == "RSET" || upper == "NOOP" {
            current = Received::default();
            write(&mut reader, "250 ok\r\n").await?;
        } else if upper == "QUIT" {
            write(&mut reader, "221 bye\r\n").await?;
            return Ok(());
        } else {
            write(&mut reader, "502 command not implemented\r\n").await?;
        }
    }
}

async fn read_line(reader: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

async fn write(reader: &mut BufReader<Box<dyn Io>>, text: &str) -> std::io::Result<()> {
    let stream = reader.get_mut();
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// `<a@b.c> SIZE=…` → `a@b.c`.
fn address(text: &str) -> String {
    let text = text.trim();
    match (text.find('<'), text.find('>')) {
        (Some(start), Some(end)) if start < end => text[start + 1..end].to_string(),
        _ => text.split_whitespace().next().unwrap_or_default().to_string(),
    }
}
