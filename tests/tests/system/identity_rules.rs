//! The identity service's rules, each checked through the edge against the
//! real `rustbill-server`: verification codes, admin sessions and cookies,
//! the operation log, role rules, races, and per-service database isolation.

use std::sync::Arc;
use std::time::Duration;

use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::customer::*;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::downstream::{CreateApiKeyRequest, RevokeApiKeyRequest};
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::flows::{self, latest_code};
use rustbill_system_tests::{
    ADMIN_PASSWORD, ADMIN_USERNAME, Settings, TestServer, bearer, cookie_pair, session, with_header,
};
use tokio::sync::Barrier;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(20);

fn identity(channel: &Channel) -> IdentityServiceClient<Channel> {
    IdentityServiceClient::new(channel.clone())
}

fn customers(channel: &Channel) -> CustomerServiceClient<Channel> {
    CustomerServiceClient::new(channel.clone())
}

/// Asserts that `result` failed with `code`; returns the message.
fn refused<T: std::fmt::Debug>(what: &str, result: Result<Response<T>, Status>, code: Code) -> String {
    match result {
        Err(status) if status.code() == code => status.message().to_string(),
        Err(status) => panic!("{what}: expected {code:?}, got {:?} {:?}", status.code(), status.message()),
        Ok(response) => panic!("{what}: expected {code:?}, got OK {:?}", response.into_inner()),
    }
}

/// A well-formed 6-digit code that is not `code`.
fn wrong_code(code: &str, offset: u32) -> String {
    let number: u32 = code.parse().expect("6 digits");
    format!("{:06}", (number + offset) % 1_000_000)
}

async fn send_code(
    channel: &Channel,
    email: &str,
    purpose: &str,
) -> Result<Response<SendVerificationCodeResponse>, Status> {
    identity(channel)
        .send_verification_code(SendVerificationCodeRequest { email: email.into(), purpose: purpose.into() })
        .await
}

async fn register(
    channel: &Channel,
    username: &str,
    email: &str,
    code: &str,
) -> Result<Response<RegisterResponse>, Status> {
    identity(channel)
        .register(RegisterRequest {
            username: username.into(),
            email: email.into(),
            display_name: format!("{username} display"),
            password: format!("{username}-Pass-123"),
            verification_code: code.into(),
        })
        .await
}

async fn verification_events(server: &TestServer, email: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from bus.event_queue
         where event_type = 'identity.verification_code_issued' and payload->>'email' = $1",
    )
    .bind(email)
    .fetch_one(&server.pool().await)
    .await
    .unwrap()
}

// ---------------------------------------------------------------- codes

