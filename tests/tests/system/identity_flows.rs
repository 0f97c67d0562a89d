//! The identity flows a user goes through, end to end through the edge,
//! with a real gRPC client (HTTP/2) and a real gRPC-Web client (HTTP/1.1).

use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::downstream::*;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use rustbill_system_tests::flows::{self, latest_code};
use rustbill_system_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, TestServer, bearer, cookie_pair, session};
use tonic::Code;

const IDENTITY: &str = "rustbill.identity.IdentityService";

#[tokio::test]
async fn admin_login_sets_cookie_then_get_me_then_logout_over_grpc() {
    let server = TestServer::start().await.unwrap();
    let mut identity = IdentityServiceClient::new(server.channel().await);

    let response = identity
        .login(LoginRequest {
            username: ADMIN_USERNAME.into(),
            password: ADMIN_PASSWORD.into(),
            user_type: "admin".into(),
        })
        .await
        .expect("admin login");
    let set_cookie = response.metadata().get("set-cookie").expect("set-cookie").to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("rustbill_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        response.metadata().keys().all(|key| !format!("{key:?}").contains("x-rustbill")),
        "internal headers leaked: {:?}",
        response.metadata()
    );
    let login = response.into_inner();
    assert_eq!(login.admin_path, "/admin");
    assert!(login.access_token.is_empty(), "admins get a cookie, not a JWT");
    let user = login.user.expect("user");
    assert_eq!((user.username.as_str(), user.role.as_str(), user.user_type.as_str()), ("admin", "admin", "admin"));

    let cookie = cookie_pair(&set_cookie);
    let me = identity.get_me(session(GetMeRequest {}, &cookie)).await.expect("get me").into_inner();
    assert_eq!(me.user.expect("me").id, user.id);

    let logout = identity.logout(session(LogoutRequest {}, &cookie)).await.expect("logout");
    let cleared = logout.metadata().get("set-cookie").expect("logout clears the cookie").to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let after = identity.get_me(session(GetMeRequest {}, &cookie)).await.expect_err("session ended");
    assert_eq!(after.code(), Code::Unauthenticated);
    assert!(after.message().contains("revoked"), "{}", after.message());
}

#[tokio::test]
async fn admin_login_cookie_get_me_logout_over_grpc_web_http1() {
    let server = TestServer::start().await.unwrap();
    let web = server.web();
    let login = web
        .call::<_, LoginResponse>(
            &format!("{IDENTITY}/Login"),
            &LoginRequest {
                username: ADMIN_USERNAME.into(),
                password: ADMIN_PASSWORD.into(),
                user_type: "admin".into(),
            },
            &[],
        )
        .await
        .expect("admin login over gRPC-Web");
    let set_cookie = login.headers.get("set-cookie").expect("set-cookie").to_str().unwrap();
    let cookie = cookie_pair(set_cookie);
    assert_eq!(login.message.user.unwrap().username, "admin");

    let me = web
        .call::<_, GetMeResponse>(&format!("{IDENTITY}/GetMe"), &GetMeRequest {}, &[("cookie", &cookie)])
        .await
        .expect("get me over gRPC-Web");
    assert_eq!(me.message.user.unwrap().username, "admin");

    web.call::<_, LogoutResponse>(&format!("{IDENTITY}/Logout"), &LogoutRequest {}, &[("cookie", &cookie)])
        .await
        .expect("logout over gRPC-Web");
    let error = web
        .call::<_, GetMeResponse>(&format!("{IDENTITY}/GetMe"), &GetMeRequest {}, &[("cookie", &cookie)])
        .await
        .expect_err("logged out");
    assert_eq!(error.code, Code::Unauthenticated as i32);
    assert!(error.in_headers, "the portal reads grpc-status from the HTTP headers");
}

