//! `grpc_web_call(url, method, request_json, headers_json)`: a unary
//! gRPC-Web call to another RustBill (the upstream of `provider-rustbill`).
//!
//! Rune has no protobuf codec and strings cannot carry bytes, so the host
//! does the encoding: the request JSON (proto3 JSON mapping, original or
//! camelCase field names) becomes the method's input message via the
//! public descriptor set, framed as gRPC-Web (`application/grpc-web+proto`),
//! sent through the one outbound client (breakers, timeouts; POST is not
//! repeated once it may have been delivered), and the answer's data frame
//! is decoded back to JSON with the proto field names. The result is
//! `{"code": <grpc status>, "message": "...", "response": {...}}`; a call
//! that could not be made is `"ERROR: <reason>"`.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use serde_json::{Value as Json, json};

use crate::http::OutboundRequest;

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

/// The data frame and the trailers of a response body.
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

fn percent_decoded(text: &str) -> String {
    urlencoding::decode(text).map(|t| t.into_owned()).unwrap_or_else(|_| text.to_string())
}

fn call(url: &str, path: &str, request_json: &str, headers_json: &str) -> Result<Json, String> {
    let method = method(path)?;
    let text = if request_json.trim().is_empty() { "{}" } else { request_json };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let request = DynamicMessage::deserialize(method.input(), &mut deserializer)
        .map_err(|error| format!("request_json is not a {}: {error}", method.input().full_name()))?;
    let url = format!("{}/{}/{}", url.trim_end_matches('/'), method.parent_service().full_name(), method.name());
    let mut outbound = OutboundRequest::post(url, frame(&request.encode_to_vec()))
        .header("content-type", "application/grpc-web+proto")
        .header("accept", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    for (name, value) in super::net::parse_headers(headers_json)? {
        outbound = outbound.header(name, value);
    }
    let response = super::net::send("grpc_web_call", outbound, None)?;
    if response.status != 200 && response.header("grpc-status").is_none() {
        return Err(format!("HTTP {} from the upstream", response.status));
    }
    let (data, trailers) = unframe(&response.body)?;
    let lookup = |name: &str| {
        trailers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| response.header(name).map(str::to_string))
    };
    let code: i64 =
        lookup("grpc-status").ok_or("no grpc-status in the answer")?.parse().map_err(|_| "bad grpc-status")?;
    let message = percent_decoded(&lookup("grpc-message").unwrap_or_default());
    let body = match (code, data) {
        (0, Some(bytes)) => {
            let decoded = DynamicMessage::decode(method.output(), bytes.as_slice())
                .map_err(|error| format!("cannot decode {}: {error}", method.output().full_name()))?;
            let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);
            decoded.serialize_with_options(serde_json::value::Serializer, &options).map_err(|e| e.to_string())?
        }
        (0, None) => return Err("the upstream answered OK without a message".into()),
        _ => Json::Null,
    };
    Ok(json!({ "code": code, "message": message, "response": body }))
}

/// The host function.
pub fn grpc_web_call(url: &str, method: &str, request_json: &str, headers_json: &str) -> String {
    match call(url, method, request_json, headers_json) {
        Ok(result) => result.to_string(),
        Err(reason) => format!("ERROR: grpc_web_call: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_trailers_parse() {
        let mut body = frame(b"hello");
        let trailer = b"grpc-status: 5\r\ngrpc-message: not%20found\r\n";
        body.push(0x80);
        body.extend_from_slice(&(trailer.len() as u32).to_be_bytes());
        body.extend_from_slice(trailer);
        let (data, trailers) = unframe(&body).unwrap();
        assert_eq!(data.as_deref(), Some(&b"hello"[..]));
        assert_eq!(trailers[0], ("grpc-status".to_string(), "5".to_string()));
        assert_eq!(percent_decoded(&trailers[1].1), "not found");
        assert!(unframe(&body[..7]).is_err());
    }

    #[test]
    fn methods_resolve_from_the_public_descriptors() {
        assert_eq!(method("rustbill.identity.IdentityService/GetMe").unwrap().name(), "GetMe");
        assert_eq!(
            method("/rustbill.identity.IdentityService/GetMe").unwrap().input().full_name(),
            "rustbill.identity.GetMeRequest"
        );
        assert!(method("rustbill.identity.IdentityService/Nope").unwrap_err().contains("no method"));
        assert!(method("nope").is_err());
        assert!(method("rustbill.internal.auth.AuthService/Resolve").is_err(), "internal services are not reachable");
        assert!(
            grpc_web_call("http://127.0.0.1:1", "rustbill.identity.IdentityService/GetMe", "{bad", "")
                .starts_with("ERROR:")
        );
    }
}
