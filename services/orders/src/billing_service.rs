//! `rustbill.billing.BillingService`: invoices (manual, renewal and
//! generated), their states, the billing run and printable documents.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rustbill_proto::billing::billing_service_server::BillingService;
use rustbill_proto::billing::*;
use rustbill_shared::ids::{parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_page, paging};
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult, Money, oplog};
use serde_json::json;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::billing;
use crate::events;
use crate::invoices::{self, INVOICE_COLUMNS, InvoiceRow};
use crate::order_service::scope;
use crate::store::{ORDER_COLUMNS, OrderRow};

/// Most items on one manual invoice.
const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone)]
pub struct Billing {
    state: State,
}

impl Billing {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

/// A date as `YYYY-MM-DD` (an RFC 3339 time gives its UTC date).
fn date(field: &str, text: &str) -> AppResult<NaiveDate> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid_field(field, "required (YYYY-MM-DD)"));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc).date_naive()))
        .map_err(|_| AppError::invalid_field(field, "not a date (YYYY-MM-DD)"))
}

/// An optional client amount that must equal what the server computed.
fn check_amount(field: &str, given: &str, computed: Decimal) -> AppResult<()> {
    if given.trim().is_empty() {
        return Ok(());
    }
    let given = Money::parse_field(field, given.trim())?.as_decimal();
    if given != computed {
        return Err(AppError::invalid_field(
            field,
            format!("does not add up: it is {}", Money::from_decimal(computed)),
        ));
    }
    Ok(())
}

impl Billing {
    async fn visible(&self, caller: &Caller, id: &str) -> AppResult<InvoiceRow> {
        let customer = scope(caller)?;
        let id = parse_id("id", id)?;
        let invoice = invoices::find(&self.state.pool, id).await?;
        // Customers see their own invoices once issued; drafts are the
        // operator's work in progress.
        if customer.is_some_and(|customer| customer != invoice.customer_id || invoice.status == invoices::DRAFT) {
            return Err(AppError::not_found("invoice not found"));
        }
        Ok(invoice)
    }

    async fn info(&self, invoice: &InvoiceRow) -> AppResult<InvoiceInfo> {
        let mut connection = self.state.pool.acquire().await?;
        let items = invoices::items(&mut connection, invoice.id).await?;
        Ok(invoice.to_info(&items))
    }

