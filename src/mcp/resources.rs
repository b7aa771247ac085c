//! Resources and completions. Resources: `billing://catalog` (every plan, credit pack and credit
//! cost, as `list_plans` answers) and the template `billing://plans/{plan}` (one plan), which
//! every key may read where `list_plans` is served; and `ui://billing-mcp/dashboard`, the MCP App
//! of `get_dashboard`, listed where that tool is and the caller may call it (the document holds
//! no data: the figures come from the tool's result). Completions suggest values for prompt arguments and
//! template variables: customer ids (a customer key is offered only its own), plans, features
//! and currencies, each filtered by what has been typed.

use rmcp::ErrorData;
use rmcp::model::{
    ArgumentInfo, CompleteResult, CompletionInfo, ListResourceTemplatesResult, ListResourcesResult,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};

use super::ui;
use crate::access::Principal;
use crate::service::{App, customers, plans};

pub const CATALOG_URI: &str = "billing://catalog";
const PLAN_PREFIX: &str = "billing://plans/";
const JSON: &str = "application/json";

/// Which resources a caller is offered.
#[derive(Debug, Clone, Copy)]
pub struct Offered {
    /// `list_plans` is served.
    pub catalog: bool,
    /// `get_dashboard` is served and the caller may call it.
    pub dashboard: bool,
}

/// The resources offered.
pub fn list(offered: Offered) -> ListResourcesResult {
    let mut resources = Vec::new();
    if offered.catalog {
        resources.push(
            Resource::new(CATALOG_URI, "catalog")
                .with_title("The billing catalog")
                .with_description(
                    "Every plan, credit pack and credit cost, as list_plans answers (JSON).",
                )
                .with_mime_type(JSON),
        );
    }
    if offered.dashboard {
        resources.push(
            Resource::new(ui::DASHBOARD_URI, "dashboard")
                .with_title("Billing dashboard")
                .with_description(
                    "The MCP App that shows get_dashboard's result: figures, charts, customers.",
                )
                .with_mime_type(ui::APP_MIME)
                .with_meta(ui::resource_meta()),
        );
    }
    ListResourcesResult {
        resources,
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

pub fn read(app: &App, uri: &str, offered: Offered) -> Result<ReadResourceResult, ErrorData> {
    if offered.dashboard && uri == ui::DASHBOARD_URI {
        return Ok(ReadResourceResult::new(vec![
            ResourceContents::text(ui::dashboard_app(), uri)
                .with_mime_type(ui::APP_MIME)
                .with_meta(ui::resource_meta()),
        ]));
    }
    if !offered.catalog {
        return Err(ErrorData::resource_not_found(
            format!(
                "no resource `{}`; this server offers {}",
                crate::core::text::quote(uri),
                if offered.dashboard {
                    ui::DASHBOARD_URI
                } else {
                    "no resources (list_plans and get_dashboard are not among its tools)"
                }
            ),
            Some(serde_json::json!({ "uri": uri })),
        ));
    }
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
            None => customers::list(app, 100, None, false)
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
