// The SQL of API keys and the audit log, written once and included into `sqlite.rs` and
// `postgres.rs` by `ledger.rs`.

use super::{AccessLedger, ApiKeyRecord, AuditQuery, KeyOutcome, KeyQuery, KeyWrite, NewApiKey};

const KEY_COLUMNS: &str = "SELECT id, secret_hash, name, role, customer_id, rate_per_minute, burst, created_at, \
                           expires_at, revoked_at, rotated_from, idempotency_key FROM api_keys";

async fn key_where(conn: &mut Conn, column: &str, value: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    Ok(sqlx::query_as::<Db, ApiKeyRecord>(sqlx::AssertSqlSafe(format!("{KEY_COLUMNS} WHERE {column} = $1")))
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Insert a key unless its idempotency key was used before; `Ok(None)` when it was.
async fn insert_key(conn: &mut Conn, k: &NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
    let inserted = sqlx::query::<Db>(
        "INSERT INTO api_keys (id, secret_hash, name, role, customer_id, rate_per_minute, burst, created_at, \
         expires_at, revoked_at, rotated_from, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&k.id)
    .bind(&k.secret_hash)
    .bind(&k.name)
    .bind(&k.role)
    .bind(&k.customer_id)
    .bind(k.rate_per_minute)
    .bind(k.burst)
    .bind(k.created_at)
    .bind(k.expires_at)
    .bind(k.revoked_at)
    .bind(&k.rotated_from)
    .bind(&k.idempotency_key)
    .execute(&mut *conn)
    .await?;
    Ok((inserted.rows_affected() == 1).then(|| k.clone()))
}

async fn earlier_request(conn: &mut Conn, idempotency_key: Option<&str>) -> Result<Option<ApiKeyRecord>, StoreError> {
    match idempotency_key {
        Some(key) => key_where(conn, "idempotency_key", key).await,
        None => Ok(None),
    }
}

/// Insert a key, or answer with the key an earlier request with its idempotency key made.
async fn insert_or_first(conn: &mut Conn, k: NewApiKey) -> Result<KeyOutcome, StoreError> {
    if let Some(first) = earlier_request(conn, k.idempotency_key.as_deref()).await? {
        return Ok(KeyOutcome::Duplicate(first));
    }
    Ok(match insert_key(conn, &k).await? {
        Some(record) => KeyOutcome::Written(record),
        None => KeyOutcome::Duplicate(earlier_request(conn, k.idempotency_key.as_deref()).await?.unwrap_or(k)),
    })
}

async fn write_key(conn: &mut Conn, write: KeyWrite, known: &Known) -> Result<KeyOutcome, StoreError> {
    match write {
        KeyWrite::Create(k) => {
            // A deleted customer gets no new key (a retry of a request made before it was deleted
            // is refused too: its keys were revoked with it).
            if k.customer_id.as_ref().is_some_and(|c| known.live(c).is_none()) {
                return Ok(KeyOutcome::UnknownCustomer);
            }
            insert_or_first(conn, k).await
        }
        KeyWrite::Rotate { from, id, secret_hash, at, old_expires_at, idempotency_key } => {
            // A retried rotation answers with its first result, even once the old key has expired.
            if let Some(first) = earlier_request(conn, idempotency_key.as_deref()).await? {
                return Ok(KeyOutcome::Duplicate(first));
            }
            let Some(old) = key_where(conn, "id", &from).await? else {
                return Ok(KeyOutcome::NotFound);
            };
            if old.revoked_at.is_some() || old.expires_at.is_some_and(|t| t <= at) {
                return Ok(KeyOutcome::Inactive(old));
            }
            sqlx::query::<Db>("UPDATE api_keys SET expires_at = $2 WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)")
                .bind(&old.id)
                .bind(old_expires_at)
                .execute(&mut *conn)
                .await?;
            insert_or_first(
                conn,
                NewApiKey {
                    id,
                    secret_hash,
                    created_at: at,
                    expires_at: None,
                    revoked_at: None,
                    rotated_from: Some(from),
                    idempotency_key,
                    ..old
                },
            )
            .await
        }
        KeyWrite::Revoke { id, at } => {
            sqlx::query::<Db>("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(&id)
                .bind(at)
                .execute(&mut *conn)
                .await?;
            Ok(key_where(conn, "id", &id).await?.map_or(KeyOutcome::NotFound, KeyOutcome::Written))
        }
    }
}

async fn insert_audit(conn: &mut Conn, e: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO audit_log (id, at, key_id, role, tool, customer_id, arguments, result) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(e.at)
    .bind(&e.key_id)
    .bind(&e.role)
    .bind(&e.tool)
    .bind(&e.customer_id)
    .bind(&e.arguments)
    .bind(&e.result)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Entries nobody waits for, in one statement per [`INSERT_CHUNK`].
async fn insert_audits(conn: &mut Conn, entries: &[AuditEntry]) -> Result<(), StoreError> {
    for chunk in pieces(entries, INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO audit_log (id, at, key_id, role, tool, customer_id, arguments, result) ");
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(&e.id)
                .push_bind(e.at)
                .push_bind(&e.key_id)
                .push_bind(&e.role)
                .push_bind(&e.tool)
                .push_bind(&e.customer_id)
                .push_bind(&e.arguments)
                .push_bind(&e.result);
        });
        qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl AccessLedger for Backend {
    async fn write_key(&self, write: KeyWrite) -> Result<KeyOutcome, StoreError> {
        writer::submit(&self.writer, |r| Op::Key(write, r)).await
    }

    async fn get_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        key_where(&mut conn, "id", id).await
    }

    async fn list_keys(&self, q: KeyQuery) -> Result<Vec<ApiKeyRecord>, StoreError> {
        cursor_known(
            &self.read,
            "SELECT COUNT(*) FROM api_keys WHERE id = $1 AND ($2 = '' OR role = $2) AND ($3 = '' OR customer_id = $3)",
            q.starting_after.as_deref(),
            &[q.role.as_deref().unwrap_or(""), q.customer.as_deref().unwrap_or("")],
        )
        .await?;
        Ok(sqlx::query_as::<Db, ApiKeyRecord>(sqlx::AssertSqlSafe(format!(
            "{KEY_COLUMNS} WHERE id > $1 AND ($2 = '' OR role = $2) AND ($3 = '' OR customer_id = $3) \
             AND ($4 < 0 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4))) ORDER BY id LIMIT $5"
        )))
        .bind(q.starting_after.as_deref().unwrap_or(""))
        .bind(q.role.as_deref().unwrap_or(""))
        .bind(q.customer.as_deref().unwrap_or(""))
        .bind(q.active_at.unwrap_or(-1))
        .bind(q.limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.writer.send(Op::Audit(entry, None)).await.map_err(|_| StoreError::WriterGone)
    }

    async fn record_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        writer::submit(&self.writer, |reply| Op::Audit(entry, Some(reply))).await
    }

    async fn list_audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        // Entries queued before this call commit first, so a caller reads its own calls.
        writer::submit(&self.writer, Op::Barrier).await?;
        cursor_known(
            &self.read,
            "SELECT COUNT(*) FROM audit_log WHERE id = $1 AND ($2 = '' OR key_id = $2) AND ($3 = '' OR tool = $3) \
             AND ($4 = '' OR customer_id = $4) AND ($5 = '' OR result = $5)",
            q.starting_after.as_deref(),
            &[
                q.key_id.as_deref().unwrap_or(""),
                q.tool.as_deref().unwrap_or(""),
                q.customer.as_deref().unwrap_or(""),
                q.result.as_deref().unwrap_or(""),
            ],
        )
        .await?;
        Ok(sqlx::query_as::<Db, AuditEntry>(
            "SELECT id, at, key_id, role, tool, customer_id, arguments, result FROM audit_log \
             WHERE ($1 = '' OR id < $1) AND ($2 = '' OR key_id = $2) AND ($3 = '' OR tool = $3) \
             AND ($4 = '' OR customer_id = $4) AND ($5 = '' OR result = $5) AND at >= $6 AND at < $7 \
             ORDER BY id DESC LIMIT $8",
        )
        .bind(q.starting_after.as_deref().unwrap_or(""))
        .bind(q.key_id.as_deref().unwrap_or(""))
        .bind(q.tool.as_deref().unwrap_or(""))
        .bind(q.customer.as_deref().unwrap_or(""))
        .bind(q.result.as_deref().unwrap_or(""))
        .bind(q.from)
        .bind(q.to)
        .bind(q.limit)
        .fetch_all(&self.read)
        .await?)
    }
}
