//! Coupons: `rustbill.billing.CouponService` and redemption.
//!
//! A coupon is redeemed in the transaction that inserts the order, under
//! the coupon's row lock: the global and per-customer limits are checked
//! and counted by one transaction at a time, so concurrent orders cannot
//! take a coupon past its limits. The order keeps the coupon's terms as
//! they were (kind, value, renewal periods left); renewal invoices apply
//! them while periods are left (`billing::invoice_renewals`). An order
//! withdrawn unpaid gives its use back ([`release`]).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::billing::coupon_service_server::CouponService;
use rustbill_proto::billing::*;
use rustbill_shared::ids::{format_optional_time, format_time, parse_id};
use rustbill_shared::paging::{fetch_page, like_pattern, paging};
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult, Money, oplog};
use serde_json::json;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, QueryBuilder};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::order_service::scope;
use crate::pricing;

const COLUMNS: &str = "id, code, description, kind, value, duration, duration_periods, product_ids, group_ids, \
                       max_redemptions, max_per_customer, redemptions, starts_at, expires_at, is_active, created_at, \
                       updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CouponRow {
    pub id: Uuid,
    pub code: String,
    pub description: String,
    pub kind: String,
    pub value: Decimal,
    pub duration: String,
    pub duration_periods: Option<i32>,
    pub product_ids: Vec<Uuid>,
    pub group_ids: Vec<Uuid>,
    pub max_redemptions: Option<i32>,
    pub max_per_customer: Option<i32>,
    pub redemptions: i32,
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn count(value: Option<i32>) -> u32 {
    value.and_then(|value| u32::try_from(value).ok()).unwrap_or(0)
}

impl CouponRow {
    fn to_info(&self) -> CouponInfo {
        CouponInfo {
            id: self.id.to_string(),
            code: self.code.clone(),
            description: self.description.clone(),
            kind: self.kind.clone(),
            value: Money::from_decimal(self.value).to_string(),
            duration: self.duration.clone(),
            duration_periods: count(self.duration_periods),
            product_ids: self.product_ids.iter().map(Uuid::to_string).collect(),
            group_ids: self.group_ids.iter().map(Uuid::to_string).collect(),
            max_redemptions: count(self.max_redemptions),
            max_per_customer: count(self.max_per_customer),
            redemptions: count(Some(self.redemptions)),
            starts_at: format_optional_time(self.starts_at),
            expires_at: format_optional_time(self.expires_at),
            is_active: self.is_active,
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
        }
    }

    /// Renewal periods discounted after the first; `None` for every one.
    fn renewal_periods(&self) -> Option<i32> {
        match self.duration.as_str() {
            "once" => Some(0),
            "repeating" => Some(self.duration_periods.unwrap_or(1).saturating_sub(1).max(0)),
            _ => None,
        }
    }

    /// Why the coupon does not apply to this product now, if it does not.
    fn refusal(&self, product_id: Uuid, group_id: Option<Uuid>, now: DateTime<Utc>) -> Option<&'static str> {
        if !self.is_active {
            return Some("the coupon is no longer valid");
        }
        if self.starts_at.is_some_and(|starts| now < starts) {
            return Some("the coupon is not valid yet");
        }
        if self.expires_at.is_some_and(|expires| now >= expires) {
            return Some("the coupon has expired");
        }
        let everything = self.product_ids.is_empty() && self.group_ids.is_empty();
        let listed =
            self.product_ids.contains(&product_id) || group_id.is_some_and(|group| self.group_ids.contains(&group));
        if !everything && !listed {
            return Some("the coupon does not apply to this product");
        }
        if self.max_redemptions.is_some_and(|max| self.redemptions >= max) {
            return Some("the coupon has been used up");
        }
        None
    }
}

/// The discount of a coupon of `kind` and `value` on `price`: a percentage
/// rounded half-up to the cent, or a fixed amount, never more than the
/// price.
pub fn discount(kind: &str, value: Decimal, price: Decimal) -> Decimal {
    let raw = match kind {
        "percent" => price * value / Decimal::ONE_HUNDRED,
        _ => value,
    };
    Money::from_decimal(raw.min(price).max(Decimal::ZERO)).as_decimal()
}

/// A coupon redeemed for an order: what the order stores.
#[derive(Debug, Clone)]
pub struct Redemption {
    pub coupon_id: Uuid,
    pub code: String,
    pub kind: String,
    pub value: Decimal,
    pub discount: Decimal,
    pub renewal_periods: Option<i32>,
}

