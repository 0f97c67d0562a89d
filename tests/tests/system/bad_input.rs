//! Bad input gets a clear error with the right code, through the edge, and
//! changes nothing: malformed ids, empty and huge fields, wrong passwords,
//! disabled users, expired and forged tokens, a forged internal principal.

use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::customer::*;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::downstream::*;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use rustbill_shared::Config;
use rustbill_shared::principal::{AdminRole, Caller, InternalSigner, Principal};
use rustbill_system_tests::flows;
use rustbill_system_tests::{JWT_SECRET, TestServer, bearer, session, with_header};
use secrecy::SecretString;
use serde_json::json;
use tonic::{Code, Request, Status};

/// Row counts of every table a bad call could have written to.
async fn footprint(server: &TestServer) -> Vec<(String, i64)> {
    let pool = server.pool().await;
    let mut counts = Vec::new();
    for table in [
        "identity.admin_users",
        "identity.customers",
        "identity.customer_users",
        "identity.sessions",
        "identity.refresh_tokens",
        "identity.api_keys",
        "identity.operation_logs",
        "bus.event_queue",
    ] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        counts.push((table.to_string(), count));
    }
    pool.close().await;
    counts
}

fn expect_code(what: &str, result: Result<impl std::fmt::Debug, Status>, code: Code, message_part: &str) {
    match result {
        Ok(value) => panic!("{what}: expected {code:?}, got OK {value:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {:?}", status.message());
            assert!(
                status.message().contains(message_part),
                "{what}: message {:?} should mention {message_part:?}",
                status.message()
            );
            assert!(!status.message().contains("panicked"), "{what}: {}", status.message());
        }
    }
}

