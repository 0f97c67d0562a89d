//! Every identity, customer and API-key RPC, called through the edge as
//! anonymous, customer A, customer B, an operator, an admin and customer
//! A's API key, against the spec's permission column. Cross-customer access
//! is always denied.

use std::fmt;

use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::customer::*;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::downstream::*;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use rustbill_system_tests::flows::{self, Customer};
use rustbill_system_tests::{TestServer, bearer, session};
use tonic::transport::Channel;
use tonic::{Code, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    CustomerA,
    CustomerB,
    Operator,
    Admin,
    ApiKeyA,
}

const EVERYONE: [Who; 6] = [Who::Anonymous, Who::CustomerA, Who::CustomerB, Who::Operator, Who::Admin, Who::ApiKeyA];

impl fmt::Display for Who {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, formatter)
    }
}

struct World {
    server: TestServer,
    channel: Channel,
    admin: String,
    operator: String,
    a: Customer,
    b: Customer,
    key_a: String,
    counter: std::sync::atomic::AtomicU32,
}

impl World {
    fn request<T>(&self, who: Who, message: T) -> Request<T> {
        match who {
            Who::Anonymous => Request::new(message),
            Who::CustomerA => bearer(message, &self.a.access_token),
            Who::CustomerB => bearer(message, &self.b.access_token),
            Who::Operator => session(message, &self.operator),
            Who::Admin => session(message, &self.admin),
            Who::ApiKeyA => bearer(message, &self.key_a),
        }
    }

    fn identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel.clone())
    }

    fn customers(&self) -> CustomerServiceClient<Channel> {
        CustomerServiceClient::new(self.channel.clone())
    }

    fn keys(&self) -> ApiKeyServiceClient<Channel> {
        ApiKeyServiceClient::new(self.channel.clone())
    }

    fn unique(&self, prefix: &str) -> String {
        let number = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{number}")
    }

    /// A throwaway customer user, to be updated, reset or deleted.
    async fn throwaway_user(&self) -> String {
        flows::register_customer(&self.server, &self.unique("victim")).await.user_id
    }

    async fn throwaway_customer(&self) -> String {
        let name = self.unique("Throwaway Co ");
        self.customers()
            .create_customer(session(
                CreateCustomerRequest { name, credit_limit: "0".into(), ..Default::default() },
                &self.admin,
            ))
            .await
            .expect("create throwaway customer")
            .into_inner()
            .customer
            .unwrap()
            .id
    }

    async fn key_of_a(&self) -> String {
        self.keys()
            .create_api_key(session(
                CreateApiKeyRequest { name: self.unique("key"), customer_id: self.a.customer_id.clone() },
                &self.admin,
            ))
            .await
            .expect("create key for A")
            .into_inner()
            .id
    }
}

/// Asserts one outcome; `None` means success.
fn check<T: fmt::Debug>(
    rpc: &str,
    who: Who,
    result: Result<tonic::Response<T>, tonic::Status>,
    expected: Option<Code>,
) {
    match (result, expected) {
        (Ok(_), None) => {}
        (Err(status), Some(code)) if status.code() == code => {}
        (Ok(response), Some(code)) => panic!("{rpc} as {who}: expected {code:?}, got OK {response:?}"),
        (Err(status), expected) => {
            panic!("{rpc} as {who}: expected {expected:?}, got {:?} {:?}", status.code(), status.message())
        }
    }
}

/// The answer of an "admin" RPC.
fn admin_rpc(who: Who) -> Option<Code> {
    match who {
        Who::Anonymous => Some(Code::Unauthenticated),
        Who::CustomerA | Who::CustomerB | Who::ApiKeyA => Some(Code::PermissionDenied),
        Who::Operator | Who::Admin => None,
    }
}

/// The answer of an "admin-only" RPC.
fn admin_only_rpc(who: Who) -> Option<Code> {
    match who {
        Who::Operator => Some(Code::PermissionDenied),
        other => admin_rpc(other),
    }
}

/// The answer of an API-key RPC about customer A's keys.
fn keys_of_a(who: Who) -> Option<Code> {
    match who {
        Who::Anonymous => Some(Code::Unauthenticated),
        Who::CustomerA | Who::Operator | Who::Admin => None,
        Who::CustomerB | Who::ApiKeyA => Some(Code::PermissionDenied),
    }
}

