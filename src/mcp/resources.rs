//! Resources and completions. Resources: `billing://catalog` (every plan, credit pack and credit
//! cost, as `list_plans` answers) and the template `billing://plans/{plan}` (one plan). The
//! catalog is what every key may read. Completions suggest values for prompt arguments and
//! template variables: customer ids (a customer key is offered only its own), plans, features
//! and currencies, each filtered by what has been typed.

use rmcp::ErrorData;
use rmcp::model::{
    ArgumentInfo, CompleteResult, CompletionInfo, ListResourceTemplatesResult, ListResourcesResult,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};

use crate::access::Principal;
use crate::service::{App, customers, plans};

pub const CATALOG_URI: &str = "billing://catalog";
const PLAN_PREFIX: &str = "billing://plans/";
const JSON: &str = "application/json";

/// The resources (none when the catalog's tool, `list_plans`, is not served).
pub fn list(offered: bool) -> ListResourcesResult {
    let catalog = Resource::new(CATALOG_URI, "catalog")
        .with_title("The billing catalog")
        .with_description("Every plan, credit pack and credit cost, as list_plans answers (JSON).")
        .with_mime_type(JSON);
    ListResourcesResult {
        resources: if offered { vec![catalog] } else { Vec::new() },
        ..Default::default()
    }
}

pub fn templates(offered: bool) -> ListResourceTemplatesResult {
    let plan = ResourceTemplate::new(format!("{PLAN_PREFIX}{{plan}}"), "plan")
        .with_title("One plan")
        .with_description("A plan of the catalog: prices, included units, limits (JSON).")
        .with_mime_type(JSON);
    ListResourceTemplatesResult {
        resource_templates: if offered { vec![plan] } else { Vec::new() },
        ..Default::default()
    }
}

pub fn read(app: &App, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let list = plans::list_plans(app);
    let value = if uri == CATALOG_URI {
        serde_json::to_value(&list)
    } else if let Some(plan) = uri.strip_prefix(PLAN_PREFIX)
        && let Some(view) = list.plans.iter().find(|p| p.plan == plan)
    {
        serde_json::to_value(view)
    } else {
        let known: Vec<String> = list
            .plans
            .iter()
            .map(|p| format!("{PLAN_PREFIX}{}", p.plan))
            .collect();
        let message = format!(
            "no resource `{}`; read {CATALOG_URI} or one of {}",
            crate::core::text::quote(uri),
            known.join(", ")
        );
        return Err(ErrorData::resource_not_found(
            message,
            Some(serde_json::json!({ "uri": uri })),
        ));
    };
    let text = value
        .map_err(|e| {
            ErrorData::internal_error(format!("the catalog could not be encoded: {e}"), None)
        })?
        .to_string();
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON),
    ]))
}

/// Values for the argument being typed, at most 100, those starting with what was typed;
/// customers other than the caller's own only where `list_customers` is served.
pub async fn complete(
    app: &App,
    who: &Principal,
    argument: &ArgumentInfo,
    customers_listed: bool,
) -> CompleteResult {
    let typed = argument.value.as_str();
    let mut values: Vec<String> = match argument.name.as_str() {
        "customer" => match &who.customer {
            Some(own) => vec![own.clone()],
            None if !customers_listed => Vec::new(),
            None => customers::list(app, 100, None)
                .await
                .map(|l| l.customers.into_iter().map(|c| c.customer).collect())
                .unwrap_or_default(),
        },
        "plan" => app.catalog.plans.keys().cloned().collect(),
        "feature" => app.catalog.features.keys().cloned().collect(),
        "meter" => app.catalog.meters.keys().cloned().collect(),
        "currency" => ["usd", "eur", "gbp", "jpy", "cad", "aud"]
            .map(String::from)
            .to_vec(),
        _ => Vec::new(),
    };
    values.retain(|v| v.starts_with(typed));
    values.truncate(CompletionInfo::MAX_VALUES);
    let info = CompletionInfo::new(values).unwrap_or_default();
    CompleteResult::new(info)
}