#[tokio::test]
async fn a_code_is_burnt_after_five_wrong_guesses() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;

    // Four wrong guesses leave the code usable.
    send_code(&channel, "four@example.com", "registration").await.expect("send code");
    let code = latest_code(&server, "four@example.com").await;
    for attempt in 1..=4 {
        let result = register(&channel, "four", "four@example.com", &wrong_code(&code, attempt)).await;
        refused(&format!("wrong guess {attempt}"), result, Code::InvalidArgument);
    }
    register(&channel, "four", "four@example.com", &code).await.expect("the right code after four wrong guesses");

    // The fifth wrong guess burns it: the right code is refused too.
    send_code(&channel, "five@example.com", "registration").await.expect("send code");
    let code = latest_code(&server, "five@example.com").await;
    for attempt in 1..=5 {
        let result = register(&channel, "five", "five@example.com", &wrong_code(&code, attempt)).await;
        let message = refused(&format!("wrong guess {attempt}"), result, Code::InvalidArgument);
        assert!(message.contains("verification_code"), "{message}");
    }
    let message = refused(
        "the right code once burnt",
        register(&channel, "five", "five@example.com", &code).await,
        Code::InvalidArgument,
    );
    assert!(message.contains("verification_code"), "{message}");
    let attempts: i32 = sqlx::query_scalar("select attempts from identity.verification_codes where email = $1")
        .bind("five@example.com")
        .fetch_one(&server.pool().await)
        .await
        .unwrap();
    assert_eq!(attempts, 5);
    let users: i64 = sqlx::query_scalar("select count(*) from identity.customer_users where username = 'five'")
        .fetch_one(&server.pool().await)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    send_code(&channel, "late@example.com", "registration").await.expect("send code");
    let code = latest_code(&server, "late@example.com").await;
    let moved =
        sqlx::query("update identity.verification_codes set expires_at = now() - interval '1 second' where email = $1")
            .bind("late@example.com")
            .execute(&server.pool().await)
            .await
            .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    let message =
        refused("an expired code", register(&channel, "late", "late@example.com", &code).await, Code::InvalidArgument);
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_new_code_can_be_requested_after_the_resend_interval() {
    // Two seconds rather than one, so that the "too soon" check right after
    // the first send cannot straddle the interval on a slow machine.
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_IDENTITY__VERIFICATION_RESEND_SECS", "2"),
    )
    .await
    .unwrap();
    let channel = server.channel().await;
    let email = "again@example.com";
    let first = send_code(&channel, email, "registration").await.expect("first send").into_inner();
    assert!(first.sent);
    assert_eq!(first.retry_after_secs, 2, "the configured interval is announced");
    let old_code = latest_code(&server, email).await;

    let message =
        refused("a second send at once", send_code(&channel, email, "registration").await, Code::InvalidArgument);
    let seconds: u64 = message
        .split("retry in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no \"retry in N seconds\" in {message:?}"));
    assert!((1..=2).contains(&seconds), "{message}");
    assert!(message.contains(&format!("retry in {seconds} seconds")), "{message}");
    assert_eq!(verification_events(&server, email).await, 1, "a refused send writes no event");

    let second = wait_for("a second code to be sent", DEADLINE, || {
        let channel = channel.clone();
        async move { send_code(&channel, email, "registration").await.ok() }
    })
    .await
    .into_inner();
    assert!(second.sent);
    assert_eq!(verification_events(&server, email).await, 2);
    let new_code = latest_code(&server, email).await;

    // The new code replaces the old one.
    refused("the replaced code", register(&channel, "again", email, &old_code).await, Code::InvalidArgument);
    register(&channel, "again", email, &new_code).await.expect("the new code works");
}

#[tokio::test]
async fn password_reset_answers_alike_for_unknown_addresses_but_sends_nothing() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let known = flows::register_customer(&server, "kim").await;
    let unknown = "nobody-here@example.com";

    let for_unknown = send_code(&channel, unknown, "password_reset").await.expect("unknown address").into_inner();
    let for_known = send_code(&channel, &known.email, "password_reset").await.expect("known address").into_inner();
    assert!(for_unknown.sent);
    assert_eq!(for_unknown, for_known, "the answers do not reveal which address exists");

    assert_eq!(verification_events(&server, unknown).await, 0, "nothing is sent to an unknown address");
    let reset_events: i64 = sqlx::query_scalar(
        "select count(*) from bus.event_queue
         where event_type = 'identity.verification_code_issued'
           and payload->>'email' = $1 and payload->>'purpose' = 'password_reset'",
    )
    .bind(&known.email)
    .fetch_one(&server.pool().await)
    .await
    .unwrap();
    assert_eq!(reset_events, 1, "a known address gets its reset code");
}

// ---------------------------------------------------------------- sessions