/// A code as customers type it: trimmed, upper case, 3 to 32 of A–Z, 0–9,
/// '-' and '_'.
pub fn normalise_code(field: &str, code: &str) -> AppResult<String> {
    let code = code.trim().to_ascii_uppercase();
    let valid = (3..=32).contains(&code.len())
        && code.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !valid {
        return Err(AppError::invalid_field(field, "3 to 32 letters, digits, '-' or '_'"));
    }
    Ok(code)
}

/// How many orders of `customer` redeemed `coupon`.
async fn times_used(connection: &mut PgConnection, coupon: Uuid, customer: Uuid) -> AppResult<i64> {
    Ok(sqlx::query_scalar("select count(*) from coupon_redemptions where coupon_id = $1 and customer_id = $2")
        .bind(coupon)
        .bind(customer)
        .fetch_one(connection)
        .await?)
}

/// Redeems `code` for `order_id` in the caller's transaction (which then
/// inserts the order). Every refusal is InvalidArgument on `coupon_code`
/// and changes nothing.
pub async fn redeem(
    connection: &mut PgConnection,
    code: &str,
    customer_id: Uuid,
    product_id: Uuid,
    group_id: Option<Uuid>,
    price: Decimal,
    order_id: Uuid,
) -> AppResult<Redemption> {
    let code = normalise_code("coupon_code", code)?;
    let coupon: Option<CouponRow> =
        sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS} from coupons where code = $1 for update")))
            .bind(&code)
            .fetch_optional(&mut *connection)
            .await?;
    let Some(coupon) = coupon else {
        return Err(AppError::invalid_field("coupon_code", "no such coupon"));
    };
    if let Some(reason) = coupon.refusal(product_id, group_id, Utc::now()) {
        return Err(AppError::invalid_field("coupon_code", reason));
    }
    if let Some(max) = coupon.max_per_customer {
        if times_used(&mut *connection, coupon.id, customer_id).await? >= i64::from(max) {
            return Err(AppError::invalid_field("coupon_code", "you have already used this coupon"));
        }
    }
    let off = discount(&coupon.kind, coupon.value, price);
    if off >= price {
        return Err(AppError::invalid_field(
            "coupon_code",
            "the coupon would make the order free; free orders are not supported",
        ));
    }
    sqlx::query("update coupons set redemptions = redemptions + 1, updated_at = now() where id = $1")
        .bind(coupon.id)
        .execute(&mut *connection)
        .await?;
    sqlx::query("insert into coupon_redemptions (id, coupon_id, customer_id, order_id) values ($1, $2, $3, $4)")
        .bind(Uuid::now_v7())
        .bind(coupon.id)
        .bind(customer_id)
        .bind(order_id)
        .execute(&mut *connection)
        .await?;
    Ok(Redemption {
        coupon_id: coupon.id,
        renewal_periods: coupon.renewal_periods(),
        code: coupon.code,
        kind: coupon.kind,
        value: coupon.value,
        discount: off,
    })
}

/// Gives back the use of a coupon by an order withdrawn before it was paid
/// (in the transaction that withdraws it). Nothing when it used none.
pub async fn release(connection: &mut PgConnection, order_id: Uuid) -> AppResult<()> {
    let coupon: Option<Uuid> =
        sqlx::query_scalar("delete from coupon_redemptions where order_id = $1 returning coupon_id")
            .bind(order_id)
            .fetch_optional(&mut *connection)
            .await?;
    if let Some(coupon) = coupon {
        sqlx::query("update coupons set redemptions = greatest(redemptions - 1, 0), updated_at = now() where id = $1")
            .bind(coupon)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn optional_time(field: &str, text: &str) -> AppResult<Option<DateTime<Utc>>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|_| AppError::invalid_field(field, "an RFC 3339 time, e.g. 2027-01-31T00:00:00Z"))
}

fn limit(value: u32) -> AppResult<Option<i32>> {
    if value == 0 {
        return Ok(None);
    }
    i32::try_from(value).map(Some).map_err(|_| AppError::invalid("limit out of range"))
}

