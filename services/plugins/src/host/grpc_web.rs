//! `grpc_web_call(url, method, request_json, headers_json)`: a unary
//! gRPC-Web call to another RustBill (the upstream of `provider-rustbill`).
//!
//! Rune has no protobuf codec and strings cannot carry bytes, so the host
//! does the encoding: the request JSON (proto3 JSON mapping, original or
//! camelCase field names) becomes the method's input message via the
//! public descriptor set, framed as gRPC-Web (`application/grpc-web+proto`),
//! sent through the one outbound client (breakers, timeouts; a POST is
//! repeated only when it certainly was not delivered: connect failure or
//! HTTP 503), and the answer's data frame is decoded back to JSON with the
//! proto field names. The result is
//! `{"code": <grpc status>, "message": "...", "response": {...}}` (`response`
//! is `null` when `code` is not 0); a call that could not be made or whose
//! answer is not gRPC-Web is `"ERROR: grpc_web_call: <reason>"`.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use serde_json::{Value as Json, json};

use crate::http::OutboundRequest;

/// Headers the host sets for the framing; the script's `headers_json`
/// cannot replace them.
const FRAMING_HEADERS: [&str; 3] = ["content-type", "accept", "x-grpc-web"];

/// The public API's descriptors, decoded once.
fn pool() -> Result<&'static DescriptorPool, String> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(rustbill_proto::PUBLIC_DESCRIPTOR_SET)
            .map_err(|error| format!("descriptor set: {error}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// `package.Service/Method` (a leading `/` is accepted).
fn method(path: &str) -> Result<MethodDescriptor, String> {
    let path = path.trim().trim_start_matches('/');
    let (service, method) =
        path.split_once('/').ok_or_else(|| format!("method {path:?} is not package.Service/Method"))?;
    let service = pool()?.get_service_by_name(service).ok_or_else(|| format!("unknown service {service}"))?;
    service
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| format!("{} has no method {method}", service.full_name()))
}

/// The method's input message from proto3 JSON (`""` is the empty message).
fn encode_request(method: &MethodDescriptor, request_json: &str) -> Result<Vec<u8>, String> {
    let text = if request_json.trim().is_empty() { "{}" } else { request_json };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let request = DynamicMessage::deserialize(method.input(), &mut deserializer)
        .and_then(|request| deserializer.end().map(|()| request))
        .map_err(|error| format!("request_json is not a {}: {error}", method.input().full_name()))?;
    Ok(request.encode_to_vec())
}

/// One gRPC-Web frame: flag byte, big-endian length, payload.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// Trailer names (lower case) and values.
type Trailers = Vec<(String, String)>;

/// The (first) data frame and the trailers of a response body.
pub(crate) fn unframe(mut body: &[u8]) -> Result<(Option<Vec<u8>>, Trailers), String> {
    let mut data = None;
    let mut trailers = Vec::new();
    while !body.is_empty() {
        if body.len() < 5 {
            return Err("truncated gRPC-Web frame header".into());
        }
        let flag = body[0];
        let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = body.get(5..5 + length).ok_or("truncated gRPC-Web frame")?;
        if flag & 0x80 != 0 {
            for line in String::from_utf8_lossy(payload).split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    trailers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
        } else if flag & 0x01 != 0 {
            return Err("compressed gRPC-Web frames are not supported".into());
        } else if data.is_none() {
            data = Some(payload.to_vec());
        }
        body = &body[5 + length..];
    }
    Ok((data, trailers))
}

/// `grpc-message` is percent-encoded on the wire.
fn percent_decoded(text: &str) -> String {
    urlencoding::decode(text).map(|t| t.into_owned()).unwrap_or_else(|_| text.to_string())
}

/// The call's result from the HTTP answer: status and message from the
/// trailer frame, or from the HTTP headers for a trailers-only answer;
/// the data frame decoded as the method's output with proto field names
/// (defaults included, so scripts find every field).
fn decode_answer(
    method: &MethodDescriptor,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Json, String> {
    let header =
        |name: &str| headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str());
    if header("grpc-status").is_none() {
        if status != 200 {
            return Err(format!("HTTP {status} from the upstream"));
        }
        let content_type = header("content-type").unwrap_or_default();
        let binary =
            content_type.starts_with("application/grpc-web") && !content_type.starts_with("application/grpc-web-text");
        if !binary {
            return Err(format!(
                "the upstream answered {content_type:?}, not application/grpc-web+proto (is the URL its edge?)"
            ));
        }
    }
    let (data, trailers) = unframe(body)?;
    let lookup = |name: &str| {
        trailers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| header(name).map(str::to_string))
    };
    let code: i64 = lookup("grpc-status")
        .ok_or("no grpc-status in the answer")?
        .trim()
        .parse()
        .map_err(|_| "bad grpc-status in the answer")?;
    let message = percent_decoded(&lookup("grpc-message").unwrap_or_default());
    let response = match (code, data) {
        (0, Some(bytes)) => {
            let decoded = DynamicMessage::decode(method.output(), bytes.as_slice())
                .map_err(|error| format!("cannot decode {}: {error}", method.output().full_name()))?;
            let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
            decoded.serialize_with_options(serde_json::value::Serializer, &options).map_err(|e| e.to_string())?
        }
        (0, None) => return Err("the upstream answered OK without a message".into()),
        _ => Json::Null,
    };
    Ok(json!({ "code": code, "message": message, "response": response }))
}

