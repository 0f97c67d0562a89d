//! `rustbill.ticket.TicketService`: support tickets.
//!
//! Customers (and their API keys) see and reply to their own tickets only
//! and never see internal notes; staff (admins and operators) see all,
//! assign, change status and priority, and write internal notes; only
//! admins delete. The state machine: pending → processing → resolved →
//! closed (a resolved ticket may go back to processing). Assignment changes
//! notify the old and new assignees (`ticket_assigned`); a public staff
//! reply notifies the customer (`ticket_replied`).

use chrono::{DateTime, Utc};
use rustbill_proto::internal::customers::customer_directory_service_client::CustomerDirectoryServiceClient;
use rustbill_proto::internal::customers::{GetAdminUserRequest, GetCustomerRequest};
use rustbill_proto::ticket::ticket_service_server::TicketService;
use rustbill_proto::ticket::*;
use rustbill_shared::bus;
use rustbill_shared::clients::InternalChannel;
use rustbill_shared::ids::{format_time, parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_page, paging};
use rustbill_shared::principal::{self, Caller, InternalSigner, Principal};
use rustbill_shared::{AppError, AppResult, Config, oplog};
use serde_json::json;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, QueryBuilder};
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub const STATUSES: &[&str] = &["pending", "processing", "resolved", "closed"];
pub const PRIORITIES: &[&str] = &["low", "medium", "high", "urgent"];

/// Someone was assigned (payload: ticket_id, title, recipients: the old and
/// new assignees' addresses).
pub const TICKET_ASSIGNED: &str = "ticket_assigned";
/// Staff answered publicly (payload: ticket_id, title, customer_email).
pub const TICKET_REPLIED: &str = "ticket_replied";

pub fn can_move(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("pending", "processing" | "closed")
            | ("processing", "resolved" | "closed")
            | ("resolved", "closed" | "processing")
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TicketRow {
    id: Uuid,
    customer_id: Uuid,
    title: String,
    description: String,
    status: String,
    priority: String,
    assignee_user_id: Option<Uuid>,
    creator_user_id: Option<Uuid>,
    customer_email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const TICKET_COLUMNS: &str = "id, customer_id, title, description, status, priority, assignee_user_id,
    creator_user_id, customer_email, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
struct ReplyRow {
    id: Uuid,
    customer_id: Uuid,
    ticket_id: Uuid,
    user_id: Option<Uuid>,
    /// "admin" (staff) or "customer".
    author_kind: String,
    content: String,
    is_internal: bool,
    created_at: DateTime<Utc>,
}

const REPLY_COLUMNS: &str = "id, customer_id, ticket_id, user_id, author_kind, content, is_internal, created_at";

impl ReplyRow {
    fn to_info(&self) -> TicketReplyInfo {
        TicketReplyInfo {
            id: self.id.to_string(),
            ticket_id: self.ticket_id.to_string(),
            // The replying user of either kind (the portal shows "Me" by
            // comparing it with its own user id); the customer only on
            // customer replies, so an empty one means staff wrote it.
            user_id: self.user_id.map(|id| id.to_string()).unwrap_or_default(),
            customer_id: match self.author_kind.as_str() {
                "admin" => String::new(),
                _ => self.customer_id.to_string(),
            },
            content: self.content.clone(),
            is_internal: self.is_internal,
            created_at: format_time(self.created_at),
        }
    }
}

impl TicketRow {
    fn to_info(&self, replies: &[ReplyRow]) -> TicketInfo {
        TicketInfo {
            id: self.id.to_string(),
            customer_id: self.customer_id.to_string(),
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            priority: self.priority.clone(),
            assignee_user_id: self.assignee_user_id.map(|id| id.to_string()).unwrap_or_default(),
            creator_user_id: self.creator_user_id.map(|id| id.to_string()).unwrap_or_default(),
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
            replies: replies.iter().map(ReplyRow::to_info).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tickets {
    pool: PgPool,
    identity: InternalChannel,
}

/// Who is asking: staff (admin or operator), or a customer (its id).
enum Viewer {
    Staff { user_id: Uuid, admin: bool },
    Customer { customer_id: Uuid, user_id: Option<Uuid> },
}

fn viewer(caller: &Caller) -> AppResult<Viewer> {
    match &caller.principal {
        Principal::Admin { user_id, role, .. } => {
            Ok(Viewer::Staff { user_id: *user_id, admin: *role == principal::AdminRole::Admin })
        }
        Principal::Service { .. } => Ok(Viewer::Staff { user_id: Uuid::nil(), admin: true }),
        Principal::Customer { customer_id, user_id, .. } => {
            Ok(Viewer::Customer { customer_id: *customer_id, user_id: Some(*user_id) })
        }
        Principal::ApiKey { customer_id, .. } => Ok(Viewer::Customer { customer_id: *customer_id, user_id: None }),
        anonymous => {
            Err(anonymous.require_authenticated().err().unwrap_or_else(|| AppError::unauthenticated("login required")))
        }
    }
}

fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "required"));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid_field(field, format!("at most {max} characters")));
    }
    Ok(value.to_string())
}

