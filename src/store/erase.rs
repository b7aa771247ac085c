// A customer's personal fields, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: a
// change of name, email or metadata (merged under the customer's lock, so concurrent changes of
// other keys are all kept), and the erasure `delete_customer` makes. An erasure empties the
// personal fields, marks the row deleted, releases the customer's live holds and erases the
// personal fields the audit log kept of its calls. Money records (usage, credits, holds,
// invoices, audit entries) all stay, so every total reads the same afterwards.

use super::MAX_METADATA;

/// What an erased personal field reads as where a record keeps it.
const ERASED: &str = "[erased]";
/// The arguments (of any tool) that may carry personal data.
const PERSONAL_FIELDS: [&str; 3] = ["name", "email", "metadata"];
/// Tools whose arguments, shortened to a string for the audit log, may hold personal data anywhere.
const PERSONAL_TOOLS: [&str; 2] = ["create_customer", "update_customer"];

fn metadata_of(record: &CustomerRecord) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(&record.metadata).map_err(|e| StoreError::Corrupt(format!("customer {}'s metadata: {e}", record.id)))
}

/// Change a customer's name, email or metadata (an empty value removes its key, as Stripe does).
/// Nothing is written when nothing changes, so a repeat leaves `updated_at` as it was.
async fn change_customer(conn: &mut Conn, c: &CustomerChange) -> Result<Changed, StoreError> {
    let Some(current) = fetch_customer(conn, &c.customer).await? else { return Ok(Changed::UnknownCustomer) };
    if current.deleted_at.is_some() {
        return Ok(Changed::Deleted(Box::new(current)));
    }
    let name = c.name.clone().unwrap_or_else(|| current.name.clone());
    let email = c.email.clone().unwrap_or_else(|| current.email.clone());
    let before = metadata_of(&current)?;
    let mut metadata = before.clone();
    for (key, value) in &c.metadata {
        if value.is_empty() {
            metadata.remove(key);
        } else {
            metadata.insert(key.clone(), value.clone());
        }
    }
    if metadata.len() > MAX_METADATA {
        return Ok(Changed::TooMuchMetadata(metadata.len()));
    }
    if name == current.name && email == current.email && metadata == before {
        return Ok(Changed::Done { record: Box::new(current), changed: false });
    }
    let text = serde_json::to_string(&metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // Each change moves `updated_at` on, even within one millisecond: Stripe is sent the change
    // under a key derived from it, and a later change back to earlier values must not be taken
    // for a retry of the first.
    sqlx::query("UPDATE customers SET name = $2, email = $3, metadata = $4, updated_at = $5 WHERE id = $1")
        .bind(&c.customer)
        .bind(&name)
        .bind(&email)
        .bind(&text)
        .bind(c.now.max(current.updated_at.saturating_add(1)))
        .execute(&mut *conn)
        .await?;
    let record = fetch_customer(conn, &c.customer).await?.ok_or_else(|| StoreError::Corrupt(format!("customer {} vanished", c.customer)))?;
    Ok(Changed::Done { record: Box::new(record), changed: true })
}

/// Erase a customer (once: a deleted customer answers as it stands, erased by nobody).
async fn erase_customer(conn: &mut Conn, e: &CustomerErasure) -> Result<Option<Erased>, StoreError> {
    let Some(current) = fetch_customer(conn, &e.customer).await? else { return Ok(None) };
    if current.deleted_at.is_some() {
        return Ok(Some(Erased { record: current, erased: false }));
    }
    sqlx::query("UPDATE customers SET name = NULL, email = NULL, metadata = '{}', deleted_at = $2, updated_at = $2 WHERE id = $1")
        .bind(&e.customer)
        .bind(e.now)
        .execute(&mut *conn)
        .await?;
    // A call in flight is not charged for a customer that is gone: its hold gives back what it
    // reserved, as release_hold does (an expired one ended when it expired).
    sqlx::query(
        "UPDATE holds SET status = 'released', ended_at = CASE WHEN expires_at < $2 THEN expires_at ELSE $2 END \
         WHERE customer_id = $1 AND status = 'held'",
    )
    .bind(&e.customer)
    .bind(e.now)
    .execute(&mut *conn)
    .await?;
    erase_audit(conn, &e.customer).await?;
    let record = fetch_customer(conn, &e.customer).await?.ok_or_else(|| StoreError::Corrupt(format!("customer {} vanished", e.customer)))?;
    Ok(Some(Erased { record, erased: true }))
}

/// Erase the personal fields in the arguments the audit log kept of the customer's calls; each
/// entry stays, with its tool, time, caller and result.
async fn erase_audit(conn: &mut Conn, customer: &str) -> Result<(), StoreError> {
    let entries = sqlx::query_as::<Db, (String, String, String)>(
        "SELECT id, tool, arguments FROM audit_log WHERE customer_id = $1 AND (tool IN ($2, $3) \
         OR arguments LIKE '%\"name\"%' OR arguments LIKE '%\"email\"%' OR arguments LIKE '%\"metadata\"%')",
    )
    .bind(customer)
    .bind(PERSONAL_TOOLS[0])
    .bind(PERSONAL_TOOLS[1])
    .fetch_all(&mut *conn)
    .await?;
    for (id, tool, arguments) in entries {
        if let Some(erased) = erased_arguments(&tool, &arguments) {
            sqlx::query("UPDATE audit_log SET arguments = $2 WHERE id = $1").bind(&id).bind(&erased).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Arguments as the audit log keeps them, with their personal fields erased; `None` when there
/// is nothing to erase.
fn erased_arguments(tool: &str, arguments: &str) -> Option<String> {
    let erased = serde_json::Value::String(ERASED.into());
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(serde_json::Value::Object(mut fields)) => {
            let mut changed = false;
            for name in PERSONAL_FIELDS {
                if let Some(value) = fields.get_mut(name).filter(|v| **v != erased && !v.is_null()) {
                    *value = erased.clone();
                    changed = true;
                }
            }
            changed.then(|| serde_json::Value::Object(fields).to_string())
        }
        // Arguments too long to keep whole were kept as a shortened string: it may hold anything.
        _ if PERSONAL_TOOLS.contains(&tool) => {
            let whole = erased.to_string();
            (arguments != whole).then_some(whole)
        }
        _ => None,
    }
}