    async fn create(&self, caller: &Caller, request: CreateInvoiceRequest) -> AppResult<InvoiceInfo> {
        caller.principal.require_admin_only()?;
        let customer_id = parse_id("customer_id", &request.customer_id)?;
        let start = date("billing_period_start", &request.billing_period_start)?;
        let end = date("billing_period_end", &request.billing_period_end)?;
        if end < start {
            return Err(AppError::invalid_field("billing_period_end", "before the period start"));
        }
        let due = date("due_date", &request.due_date)?;
        let notes = request.notes.trim();
        if notes.chars().count() > 2000 {
            return Err(AppError::invalid_field("notes", "at most 2000 characters"));
        }
        if request.items.is_empty() || request.items.len() > MAX_ITEMS {
            return Err(AppError::invalid_field("items", format!("1 to {MAX_ITEMS} items")));
        }
        let mut lines = Vec::with_capacity(request.items.len());
        for (index, item) in request.items.iter().enumerate() {
            let field = |name: &str| format!("items[{index}].{name}");
            let description = item.description.trim();
            if description.is_empty() || description.chars().count() > 500 {
                return Err(AppError::invalid_field(field("description"), "1 to 500 characters"));
            }
            if item.quantity == 0 || item.quantity > 100_000 {
                return Err(AppError::invalid_field(field("quantity"), "1 to 100000"));
            }
            let unit_price = Money::parse_field(&field("unit_price"), item.unit_price.trim())?.as_decimal();
            if unit_price.is_sign_negative() {
                return Err(AppError::invalid_field(field("unit_price"), "must not be negative"));
            }
            let amount = unit_price * Decimal::from(item.quantity);
            check_amount(&field("amount"), &item.amount, amount)?;
            lines.push((description.to_string(), item.quantity, unit_price, amount));
        }
        let net: Decimal = lines.iter().map(|line| line.3).sum();
        let (tax_region, rate) = invoices::tax_rate(&self.state.config.billing, "default");
        let totals = invoices::totals(&self.state.config.billing, net, rate);
        check_amount("amount", &request.amount, totals.amount)?;
        check_amount("tax_amount", &request.tax_amount, totals.tax_amount)?;
        check_amount("total_amount", &request.total_amount, totals.total_amount)?;
        if totals.total_amount > Decimal::new(99_999_999_999, 2) {
            return Err(AppError::invalid_field("items", "the total is too large"));
        }
        let customer = self.state.clients.customer(caller, customer_id).await.map_err(|error| match error {
            AppError::NotFound(_) => AppError::not_found("customer_id: no such customer"),
            other => other,
        })?;

        let id = Uuid::now_v7();
        let mut transaction = self.state.pool.begin().await?;
        sqlx::query(
            "insert into invoices (id, customer_id, kind, status, billing_period_start, billing_period_end, amount,
                                   tax_amount, total_amount, tax_rate, tax_region, currency, due_date, notes, customer_email)
             values ($1, $2, 'manual', 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(customer_id)
        .bind(start)
        .bind(end)
        .bind(totals.amount)
        .bind(totals.tax_amount)
        .bind(totals.total_amount)
        .bind(totals.tax_rate)
        .bind(&tax_region)
        .bind(&self.state.config.payments.currency)
        .bind(due)
        .bind(notes)
        .bind(&customer.email)
        .execute(&mut *transaction)
        .await?;
        for (position, (description, quantity, unit_price, amount)) in lines.iter().enumerate() {
            sqlx::query(
                "insert into invoice_items (id, customer_id, invoice_id, position, description, quantity, unit_price, amount)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(customer_id)
            .bind(id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(description)
            .bind(i32::try_from(*quantity).unwrap_or(i32::MAX))
            .bind(unit_price)
            .bind(amount)
            .execute(&mut *transaction)
            .await?;
        }
        oplog::record(
            &mut transaction,
            caller,
            "invoice.create",
            "invoice",
            &id.to_string(),
            json!({ "customer_id": customer_id, "total_amount": Money::from_decimal(totals.total_amount).to_string() }),
        )
        .await?;
        transaction.commit().await?;
        let invoice = invoices::find(&self.state.pool, id).await?;
        self.info(&invoice).await
    }

    async fn list(&self, caller: &Caller, request: ListInvoicesRequest) -> AppResult<ListInvoicesResponse> {
        let own = scope(caller)?;
        let customer = match own {
            Some(own) => Some(own),
            None => {
                parse_optional_id("customer_id", request.customer_id.as_deref().filter(|id| !id.trim().is_empty()))?
            }
        };
        let status = request.status.as_deref().map(str::trim).filter(|status| !status.is_empty());
        if let Some(status) = status
            && !invoices::STATUSES.contains(&status)
        {
            return Err(AppError::invalid_field("status", "must be draft, issued, paid, overdue or cancelled"));
        }
        let (page, page_size) = paging(request.pagination.as_ref());
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(customer) = customer {
                builder.push(" and customer_id = ").push_bind(customer);
            }
            if own.is_some() {
                builder.push(" and status <> 'draft'");
            }
            if let Some(status) = status {
                builder.push(" and status = ").push_bind(status.to_string());
            }
        };
        let (rows, meta): (Vec<InvoiceRow>, _) = fetch_page(
            &self.state.pool,
            INVOICE_COLUMNS,
            "invoices",
            filters,
            "created_at desc, id desc",
            page,
            page_size,
        )
        .await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let items: Vec<invoices::ItemRow> = sqlx::query_as(AssertSqlSafe(format!(
            "select {} from invoice_items where invoice_id = any($1) order by invoice_id, position",
            invoices::ITEM_COLUMNS
        )))
        .bind(&ids)
        .fetch_all(&self.state.pool)
        .await?;
        let invoices = rows
            .iter()
            .map(|row| {
                let own: Vec<invoices::ItemRow> =
                    items.iter().filter(|item| item.invoice_id == row.id).cloned().collect();
                row.to_info(&own)
            })
            .collect();
        Ok(ListInvoicesResponse { invoices, meta: Some(meta) })
    }

    async fn update(&self, caller: &Caller, request: UpdateInvoiceRequest) -> AppResult<InvoiceInfo> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let target = request.status.as_deref().map(str::trim).filter(|status| !status.is_empty());
        if target.is_some() {
            caller.principal.require_admin_only()?;
        }
        if let Some(target) = target
            && !invoices::STATUSES.contains(&target)
        {
            return Err(AppError::invalid_field("status", "must be draft, issued, paid, overdue or cancelled"));
        }
        let notes = request.notes.as_deref().map(str::trim);
        if notes.is_some_and(|notes| notes.chars().count() > 2000) {
            return Err(AppError::invalid_field("notes", "at most 2000 characters"));
        }
        let mut transaction = self.state.pool.begin().await?;
        let invoice =
            invoices::lock(&mut transaction, id).await?.ok_or_else(|| AppError::not_found("invoice not found"))?;
        let mut resumed = Vec::new();
        if let Some(target) = target
            && target != invoice.status
        {
            if !invoices::can_move(&invoice.status, target) {
                return Err(AppError::invalid_field(
                    "status",
                    format!("cannot go from {} to {target}", invoice.status),
                ));
            }
            match target {
                invoices::ISSUED => {
                    let issued = invoices::issue(&mut transaction, &self.state.config.billing, id, Utc::now()).await?;
                    events::publish(
                        &mut transaction,
                        caller,
                        events::INVOICE_ISSUED,
                        id,
                        issued.customer_id,
                        issued.notice(),
                    )
                    .await?;
                }
                // Money received outside any gateway, confirmed by hand.
                invoices::PAID => resumed = billing::settle(&mut transaction, caller, &invoice, None).await?,
                invoices::OVERDUE => {
                    let overdue: InvoiceRow = sqlx::query_as(AssertSqlSafe(format!(
                        "update invoices set status = 'overdue', overdue_at = now(), updated_at = now()
                         where customer_id = $1 and id = $2 returning {INVOICE_COLUMNS}"
                    )))
                    .bind(invoice.customer_id)
                    .bind(id)
                    .fetch_one(&mut *transaction)
                    .await?;
                    events::publish(
                        &mut transaction,
                        caller,
                        events::BILLING_OVERDUE,
                        id,
                        overdue.customer_id,
                        overdue.notice(),
                    )
                    .await?;
                }
                _ => {
                    sqlx::query(
                        "update invoices set status = 'cancelled', updated_at = now() where customer_id = $1 and id = $2",
                    )
                    .bind(invoice.customer_id)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await?;
                }
            }
        }
        if let Some(notes) = notes {
            sqlx::query("update invoices set notes = $3, updated_at = now() where customer_id = $1 and id = $2")
                .bind(invoice.customer_id)
                .bind(id)
                .bind(notes)
                .execute(&mut *transaction)
                .await?;
        }
        oplog::record(
            &mut transaction,
            caller,
            "invoice.update",
            "invoice",
            &id.to_string(),
            json!({ "status": target, "notes": notes.is_some() }),
        )
        .await?;
        transaction.commit().await?;
        for instance in resumed {
            billing::power(&self.state, &instance, &["unsuspend", "start"]).await;
        }
        let invoice = invoices::find(&self.state.pool, id).await?;
        self.info(&invoice).await
    }

    async fn delete(&self, caller: &Caller, request: DeleteInvoiceRequest) -> AppResult<()> {
        caller.principal.require_admin_only()?;
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.state.pool.begin().await?;
        let invoice =
            invoices::lock(&mut transaction, id).await?.ok_or_else(|| AppError::not_found("invoice not found"))?;
        if invoice.status != invoices::DRAFT {
            return Err(AppError::FailedPrecondition(format!(
                "only drafts can be deleted (this invoice is {}); cancel it instead",
                invoice.status
            )));
        }
        sqlx::query("delete from invoices where customer_id = $1 and id = $2")
            .bind(invoice.customer_id)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        oplog::record(&mut transaction, caller, "invoice.delete", "invoice", &id.to_string(), json!({})).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// One invoice per customer with the renewals falling in the period
    /// (service periods ending in it that are not billed yet). Running it
    /// again creates nothing new: a period is billed once.
    async fn generate(&self, caller: &Caller, request: GenerateInvoicesRequest) -> AppResult<u32> {
        caller.principal.require_admin_only()?;
        let start = date("billing_period_start", &request.billing_period_start)?;
        let end = date("billing_period_end", &request.billing_period_end)?;
        if end < start {
            return Err(AppError::invalid_field("billing_period_end", "before the period start"));
        }
        if (end - start).num_days() > 366 {
            return Err(AppError::invalid_field("billing_period_end", "a period is at most a year"));
        }
        let customers: Vec<Uuid> = sqlx::query_scalar(
            "select distinct o.customer_id from orders o
             where o.status = 'active' and o.billing_cycle <> 'one_time'
               and o.period_end >= $1::date and o.period_end < $2::date + 1
               and not exists (select 1 from invoice_items i
                               where i.customer_id = o.customer_id and i.order_id = o.id and i.period_start = o.period_end)",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&self.state.pool)
        .await?;
        let mut generated = 0;
        let now = Utc::now();
        for customer in customers {
            let mut transaction = self.state.pool.begin().await?;
            // The customer's orders, locked in id order (two generations at
            // once queue here instead of billing a period twice).
            let orders: Vec<OrderRow> = sqlx::query_as(AssertSqlSafe(format!(
                "select {ORDER_COLUMNS} from orders
                 where customer_id = $1 and status = 'active' and billing_cycle <> 'one_time'
                   and period_end >= $2::date and period_end < $3::date + 1
                 order by id for update"
            )))
            .bind(customer)
            .bind(start)
            .bind(end)
            .fetch_all(&mut *transaction)
            .await?;
            let invoice = billing::invoice_renewals(
                &mut transaction,
                &self.state,
                caller,
                &orders,
                "generated",
                Some((start, end)),
                now,
            )
            .await?;
            transaction.commit().await?;
            if invoice.is_some() {
                generated += 1;
            }
        }
        let mut connection = self.state.pool.acquire().await?;
        oplog::record(
            &mut connection,
            caller,
            "invoice.generate",
            "invoice",
            "",
            json!({ "billing_period_start": start.to_string(), "billing_period_end": end.to_string(), "generated": generated }),
        )
        .await?;
        Ok(generated)
    }

    async fn render(&self, caller: &Caller, request: RenderInvoiceRequest) -> AppResult<RenderInvoiceResponse> {
        let invoice = self.visible(caller, &request.id).await?;
        let mut connection = self.state.pool.acquire().await?;
        let items = invoices::items(&mut connection, invoice.id).await?;
        let english = request.locale.trim().to_ascii_lowercase().starts_with("en");
        let html = crate::document::render(&invoice, &items, english);
        let name = invoice.invoice_number.clone().unwrap_or_else(|| format!("draft-{}", invoice.id));
        Ok(RenderInvoiceResponse { html, filename: format!("{name}.html") })
    }
}

#[tonic::async_trait]
impl BillingService for Billing {
    async fn create_invoice(
        &self,
        request: Request<CreateInvoiceRequest>,
    ) -> Result<Response<CreateInvoiceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let invoice = self.create(&caller, request.into_inner()).await?;
        Ok(Response::new(CreateInvoiceResponse { invoice: Some(invoice) }))
    }

    async fn list_invoices(
        &self,
        request: Request<ListInvoicesRequest>,
    ) -> Result<Response<ListInvoicesResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_invoice(&self, request: Request<GetInvoiceRequest>) -> Result<Response<GetInvoiceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let invoice = self.visible(&caller, &request.get_ref().id).await?;
        Ok(Response::new(GetInvoiceResponse { invoice: Some(self.info(&invoice).await?) }))
    }

    async fn update_invoice(
        &self,
        request: Request<UpdateInvoiceRequest>,
    ) -> Result<Response<UpdateInvoiceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let invoice = self.update(&caller, request.into_inner()).await?;
        Ok(Response::new(UpdateInvoiceResponse { invoice: Some(invoice) }))
    }

