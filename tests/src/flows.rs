//! Steps many tests share, each through the edge with the gRPC client.

use rustbill_proto::customer::UpdateCustomerRequest;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::*;
use tonic::transport::Channel;

use crate::{ADMIN_PASSWORD, ADMIN_USERNAME, TestServer, cookie_pair, session};

/// A logged-in customer.
#[derive(Debug, Clone)]
pub struct Customer {
    pub username: String,
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub customer_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Logs an admin in; returns the `cookie` header value to send back.
pub async fn admin_cookie(channel: Channel, username: &str, password: &str) -> String {
    let mut identity = IdentityServiceClient::new(channel);
    let response = identity
        .login(LoginRequest { username: username.into(), password: password.into(), user_type: "admin".into() })
        .await
        .expect("admin login");
    let set_cookie = response
        .metadata()
        .get("set-cookie")
        .expect("admin login sets a cookie")
        .to_str()
        .expect("ascii cookie")
        .to_string();
    cookie_pair(&set_cookie)
}

/// The bootstrap admin's cookie.
pub async fn bootstrap_admin(server: &TestServer) -> String {
    admin_cookie(server.channel().await, ADMIN_USERNAME, ADMIN_PASSWORD).await
}

/// The newest verification code e-mailed to `email`, read from the outbox
/// event the notify service would deliver.
pub async fn latest_code(server: &TestServer, email: &str) -> String {
    let pool = server.pool().await;
    let code: Option<String> = sqlx::query_scalar(
        "select payload->>'code' from bus.event_queue
         where event_type = 'identity.verification_code_issued' and payload->>'email' = $1
         order by created_at desc, id desc limit 1",
    )
    .bind(email.to_lowercase())
    .fetch_optional(&pool)
    .await
    .expect("read outbox");
    pool.close().await;
    code.expect("a verification code event in the outbox")
}

/// SendVerificationCode → Register → Login, all through the edge.
pub async fn register_customer(server: &TestServer, username: &str) -> Customer {
    let mut identity = IdentityServiceClient::new(server.channel().await);
    let email = format!("{username}@example.com");
    let password = format!("{username}-Pass-123");
    identity
        .send_verification_code(SendVerificationCodeRequest { email: email.clone(), purpose: "registration".into() })
        .await
        .expect("send verification code");
    let code = latest_code(server, &email).await;
    let registered = identity
        .register(RegisterRequest {
            username: username.into(),
            email: email.clone(),
            display_name: format!("{username} display"),
            password: password.clone(),
            verification_code: code,
        })
        .await
        .expect("register")
        .into_inner();
    let user = registered.user.expect("registered user");
    let login = identity
        .login(LoginRequest { username: username.into(), password: password.clone(), user_type: "customer".into() })
        .await
        .expect("customer login")
        .into_inner();
    Customer {
        username: username.into(),
        email,
        password,
        user_id: user.id,
        customer_id: registered.customer_id,
        access_token: login.access_token,
        refresh_token: login.refresh_token,
    }
}

/// Lets a customer create API keys (admin action).
pub async fn allow_api_keys(server: &TestServer, admin_cookie: &str, customer_id: &str) {
    let mut customers = CustomerServiceClient::new(server.channel().await);
    customers
        .update_customer(session(
            UpdateCustomerRequest { id: customer_id.into(), can_create_api_keys: Some(true), ..Default::default() },
            admin_cookie,
        ))
        .await
        .expect("enable API keys");
}

/// A server whose plugins directory holds `scripts` (file name, text); the
/// directory lives as long as the returned guard.
pub async fn server_with_plugins(scripts: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    server_with_plugins_and(scripts, &[]).await
}

/// [`server_with_plugins`] with more settings (`RUSTBILL_…` variables).
pub async fn server_with_plugins_and(
    scripts: &[(&str, &str)],
    settings: &[(&str, &str)],
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("plugins dir");
    for (name, text) in scripts {
        std::fs::write(dir.path().join(name), text).expect("write plugin");
    }
    let mut env = crate::Settings::default()
        .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
        .with("RUSTBILL_PLUGINS__PLUGINS_DIR", dir.path().to_str().expect("utf-8 path"));
    for (key, value) in settings {
        env = env.with(key, value);
    }
    let server = TestServer::start_with(env).await.expect("server with plugins");
    (server, dir)
}

/// Creates and enables an interface of the plugin `plugin_id`; its id.
pub async fn enabled_interface(
    server: &TestServer,
    admin_cookie: &str,
    plugin_id: &str,
    display_name: &str,
    config_json: &str,
) -> String {
    enabled_interface_on(server.channel().await, admin_cookie, plugin_id, display_name, config_json).await
}

/// [`enabled_interface`] through any edge channel.
pub async fn enabled_interface_on(
    channel: Channel,
    admin_cookie: &str,
    plugin_id: &str,
    display_name: &str,
    config_json: &str,
) -> String {
    use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
    use rustbill_proto::integration::{CreatePluginInterfaceRequest, ListPluginsRequest, TogglePluginInterfaceRequest};
    let mut integration = IntegrationServiceClient::new(channel);
    let definition = integration
        .list_plugins(session(ListPluginsRequest { plugin_type: None }, admin_cookie))
        .await
        .expect("list plugins")
        .into_inner()
        .plugins
        .into_iter()
        .find(|plugin| plugin.plugin_id == plugin_id)
        .unwrap_or_else(|| panic!("plugin {plugin_id} was scanned"));
    let interface = integration
        .create_plugin_interface(session(
            CreatePluginInterfaceRequest {
                plugin_def_id: definition.id,
                display_name: display_name.into(),
                config_json: config_json.into(),
            },
            admin_cookie,
        ))
        .await
        .expect("create interface")
        .into_inner()
        .interface
        .expect("interface")
        .id;
    integration
        .toggle_plugin_interface(session(
            TogglePluginInterfaceRequest { interface_id: interface.clone(), enable: true },
            admin_cookie,
        ))
        .await
        .expect("enable interface");
    interface
}
