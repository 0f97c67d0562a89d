//! `http_get`, `http_post`, `http_post_bytes`, `http_post_with_headers`,
//! `http_request_with_cert`: through the service's one outbound client
//! (retries, per-host circuit breaker, mTLS cache).
//!
//! The body-returning functions give the response body for 2xx statuses
//! and `"ERROR: HTTP <status> <reason>: <body>"` otherwise (redirects are
//! not followed: a redirected POST would silently become a GET);
//! `http_request_with_cert` gives `{"status", "headers", "body"}` for every
//! status. A call that got no response (bad URL, connect error, timeout,
//! circuit open, bad certificate) gives `"ERROR: <reason>"`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use reqwest::Method;
use serde_json::{Map, Value as Json};

use super::codec::parse_lenient;
use super::{CallScope, require_scope};
use crate::http::{ClientIdentity, OutboundRequest, OutboundResponse};

/// `http_get(url)`: `String → String`.
pub fn http_get(url: &str) -> String {
    body_result(send("http_get", OutboundRequest::get(url), None))
}

/// `http_post(url, body, content_type)`: `3×String → String`. An empty
/// `content_type` sends no `Content-Type`.
pub fn http_post(url: &str, body: &str, content_type: &str) -> String {
    let request = with_content_type(OutboundRequest::post(url, body.to_string()), content_type);
    body_result(send("http_post", request, None))
}

/// `http_post_bytes(url, body)`: `2×String → String`, a binary POST for
/// gRPC-Web. Strings cannot hold arbitrary bytes, so `body` is the base64
/// (standard alphabet) of the bytes to send and the result is the base64
/// of the response body. Sent as `Content-Type: application/grpc-web+proto`
/// with `X-Grpc-Web: 1`; a response whose headers carry a `grpc-status`
/// other than 0 (a trailers-only gRPC error) gives
/// `"ERROR: grpc-status <code>: <message>"`.
pub fn http_post_bytes(url: &str, body: &str) -> String {
    let bytes = match decode_base64(body) {
        Ok(bytes) => bytes,
        Err(reason) => return error(&format!("http_post_bytes: body must be base64: {reason}")),
    };
    let request = OutboundRequest::post(url, bytes)
        .header("content-type", "application/grpc-web+proto")
        .header("accept", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    match send("http_post_bytes", request, None) {
        Err(reason) => error(&reason),
        Ok(response) if response.status >= 400 => http_error(&response),
        Ok(response) => match response.header("grpc-status").map(str::trim) {
            Some(code) if code != "0" => {
                error(&format!("grpc-status {code}: {}", response.header("grpc-message").unwrap_or_default()))
            }
            _ => STANDARD.encode(&response.body),
        },
    }
}

/// `http_post_with_headers(url, body, content_type, headers_json)`:
/// `4×String → String`. `headers_json` is an object of header names to
/// values (non-string values are sent as their JSON); its headers come
/// after `content_type`, so a `Content-Type` in it wins. An empty
/// `headers_json` adds none.
pub fn http_post_with_headers(url: &str, body: &str, content_type: &str, headers_json: &str) -> String {
    let headers = match parse_headers(headers_json) {
        Ok(headers) => headers,
        Err(reason) => return error(&format!("http_post_with_headers: {reason}")),
    };
    let mut request = OutboundRequest::post(url, body.to_string());
    let overrides_content_type = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if !overrides_content_type {
        request = with_content_type(request, content_type);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    body_result(send("http_post_with_headers", request, None))
}

/// `http_request_with_cert(method, url, body, content_type, cert_json)`:
/// `5×String → String`, a request presenting a client certificate (mTLS).
///
/// `cert_json` is `{"cert": "<PEM>", "key": "<PEM>"}`, optionally with
/// `"ca": "<PEM>"`, extra roots to trust for the server (a self-hosted
/// Incus' CA). The result is structured JSON for every HTTP status:
/// `{"status": 200, "headers": {"Content-Type": "…"}, "body": "…"}` (header
/// names in canonical case, repeated headers joined with `", "`). An empty
/// `body` sends none; an empty `content_type` sends no `Content-Type`.
pub fn http_request_with_cert(method: &str, url: &str, body: &str, content_type: &str, cert_json: &str) -> String {
    let identity = match parse_identity(cert_json) {
        Ok(identity) => identity,
        Err(reason) => return error(&format!("http_request_with_cert: {reason}")),
    };
    let method = match Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes()) {
        Ok(method) => method,
        Err(_) => return error(&format!("http_request_with_cert: bad method {method:?}")),
    };
    let mut request = with_content_type(OutboundRequest::new(method, url), content_type);
    if !body.is_empty() {
        request = request.body(body.to_string());
    }
    match send("http_request_with_cert", request, Some(identity)) {
        Err(reason) => error(&reason),
        Ok(response) => structured(&response),
    }
}

/// Sends through the scope's client, logging a failed call with the
/// scope's tags.
pub(super) fn send(
    function: &str,
    request: OutboundRequest,
    identity: Option<ClientIdentity>,
) -> Result<OutboundResponse, String> {
    let scope = require_scope(function)?;
    let http = scope.env.http.clone();
    let outcome = scope.env.block_on(async move {
        match identity {
            Some(identity) => http.send_with_identity(request, &identity).await,
            None => http.send(request).await,
        }
    });
    let outcome = match outcome {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(http_error)) => Err(http_error.to_string()),
        Err(runtime_error) => Err(runtime_error),
    };
    if let Err(reason) = &outcome {
        log_failure(&scope, function, reason);
    }
    outcome
}

