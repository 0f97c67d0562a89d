//! Layer 6: who is calling. Identifies, never rejects.
//!
//! The admin session cookie (`[session].cookie_name`) and an
//! `Authorization: Bearer <customer JWT | rk_live_ API key>` are resolved by
//! the identity service (`rustbill.internal.auth.AuthService/Resolve`). A
//! missing, expired or unknown credential is simply anonymous (with the
//! reason), so public RPCs keep working with a stale token; each service
//! decides what needs a login. When identity cannot be reached the call
//! goes on as anonymous with failure "unavailable".
//!
//! Then every client-sent `x-rustbill-*` header is dropped, as are
//! `cookie` and `authorization` (services never see client secrets), and
//! the principal travels as a short-lived signed token in
//! `x-rustbill-principal`.
//!
//! On the way back, identity's `x-rustbill-set-session` /
//! `x-rustbill-clear-session` become the session `Set-Cookie`, and no
//! `x-rustbill-*` header ever leaves the edge.

use std::sync::Arc;
use std::time::Duration;

use cookie::{Cookie, SameSite};
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, header};
use rustbill_proto::internal::auth::auth_service_client::AuthServiceClient;
use rustbill_proto::internal::auth::{Principal as WirePrincipal, ResolveRequest, ResolveResponse};
use rustbill_shared::Config;
use rustbill_shared::principal::{
    AdminRole, CLEAR_SESSION_HEADER, Caller, INTERNAL_HEADER_PREFIX, InternalSigner, PRINCIPAL_HEADER, Principal,
    SET_SESSION_HEADER,
};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::backends::{Backend, Route};
use crate::context::RequestContext;
use crate::middleware::{BoxSvc, Middleware, Req, Resp, call};

/// Bound on one `Resolve` call.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest credential the edge passes on; anything longer is ignored.
const MAX_CREDENTIAL_LEN: usize = 4096;

/// How the session cookie is written.
#[derive(Debug, Clone)]
pub(crate) struct SessionCookie {
    name: String,
    same_site: SameSite,
    secure: bool,
    max_age_secs: i64,
}

impl SessionCookie {
    pub(crate) fn from_config(config: &Config) -> Self {
        let session = &config.session;
        let same_site = match session.cookie_same_site.as_str() {
            "Strict" => SameSite::Strict,
            "None" => SameSite::None,
            _ => SameSite::Lax,
        };
        if same_site == SameSite::None && !session.cookie_secure {
            tracing::warn!(
                "[session].cookie_same_site = \"None\" without cookie_secure: browsers will drop the session cookie"
            );
        }
        let hours = i64::try_from(session.absolute_timeout_hours).unwrap_or(i64::MAX / 3600);
        Self {
            name: session.cookie_name.clone(),
            same_site,
            secure: session.cookie_secure,
            max_age_secs: hours.saturating_mul(3600),
        }
    }

    /// `Set-Cookie` for `token`, or the clearing cookie when `token` is None.
    fn header(&self, token: Option<&str>) -> Option<HeaderValue> {
        let (value, max_age) = match token {
            Some(token) => (token, self.max_age_secs),
            None => ("", 0),
        };
        let cookie = Cookie::build((self.name.clone(), value.to_string()))
            .http_only(true)
            .path("/")
            .same_site(self.same_site)
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// The session token of a request, from any of its `Cookie` headers.
    fn token(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| Cookie::split_parse(value.to_string()))
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == self.name)
            .map(|cookie| cookie.value().to_string())
            .filter(|token| !token.is_empty() && token.len() <= MAX_CREDENTIAL_LEN)
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::AUTHORIZATION).iter().find_map(|value| {
        let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_CREDENTIAL_LEN)
            .then(|| token.to_string())
    })
}

/// `cookie-octet` of RFC 6265: what a session token may contain.
fn is_cookie_value(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_CREDENTIAL_LEN
        && token.bytes().all(|byte| matches!(byte, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e))
}

/// Removes every header starting with `x-rustbill-`.
pub(crate) fn strip_internal_headers(headers: &mut HeaderMap) {
    let internal: Vec<header::HeaderName> =
        headers.keys().filter(|name| name.as_str().starts_with(INTERNAL_HEADER_PREFIX)).cloned().collect();
    for name in internal {
        headers.remove(&name);
    }
}