async fn world() -> World {
    let server = TestServer::start().await.unwrap();
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    // An operator, created directly in the database (there is no RPC that
    // creates admin users; the CLI will).
    let pool = server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role)
         values ($1, 'olivia', 'Olivia', $2, 'operator')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(hash)
    .execute(&pool)
    .await
    .unwrap();
    let operator = flows::admin_cookie(channel.clone(), "olivia", rustbill_system_tests::ADMIN_PASSWORD).await;
    let a = flows::register_customer(&server, "alice").await;
    let b = flows::register_customer(&server, "bob").await;
    flows::allow_api_keys(&server, &admin, &a.customer_id).await;
    flows::allow_api_keys(&server, &admin, &b.customer_id).await;
    let key_a = ApiKeyServiceClient::new(channel.clone())
        .create_api_key(bearer(
            CreateApiKeyRequest { name: "a-key".into(), customer_id: String::new() },
            &a.access_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .api_key;
    World { server, channel, admin, operator, a, b, key_a, counter: Default::default() }
}

#[tokio::test]
async fn every_rpc_answers_each_kind_of_caller_as_the_spec_says() {
    let world = world().await;

    for who in EVERYONE {
        // --- IdentityService: public RPCs behave the same for everyone.
        let email = format!("{}@example.net", world.unique("public"));
        let sent = world
            .identity()
            .send_verification_code(
                world.request(who, SendVerificationCodeRequest { email, purpose: "registration".into() }),
            )
            .await;
        check("SendVerificationCode", who, sent, None);
        let registered = world
            .identity()
            .register(world.request(
                who,
                RegisterRequest {
                    username: world.unique("nobody"),
                    email: format!("{}@example.net", world.unique("nobody")),
                    display_name: "Nobody".into(),
                    password: "long-enough-1".into(),
                    verification_code: "000000".into(),
                },
            ))
            .await;
        check("Register (no code sent)", who, registered, Some(Code::InvalidArgument));
        let login = world
            .identity()
            .login(world.request(
                who,
                LoginRequest {
                    username: "bob".into(),
                    password: world.b.password.clone(),
                    user_type: "customer".into(),
                },
            ))
            .await;
        check("Login", who, login, None);
        let refresh = world
            .identity()
            .refresh_token(world.request(who, RefreshTokenRequest { refresh_token: "bogus".into() }))
            .await;
        check("RefreshToken (bogus)", who, refresh, Some(Code::InvalidArgument));

        // --- IdentityService: admin RPCs.
        let listed = world.identity().list_users(world.request(who, ListUsersRequest::default())).await;
        check("ListUsers", who, listed, admin_rpc(who));
        let listed = world
            .identity()
            .list_users(world.request(
                who,
                ListUsersRequest {
                    user_type: Some("customer".into()),
                    customer_id: Some(world.a.customer_id.clone()),
                    ..Default::default()
                },
            ))
            .await;
        check("ListUsers(customer A)", who, listed, admin_rpc(who));
        let got = world
            .identity()
            .get_user(world.request(who, GetUserRequest { id: world.a.user_id.clone(), user_type: None }))
            .await;
        check("GetUser(A)", who, got, admin_rpc(who));
        let target = world.throwaway_user().await;
        let updated = world
            .identity()
            .update_user(world.request(
                who,
                UpdateUserRequest { id: target.clone(), display_name: Some("Renamed".into()), ..Default::default() },
            ))
            .await;
        check("UpdateUser", who, updated, admin_rpc(who));
        let reset = world
            .identity()
            .admin_reset_password(world.request(
                who,
                AdminResetPasswordRequest { user_id: target.clone(), new_password: "reset-Pass-99".into() },
            ))
            .await;
        check("AdminResetPassword", who, reset, admin_only_rpc(who));
        let deleted = world.identity().delete_user(world.request(who, DeleteUserRequest { id: target })).await;
        check("DeleteUser", who, deleted, admin_only_rpc(who));
        let created = world
            .identity()
            .create_admin_user(world.request(
                who,
                CreateAdminUserRequest {
                    username: format!("staff_{who:?}").to_lowercase(),
                    password: "staff-Pass-123".into(),
                    role: "operator".into(),
                    ..Default::default()
                },
            ))
            .await;
        check("CreateAdminUser", who, created, admin_only_rpc(who));

        // --- IdentityService: any authenticated user.
        let changed = world
            .identity()
            .change_password(world.request(
                who,
                ChangePasswordRequest { old_password: "definitely-wrong".into(), new_password: "new-Pass-123".into() },
            ))
            .await;
        let expected = match who {
            Who::Anonymous => Some(Code::Unauthenticated),
            Who::ApiKeyA => Some(Code::PermissionDenied),
            // Allowed; refused only because the old password is wrong.
            _ => Some(Code::InvalidArgument),
        };
        check("ChangePassword", who, changed, expected);
        let me = world.identity().get_me(world.request(who, GetMeRequest {})).await;
        match who {
            Who::Anonymous => check("GetMe", who, me, Some(Code::Unauthenticated)),
            _ => {
                let user = me.expect("GetMe").into_inner().user.unwrap();
                let expected_user = match who {
                    Who::CustomerA | Who::ApiKeyA => world.a.user_id.clone(),
                    Who::CustomerB => world.b.user_id.clone(),
                    _ => user.id.clone(),
                };
                assert_eq!(user.id, expected_user, "GetMe as {who} answers with the caller");
                if matches!(who, Who::Admin | Who::Operator) {
                    assert_eq!(user.user_type, "admin");
                    assert_eq!(user.role, if who == Who::Admin { "admin" } else { "operator" });
                }
            }
        }

        // --- CustomerService: admin (operators included).
        let created = world
            .customers()
            .create_customer(world.request(
                who,
                CreateCustomerRequest {
                    name: world.unique("Made By "),
                    credit_limit: "10.00".into(),
                    ..Default::default()
                },
            ))
            .await;
        check("CreateCustomer", who, created, admin_rpc(who));
        let listed = world.customers().list_customers(world.request(who, ListCustomersRequest::default())).await;
        check("ListCustomers", who, listed, admin_rpc(who));
        for (label, id) in [("GetCustomer(A)", &world.a.customer_id), ("GetCustomer(B)", &world.b.customer_id)] {
            let got = world.customers().get_customer(world.request(who, GetCustomerRequest { id: id.clone() })).await;
            check(label, who, got, admin_rpc(who));
        }
        let updated = world
            .customers()
            .update_customer(world.request(
                who,
                UpdateCustomerRequest {
                    id: world.b.customer_id.clone(),
                    notes: Some("noted".into()),
                    ..Default::default()
                },
            ))
            .await;
        check("UpdateCustomer(B)", who, updated, admin_rpc(who));
        let doomed = world.throwaway_customer().await;
        let deleted = world.customers().delete_customer(world.request(who, DeleteCustomerRequest { id: doomed })).await;
        check("DeleteCustomer", who, deleted, admin_rpc(who));

        // --- ApiKeyService: admin, or the customer itself with the flag.
        let created = world
            .keys()
            .create_api_key(world.request(
                who,
                CreateApiKeyRequest { name: world.unique("k"), customer_id: world.a.customer_id.clone() },
            ))
            .await;
        check("CreateApiKey(A)", who, created, keys_of_a(who));
        let listed = world
            .keys()
            .list_api_keys(world.request(who, ListApiKeysRequest { customer_id: world.a.customer_id.clone() }))
            .await;
        match (who, listed) {
            (Who::CustomerA | Who::Operator | Who::Admin, Ok(response)) => {
                assert!(response.into_inner().keys.iter().all(|key| key.key_prefix.starts_with("rk_live_")));
            }
            (who, result) => check("ListApiKeys(A)", who, result, keys_of_a(who)),
        }
        let key = world.key_of_a().await;
        let revoked = world.keys().revoke_api_key(world.request(who, RevokeApiKeyRequest { id: key })).await;
        check("RevokeApiKey(A's key)", who, revoked, keys_of_a(who));
    }

    // Customer B never sees A's keys even by naming A's id, and A's data is
    // untouched by B's attempts.
    let listed = world
        .keys()
        .list_api_keys(session(ListApiKeysRequest { customer_id: world.b.customer_id.clone() }, &world.admin))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.keys.is_empty(), "B has no keys: none were created for B by anyone");

    // Logout last: it ends the callers' sessions.
    for who in EVERYONE {
        let result = world.identity().logout(world.request(who, LogoutRequest {})).await;
        let expected = match who {
            Who::Anonymous => Some(Code::Unauthenticated),
            Who::ApiKeyA => Some(Code::FailedPrecondition),
            _ => None,
        };
        check("Logout", who, result, expected);
    }
}
