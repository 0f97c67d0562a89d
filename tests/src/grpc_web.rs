//! A gRPC-Web client over HTTP/1.1 that behaves like the browser portal:
//! binary framing (`application/grpc-web+proto`), one 5-byte-prefixed data
//! frame per request, status read from the HTTP response headers (trailers
//! only) or, failing that, from the trailer frame of the body.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;
use reqwest::header::{HeaderMap, HeaderValue};

#[derive(Debug, Clone)]
pub struct GrpcWeb {
    base: String,
    client: reqwest::Client,
}

/// A failed call: gRPC code (number), message, and every response header.
#[derive(Debug, Clone)]
pub struct WebError {
    pub code: i32,
    pub message: String,
    pub headers: HeaderMap,
    /// Whether the status arrived in the HTTP headers (trailers-only), as the
    /// browser portal requires.
    pub in_headers: bool,
}

/// A successful call: the message and the response headers.
#[derive(Debug, Clone)]
pub struct WebResponse<T> {
    pub message: T,
    pub headers: HeaderMap,
}

fn frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = BytesMut::with_capacity(body.len() + 5);
    framed.put_u8(0);
    framed.put_u32(u32::try_from(body.len()).expect("message under 4 GiB"));
    framed.put_slice(&body);
    framed.freeze()
}

/// Splits a gRPC-Web body into its data and trailer frames.
fn frames(mut body: Bytes) -> (Vec<Bytes>, Option<String>) {
    let mut data = Vec::new();
    let mut trailers = None;
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let length = body.get_u32() as usize;
        if body.remaining() < length {
            break;
        }
        let payload = body.split_to(length);
        if flag & 0x80 != 0 {
            trailers = Some(String::from_utf8_lossy(&payload).into_owned());
        } else {
            data.push(payload);
        }
    }
    (data, trailers)
}

fn trailer_value(trailers: &str, name: &str) -> Option<String> {
    trailers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

impl GrpcWeb {
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder().http1_only().build().expect("http client");
        Self { base: base.trim_end_matches('/').to_string(), client }
    }

    /// Calls `/<service>/<method>` with `headers` (e.g. authorization,
    /// cookie, origin).
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        path: &str,
        request: &Req,
        headers: &[(&str, &str)],
    ) -> Result<WebResponse<Resp>, WebError> {
        let mut builder = self
            .client
            .post(format!("{}/{}", self.base, path.trim_start_matches('/')))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .body(frame(request));
        for (name, value) in headers {
            builder = builder.header(*name, HeaderValue::from_str(value).expect("header value"));
        }
        let response = builder.send().await.map_err(|error| WebError {
            code: 14,
            message: format!("transport error: {error}"),
            headers: HeaderMap::new(),
            in_headers: false,
        })?;
        let headers = response.headers().clone();
        let header_status = headers.get("grpc-status").and_then(|value| value.to_str().ok()).map(str::to_string);
        let header_message =
            headers.get("grpc-message").and_then(|value| value.to_str().ok()).map(str::to_string).unwrap_or_default();
        let body = response.bytes().await.unwrap_or_default();
        if let Some(status) = header_status
            && status != "0"
        {
            return Err(WebError {
                code: status.parse().unwrap_or(2),
                message: percent_decode(&header_message),
                headers,
                in_headers: true,
            });
        }
        let (data, trailers) = frames(body);
        if let Some(trailers) = &trailers {
            let status = trailer_value(trailers, "grpc-status").unwrap_or_else(|| "0".into());
            if status != "0" {
                return Err(WebError {
                    code: status.parse().unwrap_or(2),
                    message: percent_decode(&trailer_value(trailers, "grpc-message").unwrap_or_default()),
                    headers,
                    in_headers: false,
                });
            }
        }
        let payload = data.into_iter().next().unwrap_or_default();
        let message = Resp::decode(payload).map_err(|error| WebError {
            code: 13,
            message: format!("undecodable response: {error}"),
            headers: headers.clone(),
            in_headers: false,
        })?;
        Ok(WebResponse { message, headers })
    }
}

/// gRPC percent-encodes non-ASCII bytes of `grpc-message`.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16)
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
