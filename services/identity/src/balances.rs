//! Customer balances, read from their owner (the payments service) through
//! its typed internal client. Identity never stores or computes a balance.

use std::collections::HashMap;

use rustbill_proto::internal::balances::balances_service_client::BalancesServiceClient;
use rustbill_proto::internal::balances::{GetBalanceRequest, GetBalancesRequest};
use rustbill_shared::principal::{Caller, InternalSigner};
use rustbill_shared::{AppError, Money};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct BalanceReader {
    channel: Option<Channel>,
    signer: InternalSigner,
}

fn unavailable(error: impl std::fmt::Display) -> AppError {
    tracing::warn!(%error, "balance lookup failed");
    AppError::Unavailable("balance service is unavailable, try again".into())
}

impl BalanceReader {
    pub fn new(url: &str, signer: InternalSigner) -> Self {
        let channel = Endpoint::from_shared(url.to_string())
            .map(|endpoint| endpoint.connect_timeout(std::time::Duration::from_secs(2)).connect_lazy())
            .map_err(|error| tracing::error!(url, %error, "bad payments service url"))
            .ok();
        Self { channel, signer }
    }

    fn client(&self, caller: &Caller) -> Result<(BalancesServiceClient<Channel>, Caller), AppError> {
        let channel = self.channel.clone().ok_or_else(|| unavailable("payments service url is invalid"))?;
        let service_caller = Caller::service("identity", caller);
        Ok((BalancesServiceClient::new(channel), service_caller))
    }

    /// The balance of one customer.
    pub async fn balance(&self, caller: &Caller, customer_id: Uuid) -> Result<Money, AppError> {
        let (mut client, service_caller) = self.client(caller)?;
        let mut request = tonic::Request::new(GetBalanceRequest { customer_id: customer_id.to_string() });
        self.signer.attach(&service_caller, &mut request);
        let response = client.get_balance(request).await.map_err(unavailable)?.into_inner();
        Money::parse(&response.balance).map_err(|error| unavailable(format!("bad balance from payments: {error}")))
    }

    /// Balances of many customers in one call.
    pub async fn balances(&self, caller: &Caller, customer_ids: &[Uuid]) -> Result<HashMap<Uuid, Money>, AppError> {
        if customer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let (mut client, service_caller) = self.client(caller)?;
        let mut request = tonic::Request::new(GetBalancesRequest {
            customer_ids: customer_ids.iter().map(Uuid::to_string).collect(),
        });
        self.signer.attach(&service_caller, &mut request);
        let response = client.get_balances(request).await.map_err(unavailable)?.into_inner();
        let mut balances = HashMap::with_capacity(customer_ids.len());
        for (id, text) in response.balances {
            let id = Uuid::parse_str(&id).map_err(unavailable)?;
            let money = Money::parse(&text).map_err(unavailable)?;
            balances.insert(id, money);
        }
        Ok(balances)
    }
}