    async fn delete_invoice(
        &self,
        request: Request<DeleteInvoiceRequest>,
    ) -> Result<Response<DeleteInvoiceResponse>, Status> {
        let caller = principal::caller(&request)?;
        self.delete(&caller, request.into_inner()).await?;
        Ok(Response::new(DeleteInvoiceResponse {}))
    }

    async fn generate_invoices(
        &self,
        request: Request<GenerateInvoicesRequest>,
    ) -> Result<Response<GenerateInvoicesResponse>, Status> {
        let caller = principal::caller(&request)?;
        let generated_count = self.generate(&caller, request.into_inner()).await?;
        Ok(Response::new(GenerateInvoicesResponse { generated_count }))
    }

    async fn run_billing(&self, request: Request<RunBillingRequest>) -> Result<Response<RunBillingResponse>, Status> {
        let caller = principal::caller(&request)?;
        caller.principal.require_admin_only()?;
        let as_of = match request.get_ref().as_of.trim() {
            "" => Utc::now(),
            text => rustbill_shared::ids::parse_time("as_of", text)?,
        };
        let report = billing::run(&self.state, as_of).await?;
        Ok(Response::new(RunBillingResponse {
            renewals_issued: report.renewals_issued,
            paid_from_balance: report.paid_from_balance,
            overdue: report.overdue,
            suspended: report.suspended,
            terminated: report.terminated,
        }))
    }

    async fn render_invoice(
        &self,
        request: Request<RenderInvoiceRequest>,
    ) -> Result<Response<RenderInvoiceResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.render(&caller, request.into_inner()).await?))
    }
}