#[tokio::test]
async fn customer_register_login_refresh_change_password_logout() {
    let server = TestServer::start().await.unwrap();
    let web = server.web();
    let email = "carol@example.com";

    // SendVerificationCode: the code goes to the outbox for the notify service.
    let sent = web
        .call::<_, SendVerificationCodeResponse>(
            &format!("{IDENTITY}/SendVerificationCode"),
            &SendVerificationCodeRequest { email: email.into(), purpose: "registration".into() },
            &[],
        )
        .await
        .expect("send code");
    assert!(sent.message.sent);
    assert_eq!(sent.message.retry_after_secs, 60);
    let code = latest_code(&server, email).await;
    assert_eq!(code.len(), 6);
    let stored: Vec<u8> = sqlx::query_scalar("select code_hash from identity.verification_codes where email = $1")
        .bind(email)
        .fetch_one(&server.pool().await)
        .await
        .unwrap();
    assert_ne!(stored, code.as_bytes(), "codes are stored hashed");

    // A second send within 60 s is refused with the time to wait.
    let again = web
        .call::<_, SendVerificationCodeResponse>(
            &format!("{IDENTITY}/SendVerificationCode"),
            &SendVerificationCodeRequest { email: email.into(), purpose: "registration".into() },
            &[],
        )
        .await
        .expect_err("too soon");
    assert_eq!(again.code, Code::InvalidArgument as i32);
    assert!(again.message.contains("retry in"), "{}", again.message);

    // Register.
    let registered = web
        .call::<_, RegisterResponse>(
            &format!("{IDENTITY}/Register"),
            &RegisterRequest {
                username: "carol".into(),
                email: email.into(),
                display_name: "Carol".into(),
                password: "carol-Pass-1".into(),
                verification_code: code.clone(),
            },
            &[],
        )
        .await
        .expect("register")
        .message;
    let user = registered.user.expect("user");
    assert_eq!(user.user_type, "customer");
    assert_eq!(user.customer_id, registered.customer_id);

    // The code is single-use.
    let reuse = web
        .call::<_, RegisterResponse>(
            &format!("{IDENTITY}/Register"),
            &RegisterRequest {
                username: "carol2".into(),
                email: email.into(),
                display_name: "Carol".into(),
                password: "carol-Pass-1".into(),
                verification_code: code,
            },
            &[],
        )
        .await
        .expect_err("code already used");
    assert_eq!(reuse.code, Code::InvalidArgument as i32);

    // Login → JWT pair.
    let login = web
        .call::<_, LoginResponse>(
            &format!("{IDENTITY}/Login"),
            &LoginRequest { username: "carol".into(), password: "carol-Pass-1".into(), user_type: "customer".into() },
            &[],
        )
        .await
        .expect("login")
        .message;
    assert!(!login.access_token.is_empty() && !login.refresh_token.is_empty());
    assert_eq!(login.expires_in, 24 * 3600);
    let auth = format!("Bearer {}", login.access_token);
    let me = web
        .call::<_, GetMeResponse>(&format!("{IDENTITY}/GetMe"), &GetMeRequest {}, &[("authorization", &auth)])
        .await
        .expect("get me")
        .message;
    assert_eq!(me.user.unwrap().id, user.id);

    // RefreshToken rotates.
    let mut identity = IdentityServiceClient::new(server.channel().await);
    let first_refresh = login.refresh_token.clone();
    let rotated = identity
        .refresh_token(RefreshTokenRequest { refresh_token: first_refresh.clone() })
        .await
        .expect("refresh")
        .into_inner();
    assert!(!rotated.access_token.is_empty());
    assert_ne!(rotated.refresh_token, first_refresh, "refresh tokens rotate");
    identity.get_me(bearer(GetMeRequest {}, &rotated.access_token)).await.expect("new access token works");

    // Reusing the old refresh token revokes the whole family: the new
    // refresh token and every access token of this login stop working.
    let reused =
        identity.refresh_token(RefreshTokenRequest { refresh_token: first_refresh }).await.expect_err("reuse detected");
    assert_eq!(reused.code(), Code::InvalidArgument);
    let after_reuse = identity
        .refresh_token(RefreshTokenRequest { refresh_token: rotated.refresh_token.clone() })
        .await
        .expect_err("family revoked");
    assert_eq!(after_reuse.code(), Code::InvalidArgument);
    let revoked = identity.get_me(bearer(GetMeRequest {}, &rotated.access_token)).await.expect_err("revoked");
    assert_eq!(revoked.code(), Code::Unauthenticated);

    // Log in again, change the password.
    let login = identity
        .login(LoginRequest { username: "carol".into(), password: "carol-Pass-1".into(), user_type: "customer".into() })
        .await
        .expect("login again")
        .into_inner();
    let wrong_old = identity
        .change_password(bearer(
            ChangePasswordRequest { old_password: "not-my-password".into(), new_password: "carol-New-2".into() },
            &login.access_token,
        ))
        .await
        .expect_err("wrong old password");
    assert_eq!(wrong_old.code(), Code::InvalidArgument);
    identity
        .change_password(bearer(
            ChangePasswordRequest { old_password: "carol-Pass-1".into(), new_password: "carol-New-2".into() },
            &login.access_token,
        ))
        .await
        .expect("change password");
    let old = identity
        .login(LoginRequest { username: "carol".into(), password: "carol-Pass-1".into(), user_type: "customer".into() })
        .await
        .expect_err("old password no longer works");
    assert_eq!(old.code(), Code::InvalidArgument);
    identity
        .login(LoginRequest { username: "carol".into(), password: "carol-New-2".into(), user_type: "customer".into() })
        .await
        .expect("new password works");

    // Logout ends this login: its refresh token and access token stop working.
    identity.logout(bearer(LogoutRequest {}, &login.access_token)).await.expect("logout");
    let after_logout = identity.get_me(bearer(GetMeRequest {}, &login.access_token)).await.expect_err("logged out");
    assert_eq!(after_logout.code(), Code::Unauthenticated);
    let refresh_after_logout = identity
        .refresh_token(RefreshTokenRequest { refresh_token: login.refresh_token })
        .await
        .expect_err("refresh after logout");
    assert_eq!(refresh_after_logout.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn api_key_create_use_revoke() {
    let server = TestServer::start().await.unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let customer = flows::register_customer(&server, "dave").await;
    let mut keys = ApiKeyServiceClient::new(server.channel().await);

    // Without the flag a customer may not create keys.
    let refused = keys
        .create_api_key(bearer(
            CreateApiKeyRequest { name: "ci".into(), customer_id: String::new() },
            &customer.access_token,
        ))
        .await
        .expect_err("flag off");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("permission_denied"));

    flows::allow_api_keys(&server, &admin, &customer.customer_id).await;
    let created = keys
        .create_api_key(bearer(
            CreateApiKeyRequest { name: "ci".into(), customer_id: String::new() },
            &customer.access_token,
        ))
        .await
        .expect("create key")
        .into_inner();
    assert!(created.api_key.starts_with("rk_live_"));
    assert!(created.api_key.starts_with(&created.key_prefix));
    let stored: Vec<u8> = sqlx::query_scalar("select key_hash from identity.api_keys where id = $1::uuid")
        .bind(&created.id)
        .fetch_one(&server.pool().await)
        .await
        .unwrap();
    assert_ne!(stored, created.api_key.as_bytes(), "keys are stored hashed");

    // The key authenticates as its customer, through the edge.
    let mut identity = IdentityServiceClient::new(server.channel().await);
    let me = identity.get_me(bearer(GetMeRequest {}, &created.api_key)).await.expect("call with the key").into_inner();
    assert_eq!(me.user.unwrap().customer_id, customer.customer_id);
    // And over gRPC-Web (HTTP/1.1), as a reseller's browser tool would.
    let web_me = server
        .web()
        .call::<_, GetMeResponse>(
            &format!("{IDENTITY}/GetMe"),
            &GetMeRequest {},
            &[("authorization", &format!("Bearer {}", created.api_key))],
        )
        .await
        .expect("call with the key over gRPC-Web");
    assert_eq!(web_me.message.user.unwrap().customer_id, customer.customer_id);
    let listed = keys
        .list_api_keys(bearer(ListApiKeysRequest { customer_id: customer.customer_id.clone() }, &customer.access_token))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.keys.len(), 1);
    let info = &listed.keys[0];
    assert!(info.enabled);
    assert!(!info.last_used_at.is_empty(), "last_used_at is kept");
    assert_eq!(info.key_prefix, created.key_prefix);

    // Revoke: the key is refused from then on.
    keys.revoke_api_key(bearer(RevokeApiKeyRequest { id: created.id.clone() }, &customer.access_token))
        .await
        .expect("revoke");
    let after = identity.get_me(bearer(GetMeRequest {}, &created.api_key)).await.expect_err("revoked key");
    assert_eq!(after.code(), Code::Unauthenticated);
    let web_after = server
        .web()
        .call::<_, GetMeResponse>(
            &format!("{IDENTITY}/GetMe"),
            &GetMeRequest {},
            &[("authorization", &format!("Bearer {}", created.api_key))],
        )
        .await
        .expect_err("revoked key over gRPC-Web");
    assert_eq!(web_after.code, Code::Unauthenticated as i32);
    assert!(web_after.in_headers);
    let listed = keys
        .list_api_keys(session(ListApiKeysRequest { customer_id: customer.customer_id.clone() }, &admin))
        .await
        .expect("admin lists")
        .into_inner();
    assert!(!listed.keys[0].enabled);
}

