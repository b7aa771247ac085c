//! Webhooks about the customer's Stripe account: `invoice.*` (each invoice's status and amount
//! remaining, in order per invoice; the customer delinquent or not, the newest invoice event of
//! the customer deciding, as Stripe's `delinquent` does; a paid invoice marks its period's usage
//! billed), `customer.created|updated` (the link to a ledger customer, the default payment
//! method) and `setup_intent.succeeded`, `payment_method.attached|detached` (a payment method on
//! file), which the ledger orders per customer.

use super::event::Event;
use super::{Change, Skip, ledger_customer, ledger_customer_of, link_if_new};
use crate::core::money::{Currency, MinorUnits};
use crate::core::period::rfc3339;
use crate::service::App;
use crate::store::{
    InvoiceChange, PaymentMethodChange, PaymentMethodEvent, StripeLink, WebhookEffect,
};
use crate::stripe::checkout::CUSTOMER_KEY;

/// The status an invoice event's kind implies when its object does not say.
fn status_of(kind: &str) -> &'static str {
    match kind {
        "invoice.paid" => "paid",
        "invoice.voided" => "void",
        "invoice.marked_uncollectible" => "uncollectible",
        _ => "open",
    }
}

fn shown(amount: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => format!("{} {}", c.format(MinorUnits(amount)), c.code()),
        Err(_) => format!("{amount} {currency} minor units"),
    }
}

pub(super) async fn invoice(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let invoice = &event.data.object;
    let Some(id) = invoice.id.clone() else {
        return Err(Skip::Ignore("the invoice has no id".into()));
    };
    let customer = ledger_customer(app, invoice).await?;
    // Events of one invoice apply in order; delinquency is ordered per customer in the ledger.
    let created = event.created.saturating_mul(1000);
    change.gate = Some((id.clone(), created));
    change
        .effects
        .extend(link_if_new(&customer, invoice, change.now));
    let status = invoice
        .status
        .clone()
        .unwrap_or_else(|| status_of(&event.kind).to_string());
    let amount_remaining = match (invoice.amount_remaining, status.as_str()) {
        (Some(left), _) => left,
        (None, "open" | "draft") => invoice.amount_due.unwrap_or(0),
        (None, _) => 0,
    }
    .max(0);
    let currency = invoice
        .currency
        .as_deref()
        .unwrap_or(app.catalog.currency.code())
        .to_ascii_lowercase();
    let delinquent = match event.kind.as_str() {
        "invoice.payment_failed" => Some(true),
        "invoice.paid" | "invoice.marked_uncollectible" => Some(false),
        _ => None,
    };
    let period = match (invoice.period_start, invoice.period_end) {
        (Some(a), Some(b)) => format!(
            " for {} – {}",
            rfc3339(a.saturating_mul(1000)),
            rfc3339(b.saturating_mul(1000))
        ),
        _ => String::new(),
    };
    let paid = event.kind == "invoice.paid";
    let billed = match (paid, invoice.period_start, invoice.period_end) {
        (true, Some(from), Some(to)) if to > from => {
            change.effects.push(WebhookEffect::Billed {
                customer: customer.id.clone(),
                invoice: id.clone(),
                from: from.saturating_mul(1000),
                to: to.saturating_mul(1000),
            });
            "; the period's usage marked billed"
        }
        _ => "",
    };
    let standing = match delinquent {
        Some(true) => "; payment failed: delinquent (the plan's on_payment_overdue applies)",
        Some(false) => "; not delinquent",
        None => "",
    };
    change.outcome = format!(
        "customer {}: invoice {id} {status}{period}, {} remaining{standing}{billed}",
        customer.id,
        shown(amount_remaining, &currency)
    );
    // What a paid invoice collected, and when (its own paid_at, else the event's time).
    let paid_at = (status == "paid").then(|| {
        invoice
            .status_transitions
            .as_ref()
            .and_then(|t| t.paid_at)
            .map_or(created, |t| t.saturating_mul(1000))
    });
    change.effects.push(WebhookEffect::Invoice(InvoiceChange {
        invoice: id,
        customer: customer.id.clone(),
        amount_paid: invoice.amount_paid.unwrap_or(0).max(0),
        paid_at,
        status,
        amount_remaining,
        currency,
        delinquent,
        created,
        now: change.now,
    }));
    Ok(())
}

