//! The broadcast consumer (`notify.broadcast`): each system event becomes
//! one delivery row per channel that takes it (and per recipient on e-mail
//! channels), written in the transaction that marks the event handled, so
//! an event consumed twice is delivered once per channel. Sending is the
//! delivery worker's job (`sender`).

use futures::FutureExt;
use futures::future::BoxFuture;
use rustbill_shared::AppError;
use rustbill_shared::bus::{Event, Handler, HandlerError};
use rustbill_shared::principal::{Caller, Principal};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::channels::Channels;
use crate::templates;

pub const CONSUMER: &str = "notify.broadcast";
pub const EVENTS: &[&str] = &[
    "order_paid",
    "order_provisioned",
    "order_cancelled",
    "order_plan_changed",
    "billing.invoice_issued",
    "billing.invoice_paid",
    "billing.overdue",
    "instance.suspended",
    "instance.unsuspended",
    "instance.terminated",
    "identity.verification_code_issued",
    "ticket_assigned",
    "ticket_replied",
];

/// Verification codes go only to e-mail channels (the code is for the
/// address's owner, not for an operator's webhook).
const PRIVATE: &[&str] = &["identity.verification_code_issued"];

pub struct Broadcast {
    pub channels: Channels,
    pub admin_email: String,
}

fn retry(error: AppError) -> HandlerError {
    HandlerError::Retry(error.to_string())
}

impl Broadcast {
    async fn run(&self, event: &Event, transaction: &mut Transaction<'static, Postgres>) -> Result<(), HandlerError> {
        let Some(built_in) = templates::message(&event.event_type, &event.payload) else {
            return Ok(());
        };
        let caller =
            Caller::new(Principal::Service { name: "notify".into() }, event.request_id.clone().unwrap_or_default(), "");
        let recipients = templates::recipients(&event.event_type, &event.payload, &self.admin_email);
        let private = PRIVATE.contains(&event.event_type.as_str());
        for channel in self.channels.enabled(&caller).await.map_err(retry)? {
            let email = channel.plugin_id == "email";
            if private && !email {
                continue;
            }
            if !self.channels.accepts(&caller, &channel.interface_id).await.map_err(retry)?.takes(&event.event_type) {
                continue;
            }
            // E-mail: one message per recipient. Other channels (webhooks,
            // chat) get the event once, addressed to its first recipient.
            let targets: Vec<String> =
                if email { recipients.clone() } else { vec![recipients.first().cloned().unwrap_or_default()] };
            // The channel's own template when it has one for this event.
            let own = self.channels.templates(&caller, &channel.interface_id).await;
            let (title, body) =
                templates::from_channel(&own, &event.event_type, &event.payload).unwrap_or_else(|| built_in.clone());
            let channel_id = Uuid::parse_str(&channel.interface_id)
                .map_err(|_| HandlerError::Poison(format!("bad channel id {}", channel.interface_id)))?;
            for recipient in targets {
                sqlx::query(
                    "insert into deliveries (id, event_id, event_type, channel_id, channel_name, recipient, title, body, data)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     on conflict (event_id, channel_id, recipient) do nothing",
                )
                .bind(Uuid::now_v7())
                .bind(event.id)
                .bind(&event.event_type)
                .bind(channel_id)
                .bind(&channel.display_name)
                .bind(&recipient)
                .bind(&title)
                .bind(&body)
                .bind(&event.payload)
                .execute(&mut **transaction)
                .await?;
            }
        }
        Ok(())
    }
}

impl Handler for Broadcast {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        self.run(event, transaction).boxed()
    }
}