#[tokio::test]
async fn expired_api_keys_are_refused() {
    let server = TestServer::start().await.unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let customer = flows::register_customer(&server, "erin").await;
    let mut keys = ApiKeyServiceClient::new(server.channel().await);
    let created = keys
        .create_api_key(session(
            CreateApiKeyRequest { name: "short".into(), customer_id: customer.customer_id.clone() },
            &admin,
        ))
        .await
        .expect("admin creates a key for the customer")
        .into_inner();
    let mut identity = IdentityServiceClient::new(server.channel().await);
    identity.get_me(bearer(GetMeRequest {}, &created.api_key)).await.expect("fresh key works");
    sqlx::query("update identity.api_keys set expires_at = now() - interval '1 second' where id = $1::uuid")
        .bind(&created.id)
        .execute(&server.pool().await)
        .await
        .unwrap();
    let error = identity.get_me(bearer(GetMeRequest {}, &created.api_key)).await.expect_err("expired");
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(error.message().contains("expired"), "{}", error.message());
}

#[tokio::test]
async fn server_stops_cleanly_on_sigterm() {
    let mut server = TestServer::start().await.unwrap();
    let pool = server.pool().await;
    let status = server.stop().await.unwrap();
    assert!(status.success(), "exit status {status:?}");
    let live: i64 = sqlx::query_scalar("select count(*) from bus.instance_heartbeat").fetch_one(&pool).await.unwrap();
    assert_eq!(live, 0, "instances deregister on shutdown");
}