/// The shared-kit principal of a `Resolve` answer.
fn from_wire(answer: ResolveResponse) -> Result<Principal, String> {
    let wire = answer.principal.unwrap_or_default();
    let uuid = |field: &str, value: &str| {
        Uuid::parse_str(value).map_err(|_| format!("{} principal has a bad {field} {value:?}", wire.kind))
    };
    let WirePrincipal { kind, user_id, customer_id, role, api_key_id, session_id, username } = &wire;
    match kind.as_str() {
        "anonymous" | "" => {
            Ok(Principal::Anonymous { failure: Some(answer.failure.clone()).filter(|failure| !failure.is_empty()) })
        }
        "admin" => Ok(Principal::Admin {
            user_id: uuid("user_id", user_id)?,
            username: username.clone(),
            role: AdminRole::parse(role).ok_or_else(|| format!("admin principal has an unknown role {role:?}"))?,
            session_id: uuid("session_id", session_id)?,
        }),
        "customer" => Ok(Principal::Customer {
            user_id: uuid("user_id", user_id)?,
            customer_id: uuid("customer_id", customer_id)?,
            username: username.clone(),
            family_id: uuid("session_id", session_id)?,
        }),
        "api_key" => Ok(Principal::ApiKey {
            api_key_id: uuid("api_key_id", api_key_id)?,
            customer_id: uuid("customer_id", customer_id)?,
        }),
        // A client credential never makes a service principal.
        other => Err(format!("unexpected principal kind {other:?}")),
    }
}

/// Layer 6 middleware.
pub(crate) struct Authenticate {
    /// `None` when the identity backend is not configured.
    resolver: Option<AuthServiceClient<Channel>>,
    signer: InternalSigner,
    cookie: SessionCookie,
}

impl Authenticate {
    pub(crate) fn new(identity: Option<Channel>, signer: InternalSigner, cookie: SessionCookie) -> Self {
        Self { resolver: identity.map(AuthServiceClient::new), signer, cookie }
    }

    async fn resolve(
        &self,
        session_token: Option<String>,
        bearer_token: Option<String>,
        context: &RequestContext,
    ) -> Principal {
        let unavailable = || Principal::Anonymous { failure: Some("unavailable".into()) };
        let Some(resolver) = self.resolver.clone() else {
            tracing::warn!("a credential was presented but the identity service is not configured");
            return unavailable();
        };
        let mut request = tonic::Request::new(ResolveRequest {
            session_token: session_token.unwrap_or_default(),
            bearer_token: bearer_token.unwrap_or_default(),
            client_ip: context.client_ip.clone(),
        });
        request.set_timeout(RESOLVE_TIMEOUT);
        let edge = Caller {
            principal: Principal::Service { name: "edge".into() },
            request_id: context.request_id.clone(),
            client_ip: context.client_ip.clone(),
            traceparent: context.trace.to_string(),
        };
        self.signer.attach(&edge, &mut request);
        let mut resolver = resolver;
        match tokio::time::timeout(RESOLVE_TIMEOUT, resolver.resolve(request)).await {
            Ok(Ok(answer)) => match from_wire(answer.into_inner()) {
                Ok(principal) => principal,
                Err(reason) => {
                    tracing::warn!(%reason, "identity resolved a credential to a principal the edge cannot use");
                    Principal::Anonymous { failure: Some("invalid".into()) }
                }
            },
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), message = %status.message(), "credential resolution failed; treating the call as anonymous");
                unavailable()
            }
            Err(_) => {
                tracing::warn!("credential resolution timed out; treating the call as anonymous");
                unavailable()
            }
        }
    }
}