fn ids(field: &str, values: &[String]) -> AppResult<Vec<Uuid>> {
    let mut parsed: Vec<Uuid> = values.iter().map(|value| parse_id(field, value)).collect::<AppResult<_>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

#[derive(Debug, Clone)]
pub struct Coupons {
    state: State,
}

impl Coupons {
    pub fn new(state: State) -> Self {
        Self { state }
    }

    async fn find(&self, id: Uuid) -> AppResult<CouponRow> {
        sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS} from coupons where id = $1")))
            .bind(id)
            .fetch_optional(&self.state.pool)
            .await?
            .ok_or_else(|| AppError::not_found("coupon not found"))
    }

    async fn create(&self, caller: &Caller, request: CreateCouponRequest) -> AppResult<CouponInfo> {
        caller.principal.require_admin_only()?;
        let code = normalise_code("code", &request.code)?;
        let description = request.description.trim().to_string();
        if description.chars().count() > 500 {
            return Err(AppError::invalid_field("description", "at most 500 characters"));
        }
        let kind = request.kind.trim();
        if !matches!(kind, "percent" | "fixed") {
            return Err(AppError::invalid_field("kind", "\"percent\" or \"fixed\""));
        }
        let value = Money::parse_field("value", request.value.trim())?.as_decimal();
        if value <= Decimal::ZERO {
            return Err(AppError::invalid_field("value", "must be more than 0"));
        }
        if kind == "percent" && value >= Decimal::ONE_HUNDRED {
            return Err(AppError::invalid_field("value", "a percentage below 100 (free orders are not supported)"));
        }
        let duration = request.duration.trim();
        let periods = match duration {
            "once" | "forever" if request.duration_periods == 0 => None,
            "once" | "forever" => {
                return Err(AppError::invalid_field("duration_periods", "only for duration \"repeating\""));
            }
            "repeating" if (1..=120).contains(&request.duration_periods) => {
                Some(i32::try_from(request.duration_periods).unwrap_or(1))
            }
            "repeating" => return Err(AppError::invalid_field("duration_periods", "1 to 120 periods")),
            _ => return Err(AppError::invalid_field("duration", "\"once\", \"repeating\" or \"forever\"")),
        };
        let products = ids("product_ids", &request.product_ids)?;
        let groups = ids("group_ids", &request.group_ids)?;
        let starts_at = optional_time("starts_at", &request.starts_at)?;
        let expires_at = optional_time("expires_at", &request.expires_at)?;
        if let (Some(starts), Some(expires)) = (starts_at, expires_at)
            && expires <= starts
        {
            return Err(AppError::invalid_field("expires_at", "must be after starts_at"));
        }
        let mut transaction = self.state.pool.begin().await?;
        let inserted: Result<CouponRow, sqlx::Error> = sqlx::query_as(AssertSqlSafe(format!(
            "insert into coupons (id, code, description, kind, value, duration, duration_periods, product_ids,
                                  group_ids, max_redemptions, max_per_customer, starts_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning {COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(&code)
        .bind(&description)
        .bind(kind)
        .bind(value)
        .bind(duration)
        .bind(periods)
        .bind(&products)
        .bind(&groups)
        .bind(limit(request.max_redemptions)?)
        .bind(limit(request.max_per_customer)?)
        .bind(starts_at)
        .bind(expires_at)
        .fetch_one(&mut *transaction)
        .await;
        let coupon = match inserted {
            Ok(coupon) => coupon,
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("23505") => {
                return Err(AppError::AlreadyExists(format!("a coupon with code {code} exists")));
            }
            Err(error) => return Err(error.into()),
        };
        oplog::record(
            &mut transaction,
            caller,
            "coupon.create",
            "coupon",
            &coupon.id.to_string(),
            json!({ "code": code }),
        )
        .await?;
        transaction.commit().await?;
        Ok(coupon.to_info())
    }

    async fn list(&self, caller: &Caller, request: ListCouponsRequest) -> AppResult<ListCouponsResponse> {
        caller.principal.require_admin()?;
        let search = request.search.as_deref().map(str::trim).filter(|search| !search.is_empty());
        if search.is_some_and(|search| search.chars().count() > 100) {
            return Err(AppError::invalid_field("search", "at most 100 characters"));
        }
        let (page, page_size) = paging(request.pagination.as_ref());
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(active) = request.is_active {
                builder.push(" and is_active = ").push_bind(active);
            }
            if let Some(search) = search {
                let pattern = like_pattern(search);
                builder.push(" and (code ilike ").push_bind(pattern.clone());
                builder.push(" or description ilike ").push_bind(pattern).push(")");
            }
        };
        let (rows, meta): (Vec<CouponRow>, _) =
            fetch_page(&self.state.pool, COLUMNS, "coupons", filters, "created_at desc, id desc", page, page_size)
                .await?;
        Ok(ListCouponsResponse { coupons: rows.iter().map(CouponRow::to_info).collect(), meta: Some(meta) })
    }

    async fn update(&self, caller: &Caller, request: UpdateCouponRequest) -> AppResult<CouponInfo> {
        caller.principal.require_admin_only()?;
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.state.pool.begin().await?;
        let current: Option<CouponRow> =
            sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS} from coupons where id = $1 for update")))
                .bind(id)
                .fetch_optional(&mut *transaction)
                .await?;
        let Some(current) = current else {
            return Err(AppError::not_found("coupon not found"));
        };
        let description = match request.description.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > 500 => {
                return Err(AppError::invalid_field("description", "at most 500 characters"));
            }
            Some(text) => text.to_string(),
            None => current.description.clone(),
        };
        let max_redemptions = match request.max_redemptions {
            Some(value) => limit(value)?,
            None => current.max_redemptions,
        };
        if max_redemptions.is_some_and(|max| max < current.redemptions) {
            return Err(AppError::invalid_field(
                "max_redemptions",
                format!("already redeemed {} times", current.redemptions),
            ));
        }
        let max_per_customer = match request.max_per_customer {
            Some(value) => limit(value)?,
            None => current.max_per_customer,
        };
        let starts_at = match request.starts_at.as_deref() {
            Some(text) => optional_time("starts_at", text)?,
            None => current.starts_at,
        };
        let expires_at = match request.expires_at.as_deref() {
            Some(text) => optional_time("expires_at", text)?,
            None => current.expires_at,
        };
        if let (Some(starts), Some(expires)) = (starts_at, expires_at)
            && expires <= starts
        {
            return Err(AppError::invalid_field("expires_at", "must be after starts_at"));
        }
        let updated: CouponRow = sqlx::query_as(AssertSqlSafe(format!(
            "update coupons set description = $2, max_redemptions = $3, max_per_customer = $4, starts_at = $5,
                    expires_at = $6, is_active = $7, updated_at = now()
             where id = $1 returning {COLUMNS}"
        )))
        .bind(id)
        .bind(&description)
        .bind(max_redemptions)
        .bind(max_per_customer)
        .bind(starts_at)
        .bind(expires_at)
        .bind(request.is_active.unwrap_or(current.is_active))
        .fetch_one(&mut *transaction)
        .await?;
        oplog::record(&mut transaction, caller, "coupon.update", "coupon", &id.to_string(), json!({})).await?;
        transaction.commit().await?;
        Ok(updated.to_info())
    }

    async fn delete(&self, caller: &Caller, request: DeleteCouponRequest) -> AppResult<()> {
        caller.principal.require_admin_only()?;
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.state.pool.begin().await?;
        let redemptions: Option<i32> = sqlx::query_scalar("select redemptions from coupons where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        match redemptions {
            None => return Err(AppError::not_found("coupon not found")),
            Some(used) if used > 0 => {
                return Err(AppError::FailedPrecondition(
                    "the coupon has been redeemed; deactivate it instead (is_active = false)".into(),
                ));
            }
            Some(_) => {}
        }
        sqlx::query("delete from coupons where id = $1").bind(id).execute(&mut *transaction).await?;
        oplog::record(&mut transaction, caller, "coupon.delete", "coupon", &id.to_string(), json!({})).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn preview(&self, caller: &Caller, request: PreviewCouponRequest) -> AppResult<PreviewCouponResponse> {
        let customer_id = match scope(caller)? {
            Some(customer) => Some(customer),
            None => rustbill_shared::ids::parse_optional_id(
                "customer_id",
                Some(request.customer_id.trim()).filter(|id| !id.is_empty()),
            )?,
        };
        let code = normalise_code("code", &request.code)?;
        let product_id = parse_id("product_id", &request.product_id)?;
        let cycle = match request.billing_cycle.trim() {
            "" => "monthly".to_string(),
            cycle => cycle.to_string(),
        };
        let product = self.state.clients.product(caller, product_id).await?;
        if !product.is_active {
            return Err(AppError::invalid_field("product_id", "the product is not on sale"));
        }
        let provider = Uuid::parse_str(&product.interface_id)
            .map_err(|_| AppError::FailedPrecondition("the product has no provider; ask the operator".into()))?;
        let price = match &request.server_spec {
            Some(spec) => {
                let template = self.state.clients.spec_template(caller, provider).await?;
                pricing::price(&product, &template, spec, &cycle)?.amount
            }
            None => pricing::base_price(&product, &cycle)?,
        };
        let coupon: Option<CouponRow> =
            sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS} from coupons where code = $1")))
                .bind(&code)
                .fetch_optional(&self.state.pool)
                .await?;
        let Some(coupon) = coupon else {
            return Err(AppError::invalid_field("code", "no such coupon"));
        };
        let group = Uuid::parse_str(&product.group_id).ok();
        if let Some(reason) = coupon.refusal(product_id, group, Utc::now()) {
            return Err(AppError::invalid_field("code", reason));
        }
        if let (Some(max), Some(customer)) = (coupon.max_per_customer, customer_id) {
            let mut connection = self.state.pool.acquire().await?;
            if times_used(&mut connection, coupon.id, customer).await? >= i64::from(max) {
                return Err(AppError::invalid_field("code", "you have already used this coupon"));
            }
        }
        let off = discount(&coupon.kind, coupon.value, price);
        if off >= price {
            return Err(AppError::invalid_field("code", "the coupon would make the order free"));
        }
        let mut info = coupon.to_info();
        if scope(caller)?.is_some() {
            // Customers see the terms, not the shop's bookkeeping.
            info.redemptions = 0;
            info.max_redemptions = 0;
            info.max_per_customer = 0;
        }
        Ok(PreviewCouponResponse {
            coupon: Some(info),
            list_amount: Money::from_decimal(price).to_string(),
            discount_amount: Money::from_decimal(off).to_string(),
            amount: Money::from_decimal(price - off).to_string(),
        })
    }
}

#[tonic::async_trait]
impl CouponService for Coupons {
    async fn create_coupon(
        &self,
        request: Request<CreateCouponRequest>,
    ) -> Result<Response<CreateCouponResponse>, Status> {
        let caller = principal::caller(&request)?;
        let coupon = self.create(&caller, request.into_inner()).await?;
        Ok(Response::new(CreateCouponResponse { coupon: Some(coupon) }))
    }

    async fn list_coupons(
        &self,
        request: Request<ListCouponsRequest>,
    ) -> Result<Response<ListCouponsResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_coupon(&self, request: Request<GetCouponRequest>) -> Result<Response<GetCouponResponse>, Status> {
        let caller = principal::caller(&request)?;
        caller.principal.require_admin().map_err(Status::from)?;
        let id = parse_id("id", &request.get_ref().id)?;
        Ok(Response::new(GetCouponResponse { coupon: Some(self.find(id).await?.to_info()) }))
    }

    async fn update_coupon(
        &self,
        request: Request<UpdateCouponRequest>,
    ) -> Result<Response<UpdateCouponResponse>, Status> {
        let caller = principal::caller(&request)?;
        let coupon = self.update(&caller, request.into_inner()).await?;
        Ok(Response::new(UpdateCouponResponse { coupon: Some(coupon) }))
    }

    async fn delete_coupon(
        &self,
        request: Request<DeleteCouponRequest>,
    ) -> Result<Response<DeleteCouponResponse>, Status> {
        let caller = principal::caller(&request)?;
        self.delete(&caller, request.into_inner()).await?;
        Ok(Response::new(DeleteCouponResponse {}))
    }

    async fn preview_coupon(
        &self,
        request: Request<PreviewCouponRequest>,
    ) -> Result<Response<PreviewCouponResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.preview(&caller, request.into_inner()).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Decimal {
        Money::parse(text).expect("money").as_decimal()
    }

    #[test]
    fn discounts_round_half_up_and_never_exceed_the_price() {
        assert_eq!(discount("percent", money("15"), money("33.33")), money("5.00"));
        // 12.5 % of 0.20 = 0.025 → 0.03 (half up).
        assert_eq!(discount("percent", money("12.5"), money("0.20")), money("0.03"));
        assert_eq!(discount("fixed", money("5.00"), money("19.99")), money("5.00"));
        assert_eq!(discount("fixed", money("50.00"), money("19.99")), money("19.99"));
    }

    #[test]
    fn codes_are_normalised() {
        assert_eq!(normalise_code("code", " spring-25 ").expect("valid"), "SPRING-25");
        assert!(normalise_code("code", "ab").is_err());
        assert!(normalise_code("code", "no spaces").is_err());
        assert!(normalise_code("code", "ünï").is_err());
    }
}
