// The SQL of the Stripe write record, written once and included into `sqlite.rs` and
// `postgres.rs` by `ledger.rs`.

use super::{StripeWrite, StripeWriteLedger};

const STRIPE_WRITE_COLUMNS: &str =
    "SELECT tool, idempotency_key, request_digest, object_id, result, created_at FROM stripe_writes";

async fn stripe_write_of(
    conn: &mut Conn,
    tool: &str,
    idempotency_key: &str,
) -> Result<Option<StripeWrite>, StoreError> {
    Ok(sqlx::query_as::<Db, StripeWrite>(sqlx::AssertSqlSafe(format!(
        "{STRIPE_WRITE_COLUMNS} WHERE tool = $1 AND idempotency_key = $2"
    )))
    .bind(tool)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Keep the first record of a tool and key; answers the record that stands.
async fn insert_stripe_write(conn: &mut Conn, w: StripeWrite) -> Result<StripeWrite, StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO stripe_writes (tool, idempotency_key, request_digest, object_id, result, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tool, idempotency_key) DO NOTHING",
    )
    .bind(&w.tool)
    .bind(&w.idempotency_key)
    .bind(&w.request_digest)
    .bind(&w.object_id)
    .bind(&w.result)
    .bind(w.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(stripe_write_of(conn, &w.tool, &w.idempotency_key).await?.unwrap_or(w))
}

#[async_trait::async_trait]
impl StripeWriteLedger for Backend {
    async fn record_stripe_write(&self, write: StripeWrite) -> Result<StripeWrite, StoreError> {
        writer::submit(&self.writer, |r| Op::StripeWrite(write, r)).await
    }

    async fn get_stripe_write(&self, tool: &str, idempotency_key: &str) -> Result<Option<StripeWrite>, StoreError> {
        let mut conn = self.read.acquire().await?;
        stripe_write_of(&mut conn, tool, idempotency_key).await
    }
}