/// The id of the newest admin session (the one the last login made).
async fn newest_session(server: &TestServer) -> Uuid {
    sqlx::query_scalar("select id from identity.sessions order by created_at desc, id desc limit 1")
        .fetch_one(&server.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_sessions_end_after_the_idle_and_absolute_timeouts() {
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_SESSION__IDLE_TIMEOUT_MINUTES", "1"),
    )
    .await
    .unwrap();
    let channel = server.channel().await;
    let pool = server.pool().await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let cookie = flows::bootstrap_admin(&server).await;
        sessions.push((cookie, newest_session(&server).await));
    }
    let [(recent, recent_id), (idle, idle_id), (old, old_id)] = <[(String, Uuid); 3]>::try_from(sessions).unwrap();
    for (minutes_ago, id) in [("30 seconds", recent_id), ("2 minutes", idle_id)] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "update identity.sessions set last_seen_at = now() - interval '{minutes_ago}' where id = $1"
        )))
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("update identity.sessions set expires_at = now() - interval '1 second' where id = $1")
        .bind(old_id)
        .execute(&pool)
        .await
        .unwrap();

    identity(&channel).get_me(session(GetMeRequest {}, &recent)).await.expect("used 30 s ago: still valid");
    let message = refused(
        "idle 2 minutes",
        identity(&channel).get_me(session(GetMeRequest {}, &idle)).await,
        Code::Unauthenticated,
    );
    assert!(message.contains("expired"), "{message}");
    let message = refused(
        "past expires_at",
        identity(&channel).get_me(session(GetMeRequest {}, &old)).await,
        Code::Unauthenticated,
    );
    assert!(message.contains("expired"), "{message}");
    // An expired session does not come back by being used.
    refused("idle, again", identity(&channel).get_me(session(GetMeRequest {}, &idle)).await, Code::Unauthenticated);
}

#[tokio::test]
async fn the_session_cookie_follows_the_config() {
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_SESSION__COOKIE_NAME", "my_sid")
            .with("RUSTBILL_SESSION__COOKIE_SECURE", "true")
            .with("RUSTBILL_SESSION__COOKIE_SAME_SITE", "Strict")
            .with("RUSTBILL_SESSION__ABSOLUTE_TIMEOUT_HOURS", "2"),
    )
    .await
    .unwrap();
    let channel = server.channel().await;
    let login = identity(&channel)
        .login(LoginRequest {
            username: ADMIN_USERNAME.into(),
            password: ADMIN_PASSWORD.into(),
            user_type: "admin".into(),
        })
        .await
        .expect("admin login");
    let set_cookie = login.metadata().get("set-cookie").expect("set-cookie").to_str().unwrap().to_string();
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("my_sid=") && attributes[0].len() > "my_sid=".len(), "{set_cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=7200"] {
        assert!(attributes.contains(&attribute), "{attribute} missing in {set_cookie}");
    }
    let lifetime: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - created_at)::float8 from identity.sessions
         order by created_at desc limit 1",
    )
    .fetch_one(&server.pool().await)
    .await
    .unwrap();
    assert!((7190.0..=7210.0).contains(&lifetime), "session lifetime {lifetime} s");

    let cookie = cookie_pair(&set_cookie);
    identity(&channel).get_me(session(GetMeRequest {}, &cookie)).await.expect("the my_sid cookie works");
    let token = cookie.trim_start_matches("my_sid=");
    let renamed = format!("rustbill_session={token}");
    refused(
        "the default cookie name",
        identity(&channel).get_me(session(GetMeRequest {}, &renamed)).await,
        Code::Unauthenticated,
    );

    let logout = identity(&channel).logout(session(LogoutRequest {}, &cookie)).await.expect("logout");
    let cleared = logout.metadata().get("set-cookie").expect("logout clears the cookie").to_str().unwrap();
    let attributes: Vec<&str> = cleared.split(';').map(str::trim).collect();
    assert_eq!(attributes[0], "my_sid=", "{cleared}");
    for attribute in ["Secure", "SameSite=Strict", "Max-Age=0"] {
        assert!(attributes.contains(&attribute), "{attribute} missing in {cleared}");
    }
}

// ---------------------------------------------------------------- operation log

/// One row of `identity.operation_logs`.
#[derive(Debug, sqlx::FromRow)]
struct LogRow {
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_label: String,
    target_type: String,
    target_id: String,
    client_ip: String,
    request_id: String,
}

/// An admin call with its own request id.
fn traced<T>(message: T, cookie: &str, request_id: &str) -> tonic::Request<T> {
    with_header(session(message, cookie), "x-request-id", request_id)
}