fn priority(value: &str) -> AppResult<String> {
    match value.trim() {
        "" => Ok("medium".into()),
        value if PRIORITIES.contains(&value) => Ok(value.to_string()),
        _ => Err(AppError::invalid_field("priority", "must be low, medium, high or urgent")),
    }
}

impl Tickets {
    pub fn new(pool: PgPool, config: &Config) -> Self {
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        Self { pool, identity: InternalChannel::new("notify", "identity", &config.services.identity.url, signer) }
    }

    async fn customer_email(&self, caller: &Caller, customer_id: Uuid) -> AppResult<String> {
        let mut client = CustomerDirectoryServiceClient::new(self.identity.channel()?);
        let facts = client
            .get_customer(self.identity.request(caller, GetCustomerRequest { customer_id: customer_id.to_string() }))
            .await
            .map_err(|status| match status.code() {
                tonic::Code::NotFound => AppError::not_found("customer_id: no such customer"),
                _ => self.identity.forwarded(status),
            })?
            .into_inner();
        Ok(facts.email)
    }

    /// The assignee's address; NotFound (as InvalidArgument for the field)
    /// when no admin user has that id.
    async fn staff_email(&self, caller: &Caller, user_id: Uuid) -> AppResult<String> {
        let mut client = CustomerDirectoryServiceClient::new(self.identity.channel()?);
        let facts = client
            .get_admin_user(self.identity.request(caller, GetAdminUserRequest { user_id: user_id.to_string() }))
            .await
            .map_err(|status| match status.code() {
                tonic::Code::NotFound => {
                    AppError::invalid_field("assignee_user_id", "no admin or operator has this id")
                }
                _ => self.identity.forwarded(status),
            })?
            .into_inner();
        if !facts.is_active {
            return Err(AppError::invalid_field("assignee_user_id", "this user is disabled"));
        }
        Ok(facts.email)
    }