fn call(url: &str, path: &str, request_json: &str, headers_json: &str) -> Result<Json, String> {
    let method = method(path)?;
    let payload = encode_request(&method, request_json)?;
    let extra = super::net::parse_headers(headers_json)?;
    let url = format!("{}/{}/{}", url.trim_end_matches('/'), method.parent_service().full_name(), method.name());
    let mut outbound = OutboundRequest::post(url, frame(&payload))
        .header("content-type", "application/grpc-web+proto")
        .header("accept", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    for (name, value) in extra {
        if !FRAMING_HEADERS.iter().any(|framing| name.eq_ignore_ascii_case(framing)) {
            outbound = outbound.header(name, value);
        }
    }
    let response = super::net::send("grpc_web_call", outbound, None)?;
    decode_answer(&method, response.status, &response.headers, &response.body)
}

/// `grpc_web_call(url, method, request_json, headers_json)`: `4×String → String`.
pub fn grpc_web_call(url: &str, method: &str, request_json: &str, headers_json: &str) -> String {
    match call(url, method, request_json, headers_json) {
        Ok(result) => result.to_string(),
        Err(reason) => format!("ERROR: grpc_web_call: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use rustbill_proto::rustbill::identity::{GetMeResponse, UserInfo};
    use rustbill_proto::rustbill::order::CreateOrderRequest;

    use super::*;

    fn trailer_frame(text: &str) -> Vec<u8> {
        let mut framed = vec![0x80];
        framed.extend_from_slice(&(text.len() as u32).to_be_bytes());
        framed.extend_from_slice(text.as_bytes());
        framed
    }

    fn grpc_web_headers() -> Vec<(String, String)> {
        vec![("content-type".into(), "application/grpc-web+proto".into())]
    }

    fn get_me() -> MethodDescriptor {
        method("rustbill.identity.IdentityService/GetMe").unwrap()
    }

    #[test]
    fn frames_round_trip_and_trailers_parse() {
        let mut body = frame(b"hello");
        body.extend(trailer_frame("grpc-status: 5\r\nGrpc-Message: not%20found\r\n"));
        let (data, trailers) = unframe(&body).unwrap();
        assert_eq!(data.as_deref(), Some(&b"hello"[..]));
        assert_eq!(trailers[0], ("grpc-status".to_string(), "5".to_string()));
        assert_eq!(trailers[1].0, "grpc-message", "names are lower-cased");
        assert_eq!(percent_decoded(&trailers[1].1), "not found");
        assert_eq!(frame(b"")[..], [0, 0, 0, 0, 0], "an empty message is a 5-byte frame");
        assert!(unframe(&body[..3]).unwrap_err().contains("frame header"));
        assert!(unframe(&body[..7]).unwrap_err().contains("truncated"));
        let mut compressed = frame(b"x");
        compressed[0] = 1;
        assert!(unframe(&compressed).unwrap_err().contains("compressed"));
    }

    #[test]
    fn methods_resolve_from_the_public_descriptors() {
        assert_eq!(get_me().name(), "GetMe");
        assert_eq!(
            method("/rustbill.identity.IdentityService/GetMe").unwrap().input().full_name(),
            "rustbill.identity.GetMeRequest"
        );
        assert!(method("rustbill.identity.IdentityService/Nope").unwrap_err().contains("no method"));
        assert!(method("nope").is_err());
        assert!(method("rustbill.nope.Service/Get").unwrap_err().contains("unknown service"));
        assert!(method("rustbill.internal.auth.AuthService/Resolve").is_err(), "internal services are not reachable");
    }

    #[test]
    fn requests_accept_camel_case_and_proto_names() {
        let create = method("rustbill.order.OrderService/CreateOrder").unwrap();
        let bytes = encode_request(
            &create,
            r#"{"productId": "p-1", "server_spec": {"cpuCores": 2, "memory_gb": 4, "extraSpecs": {"k": "v"}}, "billing_cycle": "monthly"}"#,
        )
        .unwrap();
        let decoded = CreateOrderRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.product_id, "p-1");
        assert_eq!(decoded.billing_cycle, "monthly");
        let spec = decoded.server_spec.unwrap();
        assert_eq!((spec.cpu_cores, spec.memory_gb), (2, 4));
        assert_eq!(spec.extra_specs["k"], "v");
        assert!(encode_request(&get_me(), "").unwrap().is_empty(), "empty text is the empty message");
        let unknown = encode_request(&get_me(), r#"{"nope": 1}"#).unwrap_err();
        assert!(unknown.contains("rustbill.identity.GetMeRequest"), "{unknown}");
        assert!(encode_request(&get_me(), "{bad").is_err());
        assert!(encode_request(&get_me(), "{} trailing").is_err());
        assert!(encode_request(&create, r#"{"server_spec": {"cpu_cores": "many"}}"#).is_err());
    }

    #[test]
    fn answers_decode_with_proto_field_names() {
        let me = GetMeResponse {
            user: Some(UserInfo { username: "alice".into(), customer_id: "c-1".into(), ..Default::default() }),
        };
        let mut body = frame(&me.encode_to_vec());
        body.extend(trailer_frame("grpc-status:0\r\ngrpc-message:\r\n"));
        let answer = decode_answer(&get_me(), 200, &grpc_web_headers(), &body).unwrap();
        assert_eq!(answer["code"], 0);
        assert_eq!(answer["message"], "");
        assert_eq!(answer["response"]["user"]["username"], "alice");
        assert_eq!(answer["response"]["user"]["customer_id"], "c-1", "proto names, not camelCase");
        assert_eq!(answer["response"]["user"]["is_active"], false, "defaults are present");

        // OK with an empty message is a zero-length data frame.
        let mut empty = frame(b"");
        empty.extend(trailer_frame("grpc-status: 0\r\n"));
        assert_eq!(decode_answer(&get_me(), 200, &grpc_web_headers(), &empty).unwrap()["response"], json!({}));

        // An error in the trailer frame.
        let denied = trailer_frame("grpc-status: 16\r\ngrpc-message: invalid%20API%20key\r\n");
        let answer = decode_answer(&get_me(), 200, &grpc_web_headers(), &denied).unwrap();
        assert_eq!(answer, json!({"code": 16, "message": "invalid API key", "response": null}));

        assert!(
            decode_answer(&get_me(), 200, &grpc_web_headers(), &trailer_frame("grpc-status: 0\r\n"))
                .unwrap_err()
                .contains("without a message")
        );
        assert!(
            decode_answer(&get_me(), 200, &grpc_web_headers(), &frame(&me.encode_to_vec()))
                .unwrap_err()
                .contains("no grpc-status")
        );
        assert!(
            decode_answer(&get_me(), 200, &grpc_web_headers(), &frame(b"\xff\xff"))
                .unwrap_err()
                .contains("no grpc-status")
        );
        let mut garbage = frame(b"\x0a\xff");
        garbage.extend(trailer_frame("grpc-status: 0\r\n"));
        assert!(decode_answer(&get_me(), 200, &grpc_web_headers(), &garbage).unwrap_err().contains("cannot decode"));
    }

    #[test]
    fn trailers_only_answers_carry_the_status_in_headers() {
        let mut headers = grpc_web_headers();
        headers.push(("grpc-status".into(), "14".into()));
        headers.push(("grpc-message".into(), "service%20orders%20is%20not%20available".into()));
        let answer = decode_answer(&get_me(), 200, &headers, b"").unwrap();
        assert_eq!(answer, json!({"code": 14, "message": "service orders is not available", "response": null}));
        // Some proxies answer a trailers-only error with an HTTP error status.
        assert_eq!(decode_answer(&get_me(), 503, &headers, b"").unwrap()["code"], 14);
        // The trailer frame wins over headers.
        let body = trailer_frame("grpc-status: 5\r\n");
        assert_eq!(decode_answer(&get_me(), 200, &headers, &body).unwrap()["code"], 5);
    }

    #[test]
    fn answers_that_are_not_grpc_web_are_errors() {
        assert_eq!(decode_answer(&get_me(), 404, &[], b"not found").unwrap_err(), "HTTP 404 from the upstream");
        let html = vec![("content-type".to_string(), "text/html".to_string())];
        assert!(decode_answer(&get_me(), 200, &html, b"<html>").unwrap_err().contains("is the URL its edge"));
        let text = vec![("content-type".to_string(), "application/grpc-web-text".to_string())];
        assert!(decode_answer(&get_me(), 200, &text, b"AAAA").unwrap_err().contains("not application/grpc-web+proto"));
        let bad = vec![("grpc-status".to_string(), "x".to_string())];
        assert!(decode_answer(&get_me(), 200, &bad, b"").unwrap_err().contains("bad grpc-status"));
    }

    #[test]
    fn malformed_calls_fail_before_sending() {
        // No scope and an unreachable URL: these must fail on the input.
        let bad_json = grpc_web_call("http://127.0.0.1:1", "rustbill.identity.IdentityService/GetMe", "{bad", "");
        assert!(bad_json.starts_with("ERROR: grpc_web_call: request_json is not a rustbill.identity.GetMeRequest"));
        let unknown = grpc_web_call("http://127.0.0.1:1", "rustbill.identity.IdentityService/Nope", "{}", "");
        assert_eq!(unknown, "ERROR: grpc_web_call: rustbill.identity.IdentityService has no method Nope");
        let headers = grpc_web_call("http://127.0.0.1:1", "rustbill.identity.IdentityService/GetMe", "{}", "[1]");
        assert_eq!(headers, "ERROR: grpc_web_call: headers_json must be a JSON object");
    }
}
