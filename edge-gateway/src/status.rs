//! Errors the edge answers itself, always "trailers-only": HTTP 200 with
//! `grpc-status` / `grpc-message` in the response headers and an empty
//! body, which is what gRPC clients and the gRPC-Web customer portal read.

use http::{HeaderMap, HeaderValue, header};
use rustbill_shared::AppError;
use tonic::Status;
use tonic::body::Body;

use crate::middleware::Resp;

/// `content-type` starts with `application/grpc` (gRPC and gRPC-Web).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|value| value.starts_with("application/grpc"))
}

/// `content-type` is one of the gRPC-Web ones.
pub(crate) fn is_grpc_web(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|value| value.starts_with("application/grpc-web"))
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok())
}

/// The response content type matching the request's protocol.
fn response_content_type(request_headers: &HeaderMap) -> &'static str {
    match content_type(request_headers) {
        Some(value) if value.starts_with("application/grpc-web-text") => "application/grpc-web-text+proto",
        Some(value) if value.starts_with("application/grpc-web") => "application/grpc-web+proto",
        _ => "application/grpc",
    }
}

/// A trailers-only error response for a request with `request_headers`.
pub(crate) fn error_response(request_headers: &HeaderMap, error: AppError) -> Resp {
    let status = Status::from(error);
    let mut response: Resp = status.into_http::<Body>();
    response.extensions_mut().remove::<Status>();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(response_content_type(request_headers)));
    normalize_grpc_message(response.headers_mut());
    response
}

/// Rewrites `grpc-message` to the lightest percent-encoding the gRPC spec
/// allows: only `%`, control bytes and non-ASCII bytes are escaped.
///
/// tonic also escapes spaces and some punctuation, which is legal, but the
/// customer portal shows `grpc-message` without decoding it, so
/// "login%20required" would reach the user. Decoders that follow the spec
/// read both forms the same way.
pub(crate) fn normalize_grpc_message(headers: &mut HeaderMap) {
    let Some(value) = headers.get("grpc-message") else {
        return;
    };
    let decoded = percent_decode(value.as_bytes());
    let mut encoded = String::with_capacity(decoded.len());
    for byte in decoded {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        headers.insert("grpc-message", value);
    }
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let mut output = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        if input[index] == b'%'
            && index + 2 < input.len()
            && let (Some(high), Some(low)) = (hex(input[index + 1]), hex(input[index + 2]))
        {
            output.push(high << 4 | low);
            index += 3;
            continue;
        }
        output.push(input[index]);
        index += 1;
    }
    output
}

/// "service catalog is not available".
pub(crate) fn unavailable(request_headers: &HeaderMap, backend: &str) -> Resp {
    error_response(request_headers, AppError::Unavailable(format!("service {backend} is not available")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_trailers_only_in_the_callers_protocol() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc-web+proto"));
        let response = unavailable(&headers, "catalog");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["grpc-message"], "service catalog is not available");
        assert_eq!(response.headers()["content-type"], "application/grpc-web+proto");
        assert!(http_body::Body::is_end_stream(response.body()));

        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        let response = unavailable(&headers, "catalog");
        assert_eq!(response.headers()["content-type"], "application/grpc");
    }

    #[test]
    fn grpc_message_is_escaped_only_where_needed() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-message", HeaderValue::from_static("login%20required%3F%20100%25%0A%E4%B8%AD"));
        normalize_grpc_message(&mut headers);
        assert_eq!(headers["grpc-message"], "login required? 100%25%0A%E4%B8%AD");
        headers.insert("grpc-message", HeaderValue::from_static("bad %zz and %4"));
        normalize_grpc_message(&mut headers);
        assert_eq!(headers["grpc-message"], "bad %25zz and %254");
    }
}