#[tokio::test]
async fn every_admin_mutation_is_logged_once_without_secrets() {
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_BOOTSTRAP__ADMIN_USERNAME", "ada"),
    )
    .await
    .unwrap();
    let channel = server.channel().await;
    let admin = flows::admin_cookie(channel.clone(), "ada", ADMIN_PASSWORD).await;
    let admin_id =
        identity(&channel).get_me(session(GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap().id;
    let customer = flows::register_customer(&server, "otto").await;
    let new_password = "Reset-Secret-77";

    customers(&channel)
        .update_customer(traced(
            UpdateCustomerRequest {
                id: customer.customer_id.clone(),
                notes: Some("audited".into()),
                ..Default::default()
            },
            &admin,
            "oplog-update-customer",
        ))
        .await
        .expect("UpdateCustomer");
    let mut keys = ApiKeyServiceClient::new(channel.clone());
    let key = keys
        .create_api_key(traced(
            CreateApiKeyRequest { name: "audit".into(), customer_id: customer.customer_id.clone() },
            &admin,
            "oplog-create-key",
        ))
        .await
        .expect("CreateApiKey")
        .into_inner();
    keys.revoke_api_key(traced(RevokeApiKeyRequest { id: key.id.clone() }, &admin, "oplog-revoke-key"))
        .await
        .expect("RevokeApiKey");
    identity(&channel)
        .update_user(traced(
            UpdateUserRequest {
                id: customer.user_id.clone(),
                display_name: Some("Otto Audited".into()),
                ..Default::default()
            },
            &admin,
            "oplog-update-user",
        ))
        .await
        .expect("UpdateUser");
    identity(&channel)
        .admin_reset_password(traced(
            AdminResetPasswordRequest { user_id: customer.user_id.clone(), new_password: new_password.into() },
            &admin,
            "oplog-reset-password",
        ))
        .await
        .expect("AdminResetPassword");
    identity(&channel)
        .delete_user(traced(DeleteUserRequest { id: customer.user_id.clone() }, &admin, "oplog-delete-user"))
        .await
        .expect("DeleteUser");

    let pool = server.pool().await;
    for (action, target_type, target_id, request_id) in [
        ("update_customer", "customer", &customer.customer_id, "oplog-update-customer"),
        ("create_api_key", "api_key", &key.id, "oplog-create-key"),
        ("revoke_api_key", "api_key", &key.id, "oplog-revoke-key"),
        ("update_user", "customer_user", &customer.user_id, "oplog-update-user"),
        ("reset_password", "customer_user", &customer.user_id, "oplog-reset-password"),
        ("delete_user", "customer_user", &customer.user_id, "oplog-delete-user"),
    ] {
        let rows: Vec<LogRow> = sqlx::query_as(
            "select actor_kind, actor_id, actor_label, target_type, target_id, client_ip, request_id
             from identity.operation_logs where action = $1",
        )
        .bind(action)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 1, "{action}: one row, got {rows:?}");
        let row = &rows[0];
        assert_eq!(row.actor_kind, "admin", "{action}");
        assert_eq!(row.actor_id.map(|id| id.to_string()).as_deref(), Some(admin_id.as_str()), "{action}");
        assert!(row.actor_label.contains("ada"), "{action}: actor_label {:?}", row.actor_label);
        assert_eq!(row.target_type, target_type, "{action}");
        assert_eq!(&row.target_id, target_id, "{action}");
        assert!(
            row.client_ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
            "{action}: client_ip {:?}",
            row.client_ip
        );
        assert_eq!(row.request_id, request_id, "{action}");
    }

    // No row of the log holds a password, a hash or a key.
    let rows: Vec<String> =
        sqlx::query_scalar("select log::text from identity.operation_logs log").fetch_all(&pool).await.unwrap();
    assert!(rows.len() >= 6);
    for row in &rows {
        for secret in [new_password, customer.password.as_str(), ADMIN_PASSWORD, key.api_key.as_str(), "$argon2"] {
            assert!(!row.contains(secret), "the operation log holds a secret: {row}");
        }
    }
}

