//! Notification channels: the enabled notifier interfaces of the plugins
//! service, and sending through them.

use rustbill_proto::internal::plugins::plugin_runtime_service_client::PluginRuntimeServiceClient;
use rustbill_proto::internal::plugins::{EnabledInterface, InterfaceCall, ListEnabledCall, SendNotificationCall};
use rustbill_shared::clients::InternalChannel;
use rustbill_shared::principal::{Caller, InternalSigner};
use rustbill_shared::{AppResult, Config};

#[derive(Debug, Clone)]
pub struct Channels {
    plugins: InternalChannel,
}

/// Which events a channel takes.
#[derive(Debug, Clone)]
pub enum Accepts {
    All,
    Only(Vec<String>),
}

impl Accepts {
    pub fn takes(&self, event_type: &str) -> bool {
        match self {
            Accepts::All => true,
            Accepts::Only(events) => events.iter().any(|event| event == event_type),
        }
    }
}

impl Channels {
    pub fn new(config: &Config) -> Self {
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        Self { plugins: InternalChannel::new("notify", "plugins", &config.services.plugins.url, signer) }
    }

    fn client(&self) -> AppResult<PluginRuntimeServiceClient<tonic::transport::Channel>> {
        Ok(PluginRuntimeServiceClient::new(self.plugins.channel()?))
    }

    /// The enabled notifier interfaces.
    pub async fn enabled(&self, caller: &Caller) -> AppResult<Vec<EnabledInterface>> {
        let listed = self
            .client()?
            .list_enabled(
                self.plugins
                    .request(caller, ListEnabledCall { plugin_type: "notifier".into(), include_disabled: false }),
            )
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner();
        Ok(listed.interfaces.into_iter().filter(|interface| interface.enabled).collect())
    }

    pub async fn accepts(&self, caller: &Caller, interface_id: &str) -> AppResult<Accepts> {
        let events = self
            .client()?
            .supported_events(self.plugins.request(caller, InterfaceCall { interface_id: interface_id.to_string() }))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner();
        Ok(if events.all { Accepts::All } else { Accepts::Only(events.events) })
    }

    /// The channel's own templates (event type → {title, body}); empty when
    /// it has none or they cannot be read (the built-in messages are used).
    pub async fn templates(&self, caller: &Caller, interface_id: &str) -> serde_json::Map<String, serde_json::Value> {
        let answer = match self.client() {
            Ok(mut client) => client
                .templates(self.plugins.request(caller, InterfaceCall { interface_id: interface_id.to_string() }))
                .await
                .map_err(|status| self.plugins.forwarded(status)),
            Err(error) => Err(error),
        };
        match answer.map(|answer| serde_json::from_str::<serde_json::Value>(&answer.into_inner().templates_json)) {
            Ok(Ok(serde_json::Value::Object(map))) => map,
            Ok(_) => serde_json::Map::new(),
            Err(error) => {
                tracing::debug!(interface_id, %error, "no templates from the channel");
                serde_json::Map::new()
            }
        }
    }

    /// Sends one message; `Ok(false)` when the channel does not take the
    /// event type.
    pub async fn send(&self, caller: &Caller, call: SendNotificationCall) -> AppResult<bool> {
        Ok(self
            .client()?
            .send_notification(self.plugins.request(caller, call))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner()
            .sent)
    }
}