fn log_failure(scope: &CallScope, function: &str, reason: &str) {
    tracing::warn!(
        interface_id = %scope.interface_id,
        plugin_id = %scope.plugin_id,
        function,
        error = %reason,
        "plugin http call failed"
    );
}

fn with_content_type(request: OutboundRequest, content_type: &str) -> OutboundRequest {
    match content_type.trim() {
        "" => request,
        content_type => request.header("content-type", content_type),
    }
}

fn body_result(outcome: Result<OutboundResponse, String>) -> String {
    match outcome {
        Err(reason) => error(&reason),
        // Redirects are not followed (a POST must not silently become a
        // GET elsewhere), so a 3xx is not a success either.
        Ok(response) if response.status >= 300 => http_error(&response),
        Ok(response) => response.text(),
    }
}

fn error(reason: &str) -> String {
    format!("ERROR: {reason}")
}

fn http_error(response: &OutboundResponse) -> String {
    let reason = reqwest::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default();
    let body = response.text();
    if body.is_empty() {
        format!("ERROR: HTTP {}{reason}", response.status)
    } else {
        format!("ERROR: HTTP {}{reason}: {body}", response.status)
    }
}

fn structured(response: &OutboundResponse) -> String {
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let name = canonical_header_name(name);
        match headers.get_mut(&name) {
            Some(Json::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Json::String(value.clone()));
            }
        }
    }
    serde_json::json!({
        "status": response.status,
        "headers": headers,
        "body": response.text(),
    })
    .to_string()
}

/// `content-type` → `Content-Type`.
fn canonical_header_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut characters = part.chars();
            match characters.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &characters.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) fn parse_headers(headers_json: &str) -> Result<Vec<(String, String)>, String> {
    if headers_json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Some(Json::Object(map)) = parse_lenient(headers_json) else {
        return Err("headers_json must be a JSON object".to_string());
    };
    Ok(map
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| match value {
            Json::String(text) => (name, text),
            other => (name, other.to_string()),
        })
        .collect())
}

fn parse_identity(cert_json: &str) -> Result<ClientIdentity, String> {
    let Some(Json::Object(map)) = parse_lenient(cert_json) else {
        return Err("cert_json must be a JSON object {\"cert\": \"<PEM>\", \"key\": \"<PEM>\"}".to_string());
    };
    let field = |name: &str| map.get(name).and_then(Json::as_str).map(str::to_string).unwrap_or_default();
    let (cert_pem, key_pem) = (field("cert"), field("key"));
    if cert_pem.trim().is_empty() || key_pem.trim().is_empty() {
        return Err("cert_json needs both \"cert\" and \"key\"".to_string());
    }
    let ca_pem = Some(field("ca")).filter(|ca| !ca.trim().is_empty());
    Ok(ClientIdentity { cert_pem, key_pem, ca_pem })
}

fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|character| !character.is_ascii_whitespace()).collect();
    let unpadded = compact.trim_end_matches('=');
    STANDARD_NO_PAD.decode(unpadded).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical_header_name("content-type"), "Content-Type");
        assert_eq!(canonical_header_name("x-request-id"), "X-Request-Id");
        assert_eq!(canonical_header_name("etag"), "Etag");
    }

    #[test]
    fn identities_parse_from_interpolated_json() {
        let identity = parse_identity("{\"cert\":\"-----BEGIN CERTIFICATE-----\nA\n\",\"key\":\"K\"}").unwrap();
        assert!(identity.cert_pem.contains("\nA\n"));
        assert!(identity.ca_pem.is_none());
        assert!(parse_identity("").is_err());
        assert!(parse_identity("{\"cert\":\"x\"}").is_err());
    }

    #[test]
    fn base64_bodies_decode_with_or_without_padding() {
        assert_eq!(decode_base64("AAECAw==").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(decode_base64("AAECAw").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(decode_base64("").unwrap(), Vec::<u8>::new());
        assert!(decode_base64("not base64!").is_err());
    }

    #[test]
    fn headers_json_accepts_objects_only() {
        assert_eq!(
            parse_headers("{\"A\":\"1\",\"B\":2,\"C\":null}").unwrap(),
            vec![("A".to_string(), "1".to_string()), ("B".to_string(), "2".to_string())]
        );
        assert!(parse_headers("[1]").is_err());
        assert!(parse_headers(" ").unwrap().is_empty());
    }
}
