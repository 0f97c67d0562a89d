//! The plugins service, through its typed internal client: provider
//! interfaces and the products their plugins offer.

use rustbill_proto::internal::plugins::plugin_runtime_service_client::PluginRuntimeServiceClient;
use rustbill_proto::internal::plugins::{EnabledInterface, InterfaceCall, ListEnabledCall, SyncedProduct};
use rustbill_shared::AppError;
use rustbill_shared::principal::{Caller, InternalSigner};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PluginsClient {
    channel: Option<Channel>,
    signer: InternalSigner,
}

/// Errors of the plugins service keep their code (NotFound,
/// FailedPrecondition for a disabled interface or a plugin failure);
/// transport failures are Unavailable.
fn forwarded(status: tonic::Status) -> AppError {
    match status.code() {
        tonic::Code::NotFound => AppError::not_found(status.message().to_string()),
        tonic::Code::InvalidArgument => AppError::invalid(status.message().to_string()),
        tonic::Code::FailedPrecondition => AppError::FailedPrecondition(status.message().to_string()),
        _ => {
            tracing::warn!(code = ?status.code(), message = status.message(), "plugins service call failed");
            AppError::Unavailable("the plugins service is unavailable, try again".into())
        }
    }
}

impl PluginsClient {
    pub fn new(url: &str, signer: InternalSigner) -> Self {
        let channel = (!url.trim().is_empty())
            .then(|| {
                Endpoint::from_shared(url.to_string())
                    .map(|endpoint| endpoint.connect_timeout(std::time::Duration::from_secs(2)).connect_lazy())
                    .map_err(|error| tracing::error!(url, %error, "bad plugins service url"))
                    .ok()
            })
            .flatten();
        Self { channel, signer }
    }

    fn client(&self) -> Result<PluginRuntimeServiceClient<Channel>, AppError> {
        let channel =
            self.channel.clone().ok_or_else(|| AppError::Unavailable("the plugins service is not deployed".into()))?;
        Ok(PluginRuntimeServiceClient::new(channel))
    }

    fn request<T>(&self, caller: &Caller, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.signer.attach(&Caller::service("catalog", caller), &mut request);
        request
    }

    /// The provider interface `id` (enabled or not), NotFound when no
    /// provider interface has that id.
    pub async fn provider(&self, caller: &Caller, id: Uuid) -> Result<EnabledInterface, AppError> {
        let mut client = self.client()?;
        let listed = client
            .list_enabled(self.request(caller, ListEnabledCall { plugin_type: String::new(), include_disabled: true }))
            .await
            .map_err(forwarded)?
            .into_inner();
        listed
            .interfaces
            .into_iter()
            .find(|interface| {
                interface.interface_id == id.to_string()
                    && matches!(interface.plugin_type.as_str(), "first_party_provider" | "upstream_provider")
            })
            .ok_or_else(|| AppError::not_found("interface_id: no provider interface has this id"))
    }

    /// What the provider's plugin offers (`sync_products`).
    pub async fn sync_products(&self, caller: &Caller, id: Uuid) -> Result<Vec<SyncedProduct>, AppError> {
        let mut client = self.client()?;
        let answer = client
            .sync_products(self.request(caller, InterfaceCall { interface_id: id.to_string() }))
            .await
            .map_err(forwarded)?
            .into_inner();
        Ok(answer.products)
    }
}
