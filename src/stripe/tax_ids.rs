//! A customer's tax ids at Stripe (a VAT number, an ABN, …), which Stripe prints on its invoices
//! and uses for tax: added once each (the customer's own are read first, so the same id is never
//! added twice), never sent for a customer Stripe does not hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_billing::tax_id::{
    CreateTaxId, CreateTaxIdOwner, CreateTaxIdOwnerType, CreateTaxIdType, ListTaxId,
    ListTaxIdOwner, ListTaxIdOwnerType,
};

use super::{Error, Payments, parse};
use crate::values::{Text, Token};

/// One tax id to add.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxIdInput {
    /// Stripe's tax id type, e.g. `eu_vat`, `gb_vat`, `us_ein`, `au_abn`.
    #[serde(rename = "type")]
    pub kind: Token,
    /// The number as the tax authority writes it, e.g. `DE123456789`.
    pub value: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaxIdView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub country: Option<String>,
    /// pending, verified, unverified or unavailable (Stripe checks some types).
    pub verification: Option<String>,
}

impl From<&stripe_shared::TaxId> for TaxIdView {
    fn from(t: &stripe_shared::TaxId) -> Self {
        TaxIdView {
            id: t.id.to_string(),
            kind: t.type_.as_str().into(),
            value: t.value.clone(),
            country: t.country.clone(),
            verification: t.verification.as_ref().map(|v| v.status.as_str().into()),
        }
    }
}

impl Payments {
    /// The Stripe customer's tax ids, with `add` among them: those it lacks are created.
    pub async fn add_tax_ids(
        &self,
        stripe_customer: &str,
        add: &[TaxIdInput],
    ) -> Result<Vec<TaxIdView>, Error> {
        let mut owner = ListTaxIdOwner::new(ListTaxIdOwnerType::Customer);
        owner.customer = Some(stripe_customer.to_string());
        let list = self.read(ListTaxId::new().owner(owner).limit(100)).await?;
        let mut held: Vec<TaxIdView> = list.data.iter().map(TaxIdView::from).collect();
        for wanted in add {
            let value = wanted.value.0.trim();
            let kind = wanted.kind.0.trim();
            if held
                .iter()
                .any(|t| t.kind == kind && t.value.eq_ignore_ascii_case(value))
            {
                continue;
            }
            let mut owner = CreateTaxIdOwner::new(CreateTaxIdOwnerType::Customer);
            owner.customer = Some(stripe_customer.to_string());
            let req = CreateTaxId::new(parse::<CreateTaxIdType>(kind), value).owner(owner);
            let key = format!("tax_id:{stripe_customer}:{kind}:{value}");
            let created = self
                .write(req, &super::idempotency_key("add_tax_id", Some(&key)))
                .await?;
            held.push(TaxIdView::from(&created));
        }
        Ok(held)
    }
}
