//! Admin two-factor authentication through the edge: enrolment, the
//! two-step login, clock skew, codes used once (also under concurrency),
//! recovery codes, a brute-force limit, turning it off, an admin's reset
//! and the server-wide requirement.

use std::time::Duration;

use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use rustbill_system_tests::{
    ADMIN_PASSWORD, ADMIN_USERNAME, Settings, TestServer, bearer, cookie_pair, flows, session,
};
use tonic::Code;
use tonic::transport::Channel;
use totp_rs::{Algorithm, Secret, TOTP};

/// The code an authenticator app whose clock is `offset_secs` off shows.
fn code_at(secret: &str, offset_secs: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().expect("base32 secret");
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "test".into()).expect("totp");
    let now = chrono::Utc::now().timestamp() + offset_secs;
    totp.generate(u64::try_from(now).expect("positive time"))
}

/// Waits until the current 30 s step has at least 5 s left and began 2 s
/// ago or more, so that "one step early/late" means the same to the test
/// and to the server for the few calls that follow.
async fn mid_step() {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let into_step = chrono::Utc::now().timestamp().rem_euclid(30);
        if (2..=24).contains(&into_step) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the clock does not move");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn client(channel: &Channel) -> IdentityServiceClient<Channel> {
    IdentityServiceClient::new(channel.clone())
}

/// The password step of an admin login.
async fn password_step(channel: &Channel, username: &str, password: &str) -> tonic::Response<LoginResponse> {
    client(channel)
        .login(LoginRequest { username: username.into(), password: password.into(), user_type: "admin".into() })
        .await
        .expect("password step")
}

async fn challenge(channel: &Channel, username: &str, password: &str) -> String {
    let response = password_step(channel, username, password).await;
    assert!(response.metadata().get("set-cookie").is_none(), "no session before the second factor");
    let login = response.into_inner();
    assert!(login.totp_required, "{login:?}");
    assert!(login.user.is_none(), "nothing about the account before the second factor");
    assert!(login.totp_challenge.len() >= 40);
    login.totp_challenge
}

async fn verify(
    channel: &Channel,
    challenge: &str,
    code: &str,
    recovery_code: &str,
) -> Result<(VerifyLoginTotpResponse, String), tonic::Status> {
    let response = client(channel)
        .verify_login_totp(VerifyLoginTotpRequest {
            challenge: challenge.into(),
            code: code.into(),
            recovery_code: recovery_code.into(),
        })
        .await?;
    let cookie = cookie_pair(response.metadata().get("set-cookie").expect("session cookie").to_str().expect("ascii"));
    Ok((response.into_inner(), cookie))
}

async fn me(channel: &Channel, cookie: &str) -> Result<String, tonic::Status> {
    Ok(client(channel).get_me(session(GetMeRequest {}, cookie)).await?.into_inner().user.expect("user").username)
}