    async fn visible(&self, caller: &Caller, id: &str) -> AppResult<(TicketRow, Viewer)> {
        let viewer = viewer(caller)?;
        let id = parse_id("id", id)?;
        let ticket: TicketRow =
            sqlx::query_as(AssertSqlSafe(format!("select {TICKET_COLUMNS} from tickets where id = $1")))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| AppError::not_found("ticket not found"))?;
        if let Viewer::Customer { customer_id, .. } = viewer
            && customer_id != ticket.customer_id
        {
            return Err(AppError::not_found("ticket not found"));
        }
        Ok((ticket, viewer))
    }

    async fn replies(&self, ticket: Uuid, staff: bool) -> AppResult<Vec<ReplyRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "select {REPLY_COLUMNS} from ticket_replies where ticket_id = $1 and ($2 or not is_internal)
             order by created_at, id"
        )))
        .bind(ticket)
        .bind(staff)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn create(&self, caller: &Caller, request: CreateTicketRequest) -> AppResult<TicketInfo> {
        let (customer_id, creator) = match viewer(caller)? {
            Viewer::Staff { user_id, .. } => (parse_id("customer_id", &request.customer_id)?, Some(user_id)),
            // Customers open tickets for themselves, whatever they send.
            Viewer::Customer { customer_id, user_id } => (customer_id, user_id),
        };
        let title = text("title", &request.title, 200)?;
        let description = request.description.trim().to_string();
        if description.chars().count() > 20_000 {
            return Err(AppError::invalid_field("description", "at most 20000 characters"));
        }
        let priority = priority(&request.priority)?;
        let email = self.customer_email(caller, customer_id).await?;
        let mut transaction = self.pool.begin().await?;
        let ticket: TicketRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into tickets (id, customer_id, title, description, priority, creator_user_id, customer_email)
             values ($1, $2, $3, $4, $5, $6, $7) returning {TICKET_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(customer_id)
        .bind(&title)
        .bind(&description)
        .bind(&priority)
        .bind(creator.filter(|id| !id.is_nil()))
        .bind(&email)
        .fetch_one(&mut *transaction)
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            "ticket.create",
            "ticket",
            &ticket.id.to_string(),
            json!({ "priority": priority }),
        )
        .await?;
        transaction.commit().await?;
        Ok(ticket.to_info(&[]))
    }

    async fn list(&self, caller: &Caller, request: ListTicketsRequest) -> AppResult<ListTicketsResponse> {
        let viewer = viewer(caller)?;
        let customer = match viewer {
            Viewer::Customer { customer_id, .. } => Some(customer_id),
            Viewer::Staff { .. } => {
                parse_optional_id("customer_id", request.customer_id.as_deref().filter(|id| !id.trim().is_empty()))?
            }
        };
        let status = request.status.as_deref().map(str::trim).filter(|value| !value.is_empty());
        if status.is_some_and(|status| !STATUSES.contains(&status)) {
            return Err(AppError::invalid_field("status", "must be pending, processing, resolved or closed"));
        }
        let wanted_priority = request.priority.as_deref().map(str::trim).filter(|value| !value.is_empty());
        if wanted_priority.is_some_and(|value| !PRIORITIES.contains(&value)) {
            return Err(AppError::invalid_field("priority", "must be low, medium, high or urgent"));
        }
        let assignee = parse_optional_id(
            "assignee_user_id",
            request.assignee_user_id.as_deref().filter(|id| !id.trim().is_empty()),
        )?;
        let (page, page_size) = paging(request.pagination.as_ref());
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(customer) = customer {
                builder.push(" and customer_id = ").push_bind(customer);
            }
            if let Some(status) = status {
                builder.push(" and status = ").push_bind(status.to_string());
            }
            if let Some(value) = wanted_priority {
                builder.push(" and priority = ").push_bind(value.to_string());
            }
            if let Some(assignee) = assignee {
                builder.push(" and assignee_user_id = ").push_bind(assignee);
            }
        };
        let (rows, meta): (Vec<TicketRow>, _) =
            fetch_page(&self.pool, TICKET_COLUMNS, "tickets", filters, "created_at desc, id desc", page, page_size)
                .await?;
        let staff = matches!(viewer, Viewer::Staff { .. });
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let replies: Vec<ReplyRow> = sqlx::query_as(AssertSqlSafe(format!(
            "select {REPLY_COLUMNS} from ticket_replies where ticket_id = any($1) and ($2 or not is_internal)
             order by created_at, id"
        )))
        .bind(&ids)
        .bind(staff)
        .fetch_all(&self.pool)
        .await?;
        let tickets = rows
            .iter()
            .map(|row| {
                let own: Vec<ReplyRow> = replies.iter().filter(|reply| reply.ticket_id == row.id).cloned().collect();
                row.to_info(&own)
            })
            .collect();
        Ok(ListTicketsResponse { tickets, meta: Some(meta) })
    }

    async fn update(&self, caller: &Caller, request: UpdateTicketRequest) -> AppResult<TicketInfo> {
        if !matches!(viewer(caller)?, Viewer::Staff { .. }) {
            return Err(AppError::permission_denied("only staff update tickets"));
        }
        let id = parse_id("id", &request.id)?;
        let status = request.status.as_deref().map(str::trim).filter(|value| !value.is_empty());
        if status.is_some_and(|status| !STATUSES.contains(&status)) {
            return Err(AppError::invalid_field("status", "must be pending, processing, resolved or closed"));
        }
        let new_priority = request.priority.as_deref().map(priority).transpose()?;
        let assignee = match request.assignee_user_id.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(id) => Some(Some(parse_id("assignee_user_id", id)?)),
        };
        let description = request.description.as_deref().map(str::trim);
        if description.is_some_and(|text| text.chars().count() > 20_000) {
            return Err(AppError::invalid_field("description", "at most 20000 characters"));
        }
        let new_email = match assignee {
            Some(Some(user)) => Some(self.staff_email(caller, user).await?),
            _ => None,
        };
        let mut transaction = self.pool.begin().await?;
        let ticket: TicketRow =
            sqlx::query_as(AssertSqlSafe(format!("select {TICKET_COLUMNS} from tickets where id = $1 for update")))
                .bind(id)
                .fetch_optional(&mut *transaction)
                .await?
                .ok_or_else(|| AppError::not_found("ticket not found"))?;
        if let Some(status) = status
            && status != ticket.status
            && !can_move(&ticket.status, status)
        {
            return Err(AppError::invalid_field("status", format!("cannot go from {} to {status}", ticket.status)));
        }
        let updated: TicketRow = sqlx::query_as(AssertSqlSafe(format!(
            "update tickets set status = coalesce($3, status), priority = coalesce($4, priority),
                    assignee_user_id = case when $5 then $6 else assignee_user_id end,
                    description = coalesce($7, description), updated_at = now()
             where customer_id = $1 and id = $2 returning {TICKET_COLUMNS}"
        )))
        .bind(ticket.customer_id)
        .bind(id)
        .bind(status)
        .bind(&new_priority)
        .bind(assignee.is_some())
        .bind(assignee.flatten())
        .bind(description)
        .fetch_one(&mut *transaction)
        .await?;
        if updated.assignee_user_id != ticket.assignee_user_id {
            let mut recipients = Vec::new();
            if let Some(old) = ticket.assignee_user_id
                && let Ok(email) = self.staff_email(caller, old).await
            {
                recipients.push(email);
            }
            recipients.extend(new_email);
            recipients.retain(|email| !email.is_empty());
            publish(
                &mut transaction,
                caller,
                TICKET_ASSIGNED,
                &updated,
                json!({
                    "ticket_id": updated.id,
                    "title": updated.title,
                    "old_assignee_user_id": ticket.assignee_user_id,
                    "new_assignee_user_id": updated.assignee_user_id,
                    "recipients": recipients,
                }),
            )
            .await?;
        }
        oplog::record(
            &mut transaction,
            caller,
            "ticket.update",
            "ticket",
            &id.to_string(),
            json!({ "status": status, "priority": new_priority, "assignee_changed": updated.assignee_user_id != ticket.assignee_user_id }),
        )
        .await?;
        transaction.commit().await?;
        let staff_replies = self.replies(id, true).await?;
        Ok(updated.to_info(&staff_replies))
    }

    async fn reply(&self, caller: &Caller, request: CreateReplyRequest) -> AppResult<TicketReplyInfo> {
        let (ticket, viewer) = self.visible(caller, &request.ticket_id).await?;
        let content = text("content", &request.content, 20_000)?;
        let (author_kind, user_id) = match viewer {
            Viewer::Staff { user_id, .. } => ("admin", Some(user_id).filter(|id| !id.is_nil())),
            Viewer::Customer { user_id, .. } => {
                if request.is_internal {
                    return Err(AppError::permission_denied("customers cannot write internal notes"));
                }
                ("customer", user_id)
            }
        };
        if ticket.status == "closed" {
            return Err(AppError::FailedPrecondition("the ticket is closed".into()));
        }
        let mut transaction = self.pool.begin().await?;
        let reply: ReplyRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into ticket_replies (id, customer_id, ticket_id, user_id, author_kind, content, is_internal)
             values ($1, $2, $3, $4, $5, $6, $7) returning {REPLY_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(ticket.customer_id)
        .bind(ticket.id)
        .bind(user_id)
        .bind(author_kind)
        .bind(&content)
        .bind(request.is_internal)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query("update tickets set updated_at = now() where customer_id = $1 and id = $2")
            .bind(ticket.customer_id)
            .bind(ticket.id)
            .execute(&mut *transaction)
            .await?;
        // A public answer from staff reaches the customer; notes never do.
        if author_kind == "admin" && !request.is_internal {
            let excerpt: String = content.chars().take(500).collect();
            publish(
                &mut transaction,
                caller,
                TICKET_REPLIED,
                &ticket,
                json!({ "ticket_id": ticket.id, "title": ticket.title, "customer_email": ticket.customer_email,
                        "excerpt": excerpt }),
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(reply.to_info())
    }

    async fn delete(&self, caller: &Caller, request: DeleteTicketRequest) -> AppResult<()> {
        match viewer(caller)? {
            Viewer::Staff { admin: true, .. } => {}
            Viewer::Staff { .. } => return Err(AppError::permission_denied("operators may not delete tickets")),
            Viewer::Customer { .. } => return Err(AppError::permission_denied("admin login required")),
        }
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.pool.begin().await?;
        let deleted = sqlx::query("delete from tickets where id = $1").bind(id).execute(&mut *transaction).await?;
        if deleted.rows_affected() == 0 {
            return Err(AppError::not_found("ticket not found"));
        }
        oplog::record(&mut transaction, caller, "ticket.delete", "ticket", &id.to_string(), json!({})).await?;
        transaction.commit().await?;
        Ok(())
    }
}

async fn publish(
    connection: &mut PgConnection,
    caller: &Caller,
    event_type: &str,
    ticket: &TicketRow,
    payload: serde_json::Value,
) -> AppResult<Uuid> {
    bus::publish_for(connection, "notify", caller, event_type, ticket.id, Some(ticket.customer_id), payload).await
}

#[tonic::async_trait]
impl TicketService for Tickets {
    async fn create_ticket(
        &self,
        request: Request<CreateTicketRequest>,
    ) -> Result<Response<CreateTicketResponse>, Status> {
        let caller = principal::caller(&request)?;
        let ticket = self.create(&caller, request.into_inner()).await?;
        Ok(Response::new(CreateTicketResponse { ticket: Some(ticket) }))
    }

    async fn list_tickets(
        &self,
        request: Request<ListTicketsRequest>,
    ) -> Result<Response<ListTicketsResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_ticket(&self, request: Request<GetTicketRequest>) -> Result<Response<GetTicketResponse>, Status> {
        let caller = principal::caller(&request)?;
        let (ticket, viewer) = self.visible(&caller, &request.get_ref().id).await?;
        let replies = self.replies(ticket.id, matches!(viewer, Viewer::Staff { .. })).await?;
        Ok(Response::new(GetTicketResponse { ticket: Some(ticket.to_info(&replies)) }))
    }

    async fn update_ticket(
        &self,
        request: Request<UpdateTicketRequest>,
    ) -> Result<Response<UpdateTicketResponse>, Status> {
        let caller = principal::caller(&request)?;
        let ticket = self.update(&caller, request.into_inner()).await?;
        Ok(Response::new(UpdateTicketResponse { ticket: Some(ticket) }))
    }

    async fn create_reply(
        &self,
        request: Request<CreateReplyRequest>,
    ) -> Result<Response<CreateReplyResponse>, Status> {
        let caller = principal::caller(&request)?;
        let reply = self.reply(&caller, request.into_inner()).await?;
        Ok(Response::new(CreateReplyResponse { reply: Some(reply) }))
    }

    async fn delete_ticket(
        &self,
        request: Request<DeleteTicketRequest>,
    ) -> Result<Response<DeleteTicketResponse>, Status> {
        let caller = principal::caller(&request)?;
        self.delete(&caller, request.into_inner()).await?;
        Ok(Response::new(DeleteTicketResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::can_move;

    #[test]
    fn tickets_move_forward_and_reopen_from_resolved_only() {
        assert!(can_move("pending", "processing"));
        assert!(can_move("processing", "resolved"));
        assert!(can_move("resolved", "closed"));
        assert!(can_move("resolved", "processing"));
        assert!(!can_move("closed", "pending"));
        assert!(!can_move("pending", "resolved"));
        assert!(!can_move("closed", "processing"));
    }
}
