//! `list_plans`: the catalog's plans, credit packs and credit costs.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::plans::{self, PlanList};
use crate::service::{App, BillingError};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_plans";
    const TITLE: &'static str = "List plans";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_plans.md");
    const TOOLSET: Toolset = Toolset::Catalog;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Anyone;
    type Params = Params;
    type Output = PlanList;

    async fn run(app: &App, _p: Params) -> Result<PlanList, BillingError> {
        Ok(plans::list_plans(app))
    }
}