impl Middleware for Authenticate {
    fn handle(self: Arc<Self>, mut request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        Box::pin(async move {
            let route = Route::of(request.uri().path());
            let session_token = self.cookie.token(request.headers());
            let bearer = bearer_token(request.headers());
            {
                let headers = request.headers_mut();
                strip_internal_headers(headers);
                headers.remove(header::COOKIE);
                headers.remove(header::AUTHORIZATION);
            }
            if let Route::Backend(_) = route {
                let context = RequestContext::ensure(&mut request);
                let principal = if session_token.is_some() || bearer.is_some() {
                    self.resolve(session_token, bearer, &context).await
                } else {
                    Principal::anonymous()
                };
                tracing::debug!(principal = %principal.label(), "caller identified");
                let token = self.signer.sign(&Caller {
                    principal,
                    request_id: context.request_id.clone(),
                    client_ip: context.client_ip.clone(),
                    traceparent: String::new(),
                });
                if let Ok(value) = HeaderValue::from_str(&token) {
                    request.headers_mut().insert(PRINCIPAL_HEADER, value);
                }
            }

            let mut response = call(next, request).await;

            let headers = response.headers_mut();
            // Only identity owns sessions.
            if route == Route::Backend(Backend::Identity) {
                let set = headers.get(SET_SESSION_HEADER).and_then(|value| value.to_str().ok()).map(str::to_string);
                if let Some(token) = set {
                    if is_cookie_value(&token) {
                        if let Some(value) = self.cookie.header(Some(&token)) {
                            headers.append(header::SET_COOKIE, value);
                        }
                    } else {
                        tracing::warn!("identity asked for a session cookie with a malformed token; ignored");
                    }
                } else if headers.contains_key(CLEAR_SESSION_HEADER)
                    && let Some(value) = self.cookie.header(None)
                {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            strip_internal_headers(headers);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie() -> SessionCookie {
        let mut config = Config::default();
        config.session.cookie_secure = true;
        config.session.cookie_same_site = "Strict".into();
        config.session.absolute_timeout_hours = 2;
        SessionCookie::from_config(&config)
    }

    #[test]
    fn set_and_clear_cookies() {
        let cookie = cookie();
        let set = cookie.header(Some("abc123")).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("rustbill_session=abc123"), "{set}");
        for part in ["HttpOnly", "Path=/", "SameSite=Strict", "Secure", "Max-Age=7200"] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        let clear = cookie.header(None).unwrap();
        let clear = clear.to_str().unwrap();
        assert!(clear.starts_with("rustbill_session=;"), "{clear}");
        assert!(clear.contains("Max-Age=0"), "{clear}");

        let mut config = Config::default();
        config.session.cookie_secure = false;
        let lax = SessionCookie::from_config(&config).header(Some("t")).unwrap();
        assert!(!lax.to_str().unwrap().contains("Secure"));
        assert!(lax.to_str().unwrap().contains("SameSite=Lax"));
    }

    #[test]
    fn credentials_are_read_from_headers() {
        let cookie = cookie();
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; rustbill_session=tok-1"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("bearer  jwt.value "));
        assert_eq!(cookie.token(&headers).as_deref(), Some("tok-1"));
        assert_eq!(bearer_token(&headers).as_deref(), Some("jwt.value"));
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=b"));
        headers.append(header::COOKIE, HeaderValue::from_static("rustbill_session=tok-2"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
        assert_eq!(cookie.token(&headers).as_deref(), Some("tok-2"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn cookie_values_are_checked() {
        assert!(is_cookie_value("abcDEF-_.~123"));
        assert!(!is_cookie_value("has space"));
        assert!(!is_cookie_value("semi;colon"));
        assert!(!is_cookie_value(""));
    }

    #[test]
    fn wire_principals_convert() {
        let user = Uuid::now_v7();
        let session = Uuid::now_v7();
        let answer = ResolveResponse {
            principal: Some(WirePrincipal {
                kind: "admin".into(),
                user_id: user.to_string(),
                role: "operator".into(),
                session_id: session.to_string(),
                username: "op".into(),
                ..Default::default()
            }),
            failure: String::new(),
        };
        assert_eq!(
            from_wire(answer).unwrap(),
            Principal::Admin { user_id: user, username: "op".into(), role: AdminRole::Operator, session_id: session }
        );
        let expired = ResolveResponse {
            principal: Some(WirePrincipal { kind: "anonymous".into(), ..Default::default() }),
            failure: "expired".into(),
        };
        assert_eq!(from_wire(expired).unwrap(), Principal::Anonymous { failure: Some("expired".into()) });
        let service = ResolveResponse {
            principal: Some(WirePrincipal { kind: "service".into(), username: "x".into(), ..Default::default() }),
            failure: String::new(),
        };
        assert!(from_wire(service).is_err());
        let broken = ResolveResponse {
            principal: Some(WirePrincipal { kind: "customer".into(), user_id: "nope".into(), ..Default::default() }),
            failure: String::new(),
        };
        assert!(from_wire(broken).is_err());
    }

    #[test]
    fn internal_headers_are_stripped() {
        let mut headers = HeaderMap::new();
        headers.insert("x-rustbill-principal", HeaderValue::from_static("forged"));
        headers.insert("X-Rustbill-Anything", HeaderValue::from_static("1"));
        headers.insert("x-request-id", HeaderValue::from_static("keep"));
        strip_internal_headers(&mut headers);
        assert_eq!(headers.len(), 1);
    }
}
