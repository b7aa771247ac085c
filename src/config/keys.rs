//! `billing-mcp keys …`: API keys from the command line (the first admin key comes from here).
//! A new secret goes alone to stdout, everything else to stderr; `list` prints aligned columns.

use anyhow::{Context, anyhow};
use clap::Subcommand;

use super::{DEFAULT_DATABASE_URL, ledger_url};
use crate::access::Role;
use crate::access::limits::RoleRates;
use crate::catalog::Catalog;
use crate::service::{App, keys, system_clock};
use crate::store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (once) on stdout.
    #[command(after_help = "Examples:\n  \
        billing-mcp keys create --role admin --name ops\n  \
        billing-mcp keys create --role customer --customer acme --rate-per-minute 60")]
    Create {
        /// admin, service or customer.
        #[arg(long)]
        role: String,
        /// The customer a customer key belongs to (required with --role customer).
        #[arg(long)]
        customer: Option<String>,
        /// A label for lists and the audit log.
        #[arg(long)]
        name: Option<String>,
        /// The key's own rate limit (calls per minute); default: its role's.
        #[arg(long)]
        rate_per_minute: Option<u32>,
        /// Calls allowed at once (default: one minute's worth).
        #[arg(long)]
        burst: Option<u32>,
        /// The ledger the key is kept in (the server's --database-url).
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// List keys (never their secrets).
    #[command(after_help = "Example:\n  billing-mcp keys list --all")]
    List {
        /// Include revoked and expired keys.
        #[arg(long)]
        all: bool,
        /// The ledger the keys are kept in (the server's --database-url).
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Revoke a key at once.
    #[command(after_help = "Example:\n  billing-mcp keys revoke bmcp_3f9a1c0d5e7b2a64")]
    Revoke {
        /// The key's id as `keys list` shows it (`bmcp_` and 16 hex digits), not its secret.
        key_id: String,
        /// The ledger the key is kept in (the server's --database-url).
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

async fn key_app(database_url: &str) -> anyhow::Result<App> {
    let url = ledger_url(database_url).map_err(|e| anyhow!(e))?;
    let store = store::open(&url)
        .await
        .with_context(|| "cannot open the ledger (--database-url)")?;
    Ok(App::with(
        store,
        Catalog::empty(),
        system_clock(),
        RoleRates::default(),
    ))
}

pub async fn manage(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            role,
            customer,
            name,
            rate_per_minute,
            burst,
            database_url,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow!("--role `{role}`: use admin, service or customer"))?;
            match (role, &customer) {
                (Role::Customer, None) => {
                    return Err(anyhow!(
                        "a customer key belongs to one customer: add --customer ID (a customer created with create_customer)"
                    ));
                }
                (Role::Admin | Role::Service, Some(_)) => {
                    return Err(anyhow!(
                        "--customer is only for --role customer (admin and service keys act on every customer)"
                    ));
                }
                _ => {}
            }
            let app = key_app(&database_url).await?;
            let issued = keys::create(
                &app,
                keys::NewKey {
                    role,
                    customer,
                    name,
                    rate_per_minute,
                    burst,
                    idempotency_key: None,
                },
            )
            .await
            .map_err(|e| anyhow!("{}", e.message))?;
            eprintln!(
                "created {} key {}; the secret below is shown only once",
                issued.key.role, issued.key.key_id
            );
            println!("{}", issued.secret.unwrap_or_default());
        }
        KeysCommand::List { all, database_url } => list(all, &database_url).await?,
        KeysCommand::Revoke {
            key_id,
            database_url,
        } => {
            let app = key_app(&database_url).await?;
            let key = keys::revoke(&app, &key_id)
                .await
                .map_err(|e| anyhow!("{}", e.message))?;
            eprintln!("revoked {} ({})", key.key_id, key.name);
        }
    }
    Ok(())
}

/// Every key, one line each, under a header, each column as wide as its widest value.
async fn list(all: bool, database_url: &str) -> anyhow::Result<()> {
    let app = key_app(database_url).await?;
    let mut rows = vec![["KEY ID", "ROLE", "STATUS", "CUSTOMER", "NAME"].map(String::from)];
    let mut after = None;
    loop {
        let page = keys::list(
            &app,
            keys::KeyFilter {
                role: None,
                customer: None,
                include_inactive: all,
                limit: 100,
                starting_after: after,
            },
        )
        .await
        .map_err(|e| anyhow!("{}", e.message))?;
        for k in page.keys {
            let status = serde_json::to_value(k.status)?;
            rows.push([
                k.key_id,
                k.role.to_string(),
                status.as_str().unwrap_or_default().to_string(),
                k.customer.unwrap_or_else(|| "-".into()),
                k.name,
            ]);
        }
        if !page.page.has_more {
            break;
        }
        after = page.page.next_cursor;
    }
    if rows.len() == 1 {
        eprintln!("no keys yet: create one with `billing-mcp keys create --role admin`");
        return Ok(());
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(())
}