/// Enrols the admin behind `cookie`; its secret and recovery codes.
async fn enrol(channel: &Channel, cookie: &str, clock_offset: i64) -> (String, Vec<String>) {
    let begun = client(channel)
        .begin_totp_enrollment(session(BeginTotpEnrollmentRequest {}, cookie))
        .await
        .expect("begin")
        .into_inner()
        .enrollment
        .expect("enrollment");
    assert_eq!((begun.digits, begun.period_secs), (6, 30));
    assert!(begun.otpauth_url.starts_with("otpauth://totp/RustBill:"), "{}", begun.otpauth_url);
    assert!(begun.otpauth_url.contains(&format!("secret={}", begun.secret)), "{}", begun.otpauth_url);
    mid_step().await;
    let codes = client(channel)
        .confirm_totp_enrollment(session(
            ConfirmTotpEnrollmentRequest { code: code_at(&begun.secret, clock_offset) },
            cookie,
        ))
        .await
        .expect("confirm")
        .into_inner()
        .recovery_codes;
    (begun.secret, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_totp_login_with_skew_single_use_codes_and_recovery() {
    let server = TestServer::start().await.expect("server");
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let status = client(&channel).get_totp_status(session(GetTotpStatusRequest {}, &admin)).await.expect("status");
    let status = status.into_inner();
    assert!(!status.enabled && !status.required && !status.enrollment_pending, "{status:?}");

    // Enrolment: a wrong or malformed code changes nothing.
    let begun = client(&channel)
        .begin_totp_enrollment(session(BeginTotpEnrollmentRequest {}, &admin))
        .await
        .expect("begin")
        .into_inner()
        .enrollment
        .expect("enrollment");
    for (code, what) in [("12345", "too short"), ("abcdef", "not digits")] {
        let error = client(&channel)
            .confirm_totp_enrollment(session(ConfirmTotpEnrollmentRequest { code: code.into() }, &admin))
            .await
            .expect_err(what);
        assert_eq!(error.code(), Code::InvalidArgument, "{what}");
    }
    mid_step().await;
    let wrong = code_at(&begun.secret, 300);
    let error = client(&channel)
        .confirm_totp_enrollment(session(ConfirmTotpEnrollmentRequest { code: wrong }, &admin))
        .await
        .expect_err("a code five minutes off");
    assert_eq!(error.code(), Code::InvalidArgument);
    let pending = client(&channel).get_totp_status(session(GetTotpStatusRequest {}, &admin)).await.expect("status");
    assert!(!pending.get_ref().enabled && pending.get_ref().enrollment_pending);
    let codes = client(&channel)
        .confirm_totp_enrollment(session(ConfirmTotpEnrollmentRequest { code: code_at(&begun.secret, 0) }, &admin))
        .await
        .expect("confirm")
        .into_inner()
        .recovery_codes;
    assert_eq!(codes.len(), 10);
    let secret = begun.secret;
    let again = client(&channel)
        .begin_totp_enrollment(session(BeginTotpEnrollmentRequest {}, &admin))
        .await
        .expect_err("already on");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let status = client(&channel).get_totp_status(session(GetTotpStatusRequest {}, &admin)).await.expect("status");
    assert_eq!((status.get_ref().enabled, status.get_ref().recovery_codes_left), (true, 10));

    // The password alone no longer starts a session.
    let first = challenge(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    // The code used to confirm is spent; two steps off either way is too far.
    for (offset, what) in [(0, "the code already used"), (-65, "two steps late"), (65, "two steps early")] {
        let error = verify(&channel, &first, &code_at(&secret, offset), "").await.expect_err(what);
        assert_eq!(error.code(), Code::InvalidArgument, "{what}: {error:?}");
    }
    // An authenticator one step ahead is accepted.
    let (verified, cookie) = verify(&channel, &first, &code_at(&secret, 30), "").await.expect("one step early");
    assert_eq!(verified.user.expect("user").username, ADMIN_USERNAME);
    assert!(verified.recovery_codes.is_empty(), "codes are shown only when enrolling");
    assert_eq!(me(&channel, &cookie).await.expect("session works"), ADMIN_USERNAME);
    // The challenge was single-use.
    let spent = verify(&channel, &first, &code_at(&secret, 30), "").await.expect_err("challenge used");
    assert_eq!(spent.code(), Code::Unauthenticated);

    // A code older than the last one used is refused; a recovery code
    // works once.
    let second = challenge(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let error = verify(&channel, &second, &code_at(&secret, 0), "").await.expect_err("older than the last");
    assert_eq!(error.code(), Code::InvalidArgument);
    let (verified, _) = verify(&channel, &second, "", &codes[3].to_uppercase()).await.expect("recovery code");
    assert_eq!(verified.recovery_codes_left, 9);
    let third = challenge(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let error = verify(&channel, &third, "", &codes[3]).await.expect_err("recovery code used");
    assert_eq!(error.code(), Code::InvalidArgument);

    // Five wrong answers end the challenge, even for a right one after.
    for attempt in 2..=5 {
        let error = verify(&channel, &third, "", "nope-nope").await.expect_err("wrong");
        let expected = if attempt < 5 { Code::InvalidArgument } else { Code::Unauthenticated };
        assert_eq!(error.code(), expected, "attempt {attempt}");
    }
    let error = verify(&channel, &third, "", &codes[4]).await.expect_err("challenge ended");
    assert_eq!(error.code(), Code::Unauthenticated);
    let error = verify(&channel, "not-a-challenge", "", &codes[4]).await.expect_err("unknown challenge");
    assert_eq!(error.code(), Code::Unauthenticated);
    let error = verify(&channel, &third, "", "").await.expect_err("no factor");
    assert_eq!(error.code(), Code::InvalidArgument);

    // A second admin, whose authenticator runs a step late: two logins
    // racing with the same code, exactly one gets in.
    client(&channel)
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "olga_ops".into(),
                email: "olga@example.com".into(),
                display_name: "Olga".into(),
                password: "olga-Password-9".into(),
                role: "admin".into(),
            },
            &admin,
        ))
        .await
        .expect("second admin");
    let olga = cookie_pair(
        password_step(&channel, "olga_ops", "olga-Password-9")
            .await
            .metadata()
            .get("set-cookie")
            .expect("one-step login before enrolment")
            .to_str()
            .expect("ascii"),
    );
    let (olga_secret, olga_codes) = enrol(&channel, &olga, -30).await;
    let challenges = [
        challenge(&channel, "olga_ops", "olga-Password-9").await,
        challenge(&channel, "olga_ops", "olga-Password-9").await,
    ];
    mid_step().await;
    let code = code_at(&olga_secret, 0);
    let (a, b) = tokio::join!(verify(&channel, &challenges[0], &code, ""), verify(&channel, &challenges[1], &code, ""));
    let outcomes = [a.map(|_| ()).map_err(|error| error.code()), b.map(|_| ()).map_err(|error| error.code())];
    assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.contains(&Err(Code::InvalidArgument)), "{outcomes:?}");

    // Turning it off takes the password and a second factor.
    let wrong_password = client(&channel)
        .disable_totp(session(
            DisableTotpRequest {
                password: "wrong-password".into(),
                recovery_code: olga_codes[0].clone(),
                ..Default::default()
            },
            &olga,
        ))
        .await
        .expect_err("wrong password");
    assert_eq!(wrong_password.code(), Code::InvalidArgument);
    client(&channel)
        .disable_totp(session(
            DisableTotpRequest {
                password: "olga-Password-9".into(),
                recovery_code: olga_codes[0].clone(),
                ..Default::default()
            },
            &olga,
        ))
        .await
        .expect("disable");
    let one_step = password_step(&channel, "olga_ops", "olga-Password-9").await;
    assert!(one_step.metadata().get("set-cookie").is_some() && !one_step.get_ref().totp_required);

    // Lost device: the bootstrap admin clears Olga's new TOTP; her sessions end.
    let (_, _) = enrol(&channel, &olga, 0).await;
    let olga_id =
        client(&channel).get_me(session(GetMeRequest {}, &olga)).await.expect("me").into_inner().user.expect("user").id;
    client(&channel)
        .admin_reset_totp(session(AdminResetTotpRequest { user_id: olga_id.clone() }, &admin))
        .await
        .expect("reset");
    let ended = me(&channel, &olga).await.expect_err("sessions ended");
    assert_eq!(ended.code(), Code::Unauthenticated);
    let one_step = password_step(&channel, "olga_ops", "olga-Password-9").await;
    assert!(!one_step.get_ref().totp_required, "TOTP is off after the reset");
    for (id, code) in [("nope", Code::InvalidArgument), (uuid::Uuid::now_v7().to_string().as_str(), Code::NotFound)] {
        let error = client(&channel)
            .admin_reset_totp(session(AdminResetTotpRequest { user_id: id.into() }, &admin))
            .await
            .expect_err("bad id");
        assert_eq!(error.code(), code, "{id}");
    }

    // Operators cannot reset anyone's; customers have none of it.
    client(&channel)
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "oscar_op".into(),
                email: "oscar@example.com".into(),
                display_name: "Oscar".into(),
                password: "oscar-Password-9".into(),
                role: "operator".into(),
            },
            &admin,
        ))
        .await
        .expect("operator");
    let operator = cookie_pair(
        password_step(&channel, "oscar_op", "oscar-Password-9")
            .await
            .metadata()
            .get("set-cookie")
            .expect("operator cookie")
            .to_str()
            .expect("ascii"),
    );
    let denied = client(&channel)
        .admin_reset_totp(session(AdminResetTotpRequest { user_id: olga_id }, &operator))
        .await
        .expect_err("operator");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let customer = flows::register_customer(&server, "cora_2fa").await;
    let denied = client(&channel)
        .get_totp_status(bearer(GetTotpStatusRequest {}, &customer.access_token))
        .await
        .expect_err("customer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Nothing secret is stored in the clear.
    let pool = server.pool().await;
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select code_hash from identity.admin_recovery_codes")
        .fetch_all(&pool)
        .await
        .expect("codes");
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|hash| hash.len() == 32 && !codes.iter().any(|code| hash == code.as_bytes())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_totp_is_enrolled_at_login_and_cannot_be_turned_off() {
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_IDENTITY__ADMIN_TOTP_REQUIRED", "true")
            .with("RUSTBILL_IDENTITY__TOTP_ISSUER", "Acme Cloud"),
    )
    .await
    .expect("server");
    let channel = server.channel().await;
    let response = password_step(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(response.metadata().get("set-cookie").is_none());
    let login = response.into_inner();
    assert!(login.totp_required);
    let enrollment = login.totp_enrollment.expect("enrol now");
    assert!(enrollment.otpauth_url.starts_with("otpauth://totp/Acme%20Cloud:"), "{}", enrollment.otpauth_url);
    // Enrolling takes a code, not a recovery code.
    let error = verify(&channel, &login.totp_challenge, "", "abcde-fghij").await.expect_err("no code");
    assert_eq!(error.code(), Code::InvalidArgument);
    mid_step().await;
    let (verified, cookie) =
        verify(&channel, &login.totp_challenge, &code_at(&enrollment.secret, 0), "").await.expect("enrolled");
    assert_eq!(verified.recovery_codes.len(), 10);
    let status = client(&channel).get_totp_status(session(GetTotpStatusRequest {}, &cookie)).await.expect("status");
    assert!(status.get_ref().enabled && status.get_ref().required);
    let refused = client(&channel)
        .disable_totp(session(
            DisableTotpRequest {
                password: ADMIN_PASSWORD.into(),
                recovery_code: verified.recovery_codes[0].clone(),
                ..Default::default()
            },
            &cookie,
        ))
        .await
        .expect_err("required");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    // The next login asks for a code from the same secret, no new enrolment.
    let next = password_step(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await.into_inner();
    assert!(next.totp_required && next.totp_enrollment.is_none());
    let (_, again) = verify(&channel, &next.totp_challenge, "", &verified.recovery_codes[1]).await.expect("recovery");
    assert_eq!(me(&channel, &again).await.expect("me"), ADMIN_USERNAME);
    // New recovery codes need a code; the old ones stop working.
    mid_step().await;
    let renewed = client(&channel)
        .regenerate_totp_recovery_codes(session(
            RegenerateTotpRecoveryCodesRequest { code: code_at(&enrollment.secret, 30) },
            &again,
        ))
        .await
        .expect("regenerate")
        .into_inner()
        .recovery_codes;
    assert_eq!(renewed.len(), 10);
    let last = password_step(&channel, ADMIN_USERNAME, ADMIN_PASSWORD).await.into_inner();
    let error = verify(&channel, &last.totp_challenge, "", &verified.recovery_codes[2]).await.expect_err("old codes");
    assert_eq!(error.code(), Code::InvalidArgument);
    verify(&channel, &last.totp_challenge, "", &renewed[0]).await.expect("new codes work");
}
