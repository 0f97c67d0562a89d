//! Secrets never appear in logs or API responses: passwords, session
//! tokens, JWTs, refresh tokens, API keys, verification codes, the JWT
//! secret and the database password, even at debug level.

use rustbill_proto::customer::ListCustomersRequest;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::downstream::{CreateApiKeyRequest, ListApiKeysRequest};
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::{GetMeRequest, ListUsersRequest, LoginRequest, RefreshTokenRequest};
use rustbill_system_tests::flows::{self, latest_code};
use rustbill_system_tests::{ADMIN_PASSWORD, JWT_SECRET, Settings, TestServer, bearer, session};

#[tokio::test]
async fn no_secret_reaches_the_logs_or_a_response() {
    let server = TestServer::start_with(
        Settings::default().with("RUSTBILL_RATE_LIMIT__ENABLED", "false").with("RUST_LOG", "debug,h2=info,hyper=info"),
    )
    .await
    .unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let customer = flows::register_customer(&server, "ivan").await;
    let code = latest_code(&server, &customer.email).await;
    let channel = server.channel().await;
    let mut identity = IdentityServiceClient::new(channel.clone());
    let rotated = identity
        .refresh_token(RefreshTokenRequest { refresh_token: customer.refresh_token.clone() })
        .await
        .unwrap()
        .into_inner();
    let key = ApiKeyServiceClient::new(channel.clone())
        .create_api_key(session(
            CreateApiKeyRequest { name: "k".into(), customer_id: customer.customer_id.clone() },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .api_key;
    identity.get_me(bearer(GetMeRequest {}, &key)).await.unwrap();
    identity.get_me(bearer(GetMeRequest {}, &rotated.access_token)).await.unwrap();
    // Failed logins are logged; their passwords must not be.
    identity
        .login(LoginRequest {
            username: "ivan".into(),
            password: "typo-Secret-Guess".into(),
            user_type: "customer".into(),
        })
        .await
        .unwrap_err();

    // Responses of list and read RPCs carry no secret material.
    let users = identity.list_users(session(ListUsersRequest::default(), &admin)).await.unwrap().into_inner();
    let customers = CustomerServiceClient::new(channel.clone())
        .list_customers(session(ListCustomersRequest::default(), &admin))
        .await;
    let keys = ApiKeyServiceClient::new(channel.clone())
        .list_api_keys(session(ListApiKeysRequest { customer_id: customer.customer_id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner();
    let responses = format!("{users:?} {customers:?} {keys:?}");

    let session_token = admin.split_once('=').unwrap().1.to_string();
    let secrets = [
        ("admin password", ADMIN_PASSWORD.to_string()),
        ("customer password", customer.password.clone()),
        ("failed-login password", "typo-Secret-Guess".to_string()),
        ("session token", session_token),
        ("access token", customer.access_token.clone()),
        ("refresh token", customer.refresh_token.clone()),
        ("rotated refresh token", rotated.refresh_token.clone()),
        ("API key", key.clone()),
        ("JWT secret", JWT_SECRET.to_string()),
        ("verification code", format!("\"{code}\"")),
        ("verification code", format!("code={code}")),
        ("verification code", format!("code: {code}")),
    ];
    let log = server.log();
    assert!(log.contains("rustbill-server ready") || log.contains("listening"), "the log was captured");
    for (what, secret) in &secrets {
        assert!(!log.contains(secret.as_str()), "the {what} appears in the server log");
        assert!(!responses.contains(secret.as_str()), "the {what} appears in an API response");
    }
    assert!(!responses.contains("password_hash") && !responses.contains("$argon2"), "hashes leaked: {responses}");
}
