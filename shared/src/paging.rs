//! Paging and search helpers every list RPC shares.

/// Normalises paging: page from 1, size 1..=100, default 20.
pub fn paging(page: Option<&rustbill_proto::common::PageRequest>) -> (u32, u32) {
    let page_number = page.map(|page| page.page).filter(|number| *number > 0).unwrap_or(1);
    let size = page.map(|page| page.page_size).filter(|size| *size > 0).unwrap_or(20).min(100);
    (page_number, size)
}

/// Paging metadata for a result of `total` rows.
pub fn page_meta(total: i64, page: u32, page_size: u32) -> rustbill_proto::common::PageMeta {
    let total = u64::try_from(total).unwrap_or(0);
    let total_pages = u32::try_from(total.div_ceil(u64::from(page_size.max(1)))).unwrap_or(u32::MAX);
    rustbill_proto::common::PageMeta { total, page, page_size, total_pages }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern and wraps it in `%…%`.
pub fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for character in search.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// One page of `select <columns> from <from>` under the filters `filters`
/// pushes (each as ` and …`; the `where` is already there), ordered by
/// `order_by`, with the exact total under the same filters. List RPCs share
/// it so none forgets the count or the limit.
pub async fn fetch_page<T>(
    pool: &sqlx::PgPool,
    columns: &str,
    from: &str,
    filters: impl Fn(&mut sqlx::QueryBuilder<sqlx::Postgres>),
    order_by: &str,
    page: u32,
    page_size: u32,
) -> crate::AppResult<(Vec<T>, rustbill_proto::common::PageMeta)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut count = sqlx::QueryBuilder::new(format!("select count(*) from {from} where true"));
    filters(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    fetch_counted_page(pool, columns, from, filters, order_by, page, page_size, total).await
}

/// [`fetch_page`] for a caller that already knows the exact total under
/// `filters` (kept by counters rather than counted per call).
///
/// A page past the first is found by its ids first (`id in (select id …
/// offset …)`): the rows skipped over are then read from the ordering index
/// alone, not from the table, so a deep page costs index entries, not whole
/// rows. A page past the end is not queried at all.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_counted_page<T>(
    pool: &sqlx::PgPool,
    columns: &str,
    from: &str,
    filters: impl Fn(&mut sqlx::QueryBuilder<sqlx::Postgres>),
    order_by: &str,
    page: u32,
    page_size: u32,
    total: i64,
) -> crate::AppResult<(Vec<T>, rustbill_proto::common::PageMeta)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let offset = i64::from(page.max(1) - 1) * i64::from(page_size);
    if offset > 0 && offset >= total {
        return Ok((Vec::new(), page_meta(total, page, page_size)));
    }
    let mut select = sqlx::QueryBuilder::new(format!("select {columns} from {from} where "));
    if offset == 0 {
        select.push("true");
        filters(&mut select);
        select.push(format!(" order by {order_by} limit ")).push_bind(i64::from(page_size));
    } else {
        select.push(format!("id in (select id from {from} where true"));
        filters(&mut select);
        select
            .push(format!(" order by {order_by} limit "))
            .push_bind(i64::from(page_size))
            .push(" offset ")
            .push_bind(offset)
            .push(format!(") order by {order_by}"));
    }
    let rows: Vec<T> = select.build_query_as().fetch_all(pool).await?;
    Ok((rows, page_meta(total, page, page_size)))
}
