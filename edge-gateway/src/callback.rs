//! `/callback/<gateway_interface_id>`: payment gateways' notifications
//! (any method; raw query and body) handed to
//! `rustbill.payment.PaymentService/HandleCallback`, answered with what the
//! gateway expects (the plugin's reply, e.g. `success` for epay).
//!
//! - processed, or a repeated notification: 200 with the plugin's reply;
//! - rejected (bad signature, unknown payment): 400 `fail`, so the gateway
//!   does not treat it as delivered;
//! - anything else (payments or plugins down): 503, so the gateway retries.

use std::sync::Arc;

use futures::future::BoxFuture;
use http::{StatusCode, header};
use http_body_util::{BodyExt, Limited};
use rustbill_proto::payment::PaymentCallbackRequest;
use rustbill_proto::payment::payment_service_client::PaymentServiceClient;
use rustbill_shared::principal::{Caller, InternalSigner, Principal};
use tonic::transport::Channel;

use crate::context::client_ip;
use crate::middleware::{BoxSvc, Middleware, Req, Resp, text_response};

/// Path prefix of the callback URL.
pub const PREFIX: &str = "/callback/";
/// Largest notification body accepted.
const MAX_BODY: usize = 64 * 1024;
/// Metadata key payments sets on a repeated notification's error.
const REPLY_HEADER: &str = "x-rustbill-callback-reply";

pub(crate) struct CallbackRoute {
    pub(crate) payments: Option<Channel>,
    pub(crate) signer: InternalSigner,
}

impl Middleware for CallbackRoute {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        let Some(gateway) = request.uri().path().strip_prefix(PREFIX).map(str::to_string) else {
            return Box::pin(crate::middleware::call(next, request));
        };
        Box::pin(async move { self.forward(gateway, request).await })
    }
}

impl CallbackRoute {
    async fn forward(&self, gateway: String, request: Req) -> Resp {
        let Some(channel) = self.payments.clone() else {
            return text_response(StatusCode::SERVICE_UNAVAILABLE, "payments unavailable");
        };
        if gateway.is_empty() || gateway.contains('/') {
            return text_response(StatusCode::NOT_FOUND, "fail");
        }
        let method = request.method().to_string();
        let query = request.uri().query().unwrap_or("").to_string();
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
        let ip = client_ip(&request).map(|ip| ip.to_string()).unwrap_or_default();
        let headers = request
            .headers()
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                !matches!(name, "cookie" | "authorization" | "proxy-authorization" | "connection" | "te")
                    && !name.starts_with("x-rustbill-")
            })
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return text_response(StatusCode::PAYLOAD_TOO_LARGE, "fail"),
        };
        let Ok(payload) = String::from_utf8(body.to_vec()) else {
            return text_response(StatusCode::BAD_REQUEST, "fail");
        };
        let mut call = tonic::Request::new(PaymentCallbackRequest {
            gateway_interface_id: gateway.clone(),
            payload,
            query,
            http_method: method,
            content_type,
            headers,
        });
        let caller = Caller::new(Principal::anonymous(), uuid::Uuid::now_v7().to_string(), ip);
        self.signer.attach(&caller, &mut call);
        match PaymentServiceClient::new(channel).handle_callback(call).await {
            Ok(response) => {
                let reply = response.into_inner().reply;
                text_response(StatusCode::OK, if reply.is_empty() { "success".to_string() } else { reply })
            }
            Err(status) if status.code() == tonic::Code::AlreadyExists => {
                let reply = status
                    .metadata()
                    .get(REPLY_HEADER)
                    .and_then(|value| value.to_str().ok())
                    .filter(|reply| !reply.is_empty())
                    .unwrap_or("success")
                    .to_string();
                text_response(StatusCode::OK, reply)
            }
            Err(status) if matches!(status.code(), tonic::Code::InvalidArgument | tonic::Code::NotFound) => {
                tracing::warn!(gateway, message = status.message(), "gateway notification rejected");
                text_response(StatusCode::BAD_REQUEST, "fail")
            }
            Err(status) => {
                tracing::warn!(gateway, code = ?status.code(), message = status.message(), "gateway notification not processed");
                text_response(StatusCode::SERVICE_UNAVAILABLE, "retry later")
            }
        }
    }
}