fn jwt(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn malformed_empty_and_huge_input_is_refused_and_writes_nothing() {
    let server = TestServer::start().await.unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let customer = flows::register_customer(&server, "frank").await;
    let channel = server.channel().await;
    let mut identity = IdentityServiceClient::new(channel.clone());
    let mut customers = CustomerServiceClient::new(channel.clone());
    let mut keys = ApiKeyServiceClient::new(channel.clone());
    let before = footprint(&server).await;
    let huge = "x".repeat(1024 * 1024);

    // Malformed UUIDs.
    for bad in ["not-a-uuid", "0192a123-4567-7890-abcd-ef012345678", "'; drop table customers; --", "   "] {
        expect_code(
            "GetUser(bad id)",
            identity.get_user(session(GetUserRequest { id: bad.into(), user_type: None }, &admin)).await,
            Code::InvalidArgument,
            "id",
        );
        expect_code(
            "GetCustomer(bad id)",
            customers.get_customer(session(GetCustomerRequest { id: bad.into() }, &admin)).await,
            Code::InvalidArgument,
            "id",
        );
        expect_code(
            "RevokeApiKey(bad id)",
            keys.revoke_api_key(session(RevokeApiKeyRequest { id: bad.into() }, &admin)).await,
            Code::InvalidArgument,
            "id",
        );
        expect_code(
            "DeleteUser(bad id)",
            identity.delete_user(session(DeleteUserRequest { id: bad.into() }, &admin)).await,
            Code::InvalidArgument,
            "id",
        );
    }
    // Field errors carry a machine-readable bad-request detail naming the
    // field, through the edge.
    let status = customers
        .create_customer(session(
            CreateCustomerRequest { name: "Detail Co".into(), credit_limit: "12.345".into(), ..Default::default() },
            &admin,
        ))
        .await
        .unwrap_err();
    let details = tonic_types::StatusExt::get_error_details(&status);
    let violations = &details.bad_request().expect("a bad-request detail").field_violations;
    assert_eq!(violations[0].field, "credit_limit");
    assert_eq!(details.error_info().expect("an error-info detail").reason, "INVALID_ARGUMENT");

    // A well-formed id that names nothing.
    expect_code(
        "GetCustomer(unknown)",
        customers.get_customer(session(GetCustomerRequest { id: uuid::Uuid::now_v7().to_string() }, &admin)).await,
        Code::NotFound,
        "not found",
    );

    // Empty required fields.
    expect_code(
        "Login(empty username)",
        identity
            .login(LoginRequest { username: String::new(), password: "x".into(), user_type: "customer".into() })
            .await,
        Code::InvalidArgument,
        "username",
    );
    expect_code(
        "Login(no user_type)",
        identity.login(LoginRequest { username: "frank".into(), password: "x".into(), user_type: String::new() }).await,
        Code::InvalidArgument,
        "user_type",
    );
    expect_code(
        "Register(empty)",
        identity.register(RegisterRequest::default()).await,
        Code::InvalidArgument,
        "username",
    );
    expect_code(
        "CreateCustomer(empty name)",
        customers.create_customer(session(CreateCustomerRequest::default(), &admin)).await,
        Code::InvalidArgument,
        "name",
    );
    expect_code(
        "CreateApiKey(empty name)",
        keys.create_api_key(session(
            CreateApiKeyRequest { name: "  ".into(), customer_id: customer.customer_id.clone() },
            &admin,
        ))
        .await,
        Code::InvalidArgument,
        "name",
    );
    expect_code(
        "SendVerificationCode(bad email)",
        identity
            .send_verification_code(SendVerificationCodeRequest {
                email: "no-at-sign".into(),
                purpose: "registration".into(),
            })
            .await,
        Code::InvalidArgument,
        "email",
    );
    expect_code(
        "SendVerificationCode(bad purpose)",
        identity
            .send_verification_code(SendVerificationCodeRequest {
                email: "ok@example.com".into(),
                purpose: "spam".into(),
            })
            .await,
        Code::InvalidArgument,
        "purpose",
    );

    // 1 MB strings.
    expect_code(
        "Register(1 MB username)",
        identity
            .register(RegisterRequest {
                username: huge.clone(),
                email: "big@example.com".into(),
                display_name: "Big".into(),
                password: "long-enough-1".into(),
                verification_code: "123456".into(),
            })
            .await,
        Code::InvalidArgument,
        "username",
    );
    expect_code(
        "Login(1 MB password)",
        identity
            .login(LoginRequest { username: "frank".into(), password: huge.clone(), user_type: "customer".into() })
            .await,
        Code::InvalidArgument,
        "password",
    );
    expect_code(
        "CreateCustomer(1 MB notes)",
        customers
            .create_customer(session(
                CreateCustomerRequest { name: "Huge Notes Ltd".into(), notes: huge.clone(), ..Default::default() },
                &admin,
            ))
            .await,
        Code::InvalidArgument,
        "notes",
    );
    expect_code(
        "UpdateUser(1 MB display name)",
        identity
            .update_user(session(
                UpdateUserRequest {
                    id: customer.user_id.clone(),
                    display_name: Some(huge.clone()),
                    ..Default::default()
                },
                &admin,
            ))
            .await,
        Code::InvalidArgument,
        "display_name",
    );
    // Money.
    for (bad, part) in [("-1.00", "negative"), ("1.234", "2 decimals"), ("abc", "decimal"), ("1e5", "decimal")] {
        expect_code(
            "CreateCustomer(bad credit limit)",
            customers
                .create_customer(session(
                    CreateCustomerRequest { name: "Money Co".into(), credit_limit: bad.into(), ..Default::default() },
                    &admin,
                ))
                .await,
            Code::InvalidArgument,
            part,
        );
    }

    // Wrong password and unknown user give the same answer.
    let wrong = identity
        .login(LoginRequest {
            username: "frank".into(),
            password: "wrong-password".into(),
            user_type: "customer".into(),
        })
        .await
        .unwrap_err();
    let unknown = identity
        .login(LoginRequest {
            username: "nobody-here".into(),
            password: "wrong-password".into(),
            user_type: "customer".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(
        (wrong.code(), wrong.message()),
        (unknown.code(), unknown.message()),
        "login must not reveal which users exist"
    );
    let wrong_admin = identity
        .login(LoginRequest { username: "admin".into(), password: "wrong-password".into(), user_type: "admin".into() })
        .await
        .unwrap_err();
    assert_eq!(wrong_admin.message(), wrong.message());

    assert_eq!(footprint(&server).await, before, "bad input wrote something");
    assert!(!server.log().contains("panicked"), "the server panicked:\n{}", server.log());
    // Still serving.
    identity.get_me(bearer(GetMeRequest {}, &customer.access_token)).await.expect("still serving");
}

#[tokio::test]
async fn disabled_users_are_refused() {
    let server = TestServer::start().await.unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let customer = flows::register_customer(&server, "gina").await;
    let mut identity = IdentityServiceClient::new(server.channel().await);
    identity
        .update_user(session(
            UpdateUserRequest { id: customer.user_id.clone(), is_active: Some(false), ..Default::default() },
            &admin,
        ))
        .await
        .expect("disable");
    expect_code(
        "Login(disabled)",
        identity
            .login(LoginRequest {
                username: "gina".into(),
                password: customer.password.clone(),
                user_type: "customer".into(),
            })
            .await,
        Code::PermissionDenied,
        "disabled",
    );
    expect_code(
        "GetMe(token of a disabled user)",
        identity.get_me(bearer(GetMeRequest {}, &customer.access_token)).await,
        Code::Unauthenticated,
        "",
    );
    expect_code(
        "RefreshToken(disabled)",
        identity.refresh_token(RefreshTokenRequest { refresh_token: customer.refresh_token.clone() }).await,
        Code::InvalidArgument,
        "",
    );
    // A wrong password for a disabled account still says only "invalid".
    expect_code(
        "Login(disabled, wrong password)",
        identity
            .login(LoginRequest {
                username: "gina".into(),
                password: "wrong-password".into(),
                user_type: "customer".into(),
            })
            .await,
        Code::InvalidArgument,
        "invalid username or password",
    );
}

#[tokio::test]
async fn expired_forged_and_stale_credentials() {
    let server = TestServer::start().await.unwrap();
    let customer = flows::register_customer(&server, "hank").await;
    let mut identity = IdentityServiceClient::new(server.channel().await);
    let now = chrono_now();
    let claims = |exp: i64| {
        json!({
            "sub": customer.user_id, "cid": customer.customer_id, "fam": uuid::Uuid::now_v7(),
            "usr": "hank", "typ": "access", "iat": now - 7200, "exp": exp,
        })
    };

    let expired = jwt(JWT_SECRET, claims(now - 60));
    expect_code(
        "GetMe(expired JWT)",
        identity.get_me(bearer(GetMeRequest {}, &expired)).await,
        Code::Unauthenticated,
        "expired",
    );
    let forged = jwt("some-other-secret-that-is-long-enough", claims(now + 3600));
    expect_code(
        "GetMe(forged JWT)",
        identity.get_me(bearer(GetMeRequest {}, &forged)).await,
        Code::Unauthenticated,
        "invalid",
    );
    expect_code(
        "GetMe(garbage bearer)",
        identity.get_me(bearer(GetMeRequest {}, "garbage.garbage.garbage")).await,
        Code::Unauthenticated,
        "invalid",
    );
    expect_code(
        "GetMe(unknown API key)",
        identity.get_me(bearer(GetMeRequest {}, "rk_live_0000000000000000000000000000000000000000000")).await,
        Code::Unauthenticated,
        "invalid",
    );
    expect_code(
        "GetMe(unknown session cookie)",
        identity.get_me(session(GetMeRequest {}, "rustbill_session=not-a-session")).await,
        Code::Unauthenticated,
        "invalid",
    );

    // A stale or broken token does not get in the way of public RPCs.
    for stale in [&expired, &forged, &"garbage".to_string()] {
        identity
            .login(bearer(
                LoginRequest {
                    username: "hank".into(),
                    password: customer.password.clone(),
                    user_type: "customer".into(),
                },
                stale,
            ))
            .await
            .expect("Login with a stale token works");
    }
}

#[tokio::test]
async fn a_forged_internal_principal_from_a_client_never_reaches_a_service() {
    let server = TestServer::start().await.unwrap();
    let before = footprint(&server).await;
    // The attacker even knows the internal secret (worst case): the edge
    // must still drop the header and decide the principal itself.
    let mut config = Config::default();
    config.jwt.secret = Some(SecretString::from(JWT_SECRET));
    let signer = InternalSigner::new(&config.internal_secret(), 60);
    let forged = signer.sign(&Caller {
        principal: Principal::Admin {
            user_id: uuid::Uuid::now_v7(),
            username: "mallory".into(),
            role: AdminRole::Admin,
            session_id: uuid::Uuid::now_v7(),
        },
        request_id: "forged".into(),
        client_ip: "10.0.0.1".into(),
        traceparent: String::new(),
    });
    let mut identity = IdentityServiceClient::new(server.channel().await);
    let request = with_header(Request::new(ListUsersRequest::default()), "x-rustbill-principal", &forged);
    expect_code(
        "ListUsers(forged principal)",
        identity.list_users(request).await,
        Code::Unauthenticated,
        "login required",
    );
    let mut customers = CustomerServiceClient::new(server.channel().await);
    let request = with_header(
        Request::new(CreateCustomerRequest { name: "Mallory Inc".into(), ..Default::default() }),
        "x-rustbill-principal",
        &forged,
    );
    expect_code(
        "CreateCustomer(forged principal)",
        customers.create_customer(request).await,
        Code::Unauthenticated,
        "",
    );
    // Over gRPC-Web too.
    let error = server
        .web()
        .call::<_, ListUsersResponse>(
            "rustbill.identity.IdentityService/ListUsers",
            &ListUsersRequest::default(),
            &[("x-rustbill-principal", &forged)],
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, Code::Unauthenticated as i32);
    assert_eq!(footprint(&server).await, before);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