// ---------------------------------------------------------------- roles

/// Adds an admin user with the bootstrap admin's password.
async fn add_admin_user(server: &TestServer, username: &str, role: &str, active: bool) -> String {
    let pool = server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = $1")
        .bind(ADMIN_USERNAME)
        .fetch_one(&pool)
        .await
        .unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role, is_active)
         values ($1, $2, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(username)
    .bind(hash)
    .bind(role)
    .bind(active)
    .execute(&pool)
    .await
    .unwrap();
    id.to_string()
}

async fn admin_row(server: &TestServer, id: &str) -> (String, String, bool) {
    sqlx::query_as("select display_name, role, is_active from identity.admin_users where id = $1::uuid")
        .bind(id)
        .fetch_one(&server.pool().await)
        .await
        .unwrap()
}

fn update(id: &str) -> UpdateUserRequest {
    UpdateUserRequest { id: id.into(), ..Default::default() }
}

#[tokio::test]
async fn operators_cannot_change_roles_or_touch_admins() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let admin_id =
        identity(&channel).get_me(session(GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap().id;
    let operator_id = add_admin_user(&server, "olivia", "operator", true).await;
    let operator = flows::admin_cookie(channel.clone(), "olivia", ADMIN_PASSWORD).await;
    let customer = flows::register_customer(&server, "carl").await;
    let before = admin_row(&server, &admin_id).await;

    let as_operator = |message| session(message, &operator);
    let attempts = [
        ("promote itself", UpdateUserRequest { role: Some("admin".into()), ..update(&operator_id) }),
        ("demote the admin", UpdateUserRequest { role: Some("operator".into()), ..update(&admin_id) }),
        ("disable the admin", UpdateUserRequest { is_active: Some(false), ..update(&admin_id) }),
        ("rename the admin", UpdateUserRequest { display_name: Some("Pwned".into()), ..update(&admin_id) }),
    ];
    for (what, request) in attempts {
        refused(what, identity(&channel).update_user(as_operator(request)).await, Code::PermissionDenied);
    }
    assert_eq!(admin_row(&server, &admin_id).await, before, "the admin is untouched");
    assert_eq!(admin_row(&server, &operator_id).await.1, "operator");
    identity(&channel).get_me(session(GetMeRequest {}, &admin)).await.expect("the admin's session still works");

    // Operators do manage customer users.
    let renamed = identity(&channel)
        .update_user(as_operator(UpdateUserRequest {
            display_name: Some("Carl C.".into()),
            ..update(&customer.user_id)
        }))
        .await
        .expect("an operator updates a customer user")
        .into_inner()
        .user
        .unwrap();
    assert_eq!(renamed.display_name, "Carl C.");
}

#[tokio::test]
async fn the_last_active_admin_stays_and_admins_cannot_remove_themselves() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let admin_id =
        identity(&channel).get_me(session(GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap().id;

    let demote = || UpdateUserRequest { role: Some("operator".into()), ..update(&admin_id) };
    let disable = || UpdateUserRequest { is_active: Some(false), ..update(&admin_id) };
    let message = refused(
        "demote the last admin",
        identity(&channel).update_user(session(demote(), &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("last active admin"), "{message}");
    let message = refused(
        "disable itself",
        identity(&channel).update_user(session(disable(), &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("own account"), "{message}");
    let message = refused(
        "delete itself",
        identity(&channel).delete_user(session(DeleteUserRequest { id: admin_id.clone() }, &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("own account"), "{message}");

    // A disabled admin does not count.
    let bruno_id = add_admin_user(&server, "bruno", "admin", false).await;
    let message = refused(
        "demote with only a disabled other admin",
        identity(&channel).update_user(session(demote(), &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("last active admin"), "{message}");
    assert_eq!(admin_row(&server, &admin_id).await.1, "admin");

    // With a second active admin, still no self-removal, but a demotion is fine.
    identity(&channel)
        .update_user(session(UpdateUserRequest { is_active: Some(true), ..update(&bruno_id) }, &admin))
        .await
        .expect("enable bruno");
    let message = refused(
        "disable itself",
        identity(&channel).update_user(session(disable(), &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("own account"), "{message}");
    let message = refused(
        "delete itself",
        identity(&channel).delete_user(session(DeleteUserRequest { id: admin_id.clone() }, &admin)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("own account"), "{message}");
    identity(&channel)
        .update_user(session(demote(), &admin))
        .await
        .expect("demote itself while bruno is an active admin");
    let me = identity(&channel).get_me(session(GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap();
    assert_eq!(me.role, "operator");

    // Now bruno is the last active admin.
    let bruno = flows::admin_cookie(channel.clone(), "bruno", ADMIN_PASSWORD).await;
    let message = refused(
        "bruno demotes the last admin",
        identity(&channel)
            .update_user(session(UpdateUserRequest { role: Some("operator".into()), ..update(&bruno_id) }, &bruno))
            .await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("last active admin"), "{message}");
    let active_admins: i64 =
        sqlx::query_scalar("select count(*) from identity.admin_users where role = 'admin' and is_active")
            .fetch_one(&server.pool().await)
            .await
            .unwrap();
    assert_eq!(active_admins, 1);
}

#[tokio::test]
async fn customers_holding_money_cannot_be_deleted() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let id = customers(&channel)
        .create_customer(session(CreateCustomerRequest { name: "Owes Money Ltd".into(), ..Default::default() }, &admin))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .id;
    let pool = server.pool().await;
    sqlx::query("insert into payments.balance_accounts (customer_id, balance) values ($1::uuid, 10.00)")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();

    for balance in ["10.00", "-5.00"] {
        sqlx::query("update payments.balance_accounts set balance = $2::numeric where customer_id = $1::uuid")
            .bind(&id)
            .bind(balance)
            .execute(&pool)
            .await
            .unwrap();
        let message = refused(
            &format!("delete with balance {balance}"),
            customers(&channel).delete_customer(session(DeleteCustomerRequest { id: id.clone() }, &admin)).await,
            Code::FailedPrecondition,
        );
        assert!(message.contains(balance), "{message}");
        let still = customers(&channel)
            .get_customer(session(GetCustomerRequest { id: id.clone() }, &admin))
            .await
            .expect("the customer still exists")
            .into_inner()
            .customer
            .unwrap();
        assert_eq!(still.balance, balance);
    }

    // Settled: now it can go.
    sqlx::query("update payments.balance_accounts set balance = 0 where customer_id = $1::uuid")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    customers(&channel)
        .delete_customer(session(DeleteCustomerRequest { id: id.clone() }, &admin))
        .await
        .expect("delete");
    refused(
        "get a deleted customer",
        customers(&channel).get_customer(session(GetCustomerRequest { id: id.clone() }, &admin)).await,
        Code::NotFound,
    );
}

// ---------------------------------------------------------------- races

/// Runs `count` copies of `call` at once (released together by a barrier)
/// and returns their results.
async fn race<T, F, Fut>(count: usize, call: F) -> Vec<Result<T, Status>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let mut tasks = Vec::new();
    for index in 0..count {
        let barrier = barrier.clone();
        let future = call(index);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            future.await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

fn split<T>(results: Vec<Result<T, Status>>) -> (Vec<T>, Vec<Status>) {
    let mut won = Vec::new();
    let mut lost = Vec::new();
    for result in results {
        match result {
            Ok(value) => won.push(value),
            Err(status) => lost.push(status),
        }
    }
    (won, lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_with_one_token_let_one_win_then_revoke_the_family() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let customer = flows::register_customer(&server, "rita").await;
    let results = race(10, |_| {
        let mut client = identity(&channel);
        let token = customer.refresh_token.clone();
        async move {
            client.refresh_token(RefreshTokenRequest { refresh_token: token }).await.map(Response::into_inner)
        }
    })
    .await;
    let (won, lost) = split(results);
    assert_eq!(won.len(), 1, "exactly one refresh wins; lost: {lost:?}");
    assert!(lost.iter().all(|status| status.code() == Code::InvalidArgument), "{lost:?}");

    // The reuse was detected: the winner's new tokens are dead too.
    let winner = &won[0];
    refused(
        "the winner's refresh token",
        identity(&channel).refresh_token(RefreshTokenRequest { refresh_token: winner.refresh_token.clone() }).await,
        Code::InvalidArgument,
    );
    let message = refused(
        "the winner's access token",
        identity(&channel).get_me(bearer(GetMeRequest {}, &winner.access_token)).await,
        Code::Unauthenticated,
    );
    assert!(message.contains("revoked"), "{message}");
    let live: i64 = sqlx::query_scalar(
        "select count(*) from identity.refresh_tokens t join identity.customer_users u on u.id = t.customer_user_id
         where u.username = 'rita' and t.revoked_at is null",
    )
    .fetch_one(&server.pool().await)
    .await
    .unwrap();
    assert_eq!(live, 0, "the whole family is revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_username_let_exactly_one_in() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let mut codes = Vec::new();
    for index in 0..5 {
        let email = format!("racer{index}@example.com");
        send_code(&channel, &email, "registration").await.expect("send code");
        codes.push((email.clone(), latest_code(&server, &email).await));
    }
    let results = race(5, |index| {
        let channel = channel.clone();
        let (email, code) = codes[index].clone();
        async move { register(&channel, "racer", &email, &code).await.map(Response::into_inner) }
    })
    .await;
    let (won, lost) = split(results);
    assert_eq!(won.len(), 1, "exactly one registration wins; lost: {lost:?}");
    for status in &lost {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("already taken"), "{status:?}");
    }
    let pool = server.pool().await;
    let users: i64 = sqlx::query_scalar("select count(*) from identity.customer_users where lower(username) = 'racer'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let emails: Vec<String> = codes.iter().map(|(email, _)| email.clone()).collect();
    let customers: i64 = sqlx::query_scalar("select count(*) from identity.customers where email = any($1)")
        .bind(&emails)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(customers, 1, "the losers left no customer behind");
    assert_eq!(won[0].user.as_ref().unwrap().username, "racer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_customer_name_let_exactly_one_in() {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let results = race(5, |_| {
        let mut client = customers(&channel);
        let request = session(CreateCustomerRequest { name: "Same Name Ltd".into(), ..Default::default() }, &admin);
        async move { client.create_customer(request).await.map(Response::into_inner) }
    })
    .await;
    let (won, lost) = split(results);
    assert_eq!(won.len(), 1, "exactly one create wins; lost: {lost:?}");
    assert!(lost.iter().all(|status| status.code() == Code::AlreadyExists), "{lost:?}");
    let count: i64 = sqlx::query_scalar("select count(*) from identity.customers where lower(name) = 'same name ltd'")
        .fetch_one(&server.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

// ---------------------------------------------------------------- isolation

/// Versions of the migration files in `dir` (relative to the workspace).
fn migration_versions(dir: &str) -> Vec<i64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut versions: Vec<i64> = std::fs::read_dir(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sql")?.split('_').next()?.parse().ok()
        })
        .collect();
    versions.sort();
    assert!(!versions.is_empty(), "no migrations in {}", path.display());
    versions
}

#[tokio::test]
async fn each_service_has_its_own_migrations_and_database_role() {
    let server = TestServer::start().await.unwrap();
    let pool = server.pool().await;
    for schema in ["identity", "payments"] {
        let versions: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select version from {schema}._sqlx_migrations where success order by version"
        )))
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|error| panic!("{schema}._sqlx_migrations: {error}"));
        assert_eq!(versions, migration_versions(&format!("services/{schema}/migrations")), "{schema}");
    }
    let shared: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null").fetch_one(&pool).await.unwrap();
    assert!(!shared, "no migrations table is shared between services");

    let mut connection = pool.acquire().await.unwrap();
    for (role, own, other) in [
        ("rustbill_identity", "select count(*) from identity.customers", "select * from payments.balance_accounts"),
        ("rustbill_payments", "select count(*) from payments.balance_accounts", "select * from identity.customers"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("set role {role}"))).execute(&mut *connection).await.unwrap();
        let denied = sqlx::query(other).fetch_all(&mut *connection).await;
        let own_result = sqlx::query_scalar::<_, i64>(own).fetch_one(&mut *connection).await;
        let bus =
            sqlx::query_scalar::<_, i64>("select count(*) from bus.event_queue").fetch_one(&mut *connection).await;
        sqlx::query("reset role").execute(&mut *connection).await.unwrap();
        match denied {
            Err(sqlx::Error::Database(error)) => {
                assert_eq!(error.code().as_deref(), Some("42501"), "{role}: {other}: {error}")
            }
            other_result => panic!("{role} must not read another service's schema: {other_result:?}"),
        }
        own_result.unwrap_or_else(|error| panic!("{role} reads its own schema: {error}"));
        bus.unwrap_or_else(|error| panic!("{role} reads the bus: {error}"));
    }
    let user: String = sqlx::query_scalar("select current_user::text").fetch_one(&mut *connection).await.unwrap();
    assert!(!user.starts_with("rustbill_"), "the role was reset: {user}");
}

/// Admins add staff: the new operator logs in with operator rights; a
/// taken name, a bad role or a short password is refused and adds no one.
#[tokio::test]
async fn admins_create_operators_who_can_log_in() {
    let server = TestServer::start().await.expect("server");
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let created = identity(&channel)
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "olga".into(),
                email: "olga@staff.example.com".into(),
                display_name: "Olga".into(),
                password: "olga-Pass-123".into(),
                role: "operator".into(),
            },
            &admin,
        ))
        .await
        .expect("create operator")
        .into_inner()
        .user
        .expect("user");
    assert_eq!((created.role.as_str(), created.user_type.as_str(), created.is_active), ("operator", "admin", true));
    let olga = flows::admin_cookie(channel.clone(), "olga", "olga-Pass-123").await;
    let me = identity(&channel).get_me(session(GetMeRequest {}, &olga)).await.expect("me").into_inner();
    assert_eq!(me.user.expect("user").role, "operator");
    // Operators may not add staff themselves.
    let denied = identity(&channel)
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "mallory".into(),
                password: "mallory-Pass-123".into(),
                role: "admin".into(),
                ..Default::default()
            },
            &olga,
        ))
        .await
        .expect_err("operator");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let pool = server.pool().await;
    let before: i64 = sqlx::query_scalar("select count(*) from identity.admin_users").fetch_one(&pool).await.unwrap();
    for (request, field) in [
        (
            CreateAdminUserRequest {
                username: "OLGA".into(),
                password: "x-Pass-12345".into(),
                role: "admin".into(),
                ..Default::default()
            },
            "username",
        ),
        (
            CreateAdminUserRequest {
                username: "pete".into(),
                password: "x-Pass-12345".into(),
                role: "root".into(),
                ..Default::default()
            },
            "role",
        ),
        (
            CreateAdminUserRequest {
                username: "pete".into(),
                password: "short".into(),
                role: "operator".into(),
                ..Default::default()
            },
            "password",
        ),
    ] {
        let error = identity(&channel).create_admin_user(session(request, &admin)).await.expect_err(field);
        assert_eq!(error.code(), Code::InvalidArgument, "{field}: {error:?}");
        let details = tonic_types::StatusExt::get_error_details(&error);
        assert_eq!(details.bad_request().expect("bad request").field_violations[0].field, field);
    }
    let after: i64 = sqlx::query_scalar("select count(*) from identity.admin_users").fetch_one(&pool).await.unwrap();
    assert_eq!(before, after, "refused requests add no one");
}