/// Links a ledger customer named in the metadata, and follows the default payment method.
pub(super) async fn customer(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let object = &event.data.object;
    let Some(cus) = object.id.as_deref() else {
        return Err(Skip::Ignore("the customer object has no id".into()));
    };
    let record = match app.store.customer_by_stripe(cus).await? {
        Some(linked) => linked,
        None => {
            let Some(ledger_id) = object.metadata.get(CUSTOMER_KEY) else {
                return Err(Skip::Ignore(format!(
                    "Stripe customer {cus} is linked to no ledger customer and has no `{CUSTOMER_KEY}` metadata"
                )));
            };
            let Some(record) = app.store.get_customer(ledger_id).await? else {
                return Err(Skip::Ignore(format!("no ledger customer `{ledger_id}`")));
            };
            record
        }
    };
    let ledger_id = record.id.clone();
    let mut said = Vec::new();
    match &record.stripe_customer_id {
        Some(linked) if linked == cus => {}
        Some(linked) => {
            return Err(Skip::Ignore(format!(
                "customer {ledger_id} is linked to {linked}; a link is never replaced"
            )));
        }
        None => {
            said.push(format!("linked to {cus}"));
            change.effects.push(WebhookEffect::Link(StripeLink {
                customer: ledger_id.clone(),
                stripe_customer_id: cus.to_string(),
                now: change.now,
            }));
        }
    }
    let had_default = event
        .data
        .previous_attributes
        .invoice_settings
        .as_ref()
        .and_then(|s| s.default_payment_method.as_ref())
        .is_some();
    let kind = match object.default_payment_method() {
        Some(pm) => Some(PaymentMethodEvent::Default(pm.to_string())),
        None if had_default => Some(PaymentMethodEvent::DefaultRemoved),
        None => None,
    };
    if let Some(kind) = kind {
        said.push(match &kind {
            PaymentMethodEvent::Default(pm) => format!("default payment method {pm}"),
            _ => "no default payment method any more".to_string(),
        });
        change
            .effects
            .push(payment_change(&ledger_id, kind, event, change.now));
    }
    if said.is_empty() {
        return Err(Skip::Ignore(format!(
            "customer {ledger_id} is linked to {cus} already and its default payment method did not change"
        )));
    }
    change.outcome = format!("customer {ledger_id}: {}", said.join("; "));
    Ok(())
}

fn payment_change(
    customer: &str,
    kind: PaymentMethodEvent,
    event: &Event,
    now: i64,
) -> WebhookEffect {
    WebhookEffect::PaymentMethod(PaymentMethodChange {
        customer: customer.to_string(),
        kind,
        created: event.created.saturating_mul(1000),
        now,
    })
}

/// `setup_intent.succeeded`, `payment_method.attached` (a payment method on file) and
/// `payment_method.detached` (none, if it was the default).
pub(super) async fn payment_method(
    app: &App,
    event: &Event,
    change: &mut Change,
) -> Result<(), Skip> {
    let object = &event.data.object;
    let id = object.id.as_deref().unwrap_or("-");
    let (record, kind) = if event.kind == "payment_method.detached" {
        // Detached, the payment method has no customer: Stripe names the former one.
        let Some(former) = event.data.previous_attributes.customer.as_ref() else {
            return Err(Skip::Ignore(format!(
                "payment method {id} was detached from no customer"
            )));
        };
        let record = ledger_customer_of(app, Some(former.id()), object).await?;
        (record, PaymentMethodEvent::Detached(id.to_string()))
    } else {
        if object.stripe_customer().is_none() {
            return Err(Skip::Ignore(format!(
                "{id} belongs to no customer: nothing to put on file"
            )));
        }
        let record = ledger_customer(app, object).await?;
        change
            .effects
            .extend(link_if_new(&record, object, change.now));
        (record, PaymentMethodEvent::Attached)
    };
    change.outcome = match &kind {
        PaymentMethodEvent::Detached(pm) => format!(
            "customer {}: payment method {pm} detached (none on file if it was the default)",
            record.id
        ),
        _ => format!("customer {}: a payment method on file ({id})", record.id),
    };
    change
        .effects
        .push(payment_change(&record.id, kind, event, change.now));
    Ok(())
}
